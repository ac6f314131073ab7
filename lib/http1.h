/*
 * http1: HTTP/1.1 request framing (RFC 9112) as pure functions over bytes
 * -- where a request head ends, what it says, and chunked bodies.  No I/O:
 * daemon/http.c feeds it what a connection has read.
 *
 * Strict wherever leniency is how requests get smuggled past a proxy or
 * split in two: lines end in CRLF only; one Content-Length of digits; no
 * Content-Length beside Transfer-Encoding; "chunked" as the only coding;
 * no folded lines; no whitespace between a field name and its colon; no
 * control or non-ASCII bytes in the request target.  Lenient where the
 * RFC asks for it: chunk extensions and trailer fields are accepted and
 * ignored.
 */
#ifndef PAINPATH_HTTP1_H
#define PAINPATH_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The request line and header fields together, blank line included. */
#define HTTP1_MAX_HEAD	 16384
#define HTTP1_MAX_FIELDS 100

/* Why a request is refused: the status to answer and a message that
 * quotes none of the request's bytes. */
struct http1_error {
	int status; /* 400, 417 or 431; 413 from the chunked decoder */
	char message[160];
};

/* The length of the head at the start of bytes[0..len), its blank line
 * included: > 0 when complete, 0 when more bytes are needed, -1 when these
 * bytes can never start a valid head (a bare CR or LF; over
 * HTTP1_MAX_HEAD), with err filled.  Blank lines before the request line
 * are part of the head (RFC 9112 section 2.2 lets a server skip them). */
long http1_head_end(const char *bytes, size_t len, struct http1_error *err);

enum http1_framing {
	HTTP1_NO_BODY,
	HTTP1_LENGTH, /* content_length bytes */
	HTTP1_CHUNKED
};

struct http1_field {
	const char *name, *value; /* into the head's own copy */
};

struct http1_head {
	char *buf; /* owned: a copy of the head, cut into strings */
	const char *method;
	const char *target; /* origin-form: "/path?query" (an absolute-form
			     * target is cut to this), or "*" */
	int minor;	    /* HTTP/1.<minor>: 0 or 1 */
	struct http1_field fields[HTTP1_MAX_FIELDS];
	size_t nfields;
	enum http1_framing framing;
	uint64_t content_length;
	bool keep_alive;      /* the connection may carry another request */
	bool expect_continue; /* "Expect: 100-continue" */
};

/* Parses a complete head (len from http1_head_end).  On false, err says
 * why and h holds nothing to free. */
bool http1_parse_head(const char *bytes, size_t len, struct http1_head *h,
		      struct http1_error *err)
	__attribute__((warn_unused_result));
void http1_head_free(struct http1_head *h);
/* The first field of that name (case-insensitive), or NULL.  Borrowed from
 * h. */
const char *http1_field(const struct http1_head *h, const char *name);

/* A chunked body being decoded, from any number of pieces. */
struct http1_chunked {
	int state;
	uint64_t left;	 /* data bytes left in the current chunk */
	uint64_t total;	 /* data bytes so far */
	uint64_t limit;	 /* data bytes allowed in all */
	size_t line;	 /* bytes of the current size or trailer line */
	size_t trailers; /* bytes of trailer fields so far */
	unsigned digits; /* significant hex digits of the chunk size */
};

enum http1_chunk_status {
	HTTP1_CHUNK_MORE, /* all input taken; the body goes on */
	HTTP1_CHUNK_DONE, /* the last chunk and trailers are in */
	HTTP1_CHUNK_BAD	  /* err says why (400, or 413 over the limit) */
};

void http1_chunked_init(struct http1_chunked *c, uint64_t limit);
/* Decodes from in[0..len): data bytes are appended at out, *produced says
 * how many (never more than len, nor than limit minus the data bytes
 * produced before: out needs room for the smaller); *consumed says how much of
 * in was taken (less than len only when the body ended: the rest belongs to the
 * next request). */
enum http1_chunk_status http1_chunked_decode(struct http1_chunked *c,
					     const char *in, size_t len,
					     size_t *consumed, char *out,
					     size_t *produced,
					     struct http1_error *err);

/* True when s[0..len) is UTF-8 (RFC 3629: no overlong forms, no
 * surrogates) without control characters: text a client may pass on. */
bool http1_text_valid(const char *s, size_t len);

#endif
