#include "http1.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_METHOD     16
#define MAX_CHUNK_LINE 4096
/* 15 hex digits are 2^60: past any body limit, short of overflow. */
#define MAX_SIZE_DIGITS 15

static bool fail(struct http1_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(struct http1_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

/* RFC 9110 section 5.6.2 */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

long http1_head_end(const char *bytes, size_t len, struct http1_error *err)
{
	size_t line_start = 0;
	bool seen_line = false;

	for (size_t i = 0; i < len; i++) {
		if (i >= HTTP1_MAX_HEAD)
			break;
		if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r'))
			return fail(err, 400, "a line ends in a bare LF"), -1;
		if (bytes[i] == '\r' && i + 1 < len && bytes[i + 1] != '\n')
			return fail(err, 400, "a line holds a bare CR"), -1;
		if (bytes[i] != '\n')
			continue;
		/* An empty line ends the head once a request line came. */
		if (i - line_start == 1 && seen_line)
			return (long)i + 1;
		seen_line |= i - line_start > 1;
		line_start = i + 1;
	}
	if (len >= HTTP1_MAX_HEAD)
		return fail(err, 431, "the request head is over %d bytes",
			    HTTP1_MAX_HEAD),
		       -1;
	return 0;
}

/* Cuts buf at CRLFs into lines; returns the count, or 0 when too many. */
static size_t split_lines(char *buf, char **lines, size_t max)
{
	size_t n = 0;

	for (char *p = buf, *eol; (eol = strstr(p, "\r\n")) != NULL;
	     p = eol + 2) {
		if (n == max)
			return 0;
		*eol = '\0';
		lines[n++] = p;
	}
	return n;
}

/* An absolute-form target keeps only its path and query. */
static const char *origin_form(const char *target)
{
	const char *p;

	if (strncasecmp(target, "http://", 7) != 0 &&
	    strncasecmp(target, "https://", 8) != 0)
		return NULL;
	p = strstr(target, "//") + 2;
	p += strcspn(p, "/?");
	return *p == '\0' ? "/" : p;
}

static bool parse_target(char *target, struct http1_head *h,
			 struct http1_error *err)
{
	for (const unsigned char *p = (const unsigned char *)target; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '#')
			return fail(err, 400,
				    "the request target holds a byte that is "
				    "not allowed there (0x%02x)",
				    *p);
	if (target[0] == '/' || strcmp(target, "*") == 0)
		h->target = target;
	else
		h->target = origin_form(target);
	if (h->target == NULL || strlen(target) > 8192)
		return fail(err, 400, "the request target is not a path");
	if (h->target[0] != '/')
		h->target = h->target[0] == '?' ? "/" : h->target;
	return true;
}

static bool parse_request_line(char *line, struct http1_head *h,
			       struct http1_error *err)
{
	char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

	if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL)
		return fail(err, 400,
			    "the request line is not "
			    "\"METHOD target HTTP/1.x\"");
	*sp1 = *sp2 = '\0';
	h->method = line;
	if (!is_token(h->method) || strlen(h->method) > MAX_METHOD)
		return fail(err, 400, "the method is not a token");
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		h->minor = 1;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		h->minor = 0;
	else
		return fail(err, 400, "only HTTP/1.1 and HTTP/1.0 are served");
	return parse_target(sp1 + 1, h, err);
}

static char *trim_ows(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static bool parse_field(char *line, struct http1_head *h,
			struct http1_error *err)
{
	char *colon = strchr(line, ':');

	if (line[0] == ' ' || line[0] == '\t')
		return fail(err, 400, "folded header lines are not accepted");
	if (colon == NULL)
		return fail(err, 400, "a header line has no colon");
	*colon = '\0';
	if (!is_token(line))
		return fail(err, 400, "a header name is not a token");
	for (const unsigned char *p = (unsigned char *)colon + 1; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(err, 400,
				    "the %s header holds a control character",
				    line);
	if (h->nfields == HTTP1_MAX_FIELDS)
		return fail(err, 431, "more than %d header fields",
			    HTTP1_MAX_FIELDS);
	h->fields[h->nfields++] =
		(struct http1_field){line, trim_ows(colon + 1)};
	return true;
}

const char *http1_field(const struct http1_head *h, const char *name)
{
	for (size_t i = 0; i < h->nfields; i++)
		if (strcasecmp(h->fields[i].name, name) == 0)
			return h->fields[i].value;
	return NULL;
}

static size_t field_count(const struct http1_head *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nfields; i++)
		n += strcasecmp(h->fields[i].name, name) == 0;
	return n;
}

/* RFC 9112 section 6.3: a length the server cannot be sure of is an
 * unrecoverable error, answered 400 with the connection closed. */
static bool parse_framing(struct http1_head *h, struct http1_error *err)
{
	const char *cl = http1_field(h, "Content-Length");
	const char *te = http1_field(h, "Transfer-Encoding");

	if (field_count(h, "Content-Length") > 1 ||
	    field_count(h, "Transfer-Encoding") > 1)
		return fail(err, 400, "the body's length is given twice");
	if (cl != NULL && te != NULL)
		return fail(err, 400,
			    "Content-Length and Transfer-Encoding "
			    "together");
	if (te != NULL) {
		if (h->minor == 0)
			return fail(err, 400,
				    "HTTP/1.0 has no "
				    "Transfer-Encoding");
		if (strcasecmp(te, "chunked") != 0)
			return fail(err, 400,
				    "only the chunked transfer "
				    "coding is accepted");
		h->framing = HTTP1_CHUNKED;
		return true;
	}
	if (cl == NULL)
		return true;
	if (cl[0] == '\0' || strlen(cl) > 18 ||
	    strspn(cl, "0123456789") != strlen(cl))
		return fail(err, 400, "Content-Length is not a number");
	h->content_length = strtoull(cl, NULL, 10);
	h->framing = h->content_length > 0 ? HTTP1_LENGTH : HTTP1_NO_BODY;
	return true;
}

/* Whether the connection may carry another request after this one. */
static void parse_connection(struct http1_head *h)
{
	const char *c = http1_field(h, "Connection");
	char copy[256], *save = NULL;

	h->keep_alive = h->minor == 1;
	if (c == NULL)
		return;
	snprintf(copy, sizeof(copy), "%s", c);
	for (char *t = strtok_r(copy, ", \t", &save); t != NULL;
	     t = strtok_r(NULL, ", \t", &save)) {
		if (strcasecmp(t, "close") == 0) {
			h->keep_alive = false;
			return;
		}
		if (strcasecmp(t, "keep-alive") == 0)
			h->keep_alive = true;
	}
}

static bool parse_semantics(struct http1_head *h, struct http1_error *err)
{
	const char *expect = http1_field(h, "Expect");
	size_t hosts = field_count(h, "Host");

	if (hosts > 1 || (hosts == 0 && h->minor == 1))
		return fail(err, 400, "HTTP/1.1 needs exactly one Host header");
	if (expect != NULL && (field_count(h, "Expect") > 1 ||
			       strcasecmp(expect, "100-continue") != 0))
		return fail(err, 417,
			    "only Expect: 100-continue is "
			    "understood");
	h->expect_continue = expect != NULL;
	parse_connection(h);
	return parse_framing(h, err);
}

bool http1_parse_head(const char *bytes, size_t len, struct http1_head *h,
		      struct http1_error *err)
{
	char *lines[HTTP1_MAX_FIELDS + 8];
	size_t n, first = 0;

	memset(h, 0, sizeof(*h));
	h->buf = malloc(len + 1);
	if (h->buf == NULL)
		return fail(err, 500, "out of memory");
	memcpy(h->buf, bytes, len);
	h->buf[len] = '\0';
	if (memchr(h->buf, '\0', len) != NULL) {
		http1_head_free(h);
		return fail(err, 400, "the request head holds a NUL byte");
	}
	n = split_lines(h->buf, lines, sizeof(lines) / sizeof(lines[0]));
	while (first < n && lines[first][0] == '\0')
		first++;
	/* The last line is the blank one that ends the head. */
	bool ok = n > first + 0 && n <= HTTP1_MAX_FIELDS + first + 2
			  ? parse_request_line(lines[first], h, err)
			  : fail(err, n == 0 ? 431 : 400,
				 "the request head is not a request line and "
				 "header fields");
	for (size_t i = first + 1; ok && i + 1 < n; i++)
		ok = parse_field(lines[i], h, err);
	if (ok)
		ok = parse_semantics(h, err);
	if (!ok)
		http1_head_free(h);
	return ok;
}

void http1_head_free(struct http1_head *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

/* --- chunked bodies (RFC 9112 section 7.1) --- */

enum chunk_state {
	CS_SIZE,    /* hex digits of the chunk size */
	CS_SIZE_WS, /* whitespace before an extension */
	CS_EXT,	    /* ";name=value" up to the line's end */
	CS_SIZE_LF, /* after the size line's CR */
	CS_DATA,    /* the chunk's bytes */
	CS_DATA_CR, /* the CRLF after them */
	CS_DATA_LF,
	CS_TRAILER,    /* at the start of a trailer line */
	CS_TRAILER_IN, /* inside one */
	CS_TRAILER_LF,
	CS_END_LF, /* after the final blank line's CR */
	CS_DONE
};

void http1_chunked_init(struct http1_chunked *c, uint64_t limit)
{
	memset(c, 0, sizeof(*c));
	c->state = CS_SIZE;
	c->limit = limit;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool bad(struct http1_chunked *c, struct http1_error *err,
		const char *what)
{
	c->state = CS_DONE;
	return fail(err, 400, "the chunked body is malformed: %s", what);
}

/* A chunk-size line's byte; false when the body is refused. */
static bool size_byte(struct http1_chunked *c, char ch, struct http1_error *err)
{
	int v = hex_value(ch);

	if (++c->line > MAX_CHUNK_LINE)
		return bad(c, err, "a chunk-size line is too long");
	if (c->state == CS_SIZE && v >= 0) {
		if ((c->left > 0 || v > 0) && ++c->digits > MAX_SIZE_DIGITS)
			return c->state = CS_DONE,
			       fail(err, 413, "the body is over %llu bytes",
				    (unsigned long long)c->limit);
		c->left = c->left * 16 + (uint64_t)v;
		return true;
	}
	if (c->line == 1)
		return bad(c, err, "a chunk size is not hexadecimal");
	if (ch == '\r') {
		c->state = CS_SIZE_LF;
		return true;
	}
	if (ch == ';' && c->state != CS_EXT) {
		c->state = CS_EXT;
		return true;
	}
	if (ch == ' ' || ch == '\t')
		c->state = c->state == CS_EXT ? CS_EXT : CS_SIZE_WS;
	else if (c->state != CS_EXT || (unsigned char)ch < 0x20 || ch == 0x7f)
		return bad(c, err, "a chunk-size line holds a stray byte");
	return true;
}

/* The LF that ends a size line: the data follows, or the trailers. */
static bool size_done(struct http1_chunked *c, char ch, struct http1_error *err)
{
	if (ch != '\n')
		return bad(c, err, "a chunk-size line's CR without LF");
	if (c->left > c->limit - c->total)
		return c->state = CS_DONE,
		       fail(err, 413, "the body is over %llu bytes",
			    (unsigned long long)c->limit);
	c->total += c->left;
	c->state = c->left > 0 ? CS_DATA : CS_TRAILER;
	c->line = 0;
	return true;
}

/* Trailer fields are read and dropped, bounded like a head. */
static bool trailer_byte(struct http1_chunked *c, char ch,
			 struct http1_error *err)
{
	if (++c->trailers > HTTP1_MAX_HEAD)
		return c->state = CS_DONE,
		       fail(err, 431, "the trailer fields are over %d bytes",
			    HTTP1_MAX_HEAD);
	switch (c->state) {
	case CS_TRAILER:
		c->state = ch == '\r' ? CS_END_LF : CS_TRAILER_IN;
		if (ch == ' ' || ch == '\t' || ch == '\n')
			return bad(c, err, "a trailer line starts badly");
		return true;
	case CS_TRAILER_IN:
		if (ch == '\r')
			c->state = CS_TRAILER_LF;
		else if (((unsigned char)ch < 0x20 && ch != '\t') || ch == 0x7f)
			return bad(c, err, "a trailer holds a control byte");
		return true;
	case CS_TRAILER_LF:
		c->state = CS_TRAILER;
		return ch == '\n' || bad(c, err, "a trailer's CR without LF");
	default: /* CS_END_LF */
		c->state = CS_DONE;
		return ch == '\n' || bad(c, err, "the last CR without LF");
	}
}

/* One byte outside a chunk's data; false when the body is refused. */
static bool frame_byte(struct http1_chunked *c, char ch,
		       struct http1_error *err)
{
	switch (c->state) {
	case CS_SIZE:
	case CS_SIZE_WS:
	case CS_EXT:
		return size_byte(c, ch, err);
	case CS_SIZE_LF:
		return size_done(c, ch, err);
	case CS_DATA_CR:
		c->state = CS_DATA_LF;
		return ch == '\r' || bad(c, err,
					 "a chunk is longer than its "
					 "size");
	case CS_DATA_LF:
		c->state = CS_SIZE;
		c->digits = 0;
		return ch == '\n' || bad(c, err, "a chunk's CR without LF");
	default:
		return trailer_byte(c, ch, err);
	}
}

enum http1_chunk_status http1_chunked_decode(struct http1_chunked *c,
					     const char *in, size_t len,
					     size_t *consumed, char *out,
					     size_t *produced,
					     struct http1_error *err)
{
	size_t i = 0;

	*produced = 0;
	while (i < len && c->state != CS_DONE) {
		if (c->state == CS_DATA) {
			size_t n =
				len - i < c->left ? len - i : (size_t)c->left;
			memcpy(out + *produced, in + i, n);
			*produced += n;
			i += n;
			c->left -= n;
			if (c->left == 0)
				c->state = CS_DATA_CR;
			continue;
		}
		if (!frame_byte(c, in[i++], err)) {
			*consumed = i;
			return HTTP1_CHUNK_BAD;
		}
	}
	*consumed = i;
	return c->state == CS_DONE ? HTTP1_CHUNK_DONE : HTTP1_CHUNK_MORE;
}

/* The length of the UTF-8 sequence at s (RFC 3629 table), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
	size_t n = s[0] < 0x80	 ? 1
		   : s[0] < 0xc2 ? 0
		   : s[0] < 0xe0 ? 2
		   : s[0] < 0xf0 ? 3
		   : s[0] < 0xf5 ? 4
				 : 0;
	unsigned char lo = 0x80, hi = 0xbf;

	if (n == 0 || n > len)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f; /* no surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < n; i++, lo = 0x80, hi = 0xbf)
		if (s[i] < lo || s[i] > hi)
			return 0;
	return n;
}

bool http1_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(p + i, len - i);

		if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)))
			return false;
		/* C1 controls, U+0080..U+009F */
		if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return false;
		i += n;
	}
	return true;
}
