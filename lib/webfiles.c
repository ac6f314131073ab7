#include "webfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirlist.h"
#include "log.h"

const struct webfiles_limits webfiles_default_limits = {
	.max_file_bytes = 1u << 20,
	.max_total_bytes = 16u << 20,
	.max_files = 1000,
	.max_depth = 8,
};

/* One row per extension: a kind of thing is a row. */
static const struct {
	const char *ext, *type;
} content_types[] = {
	{"html", "text/html; charset=utf-8"},
	{"htm", "text/html; charset=utf-8"},
	{"js", "text/javascript; charset=utf-8"},
	{"mjs", "text/javascript; charset=utf-8"},
	{"css", "text/css; charset=utf-8"},
	{"svg", "image/svg+xml"},
	{"png", "image/png"},
	{"ico", "image/x-icon"},
	{"json", "application/json"},
	{"map", "application/json"},
	{"webmanifest", "application/manifest+json"},
	{"txt", "text/plain; charset=utf-8"},
	{"md", "text/plain; charset=utf-8"},
	{"woff2", "font/woff2"},
};

#define TEXT_PLAIN   "text/plain; charset=utf-8"
#define OCTET_STREAM "application/octet-stream"

/* Directories on the path from the root to the one being read, so that a
 * symlink back to an ancestor is seen as the loop it is. */
struct dir_id {
	dev_t dev;
	ino_t ino;
};

struct loader {
	const struct webfiles_limits *limits;
	char root[PATH_MAX]; /* real path, no trailing slash */
	size_t root_len;
	struct webfiles *set;
	size_t capacity;
	struct dir_id *ancestors; /* max_depth + 1 entries */
	char *err;
	size_t errlen;
};

static bool fail(struct loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool fail(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
	return false;
}

static void skip(struct loader *ld, const char *path, const char *why)
{
	ld->set->skipped++;
	log_warning("web", "%s: not served: %s", path, why);
}

static bool safe_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Names that never need percent-encoding in a URL and are not hidden, so
 * that webfiles_find can refuse every '%' and leading dot outright. */
static bool name_allowed(const char *name)
{
	if (name[0] == '\0' || name[0] == '.')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!safe_char(*p))
			return false;
	return true;
}

static bool keep_all(const char *name)
{
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static bool inside_root(const struct loader *ld, const char *real)
{
	return strncmp(real, ld->root, ld->root_len) == 0 &&
	       (real[ld->root_len] == '/' || real[ld->root_len] == '\0');
}

const char *webfiles_content_type(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');
	bool upper = *base != '\0';

	if (dot != NULL && dot != base) {
		for (size_t i = 0;
		     i < sizeof(content_types) / sizeof(content_types[0]); i++)
			if (strcasecmp(dot + 1, content_types[i].ext) == 0)
				return content_types[i].type;
		return OCTET_STREAM;
	}
	/* LICENSE, README, COPYING, NOTICE: text by convention. */
	for (const char *p = base; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-'))
			upper = false;
	return upper ? TEXT_PLAIN : OCTET_STREAM;
}

static bool grow(struct loader *ld)
{
	struct webfiles *set = ld->set;
	struct webfile *files;
	size_t capacity;

	if (set->count < ld->capacity)
		return true;
	capacity = ld->capacity ? 2 * ld->capacity : 32;
	files = realloc(set->files, capacity * sizeof(*files));
	if (files == NULL)
		return fail(ld, "out of memory");
	set->files = files;
	ld->capacity = capacity;
	return true;
}

/* Reads exactly len bytes of fd, or fewer when the file shrank meanwhile. */
static bool read_all(int fd, unsigned char *buf, size_t len, size_t *got)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, buf + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return true;
}

static bool store_file(struct loader *ld, const char *url, unsigned char *data,
		       size_t len)
{
	struct webfile *f;
	char hex[SHA256_HEX_LEN];

	if (ld->set->count >= ld->limits->max_files)
		return fail(ld, "more than %zu files", ld->limits->max_files);
	if (len > ld->limits->max_total_bytes - ld->set->total_bytes)
		return fail(ld, "more than %zu bytes in all",
			    ld->limits->max_total_bytes);
	if (!grow(ld))
		return false;
	f = &ld->set->files[ld->set->count++];
	snprintf(f->path, sizeof(f->path), "%s", url);
	f->data = data;
	f->len = len;
	f->content_type = webfiles_content_type(url);
	sha256_hex(data, len, hex);
	snprintf(f->etag, sizeof(f->etag), "\"%s\"", hex);
	ld->set->total_bytes += len;
	return true;
}

static bool load_file(struct loader *ld, const char *real, const char *url,
		      const struct stat *st)
{
	unsigned char *data;
	size_t len = (size_t)st->st_size, got = 0;
	int fd;
	bool ok;

	if ((uintmax_t)st->st_size > ld->limits->max_file_bytes) {
		skip(ld, real, "larger than the limit");
		return true;
	}
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(ld, "%s: %s", real, strerror(errno));
	data = malloc(len ? len : 1);
	ok = data != NULL && read_all(fd, data, len, &got);
	close(fd);
	if (!ok) {
		free(data);
		return fail(ld, "%s: cannot read", real);
	}
	if (!store_file(ld, url, data, got)) {
		free(data);
		return false;
	}
	return true;
}

static bool load_dir(struct loader *ld, const char *dir, const char *url_dir,
		     int depth);

static bool is_ancestor(const struct loader *ld, const struct stat *st,
			int depth)
{
	for (int i = 0; i < depth; i++)
		if (ld->ancestors[i].dev == st->st_dev &&
		    ld->ancestors[i].ino == st->st_ino)
			return true;
	return false;
}

/* One directory entry: resolved, checked against the rules, loaded. */
static bool load_entry(struct loader *ld, const char *dir, const char *url_dir,
		       const char *name, int depth)
{
	char path[PATH_MAX], url[WEBFILES_PATH_MAX + 1], real[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return fail(ld, "%s/%s: path too long", dir, name);
	if (name[0] == '.') {
		/* .git, .gitkeep, an editor's swap file: expected, quiet. */
		ld->set->skipped++;
		log_debug("web", "%s: not served: a dot-file", path);
		return true;
	}
	if (!name_allowed(name)) {
		skip(ld, path, "a name a URL would have to encode");
		return true;
	}
	if (snprintf(url, sizeof(url), "%s/%s", url_dir, name) >=
	    (int)sizeof(url)) {
		skip(ld, path, "URL path too long");
		return true;
	}
	if (realpath(path, real) == NULL || stat(real, &st) != 0) {
		skip(ld, path, "cannot be resolved (a dangling link?)");
		return true;
	}
	if (!inside_root(ld, real)) {
		skip(ld, path, "a link that leaves the web root");
		return true;
	}
	if (S_ISREG(st.st_mode))
		return load_file(ld, real, url, &st);
	if (!S_ISDIR(st.st_mode)) {
		skip(ld, path, "not a regular file");
		return true;
	}
	if (depth >= ld->limits->max_depth || is_ancestor(ld, &st, depth + 1)) {
		skip(ld, path, "too deep, or a link back to a parent");
		return true;
	}
	ld->ancestors[depth + 1] = (struct dir_id){st.st_dev, st.st_ino};
	return load_dir(ld, real, url, depth + 1);
}

static bool load_dir(struct loader *ld, const char *dir, const char *url_dir,
		     int depth)
{
	size_t n;
	char **names = dirlist_sorted(dir, keep_all, &n);
	bool ok = true;

	if (names == NULL)
		return fail(ld, "%s: cannot read the directory", dir);
	for (size_t i = 0; ok && i < n; i++)
		ok = load_entry(ld, dir, url_dir, names[i], depth);
	dirlist_free(names, n);
	return ok;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(((const struct webfile *)a)->path,
		      ((const struct webfile *)b)->path);
}

static bool open_root(struct loader *ld, const char *root)
{
	struct stat st;

	if (realpath(root, ld->root) == NULL || stat(ld->root, &st) != 0)
		return fail(ld, "web root %s: %s", root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(ld, "web root %s: not a directory", root);
	ld->root_len = strlen(ld->root);
	/* "/" as the root would make every path look inside it; its own
	 * length then is 1 and inside_root still needs the next '/'. */
	if (ld->root_len == 1)
		ld->root_len = 0;
	ld->ancestors[0] = (struct dir_id){st.st_dev, st.st_ino};
	return true;
}

bool webfiles_load(const char *root, const struct webfiles_limits *limits,
		   struct webfiles *out, char *err, size_t errlen)
{
	struct loader ld = {
		.limits = limits ? limits : &webfiles_default_limits,
		.set = out,
		.err = err,
		.errlen = errlen,
	};
	bool ok;

	memset(out, 0, sizeof(*out));
	ld.ancestors =
		calloc((size_t)ld.limits->max_depth + 1, sizeof(*ld.ancestors));
	if (ld.ancestors == NULL)
		return fail(&ld, "out of memory");
	ok = open_root(&ld, root) && load_dir(&ld, ld.root, "", 0);
	free(ld.ancestors);
	if (!ok) {
		webfiles_free(out);
		return false;
	}
	qsort(out->files, out->count, sizeof(*out->files), compare_paths);
	return true;
}

void webfiles_free(struct webfiles *set)
{
	for (size_t i = 0; i < set->count; i++)
		free(set->files[i].data);
	free(set->files);
	memset(set, 0, sizeof(*set));
}

/* Copies url_path up to '?' or '#' into key, refusing what no loaded name
 * can contain; a trailing '/' becomes "/index.html". */
static bool lookup_key(const char *url_path, char key[WEBFILES_PATH_MAX + 1])
{
	size_t n = 0;
	char prev = '\0';

	if (url_path == NULL || url_path[0] != '/')
		return false;
	for (const char *p = url_path; *p != '\0' && *p != '?' && *p != '#';
	     p++) {
		if (*p != '/' && !safe_char(*p))
			return false;
		/* "//", "/./", "/../", "/.git": a segment never starts so. */
		if (prev == '/' && (*p == '/' || *p == '.'))
			return false;
		if (n >= WEBFILES_PATH_MAX)
			return false;
		key[n++] = prev = *p;
	}
	key[n] = '\0';
	if (key[n - 1] == '/') {
		if (n + strlen("index.html") > WEBFILES_PATH_MAX)
			return false;
		strcpy(key + n, "index.html");
	}
	return true;
}

const struct webfile *webfiles_find(const struct webfiles *set,
				    const char *url_path)
{
	struct webfile key;

	if (set->count == 0 || !lookup_key(url_path, key.path))
		return NULL;
	return bsearch(&key, set->files, set->count, sizeof(*set->files),
		       compare_paths);
}

/* One entity-tag of a list at *p: W/ dropped (If-None-Match compares
 * weakly), quotes kept.  Moves *p past it and the comma after it. */
static bool next_tag(const char **p, const char **tag, size_t *len)
{
	const char *s = *p, *end;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return false;
	if (strncmp(s, "W/", 2) == 0)
		s += 2;
	end = *s == '"' ? strchr(s + 1, '"') : NULL;
	if (end == NULL) {
		/* Not a tag: skip to the next comma, matching nothing. */
		end = strchr(s, ',');
		*tag = s;
		*len = 0;
		*p = end ? end + 1 : s + strlen(s);
		return true;
	}
	*tag = s;
	*len = (size_t)(end + 1 - s);
	*p = end + 1;
	return true;
}

bool webfiles_etag_matches(const struct webfile *f, const char *if_none_match)
{
	const char *p = if_none_match, *tag;
	size_t len, etag_len = strlen(f->etag);

	if (p == NULL)
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '*' && p[1 + strspn(p + 1, " \t")] == '\0')
		return true;
	while (next_tag(&p, &tag, &len))
		if (len == etag_len && memcmp(tag, f->etag, len) == 0)
			return true;
	return false;
}
