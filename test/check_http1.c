/*
 * Unit tests for lib/http1.c: request heads (test/data/http1_heads.tsv)
 * and chunked bodies (test/data/http1_chunked.tsv), written from RFC 9112
 * rather than from the code; and the text check for query values.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "suites.h"
#include "tsv.h"

static void framing_text(const struct http1_head *h, char *buf, size_t len)
{
	if (h->framing == HTTP1_LENGTH)
		snprintf(buf, len, "length:%llu",
			 (unsigned long long)h->content_length);
	else
		snprintf(buf, len, "%s",
			 h->framing == HTTP1_CHUNKED ? "chunked" : "none");
}

static void check_parsed(struct tsv *t, const struct http1_head *h)
{
	char framing[64];

	framing_text(h, framing, sizeof(framing));
	tsv_check(t, strcmp(h->method, t->col[2]) == 0, "method %s", h->method);
	tsv_check(t, strcmp(h->target, t->col[3]) == 0, "target %s", h->target);
	tsv_check(t, strcmp(framing, t->col[4]) == 0, "framing %s", framing);
	tsv_check(t, h->keep_alive == (strcmp(t->col[5], "keep") == 0),
		  "keep_alive %d", h->keep_alive);
	tsv_check(t, h->expect_continue == (atoi(t->col[6]) == 1),
		  "expect_continue %d", h->expect_continue);
}

START_TEST(test_heads)
{
	struct tsv t;

	tsv_open(&t, "http1_heads.tsv");
	while (tsv_next(&t, 2, 7)) {
		struct http1_error err = {0, ""};
		struct http1_head h;
		size_t len;
		char *bytes = tsv_unescape(t.col[0], &len);
		long end = http1_head_end(bytes, len, &err);
		int status = end < 0 ? err.status : 0;

		/* What follows a head (a body, the next request) is not
		 * the head's business. */
		if (end > 0 && !http1_parse_head(bytes, (size_t)end, &h, &err))
			status = err.status;
		else if (end > 0)
			status = -1; /* parsed; h to check and free */
		if (strcmp(t.col[1], "more") == 0)
			tsv_check(&t, end == 0, "complete (%ld)", end);
		else if (atoi(t.col[1]) != 0)
			tsv_check(&t, status == atoi(t.col[1]),
				  "status %d (%s)", status, err.message);
		else
			tsv_check(&t, status == -1 && t.cols == 7,
				  "refused %d: %s", status, err.message);
		if (status == -1 && t.cols == 7)
			check_parsed(&t, &h);
		if (status == -1)
			http1_head_free(&h);
		tsv_check(&t, status <= 0 || strlen(err.message) > 0,
			  "no message");
		free(bytes);
	}
	tsv_close(&t, 80);
}
END_TEST

/* Decodes in pieces of step bytes (0: whole); fills the outcome. */
static enum http1_chunk_status decode(const char *in, size_t len,
				      uint64_t limit, size_t step, char *out,
				      size_t *out_len, size_t *left,
				      struct http1_error *err)
{
	struct http1_chunked c;
	enum http1_chunk_status st = HTTP1_CHUNK_MORE;
	size_t at = 0;

	http1_chunked_init(&c, limit);
	*out_len = 0;
	while (st == HTTP1_CHUNK_MORE && at < len) {
		size_t n = step == 0 || len - at < step ? len - at : step;
		size_t used = 0, produced = 0;

		st = http1_chunked_decode(&c, in + at, n, &used, out + *out_len,
					  &produced, err);
		*out_len += produced;
		if (st == HTTP1_CHUNK_MORE && used != n)
			return HTTP1_CHUNK_BAD;
		at += used;
	}
	*left = len - at;
	return st;
}

static const char *outcome(enum http1_chunk_status st,
			   const struct http1_error *err, char *buf)
{
	if (st == HTTP1_CHUNK_BAD)
		sprintf(buf, "%d", err->status);
	else
		strcpy(buf, st == HTTP1_CHUNK_DONE ? "done" : "more");
	return buf;
}

START_TEST(test_chunked)
{
	struct tsv t;

	tsv_open(&t, "http1_chunked.tsv");
	while (tsv_next(&t, 5, 5)) {
		size_t len, want_len, rest_len;
		char *in = tsv_unescape(t.col[0], &len);
		char *want = tsv_unescape(t.col[3], &want_len);
		char *rest = tsv_unescape(t.col[4], &rest_len);
		char *out = malloc(len + 1);

		for (size_t step = 0; step < 2; step++) {
			struct http1_error err = {0, ""};
			size_t out_len, left;
			char got[16];
			enum http1_chunk_status st =
				decode(in, len, strtoull(t.col[1], NULL, 10),
				       step, out, &out_len, &left, &err);

			if (!tsv_check(&t,
				       strcmp(outcome(st, &err, got),
					      t.col[2]) == 0,
				       "step %zu: %s (%s)", step, got,
				       err.message))
				continue;
			tsv_check(&t,
				  out_len == want_len &&
					  memcmp(out, want, want_len) == 0,
				  "step %zu: decoded %.*s", step, (int)out_len,
				  out);
			if (st == HTTP1_CHUNK_DONE)
				tsv_check(&t,
					  left == rest_len &&
						  memcmp(in + len - left, rest,
							 left) == 0,
					  "step %zu: %zu bytes left", step,
					  left);
		}
		free(in);
		free(want);
		free(rest);
		free(out);
	}
	tsv_close(&t, 35);
}
END_TEST

START_TEST(test_text_valid)
{
	static const struct {
		const char *s;
		bool valid;
	} cases[] = {
		{"", true},
		{"helse-vest", true},
		{"caf\xc3\xa9", true},
		{"\xe2\x82\xac 5", true},
		{"\xf0\x9f\x98\x80", true},
		{"\xff", false},
		{"\xc3\x28", false},
		{"\xc0\xaf", false},
		{"\xe0\x80\xaf", false},
		{"\xed\xa0\x80", false},
		{"\xf4\x90\x80\x80", false},
		{"\xe2\x82", false},
		{"a\x1b[2J", false},
		{"a\tb", false},
		{"a\x7f", false},
		{"\xc2\x85", false},
		{"\xc2\xa0", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(
			http1_text_valid(cases[i].s, strlen(cases[i].s)) ==
				cases[i].valid,
			"case %zu", i);
}
END_TEST

Suite *http1_suite(void)
{
	Suite *s = suite_create("http1");
	TCase *tc = tcase_create("framing");

	tcase_add_test(tc, test_heads);
	tcase_add_test(tc, test_chunked);
	tcase_add_test(tc, test_text_valid);
	suite_add_tcase(s, tc);
	return s;
}
