/*
 * GET /v1/openapi.json: the OpenAPI document of the routes (doc/openapi.json),
 * embedded in the binary at build time (the Makefile generates the C array
 * and its ETag), so an installed daemon needs no data file and always
 * serves the document of its own routes.
 *
 * The route is public: the document holds no patient data, and tools read
 * it before they hold a token.  Its answer may be cached, but revalidated
 * (no-cache): a daemon upgraded in place serves another document under the
 * same URL, and a 304 on If-None-Match keeps revalidation cheap.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"

/* build/gen/openapi_doc.c */
extern const unsigned char openapi_json[];
extern const size_t openapi_json_len;
extern const char openapi_json_etag[];

/* If-None-Match names the document's ETag: "*", or one of a list, weak
 * ones too (RFC 9110 13.1.2 compares weakly). */
static bool etag_matches(const char *header)
{
	size_t n = strlen(openapi_json_etag);

	if (header == NULL)
		return false;
	for (const char *p = header; *p != '\0';) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, openapi_json_etag, n) == 0 &&
		    (p[n] == '\0' || strchr(" \t,", p[n]) != NULL))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

enum handled openapi_get(struct request *r, struct reply *out)
{
	bool unchanged = etag_matches(request_header(r, "If-None-Match"));
	size_t len = unchanged ? 0 : openapi_json_len;
	char *text = malloc(len + 1);
	enum handled h;

	if (text != NULL) {
		memcpy(text, openapi_json, len);
		text[len] = '\0';
	}
	h = reply_text(out, unchanged ? 304 : 200, "application/json", text,
		       len);
	if (out->err.code == ERR_NONE) {
		out->cache_control = "no-cache";
		snprintf(out->etag, sizeof(out->etag), "%s", openapi_json_etag);
	}
	return h;
}
