/*
 * GET /v1/openapi.json: the document the daemon embeds is doc/openapi.json
 * byte for byte, served without a token, with an ETag that answers 304 to
 * If-None-Match and revalidation asked of caches.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

#define NO_TOKEN "Authorization:\r\n"
#define DOC_PATH PAINPATH_SOURCE_DIR "/doc/openapi.json"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size)) &&
	    fread(text, 1, (size_t)size, f) == (size_t)size)
		*len = (size_t)size;
	fclose(f);
	ck_assert_ptr_nonnull(text);
	return text;
}

/* The answer's header name, which must be there (malloc'd). */
static char *header(const struct http_response *r, const char *name)
{
	char *v = http_header(r, name);

	ck_assert_msg(v != NULL, "no %s header in:\n%s", name, r->headers);
	return v;
}

START_TEST(the_document_is_served_without_a_token)
{
	struct http_response r;
	size_t len = 0;
	char *doc = read_file(DOC_PATH, &len);
	char *type, *etag, *cache;

	ck_assert_int_eq(http_request(PORT, "GET", "/v1/openapi.json", NULL,
				      NO_TOKEN, &r),
			 200);
	type = header(&r, "Content-Type");
	etag = header(&r, "ETag");
	cache = header(&r, "Cache-Control");
	ck_assert_str_eq(type, "application/json");
	ck_assert_str_eq(cache, "no-cache");
	ck_assert_msg(strlen(etag) == 34 && etag[0] == '"' && etag[33] == '"',
		      "ETag %s", etag);
	ck_assert_msg(r.body_len == len && memcmp(r.body, doc, len) == 0,
		      "the document served (%zu bytes) is not %s (%zu bytes)",
		      r.body_len, DOC_PATH, len);
	ck_assert_str_eq(e2e_str(r.json, "openapi"), "3.1.0");
	free(type);
	free(etag);
	free(cache);
	free(doc);
	http_response_free(&r);
}
END_TEST

/* If-None-Match with the ETag as sent, weak, in a list or "*": 304 and no
 * body; another tag: the document. */
START_TEST(if_none_match_answers_304)
{
	struct http_response r;
	char *etag, extra[256];
	/* Before the tag; "*" stands alone. */
	const char *const forms[] = {"", "W/", "\"other\", ", "*"};

	http_request(PORT, "GET", "/v1/openapi.json", NULL, NULL, &r);
	etag = header(&r, "ETag");
	http_response_free(&r);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char value[128];
		char *again;

		snprintf(value, sizeof(value), "%s%s", forms[i],
			 strcmp(forms[i], "*") == 0 ? "" : etag);
		snprintf(extra, sizeof(extra), "If-None-Match: %s\r\n", value);
		ck_assert_int_eq(http_request(PORT, "GET", "/v1/openapi.json",
					      NULL, extra, &r),
				 304);
		ck_assert_uint_eq(r.body_len, 0);
		again = header(&r, "ETag");
		ck_assert_str_eq(again, etag);
		free(again);
		http_response_free(&r);
	}
	ck_assert_int_eq(http_request(PORT, "GET", "/v1/openapi.json", NULL,
				      "If-None-Match: \"other\"\r\n", &r),
			 200);
	ck_assert_uint_gt(r.body_len, 0);
	http_response_free(&r);
	free(etag);
}
END_TEST

void e2e_add_openapi_tests(Suite *s)
{
	TCase *tc = e2e_tcase("openapi");

	tcase_add_test(tc, the_document_is_served_without_a_token);
	tcase_add_test(tc, if_none_match_answers_304);
	suite_add_tcase(s, tc);
}
