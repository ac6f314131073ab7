/* The pages from memory (static.h). */
#include "static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "webfiles.h"

#define CTX "static"

/*
 * The pages load only their own scripts, styles and images and talk only
 * to this daemon: no inline script or style (the page sets styles through
 * the DOM, which the policy allows), no frames, no plugins, no other
 * origin.  A leaked page cannot send a token elsewhere.
 */
#define PAGE_CSP                                                               \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; "          \
	"manifest-src 'self'; base-uri 'none'; form-action 'self'; "           \
	"frame-ancestors 'none'"

static struct webfiles files;

static const char *root(void)
{
	const char *env = getenv("PAINPATH_WEB_ROOT");

	return env != NULL && env[0] != '\0' ? env : WEBFILES_DEFAULT_ROOT;
}

bool static_load(void)
{
	char err[512];

	if (!webfiles_load(root(), NULL, &files, err, sizeof(err))) {
		log_error(CTX, "web root %s: %s (no page is served)", root(),
			  err);
		return false;
	}
	log_info(CTX, "web root %s: %zu file(s), %zu bytes", root(),
		 files.count, files.total_bytes);
	return true;
}

void static_reload(void)
{
	struct webfiles next;
	char err[512];

	if (!webfiles_load(root(), NULL, &next, err, sizeof(err))) {
		log_error(CTX, "reload: web root %s: %s (keeping %zu file(s))",
			  root(), err, files.count);
		return;
	}
	/* Answers copy a file's bytes when they are built: nothing points
	 * into the old set any more. */
	webfiles_free(&files);
	files = next;
	log_info(CTX, "reloaded web root %s: %zu file(s)", root(), files.count);
}

void static_free(void)
{
	webfiles_free(&files);
}

void static_page_headers(struct request *r)
{
	request_add_header(r, "X-Content-Type-Options", "nosniff");
	request_add_header(r, "Content-Security-Policy", PAGE_CSP);
	request_add_header(r, "Referrer-Policy", "no-referrer");
	request_add_header(r, "X-Frame-Options", "DENY");
}

enum handled static_get(struct request *r, struct reply *out)
{
	const struct webfile *f;
	char allow[64], *copy;

	/* An API path with another method is a 405, as without the pages. */
	request_other_methods(r, allow, sizeof(allow));
	if (allow[0] != '\0') {
		request_add_header(r, "Allow", allow);
		return reply_error(out, ERR_METHOD_NOT_ALLOWED, NULL,
				   "method not allowed here; allowed: %s",
				   allow);
	}
	f = webfiles_find(&files, request_uri(r));
	if (f == NULL)
		return reply_error(out, ERR_NOT_FOUND, NULL,
				   "no such resource");
	static_page_headers(r);
	/* Revalidated each time (no-cache), answered 304 when unchanged: a
	 * reloaded page is seen at once, an unchanged one costs no bytes. */
	out->cache_control = "no-cache";
	snprintf(out->etag, sizeof(out->etag), "%s", f->etag);
	if (webfiles_etag_matches(f, request_header(r, "If-None-Match")))
		return reply_text(out, 304, f->content_type, strdup(""), 0);
	copy = malloc(f->len + 1);
	if (copy != NULL) {
		memcpy(copy, f->data, f->len);
		copy[f->len] = '\0';
	}
	return reply_text(out, 200, f->content_type, copy, f->len);
}
