/*
 * pgarray: every element quoted and escaped, so that any text arrives in
 * PostgreSQL as itself (issue 10 #7: the patient "NULL" became a NULL).
 * The expected literals are written by hand from PostgreSQL's array input
 * rules; the e2e suites send such ids through a real server.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "suites.h"

static void expect(const char *const *elements, size_t n, const char *want)
{
	struct pgarray a;

	pgarray_init(&a);
	for (size_t i = 0; i < n; i++)
		pgarray_add(&a, elements[i]);
	ck_assert_str_eq(pgarray_text(&a), want);
	pgarray_free(&a);
}

START_TEST(empty_array)
{
	expect(NULL, 0, "{}");
}
END_TEST

START_TEST(null_and_the_word_null)
{
	const char *const e[] = {NULL, "NULL", "null", ""};

	expect(e, 4, "{NULL,\"NULL\",\"null\",\"\"}");
}
END_TEST

START_TEST(separators_and_braces_stay_text)
{
	const char *const e[] = {"a,b", "{x}", " padded ", "semi;colon"};

	expect(e, 4, "{\"a,b\",\"{x}\",\" padded \",\"semi;colon\"}");
}
END_TEST

START_TEST(quotes_and_backslashes_escaped_anywhere)
{
	const char *const e[] = {"\"x\"",  "\\",    "a\\\"b",
				 "\"\"\"", "end\\", "\"start"};

	expect(e, 6,
	       "{\"\\\"x\\\"\",\"\\\\\",\"a\\\\\\\"b\",\"\\\"\\\"\\\"\","
	       "\"end\\\\\",\"\\\"start\"}");
}
END_TEST

START_TEST(json_text_with_long_runs)
{
	const char *const e[] = {"{\"pathway_id\":\"pw-1\",\"note\":\"ø å "
				 "\\u00e6\"}"};

	expect(e, 1,
	       "{\"{\\\"pathway_id\\\":\\\"pw-1\\\",\\\"note\\\":\\\"ø å "
	       "\\\\u00e6\\\"}\"}");
}
END_TEST

START_TEST(grows_past_its_first_buffer)
{
	struct pgarray a;
	char big[5000];
	const char *text;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '"';
	pgarray_init(&a);
	for (int i = 0; i < 50; i++)
		pgarray_add(&a, big);
	text = pgarray_text(&a);
	ck_assert_ptr_nonnull(text);
	/* braces, 49 commas, each element quoted with its one quote escaped */
	ck_assert_uint_eq(strlen(text),
			  2 + 49 + 50 * (sizeof(big) - 1 + 1 + 2));
	pgarray_free(&a);
}
END_TEST

Suite *pgarray_suite(void)
{
	Suite *s = suite_create("pgarray");
	TCase *tc = tcase_create("literals");

	tcase_add_test(tc, empty_array);
	tcase_add_test(tc, null_and_the_word_null);
	tcase_add_test(tc, separators_and_braces_stay_text);
	tcase_add_test(tc, quotes_and_backslashes_escaped_anywhere);
	tcase_add_test(tc, json_text_with_long_runs);
	tcase_add_test(tc, grows_past_its_first_buffer);
	suite_add_tcase(s, tc);
	return s;
}
