/*
 * fuzz_http1: lib/http1 on untrusted bytes, as a connection delivers them
 * to daemon/http.c.  The first byte picks what the rest is: a request head
 * (even) or a chunked body (odd, with the next two bytes as the body
 * limit).
 *
 * Invariants (abort() when broken):
 *  - a head's end is where its blank line ends, and no shorter piece of
 *    the same bytes looks complete;
 *  - a parsed head's target is printable ASCII, origin-form or "*", and
 *    its framing agrees with its Content-Length;
 *  - a chunked body decodes to the same bytes, status and end whether it
 *    arrives whole or one byte at a time, never past its limit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn)) fail(const char *what)
{
	fprintf(stderr, "fuzz: invariant broken: %s\n", what);
	abort();
}

static void check_parsed(const struct http1_head *h)
{
	if (strcmp(h->target, "*") != 0 && h->target[0] != '/')
		fail("a target is neither origin-form nor *");
	for (const char *p = h->target; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			fail("a target holds a byte it may not");
	if ((h->framing == HTTP1_LENGTH) != (h->content_length > 0))
		fail("framing and Content-Length disagree");
	if (h->minor != 0 && h->minor != 1)
		fail("a version other than 1.0 and 1.1");
}

static void head(const char *bytes, size_t len)
{
	struct http1_error err;
	struct http1_head h;
	long end = http1_head_end(bytes, len, &err);

	if (end < 0 || end == 0)
		return;
	if ((size_t)end > len || end < 4 ||
	    memcmp(bytes + end - 4, "\r\n\r\n", 4) != 0)
		fail("a head does not end with its blank line");
	for (long p = 0; p < end; p += 1 + p / 8)
		if (http1_head_end(bytes, (size_t)p, &err) != 0)
			fail("a piece of a head looks complete or wrong");
	if (!http1_parse_head(bytes, (size_t)end, &h, &err)) {
		if (err.status < 400 || err.message[0] == '\0')
			fail("a refusal without a status or message");
		return;
	}
	check_parsed(&h);
	http1_head_free(&h);
}

static enum http1_chunk_status decode(const char *in, size_t len,
				      uint64_t limit, size_t step, char *out,
				      size_t *out_len, size_t *used_all)
{
	struct http1_chunked c;
	struct http1_error err;
	enum http1_chunk_status st = HTTP1_CHUNK_MORE;
	size_t at = 0;

	http1_chunked_init(&c, limit);
	*out_len = 0;
	while (st == HTTP1_CHUNK_MORE && at < len) {
		size_t n = step == 0 || len - at < step ? len - at : step;
		size_t used = 0, produced = 0;

		st = http1_chunked_decode(&c, in + at, n, &used, out + *out_len,
					  &produced, &err);
		*out_len += produced;
		at += used;
		if (st == HTTP1_CHUNK_MORE && used != n)
			fail("more wanted, yet input left untaken");
	}
	*used_all = at;
	return st;
}

static void chunked(const char *in, size_t len, uint64_t limit)
{
	char *a = malloc(len + 1), *b = malloc(len + 1);
	size_t alen, blen, aused, bused;
	enum http1_chunk_status sa, sb;

	sa = decode(in, len, limit, 0, a, &alen, &aused);
	sb = decode(in, len, limit, 1, b, &blen, &bused);
	if (sa != sb || alen != blen || memcmp(a, b, alen) != 0)
		fail("pieces decode differently from the whole");
	if (sa == HTTP1_CHUNK_DONE && aused != bused)
		fail("the body ends at different places");
	if (alen > limit)
		fail("more data than the limit");
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	if (data[0] % 2 == 0)
		head((const char *)data + 1, size - 1);
	else
		chunked((const char *)data + 3, size - 3,
			(uint64_t)data[1] << 8 | data[2]);
	return 0;
}
