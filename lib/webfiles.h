/*
 * webfiles: the coordinators' page and the public page, held in memory.
 *
 * The daemon serves a handful of small static files from inside its event
 * loop, where a read() of a slow disk would stall every client.  So the
 * whole tree is read once, at start-up (and again on SIGHUP, into a new
 * set that replaces the old one), and a request only looks a path up in a
 * sorted table: no file system call happens at request time, so no URL
 * can name a file that was not loaded.
 *
 * What is loaded: regular files under the root whose every path segment is
 * made of A-Z a-z 0-9 . _ - and does not start with a dot (dot-files such
 * as .git or an editor's swap file are never served), each at most
 * max_file_bytes.  A symlink is followed only when its target lies inside
 * the root.  Files that break these rules are skipped with a warning
 * (counted in `skipped`); an unreadable root, a read error or a tree over
 * max_total_bytes or max_files fails the load.
 */
#ifndef PAINPATH_WEBFILES_H
#define PAINPATH_WEBFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "sha256.h"

#ifndef PAINPATH_SOURCE_DIR
#define PAINPATH_SOURCE_DIR "."
#endif
/* An installed daemon's pages are under DATADIR (make install), a built
 * one's in the source tree. */
#ifdef PAINPATH_WEB_DIR
#define WEBFILES_DEFAULT_ROOT PAINPATH_WEB_DIR
#else
#define WEBFILES_DEFAULT_ROOT PAINPATH_SOURCE_DIR "/web"
#endif

/* Longest URL path a file may have, e.g. "/vendor/uplot/uPlot.min.css". */
#define WEBFILES_PATH_MAX 255
/* A strong ETag with its quotes: "\"<64 hex digits>\"". */
#define WEBFILES_ETAG_LEN (SHA256_HEX_LEN + 2)

struct webfiles_limits {
	size_t max_file_bytes;	/* a larger file is skipped */
	size_t max_total_bytes; /* a larger tree fails the load */
	size_t max_files;	/* more files fail the load */
	int max_depth;		/* deeper directories are skipped */
};

/* 1 MiB a file, 16 MiB and 1000 files in all, 8 levels deep: the pages and
 * their vendored chart library are about 150 kB. */
extern const struct webfiles_limits webfiles_default_limits;

struct webfile {
	char path[WEBFILES_PATH_MAX + 1]; /* "/index.html" */
	unsigned char *data;		  /* owned; len bytes */
	size_t len;
	const char *content_type;     /* static string */
	char etag[WEBFILES_ETAG_LEN]; /* "\"sha256 hex\"" */
};

struct webfiles {
	struct webfile *files; /* sorted by path */
	size_t count;
	size_t total_bytes;
	size_t skipped; /* files refused by the rules above */
};

/* Reads the tree under root into *out (zeroed first).  On failure returns
 * false with the reason in err, and *out holds nothing to free.  limits
 * NULL means webfiles_default_limits. */
bool webfiles_load(const char *root, const struct webfiles_limits *limits,
		   struct webfiles *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Frees every file; *set is left empty and may be freed again. */
void webfiles_free(struct webfiles *set);

/* The file a request path names, or NULL (answer 404).  url_path is the
 * path as it came on the request line, undecoded; anything from '?' on is
 * ignored.  A path ending in '/' names that directory's index.html.  Any
 * '%', backslash, empty segment ("//"), or segment starting with a dot
 * ("..", ".", ".git") finds nothing: loaded names never need any of them.
 * The pointer borrows from set and lives until webfiles_free; an answer
 * built with evbuffer_add copies the bytes, so a reload may free the old
 * set at once. */
const struct webfile *webfiles_find(const struct webfiles *set,
				    const char *url_path);

/* The content type for a file name: by extension, LICENSE and similar
 * upper-case names as text, anything unknown as application/octet-stream. */
const char *webfiles_content_type(const char *name);

/* Whether an If-None-Match header value (a list of entity tags, or "*")
 * matches the file's ETag, by the weak comparison RFC 9110 prescribes for
 * this header: then the answer is 304. */
bool webfiles_etag_matches(const struct webfile *f, const char *if_none_match);

#endif
