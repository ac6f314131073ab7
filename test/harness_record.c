/*
 * harness_record: with PAINPATH_RECORD_ANSWERS=FILE, every answer the
 * harness's HTTP client receives is appended to FILE as one JSON line --
 * the request line it answered (method and target, as sent) and the
 * answer's status, Content-Type and body -- so that make check can hold
 * each one against doc/openapi.json (test/node/openapi-answers.mjs).
 *
 * The request line is taken from the first bytes sent on a connection,
 * whichever call sent them (http_begin, http_raw, http_send), so hostile
 * and paced requests are recorded like ordinary ones; bytes that do not
 * start with a request line are recorded with method and target null.
 * Check runs each test in a child process: each line is one write(2) to a
 * file opened O_APPEND, so the children's lines never mix.
 */
#include "harness_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD_MAX_FD	  4096
#define RECORD_METHOD_MAX 16
/* Enough of the first bytes for any request line the suites send. */
#define RECORD_HEAD_MAX 8192

struct sent {
	bool seen;  /* bytes were sent on this descriptor */
	char *head; /* the first of them, however they were split */
	size_t len;
};

static struct sent *sent; /* by descriptor, allocated on first use */

static const char *record_file(void)
{
	const char *path = getenv("PAINPATH_RECORD_ANSWERS");

	return path != NULL && path[0] != '\0' ? path : NULL;
}

static struct sent *slot(int fd)
{
	if (fd < 0 || fd >= RECORD_MAX_FD || record_file() == NULL)
		return NULL;
	if (sent == NULL)
		sent = calloc(RECORD_MAX_FD, sizeof(*sent));
	return sent != NULL ? &sent[fd] : NULL;
}

void harness_record_forget(int fd)
{
	struct sent *s = slot(fd);

	if (s == NULL)
		return;
	free(s->head);
	memset(s, 0, sizeof(*s));
}

void harness_record_request(int fd, const void *bytes, size_t len)
{
	struct sent *s = slot(fd);
	size_t take;

	if (s == NULL)
		return;
	s->seen = true;
	if (s->head == NULL && (s->head = malloc(RECORD_HEAD_MAX)) == NULL)
		return;
	take = RECORD_HEAD_MAX - s->len < len ? RECORD_HEAD_MAX - s->len : len;
	memcpy(s->head + s->len, bytes, take);
	s->len += take;
}

/* "METHOD SP target SP", after any empty lines (which a server skips): the
 * method a token of capitals, the target up to the next space.  Sets
 * method and target (NUL-terminated, in out) or answers false. */
static bool request_line(const struct sent *s, char *out, size_t outlen,
			 const char **method, const char **target)
{
	const char *b = s->head, *end = s->head + s->len, *m, *t;

	while (b < end && (*b == '\r' || *b == '\n'))
		b++;
	for (m = b;
	     m < end && m - b < RECORD_METHOD_MAX && *m >= 'A' && *m <= 'Z';
	     m++)
		;
	if (m == b || m >= end || *m != ' ')
		return false;
	for (t = m + 1; t < end && *t != ' ' && *t != '\r' && *t != '\n'; t++)
		;
	if (t >= end || *t != ' ' || t == m + 1 || (size_t)(t - b) >= outlen)
		return false;
	memcpy(out, b, (size_t)(t - b));
	out[m - b] = '\0';
	out[t - b] = '\0';
	*method = out;
	*target = out + (m - b) + 1;
	return true;
}

/* A JSON string of the bytes, or null when they are no UTF-8 text. */
static json_t *text_or_null(const char *bytes, size_t len)
{
	json_t *s = bytes != NULL ? json_stringn(bytes, len) : NULL;

	return s != NULL ? s : json_null();
}

static void append_line(const char *path, const char *line)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	size_t len = strlen(line);

	if (fd < 0 || write(fd, line, len) != (ssize_t)len)
		perror("harness: recording an answer");
	if (fd >= 0)
		close(fd);
}

void harness_record_answer(int fd, const struct http_response *r)
{
	struct sent *s = slot(fd);
	char *type = http_header(r, "Content-Type");
	char line_buf[RECORD_HEAD_MAX];
	const char *method = NULL, *target = NULL;
	json_t *rec;
	char *line;

	if (s == NULL || !s->seen || r->status == 0) {
		free(type);
		return;
	}
	request_line(s, line_buf, sizeof(line_buf), &method, &target);
	rec = json_pack("{s:o, s:o, s:i, s:o, s:o}", "method",
			method ? json_string(method) : json_null(), "target",
			target ? text_or_null(target, strlen(target))
			       : json_null(),
			"status", r->status, "content_type",
			type != NULL ? json_string(type) : json_null(), "body",
			text_or_null(r->body, r->body_len));
	line = rec != NULL ? json_dumps(rec, JSON_COMPACT) : NULL;
	if (line != NULL) {
		size_t n = strlen(line);
		char *nl = realloc(line, n + 2);

		if (nl != NULL) {
			line = nl;
			memcpy(line + n, "\n", 2);
			append_line(record_file(), line);
		}
	}
	free(line);
	json_decref(rec);
	free(type);
}
