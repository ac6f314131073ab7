/*
 * webfiles against a tree this test writes into a temporary directory:
 * what is loaded and how it is typed and tagged, what is refused (dot-files,
 * links out of the root, loops, files over the limit), and request paths
 * that try to climb out or smuggle a name past the lookup.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "log.h"
#include "suites.h"
#include "webfiles.h"

static char root[64];
static char outside[64];

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq((int)fwrite(text, 1, strlen(text), f),
			 (int)strlen(text));
	ck_assert_int_eq(fclose(f), 0);
}

static void make_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void make_link(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(symlink(target, path), 0);
}

static void write_big(const char *rel, size_t len)
{
	char *text = malloc(len + 1);

	ck_assert_ptr_nonnull(text);
	memset(text, 'x', len);
	text[len] = '\0';
	write_file(root, rel, text);
	free(text);
}

/* The tree every test reads: six files served, six entries refused. */
static void make_tree(void)
{
	char secret[128];

	/* The refusals below are expected: keep their warnings out of the
	 * test's output. */
	log_current_level = LOG_ERROR;
	snprintf(root, sizeof(root), "/tmp/painpath-web-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/painpath-out-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_ptr_nonnull(mkdtemp(outside));
	write_file(outside, "secret.txt", "outside the root\n");
	snprintf(secret, sizeof(secret), "%s/secret.txt", outside);

	write_file(root, "index.html", "<!doctype html><h1>painpath</h1>\n");
	write_file(root, "app.js", "export const x = 1;\n");
	write_file(root, "empty.css", "");
	make_dir("vendor");
	make_dir("vendor/uplot");
	write_file(root, "vendor/uplot/LICENSE", "The MIT License (MIT)\n");
	make_dir("sub");
	write_file(root, "sub/index.html", "<p>sub</p>\n");
	make_link("index.html", "alias.html");

	write_file(root, ".hidden", "dot-file\n");
	make_dir(".git");
	write_file(root, ".git/config", "[core]\n");
	write_file(root, "bad name.txt", "a space\n");
	write_big("big.txt", 2000);
	make_link(secret, "leak.txt");
	make_link(".", "loop");
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(void)
{
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(outside, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const struct webfiles_limits small = {
	.max_file_bytes = 1000,
	.max_total_bytes = 100000,
	.max_files = 100,
	.max_depth = 4,
};

static void load(struct webfiles *set)
{
	char err[256] = "";

	ck_assert_msg(webfiles_load(root, &small, set, err, sizeof(err)), "%s",
		      err);
}

START_TEST(loads_files_with_type_and_etag)
{
	struct webfiles set;
	const struct webfile *f;
	char hex[SHA256_HEX_LEN], etag[WEBFILES_ETAG_LEN];
	const char *body = "<!doctype html><h1>painpath</h1>\n";

	load(&set);
	ck_assert_int_eq((int)set.count, 6);
	f = webfiles_find(&set, "/index.html");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq((int)f->len, (int)strlen(body));
	ck_assert(memcmp(f->data, body, f->len) == 0);
	ck_assert_str_eq(f->content_type, "text/html; charset=utf-8");
	sha256_hex(body, strlen(body), hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	ck_assert_str_eq(f->etag, etag);

	f = webfiles_find(&set, "/app.js");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->content_type, "text/javascript; charset=utf-8");
	f = webfiles_find(&set, "/vendor/uplot/LICENSE");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->content_type, "text/plain; charset=utf-8");
	ck_assert_int_eq((int)set.total_bytes,
			 (int)(2 * strlen(body) + 20 + 22 + 11));
	webfiles_free(&set);
	webfiles_free(&set);
	ck_assert_int_eq((int)set.count, 0);
}
END_TEST

START_TEST(empty_file_is_served)
{
	struct webfiles set;
	const struct webfile *f;
	char etag[WEBFILES_ETAG_LEN];

	load(&set);
	f = webfiles_find(&set, "/empty.css");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq((int)f->len, 0);
	snprintf(etag, sizeof(etag), "\"%s\"",
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		 "7852b855");
	ck_assert_str_eq(f->etag, etag);
	webfiles_free(&set);
}
END_TEST

START_TEST(directory_paths_name_their_index)
{
	struct webfiles set;

	load(&set);
	ck_assert_ptr_eq(webfiles_find(&set, "/"),
			 webfiles_find(&set, "/index.html"));
	ck_assert_str_eq(webfiles_find(&set, "/sub/")->path, "/sub/index.html");
	ck_assert_str_eq(webfiles_find(&set, "/?lang=da")->path, "/index.html");
	ck_assert_str_eq(webfiles_find(&set, "/app.js?v=2#x")->path, "/app.js");
	/* No directory listing, and no guessing "/sub" means "/sub/". */
	ck_assert_ptr_null(webfiles_find(&set, "/sub"));
	ck_assert_ptr_null(webfiles_find(&set, "/vendor/"));
	webfiles_free(&set);
}
END_TEST

START_TEST(link_inside_root_is_followed)
{
	struct webfiles set;
	const struct webfile *alias, *index;

	load(&set);
	alias = webfiles_find(&set, "/alias.html");
	index = webfiles_find(&set, "/index.html");
	ck_assert_ptr_nonnull(alias);
	ck_assert_int_eq((int)alias->len, (int)index->len);
	ck_assert_str_eq(alias->etag, index->etag);
	webfiles_free(&set);
}
END_TEST

START_TEST(refused_entries_are_skipped)
{
	struct webfiles set;
	static const char *const refused[] = {
		"/.hidden", "/.git/config",    "/bad name.txt",
		"/big.txt", "/leak.txt",       "/loop/index.html",
		"/loop/",   "/bad%20name.txt",
	};

	load(&set);
	/* .hidden, .git, "bad name.txt", big.txt, leak.txt, loop. */
	ck_assert_int_eq((int)set.skipped, 6);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ck_assert_msg(webfiles_find(&set, refused[i]) == NULL, "%s",
			      refused[i]);
	webfiles_free(&set);
}
END_TEST

START_TEST(traversal_finds_nothing)
{
	struct webfiles set;
	static const char *const tricks[] = {
		"/../index.html",
		"/sub/../index.html",
		"/sub/./index.html",
		"/./index.html",
		"//index.html",
		"/sub//index.html",
		"/%2e%2e/index.html",
		"/%2E%2E/%2E%2E/etc/passwd",
		"/index%2ehtml",
		"/%69ndex.html",
		"/sub%2findex.html",
		"/sub%2Findex.html",
		"\\index.html",
		"/sub\\..\\index.html",
		"/..%2f..%2fetc/passwd",
		"/..",
		"/.",
		"index.html",
		"",
		"/index.html%00.js",
		"/INDEX.HTML",
		"/index.html/",
		"/index.html/.",
	};

	load(&set);
	for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++)
		ck_assert_msg(webfiles_find(&set, tricks[i]) == NULL, "%s",
			      tricks[i]);
	ck_assert_ptr_null(webfiles_find(&set, NULL));
	webfiles_free(&set);
}
END_TEST

START_TEST(overlong_path_finds_nothing)
{
	struct webfiles set;
	char path[WEBFILES_PATH_MAX + 20];

	load(&set);
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_ptr_null(webfiles_find(&set, path));
	webfiles_free(&set);
}
END_TEST

START_TEST(limits_fail_the_load)
{
	struct webfiles set;
	struct webfiles_limits few = small, tight = small;
	char err[256] = "";

	few.max_files = 3;
	ck_assert(!webfiles_load(root, &few, &set, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "more than 3 files"));
	ck_assert_int_eq((int)set.count, 0);
	ck_assert_ptr_null(set.files);

	tight.max_total_bytes = 50;
	ck_assert(!webfiles_load(root, &tight, &set, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bytes in all"));
	ck_assert_int_eq((int)set.count, 0);
}
END_TEST

START_TEST(depth_limit_skips_deeper_directories)
{
	struct webfiles set;
	struct webfiles_limits shallow = small;
	char err[256] = "";

	shallow.max_depth = 1;
	ck_assert_msg(webfiles_load(root, &shallow, &set, err, sizeof(err)),
		      "%s", err);
	ck_assert_ptr_nonnull(webfiles_find(&set, "/sub/"));
	ck_assert_ptr_null(webfiles_find(&set, "/vendor/uplot/LICENSE"));
	webfiles_free(&set);
}
END_TEST

START_TEST(bad_root_fails_with_reason)
{
	struct webfiles set;
	char err[256] = "", missing[128], file[128];

	snprintf(missing, sizeof(missing), "%s/nowhere", root);
	ck_assert(!webfiles_load(missing, NULL, &set, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "nowhere"));
	snprintf(file, sizeof(file), "%s/index.html", root);
	ck_assert(!webfiles_load(file, NULL, &set, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	ck_assert_int_eq((int)set.count, 0);
}
END_TEST

START_TEST(root_given_through_a_link)
{
	struct webfiles set;
	char link[128], err[256] = "";

	snprintf(link, sizeof(link), "%s/root-link", outside);
	ck_assert_int_eq(symlink(root, link), 0);
	ck_assert_msg(webfiles_load(link, &small, &set, err, sizeof(err)), "%s",
		      err);
	ck_assert_int_eq((int)set.count, 6);
	webfiles_free(&set);
}
END_TEST

START_TEST(content_types_by_name)
{
	static const struct {
		const char *name, *type;
	} cases[] = {
		{"/index.html", "text/html; charset=utf-8"},
		{"/a/app.mjs", "text/javascript; charset=utf-8"},
		{"/x.CSS", "text/css; charset=utf-8"},
		{"/logo.svg", "image/svg+xml"},
		{"/shot.png", "image/png"},
		{"/i18n.json", "application/json"},
		{"/notes.txt", "text/plain; charset=utf-8"},
		{"/vendor/uplot/LICENSE", "text/plain; charset=utf-8"},
		{"/COPYING", "text/plain; charset=utf-8"},
		{"/Makefile", "application/octet-stream"},
		{"/archive.tar.gz", "application/octet-stream"},
		{"/noext", "application/octet-stream"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(strcmp(webfiles_content_type(cases[i].name),
				     cases[i].type) == 0,
			      "%s", cases[i].name);
}
END_TEST

START_TEST(if_none_match_compares_weakly)
{
	struct webfile f;
	char other[WEBFILES_ETAG_LEN + 8];

	snprintf(f.etag, sizeof(f.etag), "\"%064d\"", 7);
	snprintf(other, sizeof(other), "\"%064d\"", 8);
	ck_assert(webfiles_etag_matches(&f, f.etag));
	ck_assert(webfiles_etag_matches(&f, "*"));
	ck_assert(webfiles_etag_matches(&f, " * "));
	ck_assert(!webfiles_etag_matches(&f, other));
	ck_assert(!webfiles_etag_matches(&f, NULL));
	ck_assert(!webfiles_etag_matches(&f, ""));
	ck_assert(!webfiles_etag_matches(&f, "*, \"x\""));

	char list[256];
	snprintf(list, sizeof(list), "%s, W/%s", other, f.etag);
	ck_assert(webfiles_etag_matches(&f, list));
	snprintf(list, sizeof(list), "garbage,%s", f.etag);
	ck_assert(webfiles_etag_matches(&f, list));
	/* Without its quotes the tag is another tag. */
	snprintf(list, sizeof(list), "%064d", 7);
	ck_assert(!webfiles_etag_matches(&f, list));
	snprintf(list, sizeof(list), "\"%064d", 7);
	ck_assert(!webfiles_etag_matches(&f, list));
}
END_TEST

/* The pages this repository ships load whole under the default limits:
 * nothing skipped, each entry point where the pages link to it. */
START_TEST(shipped_web_root_loads)
{
	struct webfiles set;
	char err[256] = "";
	static const struct {
		const char *path, *type;
	} entries[] = {
		{"/", "text/html; charset=utf-8"},
		{"/public.html", "text/html; charset=utf-8"},
		{"/style.css", "text/css; charset=utf-8"},
		{"/js/dashboard.js", "text/javascript; charset=utf-8"},
		{"/js/public.js", "text/javascript; charset=utf-8"},
		{"/vendor/uplot/uPlot.iife.min.js",
		 "text/javascript; charset=utf-8"},
		{"/vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"},
		{"/vendor/uplot/LICENSE", "text/plain; charset=utf-8"},
		{"/favicon.svg", "image/svg+xml"},
	};

	ck_assert_msg(webfiles_load(WEBFILES_DEFAULT_ROOT, NULL, &set, err,
				    sizeof(err)),
		      "%s", err);
	ck_assert_int_eq((int)set.skipped, 0);
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		const struct webfile *f = webfiles_find(&set, entries[i].path);
		ck_assert_msg(f != NULL, "%s", entries[i].path);
		ck_assert_str_eq(f->content_type, entries[i].type);
	}
	webfiles_free(&set);
}
END_TEST

Suite *webfiles_suite(void)
{
	Suite *s = suite_create("webfiles");
	TCase *load_tc = tcase_create("load");
	TCase *find_tc = tcase_create("find");
	TCase *pure_tc = tcase_create("headers");
	TCase *shipped_tc = tcase_create("shipped");

	tcase_add_checked_fixture(load_tc, make_tree, remove_tree);
	tcase_add_test(load_tc, loads_files_with_type_and_etag);
	tcase_add_test(load_tc, empty_file_is_served);
	tcase_add_test(load_tc, link_inside_root_is_followed);
	tcase_add_test(load_tc, refused_entries_are_skipped);
	tcase_add_test(load_tc, limits_fail_the_load);
	tcase_add_test(load_tc, depth_limit_skips_deeper_directories);
	tcase_add_test(load_tc, bad_root_fails_with_reason);
	tcase_add_test(load_tc, root_given_through_a_link);
	suite_add_tcase(s, load_tc);

	tcase_add_checked_fixture(find_tc, make_tree, remove_tree);
	tcase_add_test(find_tc, directory_paths_name_their_index);
	tcase_add_test(find_tc, traversal_finds_nothing);
	tcase_add_test(find_tc, overlong_path_finds_nothing);
	suite_add_tcase(s, find_tc);

	tcase_add_test(pure_tc, content_types_by_name);
	tcase_add_test(pure_tc, if_none_match_compares_weakly);
	suite_add_tcase(s, pure_tc);

	tcase_add_test(shipped_tc, shipped_web_root_loads);
	suite_add_tcase(s, shipped_tc);
	return s;
}
