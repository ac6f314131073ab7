/*
 * sha256 against the FIPS 180-4 examples, and the tokens file: parsing,
 * refusals with the line at fault, lookups and region scopes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "sha256.h"
#include "suites.h"

START_TEST(sha256_known_answers)
{
	static const struct {
		const char *in, *hex;
	} cases[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		     "7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410f"
			"f61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419"
		 "db06c1"},
		/* 55 and 56 bytes: either side of the padding boundary
		 * (digests from sha256sum). */
		{"0123456789012345678901234567890123456789012345678901234",
		 "f34d5a0f80c0cbf84c8c0b90218c22637abd199965249da736a20143c8c9c"
		 "9d9"},
		{"01234567890123456789012345678901234567890123456789012345",
		 "83aa034bda83e458a0dc9cbce0d4e354716aa0ff770ed37ac0ed2b292052e"
		 "4af"},
	};
	char hex[SHA256_HEX_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sha256_hex(cases[i].in, strlen(cases[i].in), hex);
		ck_assert_str_eq(hex, cases[i].hex);
	}
}
END_TEST

static char *write_temp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/painpath-tokens-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	return path;
}

START_TEST(tokens_file_loads_and_finds)
{
	struct token_set set;
	char err[256], regions[256];
	const char *path = write_temp(
		"# comment\n"
		/* The right hash in its first 16 bytes only, listed first so
		 * that a comparison of a prefix finds it before ehr-vest
		 * (issue 10: such a comparison let it pass). */
		"half ehr * sha256:1c47060e8cf9e7946ee29a7ddb6980a2"
		"00000000000000000000000000000000\n"
		"ehr-vest ehr helse-vest sha256:1c47060e8cf9e7946ee29a7ddb6980"
		"a22a6fa0a3c974442710a9830b17ae441c\n"
		"\n"
		"nord coordinator helse-nord,helse-midt plain:nord-secret "
		"ehr-system-a\n"
		"root admin * plain:root-secret\n");
	const struct token *t;

	ck_assert_msg(auth_load_file(path, &set, err, sizeof(err)), "%s", err);
	ck_assert_int_eq((int)set.count, 4);
	ck_assert(auth_has_development_tokens(&set));
	t = auth_find(&set, "ehr-vest-secret-7");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->id, "ehr-vest");
	ck_assert_int_eq(t->role, ROLE_EHR);
	ck_assert(!t->development);
	ck_assert_str_eq(t->source, "ehr-vest");
	ck_assert(auth_covers_region(t, "helse-vest"));
	ck_assert(!auth_covers_region(t, "helse-nord"));
	/* Regions are matched whole (issue 10: a prefix match let a token
	 * for helse-vest act in helse-vestland). */
	ck_assert(!auth_covers_region(t, "helse-vestland"));
	ck_assert(!auth_covers_region(t, "helse-ves"));
	ck_assert(!auth_covers_region(t, ""));
	ck_assert_str_eq(auth_regions_literal(t, regions, sizeof(regions)),
			 "{\"helse-vest\"}");
	t = auth_find(&set, "nord-secret");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(auth_regions_literal(t, regions, sizeof(regions)),
			 "{\"helse-nord\",\"helse-midt\"}");
	ck_assert_str_eq(t->source, "ehr-system-a");
	ck_assert(auth_covers_region(t, "helse-midt"));
	t = auth_find(&set, "root-secret");
	ck_assert(t->all_regions && t->role == ROLE_ADMIN);
	ck_assert_ptr_null(auth_regions_literal(t, regions, sizeof(regions)));
	ck_assert_ptr_null(auth_find(&set, "ehr-vest-secret-"));
	ck_assert_ptr_null(auth_find(&set, "ehr-vest-secret-77"));
	ck_assert_ptr_null(auth_find(&set, ""));
	ck_assert_ptr_null(auth_find(&set, NULL));
	auth_free(&set);
	unlink(path);
}
END_TEST

START_TEST(bad_tokens_files_name_the_line)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"a ehr * plain:x src extra\n", ":1:"},
		{"a ehr * plain:x b@d\n", ":1: the source"},
		{"a ehr *\n", ":1:"},
		{"\n\na nurse * plain:x\n", ":3: role"},
		{"a ehr r1,,r2 plain:x\nb ehr * plain:y\n", ":1: regions"},
		{"a ehr bad/region plain:x\n", ":1: regions"},
		{"a ehr * sha256:abc\n", ":1: secret"},
		{"a ehr * "
		 "sha256:zz47060e8cf9e7946ee29a7ddb6980a22a6fa0a3c9744427"
		 "10a9830b17ae441c\n",
		 ":1: secret"},
		{"a ehr * secret\n", ":1: secret"},
		{"a ehr * plain:\n", ":1: secret"},
		{"b@d ehr * plain:x\n", ":1: the token id"},
		{"# only comments\n", "no tokens"},
	};
	struct token_set set;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_temp(cases[i].text);
		ck_assert_msg(!auth_load_file(path, &set, err, sizeof(err)),
			      "case %zu loaded", i);
		ck_assert_msg(strstr(err, path) && strstr(err, cases[i].want),
			      "case %zu: %s", i, err);
		unlink(path);
	}
	ck_assert(
		!auth_load_file("/nonexistent/tokens", &set, err, sizeof(err)));
}
END_TEST

Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("tokens");

	tcase_add_test(tc, sha256_known_answers);
	tcase_add_test(tc, tokens_file_loads_and_finds);
	tcase_add_test(tc, bad_tokens_files_name_the_line);
	suite_add_tcase(s, tc);
	return s;
}
