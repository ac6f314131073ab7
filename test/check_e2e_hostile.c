/*
 * Hostile input (issue 6): malformed, oversized, slow and tricky requests
 * sent to the real daemon.  Every case checks its answer: the documented
 * status and code where api.md names one, otherwise at least no server
 * error (503 aside), no hang and nothing internal in the body.  After each
 * group the daemon must still answer /healthz and still be alive, and the
 * refused requests must have recorded nothing.
 *
 * A group does not stop at its first bad answer: it prints every failing
 * case on stderr ("hostile FAIL: request: expected, got") and fails once at
 * its end, so one run lists everything the daemon gets wrong.
 *
 * Hostile patients are "hx-<pid>-<n>", hostile events "hxe-<pid>-<n>"; the
 * last test checks that none of them ever reached the database.  The one
 * test that may record ("okdeep-" patients, region hostile-deep) checks an
 * accepted deeply nested event stays readable.  HOSTILE_VERBOSE=1 prints
 * how the daemon answered each piece of HTTP-level garbage.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#ifndef PAINPATH_SOURCE_DIR
#define PAINPATH_SOURCE_DIR "."
#endif

#define RAW_TIMEOUT_MS	 10000 /* one answer; longer counts as a hang */
#define SHORT_TIMEOUT_MS 3000  /* garbage the daemon may just drop */
#define SERVED_WITHIN_MS 2000  /* others while a slow client stalls */
#define MIB		 (1024 * 1024)
#define HOLE		 "@HOLE@"
#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))

static int sent;     /* requests this test sent */
static int failures; /* cases that failed */
static char first_failure[1024];
static int transitions_before;
static long last_ms;  /* how long the last exchange took */
static bool no_token; /* request() sends no default Authorization */

/* The suite's default Authorization line, or "". */
static const char *token_line(void)
{
	return http_default_headers && !no_token ? http_default_headers : "";
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __attribute__((format(printf, 1, 2))) void fail_case(const char *fmt,
							    ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hostile FAIL: %s\n", msg);
	if (failures++ == 0)
		snprintf(first_failure, sizeof(first_failure), "%s", msg);
}

/* A printable excerpt of bytes, for messages. */
static const char *excerpt(const void *bytes, size_t len, char *out,
			   size_t outlen)
{
	const unsigned char *p = bytes;
	size_t o = 0, i;

	for (i = 0; i < len && o + 24 < outlen && o < 140; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x",
					      p[i]);
	}
	if (i < len)
		snprintf(out + o, outlen - o, "...(%zu bytes)", len);
	else
		out[o] = '\0';
	return out;
}

/* --- talking to the daemon --- */

static int connect_to(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Sends what the peer takes before deadline; false when it stopped. */
static bool send_until(int fd, const void *bytes, size_t len, int64_t deadline)
{
	const char *p = bytes;

	while (len > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int64_t left = deadline - now_ms();
		ssize_t w;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return false;
		w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

/* Reads until EOF or deadline and parses what came (status 0: none). */
static int read_answer(int fd, int64_t deadline, struct http_response *r)
{
	size_t len = 0, cap = 8192;
	char *raw = malloc(cap), *hdr_end, *cl;

	memset(r, 0, sizeof(*r));
	while (raw != NULL) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (len + 1 >= cap) {
			char *bigger = realloc(raw, cap * 2);
			if (bigger == NULL)
				break;
			raw = bigger;
			cap *= 2;
		}
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		n = recv(fd, raw + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (raw == NULL) {
		r->headers = strdup("");
		r->body = strdup("");
		return 0;
	}
	raw[len] = '\0';
	if (len > 12 && strncmp(raw, "HTTP/1.", 7) == 0)
		r->status = atoi(raw + 9);
	hdr_end = strstr(raw, "\r\n\r\n");
	r->headers = strndup(raw, hdr_end ? (size_t)(hdr_end - raw) + 2 : len);
	r->body = strdup(hdr_end ? hdr_end + 4 : "");
	r->body_len = strlen(r->body);
	cl = http_header(r, "Content-Length");
	if (cl != NULL && (size_t)atol(cl) < r->body_len) {
		r->body_len = (size_t)atol(cl);
		r->body[r->body_len] = '\0';
	}
	free(cl);
	if (r->body_len > 0)
		r->json = json_loadb(r->body, r->body_len, 0, NULL);
	free(raw);
	return r->status;
}

/*
 * Raw bytes on a fresh connection; with half_close the write side is shut
 * after them, so a daemon waiting for more sees the end at once.
 */
static int exchange(int port, const void *bytes, size_t len, bool half_close,
		    int timeout_ms, struct http_response *r)
{
	int64_t start = now_ms(), deadline = start + timeout_ms;
	int fd = connect_to(port);

	sent++;
	if (fd < 0) {
		memset(r, 0, sizeof(*r));
		r->headers = strdup("");
		r->body = strdup("");
		last_ms = now_ms() - start;
		return 0;
	}
	send_until(fd, bytes, len, deadline);
	if (half_close)
		shutdown(fd, SHUT_WR);
	read_answer(fd, deadline, r);
	close(fd);
	last_ms = (long)(now_ms() - start);
	return r->status;
}

/*
 * One request through the harness' http_raw: the request line, Host and
 * Connection: close, extra headers, and with a body its Content-Type and
 * Content-Length.  The body may hold any bytes, NUL included.
 */
static int request(const char *method, const char *target, const char *extra,
		   const void *body, size_t len, struct http_response *r)
{
	char *head = NULL, *buf, clen[96] = "";
	const char *token = extra && strcasestr(extra, "authorization:")
				    ? ""
				    : token_line();
	int64_t start = now_ms();
	int n, status;

	if (body != NULL)
		snprintf(clen, sizeof(clen),
			 "Content-Type: application/json\r\n"
			 "Content-Length: %zu\r\n",
			 len);
	n = asprintf(&head,
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		     "Connection: close\r\n%s%s%s\r\n",
		     method, target, PORT, token, extra ? extra : "", clen);
	ck_assert_int_gt(n, 0);
	buf = malloc((size_t)n + len);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, head, (size_t)n);
	if (len > 0)
		memcpy(buf + n, body, len);
	sent++;
	status = http_raw(PORT, buf, (size_t)n + len, RAW_TIMEOUT_MS, r);
	last_ms = (long)(now_ms() - start);
	free(buf);
	free(head);
	return status;
}

static int post(const void *body, size_t len, struct http_response *r)
{
	return request("POST", "/v1/events", NULL, body, len, r);
}

/* --- judging answers --- */

/* Words an answer must never carry: they mean SQL or libpq leaked out. */
static const char *leak_in(const struct http_response *r)
{
	static const char *const exact[] = {"SQL", "ERROR:"};
	static const char *const anycase[] = {"syntax error", "pq", "postgres"};

	if (r->body == NULL)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (strstr(r->body, exact[i]) != NULL)
			return exact[i];
	for (size_t i = 0; i < ARRAY_SIZE(anycase); i++)
		if (strcasestr(r->body, anycase[i]) != NULL)
			return anycase[i];
	return NULL;
}

static bool status_in(int status, const char *allowed)
{
	char buf[64], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", allowed);
	for (char *t = strtok_r(buf, "|", &save); t != NULL;
	     t = strtok_r(NULL, "|", &save)) {
		if (strcmp(t, "4xx") == 0 && status >= 400 && status < 500)
			return true;
		if (strcmp(t, "closed") == 0 && status == 0)
			return true;
		if (atoi(t) == status && status != 0)
			return true;
	}
	return false;
}

static bool code_in(const char *code, const char *allowed)
{
	char buf[128], *save = NULL;

	if (code == NULL)
		return false;
	snprintf(buf, sizeof(buf), "%s", allowed);
	for (char *t = strtok_r(buf, "|", &save); t != NULL;
	     t = strtok_r(NULL, "|", &save))
		if (strcmp(t, code) == 0)
			return true;
	return false;
}

/*
 * Checks one answer.  statuses: "400", "400|404", "4xx", "closed" (no
 * answer is acceptable), joined by '|'.  codes: the error.code(s) required,
 * or NULL when any body will do.  field: error.field required on an
 * invalid_event answer, or NULL.  Frees r.
 */
static void expect(const char *what, struct http_response *r,
		   const char *statuses, const char *codes, const char *field)
{
	const char *code = e2e_str(r->json, "error.code");
	const char *got_field = e2e_str(r->json, "error.field");
	const char *leak = leak_in(r);
	char body[200];

	excerpt(r->body ? r->body : "", r->body ? r->body_len : 0, body,
		sizeof(body));
	if (r->status >= 500 && r->status != 503 &&
	    !(r->status == 501 && strstr(statuses, "501") != NULL))
		fail_case("%s: expected %s, got server error %d: %s", what,
			  statuses, r->status, body);
	else if (!status_in(r->status, statuses))
		fail_case("%s: expected %s, got %d%s (%ld ms): %s", what,
			  statuses, r->status,
			  r->status == 0 ? " (no answer)" : "", last_ms, body);
	else if (leak != NULL)
		fail_case("%s: the answer leaks \"%s\": %s", what, leak, body);
	else if (codes != NULL && r->status != 0 && !code_in(code, codes))
		fail_case("%s: expected %s %s, got %d %s", what, statuses,
			  codes, r->status, body);
	else if (codes != NULL && r->status != 0 &&
		 e2e_str(r->json, "error.message") == NULL)
		fail_case("%s: error without a message: %s", what, body);
	else if (field != NULL && code != NULL &&
		 strcmp(code, "invalid_event") == 0 &&
		 (got_field == NULL || strcmp(got_field, field) != 0))
		fail_case("%s: expected field \"%s\", got \"%s\": %s", what,
			  field, got_field ? got_field : "(none)", body);
	http_response_free(r);
}

static bool daemon_alive(pid_t pid)
{
	char path[64], buf[512], state = '?';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		char *p = strrchr(buf, ')');
		if (p != NULL && p[1] == ' ')
			state = p[2];
	}
	fclose(f);
	return state != '?' && state != 'Z' && state != 'X';
}

/* The daemon is alive and serving; a dead daemon ends the test at once. */
static void assert_serving_on(const struct daemon_instance *d,
			      const char *after)
{
	struct http_response r;
	int status;

	ck_assert_msg(daemon_alive(d->pid),
		      "painpathd (pid %d) is dead after %s", (int)d->pid,
		      after);
	sent++;
	status = http_request(d->port, "GET", "/healthz", NULL, NULL, &r);
	ck_assert_msg(status == 200, "GET /healthz after %s: %d %s", after,
		      status, r.body);
	http_response_free(&r);
}

static void checkpoint(const char *after)
{
	assert_serving_on(&e2e_daemon, after);
}

static int count_transitions(void)
{
	return e2e_count("SELECT count(*) FROM transitions");
}

static void begin_group(void)
{
	sent = failures = 0;
	first_failure[0] = '\0';
	transitions_before = count_transitions();
	ck_assert_int_ge(transitions_before, 0);
}

static void end_group(const char *name)
{
	int after;

	checkpoint(name);
	after = count_transitions();
	if (after != transitions_before)
		fail_case("%s: refused requests recorded %d transition(s)",
			  name, after - transitions_before);
	fprintf(stderr, "hostile: %s: %d requests, %d failed\n", name, sent,
		failures);
	ck_assert_msg(failures == 0, "%s: %d case(s) failed; the first: %s",
		      name, failures, first_failure);
}

/* --- building events --- */

/* A valid event of type for a fresh hostile patient. */
static json_t *valid_event(const char *type)
{
	char eid[64], patient[64];
	json_t *ev, *data;

	e2e_id(eid, sizeof(eid), "hxe");
	e2e_id(patient, sizeof(patient), "hx");
	ev = json_pack("{s:s, s:s, s:s, s:s}", "event_id", eid, "type", type,
		       "patient_id", patient, "occurred_at",
		       "2025-03-03T09:15:00+01:00");
	if (strcmp(type, "pathway.opened") == 0) {
		json_object_set_new(ev, "model", json_string("no"));
		json_object_set_new(ev, "region", json_string("helse-vest"));
		json_object_set_new(ev, "unit", json_string("fastlege-bergen"));
		data = json_pack("{s:i, s:[s], s:s, s:s}", "age", 40, "flags",
				 "trauma", "pain_onset", "2024-01-01", "level",
				 "gp");
	} else if (strcmp(type, "referral.sent") == 0 ||
		   strcmp(type, "patient.transferred") == 0) {
		data = json_pack("{s:s, s:s}", "to_level", "clinic", "to_unit",
				 "bergen-smerteklinikk");
	} else if (strcmp(type, "pro.reported") == 0) {
		data = json_pack("{s:s, s:{s:i, s:f}}", "instrument", "bpi",
				 "scores", "pain", 5, "function", 2.5);
	} else if (strcmp(type, "pathway.closed") == 0) {
		data = json_pack("{s:s}", "reason", "completed");
	} else if (strcmp(type, "referral.accepted") == 0) {
		data = json_pack("{s:s}", "deadline", "2025-05-01");
	} else if (strcmp(type, "referral.rejected") == 0) {
		data = json_pack("{s:s, s:s}", "reason", "full", "advice",
				 "physiotherapy");
	} else if (strcmp(type, "collaboration.started") == 0) {
		data = json_pack("{s:s}", "partner", "psychology");
	} else if (strcmp(type, "free_choice.chosen") == 0) {
		data = json_pack("{s:s}", "to_unit", "private-clinic");
	} else {
		data = json_object();
	}
	json_object_set_new(ev, "data", data);
	ck_assert_ptr_nonnull(ev);
	return ev;
}

/*
 * The text of a valid event of type with the value at path ("event_id",
 * "data.age", "data.scores.pain") replaced by raw text, inserted verbatim
 * (so it may be anything a parser must refuse), or removed when raw is
 * NULL.  Bytes 0x01 in raw become NUL bytes; *len receives the length.
 */
static char *event_with(const char *type, const char *path, const char *raw,
			size_t *len)
{
	json_t *ev = valid_event(type), *obj = ev;
	char keys[128], *key = keys, *dot, *text, *out, *hole;
	size_t hole_len = strlen("\"" HOLE "\""), n;

	snprintf(keys, sizeof(keys), "%s", path);
	while ((dot = strchr(key, '.')) != NULL) {
		json_t *next;
		*dot = '\0';
		next = json_object_get(obj, key);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(obj, key, next);
		}
		obj = next;
		key = dot + 1;
	}
	if (raw == NULL)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, json_string(HOLE));
	text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	ck_assert_ptr_nonnull(text);
	if (raw == NULL) {
		*len = strlen(text);
		return text;
	}
	hole = strstr(text, "\"" HOLE "\"");
	ck_assert_ptr_nonnull(hole);
	n = strlen(text) - hole_len + strlen(raw);
	out = malloc(n + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, text, (size_t)(hole - text));
	strcpy(out + (hole - text), raw);
	strcat(out, hole + hole_len);
	free(text);
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\x01')
			out[i] = '\0';
	*len = n;
	return out;
}

/* n nested arrays or objects ({"a":{"a":...1}}), closed or left open. */
static char *nest(size_t depth, bool objects, bool closed)
{
	size_t open_len = objects ? 5 : 1, len = depth * (open_len + 1) + 2;
	char *s = malloc(len), *p = s;

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < depth; i++) {
		memcpy(p, objects ? "{\"a\":" : "[", open_len);
		p += open_len;
	}
	*p++ = '1';
	for (size_t i = 0; closed && i < depth; i++)
		*p++ = objects ? '}' : ']';
	*p = '\0';
	return s;
}

/* --- truncated and malformed JSON --- */

START_TEST(truncated_json)
{
	char *full;
	size_t len;
	json_t *check;

	begin_group();
	full = event_with("pathway.opened", "data.pain_onset", "\"2024-01-01\"",
			  &len);
	/* The whole is a valid event; each strict prefix is not JSON. */
	check = json_loadb(full, len, 0, NULL);
	ck_assert_ptr_nonnull(check);
	json_decref(check);
	ck_assert_int_ge(len, 200);
	for (size_t n = 0; n < len; n++) {
		struct http_response r;
		char what[256], ex[200];

		post(full, n, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events, the first %zu of %zu bytes of a "
			 "valid event (%s)",
			 n, len,
			 excerpt(full + (n > 40 ? n - 40 : 0), n > 40 ? 40 : n,
				 ex, sizeof(ex)));
		expect(what, &r, "400", "invalid_json", NULL);
		if (n % 50 == 0)
			checkpoint(what);
	}
	free(full);
	end_group("truncated_json");
}
END_TEST

START_TEST(malformed_json)
{
	/* None is JSON, none records anything however it is read. */
	static const char *const bodies[] = {
		"{\"event_id\":'x'}",
		"{event_id:\"x\"}",
		"{\"event_id\":\"x\",}",
		"{\"a\":[1,2,]}",
		"{\"a\":NaN}",
		"{\"a\":Infinity}",
		"{\"a\":-Infinity}",
		"{\"a\":undefined}",
		"{\"a\":0x10}",
		"{\"a\":01}",
		"{\"a\":1.}",
		"{\"a\":.5}",
		"{\"a\":+1}",
		"{\"a\":1e}",
		"{\"a\":--1}",
		"{\"a\":tru}",
		"{\"a\":True}",
		"{\"a\":nulll}",
		"{\"a\" 1}",
		"{\"a\"::1}",
		"{\"a\":1 \"b\":2}",
		"{/* comment */\"a\":1}",
		"{\"a\":1} // comment",
		"{\"a\":1}{\"a\":1}",
		"{\"a\":1}]",
		"{\"a\":1},",
		"[{\"a\":1}",
		"}",
		"]",
		"{{}}",
		"{\"a\":\"unterminated}",
		"{\"a\":\"\\\"}",
		"{\"a\":\"\\q\"}",
		"{\"a\":1,\"a\":1}",
		"{\"events\":[{\"a\":1},]}",
		"\xfe\xff{",
		"{\"a\":\"\xe2\x80\xa8\"",
		"<event id=\"x\"/>",
		"event_id=x&type=pathway.opened",
	};

	/* JSON texts (RFC 8259) that are no event, or a BOM a parser may
	 * skip: either refusal will do. */
	static const char *const either[] = {
		"\"just a string\"",	 "42", "true", "null",
		"\xef\xbb\xbf{\"a\":1}",
	};

	begin_group();
	for (size_t i = 0; i < ARRAY_SIZE(bodies) + ARRAY_SIZE(either); i++) {
		bool strict = i < ARRAY_SIZE(bodies);
		const char *b =
			strict ? bodies[i] : either[i - ARRAY_SIZE(bodies)];
		struct http_response r;
		char what[256], ex[200];

		post(b, strlen(b), &r);
		snprintf(what, sizeof(what), "POST /v1/events %s",
			 excerpt(b, strlen(b), ex, sizeof(ex)));
		expect(what, &r, "400",
		       strict ? "invalid_json" : "invalid_json|invalid_event",
		       NULL);
	}
	checkpoint("malformed JSON");
	/* Valid events spoiled only after their end: the whole body counts,
	 * not the first value. */
	static const char *const tails[] = {"x", "{}", ",",    "]",
					    "}", "\"", "\x01", "\x01{}"};
	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		size_t len, tlen = strlen(tails[i]);
		char *ev =
			event_with("pathway.opened", "unit", "\"u-1\"", &len);
		char *body = malloc(len + tlen + 1), what[256], ex[200];
		struct http_response r;

		memcpy(body, ev, len);
		memcpy(body + len, tails[i], tlen + 1);
		for (size_t k = len; k < len + tlen; k++)
			if (body[k] == '\x01')
				body[k] = '\0';
		post(body, len + tlen, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events, a valid pathway.opened followed by "
			 "\"%s\"",
			 excerpt(body + len, tlen, ex, sizeof(ex)));
		expect(what, &r, "400", "invalid_json", NULL);
		free(body);
		free(ev);
	}
	end_group("malformed_json");
}
END_TEST

/* --- wrong types --- */

struct field_case {
	const char *type, *path, *raw, *field;
};

static const struct field_case wrong_type_cases[] = {
	/* the header: every field in every wrong shape */
	{"pathway.opened", "event_id", "42", "event_id"},
	{"pathway.opened", "event_id", "4.2", "event_id"},
	{"pathway.opened", "event_id", "[]", "event_id"},
	{"pathway.opened", "event_id", "[\"hx-1\"]", "event_id"},
	{"pathway.opened", "event_id", "null", "event_id"},
	{"pathway.opened", "event_id", "{}", "event_id"},
	{"pathway.opened", "event_id", "{\"id\":\"hx-1\"}", "event_id"},
	{"pathway.opened", "event_id", "true", "event_id"},
	{"pathway.opened", "event_id", "\"\"", "event_id"},
	{"pathway.opened", "event_id", "\"hx 1\"", "event_id"},
	{"pathway.opened", "event_id", "\"hx/1\"", "event_id"},
	{"pathway.opened", "event_id", "\"h\\u00e9\"", "event_id"},
	{"pathway.opened", "event_id", NULL, "event_id"},
	{"pathway.opened", "type", "1", "type"},
	{"pathway.opened", "type", "null", "type"},
	{"pathway.opened", "type", "[\"pathway.opened\"]", "type"},
	{"pathway.opened", "type", "{}", "type"},
	{"pathway.opened", "type", "\"\"", "type"},
	{"pathway.opened", "type", "\"PATHWAY.OPENED\"", "type"},
	{"pathway.opened", "type", "\"pathway.opened \"", "type"},
	{"pathway.opened", "type", "\"pathway\"", "type"},
	{"pathway.opened", "type", NULL, "type"},
	{"pathway.opened", "patient_id", "42", "patient_id"},
	{"pathway.opened", "patient_id", "null", "patient_id"},
	{"pathway.opened", "patient_id", "[]", "patient_id"},
	{"pathway.opened", "patient_id", "{}", "patient_id"},
	{"pathway.opened", "patient_id", "\"\"", "patient_id"},
	{"pathway.opened", "patient_id", "\"hx/../1\"", "patient_id"},
	{"pathway.opened", "patient_id", NULL, "patient_id"},
	{"pathway.opened", "occurred_at", "1741000000", "occurred_at"},
	{"pathway.opened", "occurred_at", "null", "occurred_at"},
	{"pathway.opened", "occurred_at", "[]", "occurred_at"},
	{"pathway.opened", "occurred_at", "{}", "occurred_at"},
	{"pathway.opened", "occurred_at", "\"\"", "occurred_at"},
	{"pathway.opened", "occurred_at", "\"2025-03-03\"", "occurred_at"},
	{"pathway.opened", "occurred_at", "\"2025-13-03T09:00:00Z\"",
	 "occurred_at"},
	{"pathway.opened", "occurred_at", "\"2025-02-30T09:00:00Z\"",
	 "occurred_at"},
	{"pathway.opened", "occurred_at", "\"2025-03-03T25:00:00Z\"",
	 "occurred_at"},
	{"pathway.opened", "occurred_at", "\"2025-03-03T09:00:00+25:00\"",
	 "occurred_at"},
	{"pathway.opened", "occurred_at", "\"yesterday\"", "occurred_at"},
	{"pathway.opened", "occurred_at", "\"9999-12-31T23:59:59Z\"",
	 "occurred_at"},
	{"pathway.opened", "occurred_at", "\"-2025-03-03T09:00:00Z\"",
	 "occurred_at"},
	{"pathway.opened", "occurred_at", NULL, "occurred_at"},
	{"pathway.opened", "pathway_id", "1", "pathway_id"},
	{"pathway.opened", "pathway_id", "null", "pathway_id"},
	{"pathway.opened", "pathway_id", "[]", "pathway_id"},
	{"pathway.opened", "pathway_id", "\"pw x\"", "pathway_id"},
	{"pathway.opened", "model", "1", "model"},
	{"pathway.opened", "model", "null", "model"},
	{"pathway.opened", "model", "[\"no\"]", "model"},
	{"pathway.opened", "model", "\"\"", "model"},
	{"pathway.opened", "model", "\"xx\"", "model"},
	{"pathway.opened", "model", NULL, "model"},
	{"pathway.opened", "region", "1", "region"},
	{"pathway.opened", "region", "{}", "region"},
	{"pathway.opened", "region", NULL, "region"},
	{"pathway.opened", "unit", "1", "unit"},
	{"pathway.opened", "unit", "[]", "unit"},
	{"pathway.opened", "data", "\"x\"", "data"},
	{"pathway.opened", "data", "[]", "data"},
	{"pathway.opened", "data", "[{\"age\":40}]", "data"},
	{"pathway.opened", "data", "1", "data"},
	{"pathway.opened", "data", "true", "data"},
	{"pathway.opened", "data", "null", "data"},
	/* pathway.opened data */
	{"pathway.opened", "data.age", "\"forty\"", "data.age"},
	{"pathway.opened", "data.age", "\"40\"", "data.age"},
	{"pathway.opened", "data.age", "-1", "data.age"},
	{"pathway.opened", "data.age", "151", "data.age"},
	{"pathway.opened", "data.age", "40.5", "data.age"},
	{"pathway.opened", "data.age", "1e308", "data.age"},
	{"pathway.opened", "data.age", "1e-300", "data.age"},
	{"pathway.opened", "data.age", "-0.0", "data.age"},
	{"pathway.opened", "data.age", "9223372036854775807", "data.age"},
	{"pathway.opened", "data.age", "-9223372036854775808", "data.age"},
	{"pathway.opened", "data.age", "true", "data.age"},
	{"pathway.opened", "data.age", "[40]", "data.age"},
	{"pathway.opened", "data.age", "{}", "data.age"},
	{"pathway.opened", "data.flags", "\"trauma\"", "data.flags"},
	{"pathway.opened", "data.flags", "1", "data.flags"},
	{"pathway.opened", "data.flags", "{}", "data.flags"},
	{"pathway.opened", "data.flags", "[1]", "data.flags"},
	{"pathway.opened", "data.flags", "[null]", "data.flags"},
	{"pathway.opened", "data.flags", "[[\"trauma\"]]", "data.flags"},
	{"pathway.opened", "data.flags", "[\"no-such-flag\"]", "data.flags"},
	{"pathway.opened", "data.level", "1", "data.level"},
	{"pathway.opened", "data.level", "\"hospital\"", "data.level"},
	{"pathway.opened", "data.level", "[\"gp\"]", "data.level"},
	{"pathway.opened", "data.pain_onset", "20240101", "data.pain_onset"},
	{"pathway.opened", "data.pain_onset", "\"2024-02-30\"",
	 "data.pain_onset"},
	{"pathway.opened", "data.pain_onset", "\"last year\"",
	 "data.pain_onset"},
	{"pathway.opened", "data.birth_date", "true", "data.birth_date"},
	{"pathway.opened", "data.birth_date", "\"01/02/1980\"",
	 "data.birth_date"},
	/* referral.sent data */
	{"referral.sent", "data.to_level", "1", "data.to_level"},
	{"referral.sent", "data.to_level", "null", "data.to_level"},
	{"referral.sent", "data.to_level", "[\"clinic\"]", "data.to_level"},
	{"referral.sent", "data.to_level", "{}", "data.to_level"},
	{"referral.sent", "data.to_level", "\"\"", "data.to_level"},
	{"referral.sent", "data.to_level", "\"CLINIC\"", "data.to_level"},
	{"referral.sent", "data.to_level", NULL, "data.to_level"},
	{"referral.sent", "data.to_unit", "1", "data.to_unit"},
	{"referral.sent", "data.to_unit", "\"a b\"", "data.to_unit"},
	{"referral.sent", "data.earlier_levels_considered", "\"yes\"",
	 "data.earlier_levels_considered"},
	{"referral.sent", "data.earlier_levels_considered", "1",
	 "data.earlier_levels_considered"},
	{"referral.sent", "data.earlier_levels_considered", "null",
	 "data.earlier_levels_considered"},
	{"referral.sent", "data.private_unit", "\"true\"", "data.private_unit"},
	{"referral.sent", "data.justification", "1", "data.justification"},
	{"referral.sent", "data.justification", "[\"why\"]",
	 "data.justification"},
	{"referral.sent", "data.content", "[]", "data.content"},
	{"referral.sent", "data.content", "\"all of it\"", "data.content"},
	{"referral.sent", "data.content", "{\"nonsense\":true}",
	 "data.content"},
	{"referral.sent", "data.content", "{\"medicines\":1}", "data.content"},
	{"referral.sent", "data.content", "{\"medicines\":{}}", "data.content"},
	/* the other types' data */
	{"patient.transferred", "data.to_level", "2", "data.to_level"},
	{"patient.transferred", "data.reason", "{}", "data.reason"},
	{"pro.reported", "data.scores", "\"5\"", "data.scores"},
	{"pro.reported", "data.scores", "[5]", "data.scores"},
	{"pro.reported", "data.scores", "5", "data.scores"},
	{"pro.reported", "data.scores", "null", "data.scores"},
	{"pro.reported", "data.scores", NULL, "data.scores"},
	{"pro.reported", "data.scores.pain", "\"5\"", "data.scores"},
	{"pro.reported", "data.scores.pain", "\"five\"", "data.scores"},
	{"pro.reported", "data.scores.pain", "{\"now\":5}", "data.scores"},
	{"pro.reported", "data.scores.pain", "{\"a\":{\"b\":{\"c\":1}}}",
	 "data.scores"},
	{"pro.reported", "data.scores.pain", "[5]", "data.scores"},
	{"pro.reported", "data.scores.pain", "null", "data.scores"},
	{"pro.reported", "data.scores.pain", "true", "data.scores"},
	{"pro.reported", "data.instrument", "1", "data.instrument"},
	{"pro.reported", "data.instrument", "\"\"", "data.instrument"},
	{"pro.reported", "data.instrument", NULL, "data.instrument"},
	{"pathway.closed", "data.reason", "1", "data.reason"},
	{"pathway.closed", "data.reason", "null", "data.reason"},
	{"pathway.closed", "data.reason", "\"bored\"", "data.reason"},
	{"pathway.closed", "data.reason", NULL, "data.reason"},
	{"referral.accepted", "data.deadline", "20250501", "data.deadline"},
	{"referral.accepted", "data.deadline", "\"2025-05-32\"",
	 "data.deadline"},
	{"referral.rejected", "data.reason", "1", "data.reason"},
	{"referral.rejected", "data.advice", "[]", "data.advice"},
	{"collaboration.started", "data.partner", "1", "data.partner"},
	{"collaboration.started", "data.partner", "\"\"", "data.partner"},
	{"collaboration.started", "data.partner", NULL, "data.partner"},
	{"free_choice.chosen", "data.to_unit", "7", "data.to_unit"},
	{"free_choice.chosen", "data.to_unit", NULL, "data.to_unit"},
};

static void run_field_cases(const struct field_case *cases, size_t n,
			    const char *statuses, const char *codes)
{
	for (size_t i = 0; i < n; i++) {
		const struct field_case *c = &cases[i];
		struct http_response r;
		char what[400], ex[200];
		size_t len;
		char *body = event_with(c->type, c->path, c->raw, &len);

		post(body, len, &r);
		if (c->raw != NULL)
			snprintf(what, sizeof(what),
				 "POST /v1/events %s with %s = %s", c->type,
				 c->path,
				 excerpt(c->raw, strlen(c->raw), ex,
					 sizeof(ex)));
		else
			snprintf(what, sizeof(what),
				 "POST /v1/events %s without %s", c->type,
				 c->path);
		expect(what, &r, statuses, codes, c->field);
		free(body);
	}
}

START_TEST(wrong_types)
{
	static const char *const not_objects[] = {"[]", "[{}]", "[1]", "{}"};
	static const struct field_case batches[] = {
		{NULL, NULL, "{\"events\":[]}", "events"},
		{NULL, NULL, "{\"events\":{}}", "events"},
		{NULL, NULL, "{\"events\":\"all\"}", "events"},
		{NULL, NULL, "{\"events\":null}", "events"},
		{NULL, NULL, "{\"events\":1}", "events"},
	};
	struct http_response r;

	begin_group();
	run_field_cases(wrong_type_cases, ARRAY_SIZE(wrong_type_cases), "400",
			"invalid_event");
	checkpoint("wrong types");
	for (size_t i = 0; i < ARRAY_SIZE(not_objects); i++) {
		char what[128];
		post(not_objects[i], strlen(not_objects[i]), &r);
		snprintf(what, sizeof(what), "POST /v1/events %s",
			 not_objects[i]);
		expect(what, &r, "400", "invalid_event", NULL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(batches); i++) {
		char what[128];
		post(batches[i].raw, strlen(batches[i].raw), &r);
		snprintf(what, sizeof(what), "POST /v1/events %s",
			 batches[i].raw);
		expect(what, &r, "400", "invalid_event", batches[i].field);
	}
	/* A batch of non-objects: each result refused on its own. */
	{
		static const char b[] = "{\"events\":[1,\"x\",null,[],true]}";
		post(b, sizeof(b) - 1, &r);
	}
	if (r.status != 200 || json_array_size(e2e_at(r.json, "results")) != 5)
		fail_case(
			"POST /v1/events {\"events\":[1,\"x\",null,[],true]}: "
			"expected 200 with 5 results, got %d %s",
			r.status, r.body);
	for (int i = 0; r.status == 200 && i < 5; i++) {
		char path[64];
		snprintf(path, sizeof(path), "results.%d.status", i);
		if (json_integer_value(e2e_at(r.json, path)) != 400)
			fail_case("batch of non-objects: result %d is not 400: "
				  "%s",
				  i, r.body);
	}
	http_response_free(&r);
	end_group("wrong_types");
}
END_TEST

/* --- huge numbers --- */

START_TEST(huge_numbers)
{
	static const char *const huge[] = {
		"1e400",
		"-1e400",
		"123456789012345678901234567890",
		"-123456789012345678901234567890",
		"9999999999999999999",
		"18446744073709551616",
		"1e99999999999999999999",
		"0.0000000000000000000000000000000000000000001e-400",
	};
	/* Where each goes, and the field an invalid_event must name.  The
	 * number may also be refused as unparseable: invalid_json. */
	static const struct {
		const char *type, *path, *field;
	} places[] = {
		{"pathway.opened", "event_id", "event_id"},
		{"pathway.opened", "type", "type"},
		{"pathway.opened", "occurred_at", "occurred_at"},
		{"pathway.opened", "data.age", "data.age"},
		{"pathway.opened", "data.flags", "data.flags"},
		{"referral.sent", "data.to_level", "data.to_level"},
		{"pro.reported", "data.scores.pain", "data.scores"},
		{"referral.sent", "data.extra", NULL},
	};
	struct http_response r;

	begin_group();
	for (size_t p = 0; p < ARRAY_SIZE(places); p++) {
		bool free_number =
			places[p].field == NULL ||
			strcmp(places[p].path, "data.scores.pain") == 0;

		for (size_t h = 0; h < ARRAY_SIZE(huge); h++) {
			struct field_case c = {places[p].type, places[p].path,
					       huge[h], places[p].field};
			/* Where any number goes (free data of an unknown
			 * patient, scores), a finite one may be taken: 404.
			 * An infinite one never. */
			bool infinite = strstr(huge[h], "e4") != NULL ||
					strstr(huge[h], "e9") != NULL;

			if (free_number && !infinite)
				run_field_cases(&c, 1, "400|404",
						"invalid_json|invalid_event|"
						"not_found");
			else
				run_field_cases(&c, 1, "400",
						"invalid_json|invalid_event");
		}
	}
	checkpoint("huge numbers in fields");
	for (size_t h = 0; h < ARRAY_SIZE(huge); h++) {
		char body[256], what[300];
		int n = snprintf(body, sizeof(body), "{\"events\":[%s]}",
				 huge[h]);
		post(body, (size_t)n, &r);
		snprintf(what, sizeof(what), "POST /v1/events %s", body);
		/* a parseable number is one refused event in a batch */
		if (r.status == 200)
			http_response_free(&r);
		else
			expect(what, &r, "400", "invalid_json|invalid_event",
			       NULL);
		post(huge[h], strlen(huge[h]), &r);
		snprintf(what, sizeof(what), "POST /v1/events %s", huge[h]);
		expect(what, &r, "400", "invalid_json|invalid_event", NULL);
	}
	/* Query parameters that are numbers too big for anything. */
	static const char *const queries[] = {
		"/v1/notifications?limit=123456789012345678901234567890",
		"/v1/notifications?after=123456789012345678901234567890",
		"/v1/notifications?limit=1e400",
		"/v1/notifications?after=-1e400",
		"/v1/notifications?limit=-1",
		"/v1/notifications?after=9223372036854775808",
	};
	for (size_t i = 0; i < ARRAY_SIZE(queries); i++) {
		char what[300];
		request("GET", queries[i], NULL, NULL, 0, &r);
		snprintf(what, sizeof(what), "GET %s", queries[i]);
		expect(what, &r, "400", "invalid_request", NULL);
	}
	end_group("huge_numbers");
}
END_TEST

/* --- deep nesting --- */

START_TEST(deep_nesting)
{
	static const size_t depths[] = {100,  1000, 2046,   2047,   2048,
					2049, 5000, 100000, 1000000};
	struct http_response r;

	begin_group();
	for (size_t d = 0; d < ARRAY_SIZE(depths); d++) {
		for (int objects = 0; objects < 2; objects++) {
			size_t depth = depths[d], len;
			char *n = nest(depth, objects, true);
			char *open = nest(depth, objects, false);
			char what[300], *body;
			const char *kind = objects ? "objects" : "arrays";

			/* 1000000 nested objects is over the body limit */
			const char *big = strlen(n) > 4 * MIB ? "|413" : "";
			char st[32];

			snprintf(st, sizeof(st), "400%s", big);
			post(n, strlen(n), &r);
			snprintf(what, sizeof(what),
				 "POST /v1/events, a body of %zu nested %s",
				 depth, kind);
			expect(what, &r, st, NULL, NULL);

			post(open, strlen(open), &r);
			snprintf(what, sizeof(what),
				 "POST /v1/events, %zu unclosed nested %s",
				 depth, kind);
			expect(what, &r, st, NULL, NULL);

			/* In data of an unknown patient's referral: a parsed
			 * one is a 404, a refused one a 400. */
			body = event_with("referral.sent", "data.extra", n,
					  &len);
			post(body, len, &r);
			snprintf(
				what, sizeof(what),
				"POST /v1/events referral.sent with data.extra "
				"%zu nested %s",
				depth, kind);
			snprintf(st, sizeof(st), "400|404%s", big);
			expect(what, &r, st, NULL, NULL);
			free(body);

			body = event_with("pro.reported", "data.scores.pain", n,
					  &len);
			post(body, len, &r);
			snprintf(what, sizeof(what),
				 "POST /v1/events pro.reported with "
				 "data.scores.pain %zu nested %s",
				 depth, kind);
			snprintf(st, sizeof(st), "400%s", big);
			expect(what, &r, st, NULL, NULL);
			free(body);

			body = event_with("pathway.opened", "event_id", open,
					  &len);
			post(body, len, &r);
			snprintf(what, sizeof(what),
				 "POST /v1/events with event_id %zu unclosed "
				 "nested %s",
				 depth, kind);
			expect(what, &r, st, NULL, NULL);
			free(body);
			free(n);
			free(open);
		}
		checkpoint("deep nesting");
	}
	end_group("deep_nesting");
}
END_TEST

/*
 * Nesting the parser takes must stay readable: an event accepted with
 * deeply nested data is either refused (4xx, nothing recorded) or served
 * back whole by every read and by a replay.
 */
START_TEST(deeply_nested_event_stays_readable)
{
	static const size_t depths[] = {64, 1000, 2040, 2044, 2045, 2046};

	sent = failures = 0;
	first_failure[0] = '\0';
	for (size_t d = 0; d < ARRAY_SIZE(depths); d++) {
		char patient[64], eid[64], *n = nest(depths[d], false, true);
		char *body = NULL, what[200], path[300];
		struct http_response r, again;
		int status, rows;

		e2e_id(patient, sizeof(patient), "okdeep");
		e2e_id(eid, sizeof(eid), "okdeep-ev");
		ck_assert_int_gt(
			asprintf(
				&body,
				"{\"event_id\":\"%s\",\"type\":"
				"\"pathway.opened\",\"patient_id\":\"%s\","
				"\"occurred_at\":\"2025-03-03T09:15:00+01:00\","
				"\"model\":\"dk\",\"region\":\"hostile-deep\","
				"\"data\":"
				"{\"age\":40,\"extra\":%s}}",
				eid, patient, n),
			0);
		snprintf(what, sizeof(what),
			 "POST /v1/events pathway.opened with data.extra %zu "
			 "nested arrays",
			 depths[d]);
		status = post(body, strlen(body), &r);
		snprintf(path, sizeof(path),
			 "SELECT count(*) FROM transitions WHERE event_id = "
			 "'%s'",
			 eid);
		rows = e2e_count(path);
		if (status != 201) {
			if (status < 400 || status >= 500)
				fail_case(
					"%s: expected 201 or a 4xx, got %d %s",
					what, status, r.body);
			if (rows != 0)
				fail_case("%s: refused with %d but recorded",
					  what, status);
			http_response_free(&r);
			free(body);
			free(n);
			continue;
		}
		/* Read from the text: the answer may nest deeper than this
		 * client's parser takes. */
		char pathway[160] = "?";
		const char *at = strstr(r.body, "\"pathway_id\":\"pw-");
		if (at != NULL)
			sscanf(at + 14, "%100[A-Za-z0-9._:-]", pathway);
		http_response_free(&r);
		if (rows != 1)
			fail_case("%s: answered 201 but %d rows", what, rows);
		snprintf(path, sizeof(path), "/v1/pathways/%s", pathway);
		request("GET", path, NULL, NULL, 0, &r);
		if (r.status != 200)
			fail_case("GET %s after %s: expected 200, got %d %s",
				  path, what, r.status, r.body);
		http_response_free(&r);
		snprintf(path, sizeof(path), "/v1/pathways/%s/transitions",
			 pathway);
		request("GET", path, NULL, NULL, 0, &r);
		if (r.status != 200 || strstr(r.body, eid) == NULL)
			fail_case("GET %s after %s (accepted): expected 200 "
				  "with its transition, got %d %.200s",
				  path, what, r.status, r.body);
		http_response_free(&r);
		snprintf(path, sizeof(path), "/v1/patients/%s/pathways",
			 patient);
		request("GET", path, NULL, NULL, 0, &r);
		if (r.status != 200 || strstr(r.body, pathway) == NULL)
			fail_case("GET %s after %s (accepted): expected 200 "
				  "with its pathway, got %d %.200s",
				  path, what, r.status, r.body);
		http_response_free(&r);
		post(body, strlen(body), &again);
		if (again.status != 200)
			fail_case("the same %s again: expected the 200 replay, "
				  "got %d %.200s",
				  what, again.status, again.body);
		http_response_free(&again);
		free(body);
		free(n);
		checkpoint(what);
	}
	checkpoint("deeply nested events");
	fprintf(stderr,
		"hostile: deeply_nested_event_stays_readable: %d "
		"requests, %d failed\n",
		sent, failures);
	ck_assert_msg(failures == 0, "%d case(s) failed; the first: %s",
		      failures, first_failure);
}
END_TEST

/* --- invalid UTF-8, NUL --- */

START_TEST(bad_text)
{
	/* Each goes inside a JSON string, between "h" and "x". */
	static const char *const bad[] = {
		"\xc0\xaf",	    /* overlong '/' */
		"\xc1\xbf",	    /* overlong */
		"\xe0\x80\xaf",	    /* overlong, 3 bytes */
		"\xf0\x80\x80\xaf", /* overlong, 4 bytes */
		"\xff",
		"\xfe",
		"\x80", /* lone continuation byte */
		"\xbf\xbf",
		"\xc3", /* truncated sequence */
		"\xe2\x82",
		"\xed\xa0\x80", /* a surrogate, encoded raw */
		"\xed\xbf\xbf",
		"\xf4\x90\x80\x80",	/* above U+10FFFF */
		"\xf8\x88\x80\x80\x80", /* 5-byte form */
		"\\ud800",		/* lone surrogates, escaped */
		"\\udc00",
		"\\ud800\\u0041",
		"\\udbff\\udbff",
		"\\uDFFF",
		"\\uZZZZ",
		"\\u12",
		"\\x41",
		"\\a",
		"\\u0000",
		"\\u0000\\u0000",
		"\x01", /* becomes a raw NUL */
		"\x02",
		"\n",
		"\t",
		"\x1f",
	};
	static const struct {
		const char *type, *path, *field;
	} places[] = {
		{"pathway.opened", "event_id", "event_id"},
		{"pathway.opened", "patient_id", "patient_id"},
		{"pathway.opened", "data.extra", NULL},
		{"referral.sent", "data.justification", NULL},
		{"pro.reported", "data.instrument", NULL},
	};
	static const char *const nul_bodies[] = {
		"\x01",	  "\x01\x01\x01\x01",	      "\x01{}",
		"{\x01}", "{\"event_id\":\x01\"x\"}", "{\"\x01\":1}",
	};
	struct http_response r;

	begin_group();
	for (size_t p = 0; p < ARRAY_SIZE(places); p++) {
		for (size_t b = 0; b < ARRAY_SIZE(bad); b++) {
			char raw[64];
			struct field_case c = {places[p].type, places[p].path,
					       raw, places[p].field};
			snprintf(raw, sizeof(raw), "\"h%sx\"", bad[b]);
			run_field_cases(&c, 1, "400",
					"invalid_json|invalid_event");
		}
		checkpoint(places[p].path);
	}
	/* Bad text as a key. */
	for (size_t b = 0; b < ARRAY_SIZE(bad); b++) {
		char raw[64];
		struct field_case c = {"pathway.opened", "data.extra", raw,
				       NULL};
		snprintf(raw, sizeof(raw), "{\"h%sx\":1}", bad[b]);
		run_field_cases(&c, 1, "400", "invalid_json|invalid_event");
	}
	/* Raw NUL bytes where no string is. */
	for (size_t i = 0; i < ARRAY_SIZE(nul_bodies); i++) {
		char body[64], what[200], ex[200];
		size_t len = strlen(nul_bodies[i]);

		memcpy(body, nul_bodies[i], len);
		for (size_t k = 0; k < len; k++)
			if (body[k] == '\x01')
				body[k] = '\0';
		post(body, len, &r);
		snprintf(what, sizeof(what), "POST /v1/events %s",
			 excerpt(body, len, ex, sizeof(ex)));
		expect(what, &r, "400", "invalid_json", NULL);
	}
	end_group("bad_text");
}
END_TEST

/* --- oversized --- */

/* A body of len bytes: text, then spaces. */
static char *padded(const char *text, size_t len)
{
	char *b = malloc(len);

	ck_assert_ptr_nonnull(b);
	memset(b, ' ', len);
	memcpy(b, text, strlen(text));
	return b;
}

/* Headers announcing len, then only what of the body; half-closed. */
static int announce(const char *extra_headers, const void *body, size_t len,
		    struct http_response *r)
{
	char *req = NULL;
	int n = asprintf(&req,
			 "POST /v1/events HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n%s%s\r\n",
			 token_line(), extra_headers);
	char *buf;
	int status;

	ck_assert_int_gt(n, 0);
	buf = malloc((size_t)n + len);
	memcpy(buf, req, (size_t)n);
	memcpy(buf + n, body, len);
	status = exchange(PORT, buf, (size_t)n + len, true, RAW_TIMEOUT_MS, r);
	free(buf);
	free(req);
	return status;
}

START_TEST(oversized)
{
	size_t limit = 4 * MIB;
	struct http_response r;
	char *b, *chunked;
	char what[300];

	begin_group();
	/* Exactly at the limit the body is read and judged. */
	b = padded("{\"events\":[]}", limit);
	post(b, limit, &r);
	expect("POST /v1/events, {\"events\":[]} padded to exactly 4 MiB", &r,
	       "400", "invalid_event", "events");
	free(b);
	b = padded("{\"events\":[]}", limit + 1);
	post(b, limit + 1, &r);
	expect("POST /v1/events, 4 MiB + 1 byte", &r, "413", "too_large", NULL);
	free(b);
	b = padded("{\"events\":[]}", 10 * MIB);
	post(b, 10 * MIB, &r);
	expect("POST /v1/events, 10 MiB", &r, "413", "too_large", NULL);
	free(b);
	checkpoint("bodies of 4-10 MiB");
	/* Past libevent's own limit: its 413, or the connection closed. */
	b = padded("{\"events\":[]}", 20 * MIB);
	post(b, 20 * MIB, &r);
	expect("POST /v1/events, 20 MiB", &r, "413|closed", NULL, NULL);
	post(b, 16 * MIB + 1, &r);
	expect("POST /v1/events, 16 MiB + 1 byte", &r, "413|closed", NULL,
	       NULL);
	checkpoint("a body of 20 MiB");
	announce("Content-Length: 67108864\r\n", b, 1024, &r);
	expect("POST /v1/events, Content-Length 64 MiB, 1 KiB sent, closed", &r,
	       "413|400|closed", NULL, NULL);
	announce("Content-Length: 18446744073709551615\r\n", b, 16, &r);
	expect("POST /v1/events, Content-Length 2^64-1", &r, "4xx|closed", NULL,
	       NULL);
	announce("Content-Length: 99999999999999999999999999\r\n", b, 16, &r);
	expect("POST /v1/events, Content-Length 10^26", &r, "4xx|closed", NULL,
	       NULL);
	/* Chunked: 5 MiB is over the documented limit, 20 MiB over libevent's.
	 */
	for (int total = 5; total <= 20; total += 15) {
		size_t chunk = MIB, used = 0;
		size_t cap = (size_t)total * (chunk + 16) + 64;

		chunked = malloc(cap);
		ck_assert_ptr_nonnull(chunked);
		for (int i = 0; i < total; i++) {
			used += (size_t)sprintf(chunked + used, "%zx\r\n",
						chunk);
			memcpy(chunked + used, b, chunk);
			used += chunk;
			memcpy(chunked + used, "\r\n", 2);
			used += 2;
		}
		memcpy(chunked + used, "0\r\n\r\n", 5);
		used += 5;
		announce("Transfer-Encoding: chunked\r\n", chunked, used, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events, %d MiB in 1 MiB chunks", total);
		if (total == 5)
			expect(what, &r, "413", "too_large", NULL);
		else
			expect(what, &r, "413|closed", NULL, NULL);
		free(chunked);
	}
	free(b);
	checkpoint("chunked bodies");

	/* Headers and URLs. */
	b = padded("X-Big: ", 64 * 1024);
	memcpy(b + 64 * 1024 - 2, "\r\n", 2);
	{
		char *h = strndup(b, 64 * 1024);
		request("GET", "/healthz", h, NULL, 0, &r);
		expect("GET /healthz with a 64 KiB header line", &r,
		       "4xx|closed", NULL, NULL);
		free(h);
	}
	free(b);
	{
		size_t n = 1000, line = 100;
		char *h = malloc(n * line + 1), *p = h;
		for (size_t i = 0; i < n; i++)
			p += sprintf(p, "X-H%04zu: %0*d\r\n", i,
				     (int)(line - 11), 0);
		request("GET", "/healthz", h, NULL, 0, &r);
		expect("GET /healthz with 1000 headers of 100 bytes", &r,
		       "4xx|closed", NULL, NULL);
		free(h);
	}
	{
		char *h = malloc(12 * 1024);
		memset(h, 'a', 12 * 1024);
		memcpy(h, "X-Fine: ", 8);
		strcpy(h + 12 * 1024 - 3, "\r\n");
		request("GET", "/healthz", h, NULL, 0, &r);
		expect("GET /healthz with a 12 KiB header (under the limit)",
		       &r, "200", NULL, NULL);
		free(h);
	}
	checkpoint("big headers");
	{
		static const struct {
			const char *prefix, *statuses;
			size_t len;
		} urls[] = {
			{"/", "4xx|closed", 100 * 1024},
			{"/v1/pathways/", "4xx|closed", 100 * 1024},
			{"/v1/pathways/", "404|414|400", 10 * 1024},
			{"/v1/pathways/", "404", 3000},
			{"/v1/patients/", "404|414|400", 10 * 1024},
			{"/healthz?q=", "4xx|closed|200", 100 * 1024},
		};
		for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
			size_t plen = strlen(urls[i].prefix);
			char *u = malloc(urls[i].len + 1);
			memset(u, 'x', urls[i].len);
			memcpy(u, urls[i].prefix, plen);
			u[urls[i].len] = '\0';
			request("GET", u, NULL, NULL, 0, &r);
			snprintf(what, sizeof(what), "GET %s... (%zu bytes)",
				 urls[i].prefix, urls[i].len);
			expect(what, &r, urls[i].statuses, NULL, NULL);
			free(u);
		}
	}
	{
		/* 2000 query parameters */
		char *u = malloc(2000 * 8 + 64), *p = u;
		p += sprintf(p, "/v1/notifications?limit=1");
		for (int i = 0; i < 2000; i++)
			p += sprintf(p, "&a%d=1", i);
		request("GET", u, NULL, NULL, 0, &r);
		expect("GET /v1/notifications with 2000 query parameters", &r,
		       "200|400|414", NULL, NULL);
		free(u);
	}
	checkpoint("long URLs");

	/* Big but well-formed JSON. */
	{
		size_t n = 100000, used = 0;
		char *batch = malloc(n * 3 + 64);
		used += (size_t)sprintf(batch, "{\"events\":[");
		for (size_t i = 0; i < n; i++)
			used += (size_t)sprintf(batch + used, "%s{}",
						i ? "," : "");
		used += (size_t)sprintf(batch + used, "]}");
		post(batch, used, &r);
		expect("POST /v1/events, a batch of 100000 {}", &r, "413",
		       "too_large", "events");
		free(batch);
	}
	{
		/* 1000 events (the limit), each refused without the database */
		size_t cap = 1000 * 200 + 64, used = 0;
		char *batch = malloc(cap);
		used += (size_t)sprintf(batch, "{\"events\":[");
		for (int i = 0; i < 1000; i++)
			used += (size_t)sprintf(
				batch + used,
				"%s{\"event_id\":\"hxe-big-%d\",\"type\":"
				"\"no.such\",\"patient_id\":\"hx-big\","
				"\"occurred_at\":\"2025-03-03T09:15:00Z\"}",
				i ? "," : "", i);
		used += (size_t)sprintf(batch + used, "]}");
		post(batch, used, &r);
		if (r.status != 200 ||
		    json_array_size(e2e_at(r.json, "results")) != 1000)
			fail_case("POST /v1/events, 1000 events of an unknown "
				  "type: expected 200 with 1000 results, got "
				  "%d %.200s",
				  r.status, r.body);
		for (int i = 0; r.status == 200 && i < 1000; i++) {
			char path[64];
			snprintf(path, sizeof(path), "results.%d.status", i);
			if (json_integer_value(e2e_at(r.json, path)) != 400) {
				fail_case("1000 events of an unknown type: "
					  "result %d is not 400",
					  i);
				break;
			}
		}
		http_response_free(&r);
		free(batch);
	}
	{
		/* a 3 MiB text where 4000 bytes are allowed */
		size_t n = 3 * MIB, len;
		char *raw = malloc(n + 3), *body;
		memset(raw, 'y', n + 2);
		raw[0] = raw[n + 1] = '"';
		raw[n + 2] = '\0';
		body = event_with("referral.sent", "data.justification", raw,
				  &len);
		post(body, len, &r);
		expect("POST /v1/events, a 3 MiB data.justification", &r, "400",
		       "invalid_event", "data.justification");
		free(body);
		free(raw);
	}
	{
		/* 200000 keys, and 500000 numbers, in free data */
		size_t cap = 200000 * 16 + 16, used = 1, len;
		char *raw = malloc(cap), *body;
		raw[0] = '{';
		for (int i = 0; i < 200000; i++)
			used += (size_t)sprintf(raw + used, "%s\"k%d\":1",
						i ? "," : "", i);
		strcpy(raw + used, "}");
		body = event_with("referral.sent", "data.extra", raw, &len);
		post(body, len, &r);
		expect("POST /v1/events referral.sent (unknown patient) with "
		       "200000 keys in data.extra",
		       &r, "4xx", NULL, NULL);
		free(body);
		used = 1;
		raw[0] = '[';
		for (int i = 0; i < 500000; i++)
			used += (size_t)sprintf(raw + used, "%s0",
						i ? "," : "");
		strcpy(raw + used, "]");
		body = event_with("referral.sent", "data.extra", raw, &len);
		post(body, len, &r);
		expect("POST /v1/events referral.sent (unknown patient) with "
		       "500000 numbers in data.extra",
		       &r, "4xx", NULL, NULL);
		free(body);
		free(raw);
	}
	end_group("oversized");
}
END_TEST

/* --- slow clients --- */

/* Normal requests must be answered promptly while others stall. */
static void others_are_served(const char *while_what, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		struct http_response r;
		char what[300];
		size_t len;
		char *body;

		snprintf(what, sizeof(what), "GET /healthz while %s",
			 while_what);
		request("GET", "/healthz", NULL, NULL, 0, &r);
		if (last_ms > SERVED_WITHIN_MS)
			fail_case("%s: took %ld ms", what, last_ms);
		expect(what, &r, "200", NULL, NULL);

		snprintf(what, sizeof(what),
			 "GET /v1/pathways/pw-none (database) while %s",
			 while_what);
		request("GET", "/v1/pathways/pw-none", NULL, NULL, 0, &r);
		if (last_ms > SERVED_WITHIN_MS)
			fail_case("%s: took %ld ms", what, last_ms);
		expect(what, &r, "404", "not_found", NULL);

		body = event_with("referral.sent", "data.to_level", "7", &len);
		snprintf(what, sizeof(what),
			 "POST /v1/events (invalid) while %s", while_what);
		post(body, len, &r);
		if (last_ms > SERVED_WITHIN_MS)
			fail_case("%s: took %ld ms", what, last_ms);
		expect(what, &r, "400", "invalid_event", "data.to_level");
		free(body);
	}
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

START_TEST(slow_clients)
{
	static const char *const partial[] = {
		"",
		"G",
		"GET /heal",
		"GET /healthz HTTP/1.1\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa",
		"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
		"\r\n{\"event_id\"",
		"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
		"\r\n",
		"POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
		"chunked\r\n\r\n10\r\n{\"ev",
		"POST /v1/events HTTP/1.1\r\nHost: x\r\nExpect: "
		"100-continue\r\n"
		"Content-Length: 50\r\n\r\n",
	};
	enum { COPIES = 5, IDLE = 200 };
	int stalled[ARRAY_SIZE(partial) * COPIES], idle[IDLE];
	int nstalled = 0;
	static const char slow_req[] =
		"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct http_response r;
	int fd, one = 1;

	begin_group();
	/* Half requests left hanging, several of each. */
	for (int c = 0; c < COPIES; c++) {
		for (size_t i = 0; i < ARRAY_SIZE(partial); i++) {
			fd = connect_to(PORT);
			ck_assert_int_ge(fd, 0);
			sent++;
			send_until(fd, partial[i], strlen(partial[i]),
				   now_ms() + 1000);
			stalled[nstalled++] = fd;
		}
	}
	others_are_served("50 clients stall half-way through a request", 10);
	for (int i = 0; i < IDLE; i++) {
		idle[i] = connect_to(PORT);
		ck_assert_int_ge(idle[i], 0);
	}
	others_are_served("200 more connections sit idle", 5);
	/* A stalled request must not have been answered as if complete. */
	for (int i = 0; i < nstalled; i++) {
		struct pollfd pf = {.fd = stalled[i], .events = POLLIN};
		char buf[64] = "";
		if (poll(&pf, 1, 0) == 1 &&
		    recv(stalled[i], buf, sizeof(buf) - 1, MSG_DONTWAIT) > 0 &&
		    strncmp(buf, "HTTP/1.1 2", 10) == 0)
			fail_case("a half request (%s) was answered: %s",
				  partial[i % ARRAY_SIZE(partial)], buf);
	}
	close_all(idle, IDLE);
	close_all(stalled, nstalled);
	checkpoint("stalled clients went away");

	/* A request one byte at a time, others served between the bytes. */
	fd = connect_to(PORT);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sent++;
	for (size_t i = 0; i < sizeof(slow_req) - 1; i++) {
		ck_assert(send_until(fd, slow_req + i, 1, now_ms() + 1000));
		request("GET", "/healthz", NULL, NULL, 0, &r);
		if (last_ms > SERVED_WITHIN_MS)
			fail_case("GET /healthz between the bytes of a slow "
				  "request took %ld ms",
				  last_ms);
		expect("GET /healthz between the bytes of a slow request", &r,
		       "200", NULL, NULL);
	}
	read_answer(fd, now_ms() + RAW_TIMEOUT_MS, &r);
	close(fd);
	expect("GET /healthz sent one byte at a time", &r, "200", NULL, NULL);

	/* A client that does not read its answer. */
	{
		char *models_req = NULL;
		int small = 1024;
		int fds[5];
		ck_assert_int_gt(asprintf(&models_req,
					  "GET /v1/models HTTP/1.1\r\nHost: "
					  "x\r\n%sConnection: close\r\n\r\n",
					  token_line()),
				 0);
		for (int i = 0; i < 5; i++) {
			fds[i] = connect_to(PORT);
			ck_assert_int_ge(fds[i], 0);
			setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small,
				   sizeof(small));
			sent++;
			send_until(fds[i], models_req, strlen(models_req),
				   now_ms() + 1000);
		}
		others_are_served("5 clients do not read their answers", 3);
		for (int i = 0; i < 5; i++) {
			read_answer(fds[i], now_ms() + RAW_TIMEOUT_MS, &r);
			close(fds[i]);
			expect("GET /v1/models read late", &r, "200", NULL,
			       NULL);
		}
		free(models_req);
	}

	/* Clients that go away before their answer: some mid-database. */
	for (int i = 0; i < 40; i++) {
		struct linger rst = {1, 0};
		char *req = NULL, *body;
		size_t len;

		body = event_with("referral.sent", "data.to_level",
				  "\"clinic\"", &len);
		if (i % 2)
			ck_assert_int_gt(
				asprintf(&req,
					 "GET /v1/pathways/pw-gone-%d "
					 "HTTP/1.1\r\nHost: x\r\n%s\r\n",
					 i, token_line()),
				0);
		else
			ck_assert_int_gt(
				asprintf(&req,
					 "POST /v1/events HTTP/1.1\r\nHost: "
					 "x\r\n%sContent-Length: %zu\r\n\r\n%s",
					 token_line(), len, body),
				0);
		fd = connect_to(PORT);
		ck_assert_int_ge(fd, 0);
		sent++;
		send_until(fd, req, strlen(req), now_ms() + 1000);
		if (i % 4 >= 2)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst,
				   sizeof(rst));
		close(fd);
		free(req);
		free(body);
	}
	checkpoint("40 clients left before their answers");
	others_are_served("clients left before their answers", 2);
	end_group("slow_clients");
}
END_TEST

/* With a short request timeout, a stalled client is dropped. */
START_TEST(stalled_clients_time_out)
{
	static const char *const extra[] = {
		"--config",
		PAINPATH_SOURCE_DIR "/test/data/hostile/short_timeout.conf",
		NULL};
	/* A POST with the token is admitted and then stalls in its body;
	 * without one it is refused from its head, before any body. */
	static const struct {
		const char *bytes;
		bool token;
		const char *statuses;
	} partial[] = {
		{"", false, "408|400|closed"},
		{"GET /heal", false, "408|400|closed"},
		{"GET /healthz HTTP/1.1\r\nHost: x\r\n", false,
		 "408|400|closed"},
		{"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: "
		 "100\r\n\r\n{\"event_id\"",
		 true, "408|400|closed"},
		{"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: "
		 "100\r\n\r\n{\"event_id\"",
		 false, "401"},
	};
	struct daemon_instance d;
	int fds[ARRAY_SIZE(partial)];
	int64_t start;

	sent = failures = 0;
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, extra));
	start = now_ms();
	for (size_t i = 0; i < ARRAY_SIZE(partial); i++) {
		const char *b = partial[i].bytes;
		size_t at = partial[i].token ? strlen("POST /v1/events "
						      "HTTP/1.1\r\nHost: x\r\n")
					     : strlen(b);

		fds[i] = connect_to(d.port);
		ck_assert_int_ge(fds[i], 0);
		sent++;
		send_until(fds[i], b, at, now_ms() + 1000);
		send_until(fds[i], token_line(),
			   partial[i].token ? strlen(token_line()) : 0,
			   now_ms() + 1000);
		send_until(fds[i], b + at, strlen(b + at), now_ms() + 1000);
	}
	assert_serving_on(&d, "5 clients stalled");
	/* request_timeout_s = 2: each must be closed (or answered 408)
	 * well within 10 s; read_answer returns at the close. */
	for (size_t i = 0; i < ARRAY_SIZE(partial); i++) {
		struct http_response r;
		char what[200], ex[100];
		bool closed;

		read_answer(fds[i], start + 10000, &r);
		closed = now_ms() - start < 10000;
		close(fds[i]);
		snprintf(what, sizeof(what),
			 "a client stalled after \"%s\"%s (request timeout 2 "
			 "s)",
			 excerpt(partial[i].bytes, strlen(partial[i].bytes), ex,
				 sizeof(ex)),
			 partial[i].token ? " with a token" : "");
		if (!closed)
			fail_case("%s: still open after 10 s", what);
		expect(what, &r, partial[i].statuses, NULL, NULL);
	}
	assert_serving_on(&d, "stalled clients timed out");
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	fprintf(stderr,
		"hostile: stalled_clients_time_out: %d requests, %d failed\n",
		sent, failures);
	ck_assert_msg(failures == 0, "%d case(s) failed; the first: %s",
		      failures, first_failure);
}
END_TEST

/* --- paths and SQL-shaped input --- */

START_TEST(path_tricks)
{
	static const struct {
		const char *target, *statuses, *code;
	} cases[] = {
		{"/v1/pathways/..%2F..%2Fetc%2Fpasswd", "404", "not_found"},
		{"/v1/pathways/../../etc/passwd", "400|404", NULL},
		{"/v1/pathways/%2e%2e/%2e%2e/etc/passwd", "400|404", NULL},
		{"/v1/pathways/..", "400|404", NULL},
		{"/v1/pathways/.", "400|404", NULL},
		{"/../../../etc/passwd", "400|404", NULL},
		{"/v1/pathways/%00", "404", "not_found"},
		{"/v1/pathways/%00/transitions", "404", "not_found"},
		{"/v1/pathways/x%00y", "404", "not_found"},
		{"/v1/pathways/a%20b", "404", "not_found"},
		{"/v1/pathways/%", "400|404", NULL},
		{"/v1/pathways/%zz", "400|404", NULL},
		{"/v1/pathways/%ff%fe", "404", "not_found"},
		{"/v1/pathways/x%2Fy", "404", "not_found"},
		{"/v1/pathways/x%2F..%2F..", "404", "not_found"},
		{"/v1/pathways/x;param", "404", "not_found"},
		{"/v1/pathways/x#fragment", "400|404", NULL},
		{"//v1/pathways/pw-none", "400|404", NULL},
		{"/v1//pathways//pw-none", "400|404", NULL},
		{"///////////healthz/../v1/models", "400|404", NULL},
		{"/v1/pathways/pw-none/", "400|404", NULL},
		{"/v1/pathways/pw-none//transitions", "400|404", NULL},
		{"/v1/pathways/pw-none/transitions/", "400|404", NULL},
		{"/v1/pathways/pw-none/transitions/x", "400|404", NULL},
		{"/v1/pathways/pw-none/transitions/x/y/z/a/b/c/d/e/f",
		 "400|404", NULL},
		{"/v1/%70athways/pw-none", "400|404", NULL},
		{"/%76%31/pathways/pw-none", "400|404", NULL},
		{"/V1/PATHWAYS/pw-none", "400|404", NULL},
		{"/v1/pathways/pw-none%2Ftransitions", "404", "not_found"},
		{"/v1/patients/%2e%2e/pathways", "404", "not_found"},
		/* ".." is an identifier by api.md's alphabet: an empty
		 * list is a fine answer, a traversal is not */
		{"/v1/patients/../pathways", "200|400|404", NULL},
		{"/v1/patients/x'%20OR%20'1'='1/pathways", "404", "not_found"},
		{"/v1/patients/x';--/pathways", "404", "not_found"},
		{"/v1/pathways/x'%3B%20DROP%20TABLE%20pathways%3B--", "404",
		 "not_found"},
		{"/v1/pathways/x';DROP%20TABLE%20transitions;--", "404",
		 "not_found"},
		{"/v1/pathways/x\"';--/transitions", "404", "not_found"},
		{"/v1/pathways/1%20OR%201=1", "404", "not_found"},
		{"/v1/pathways/$(id)", "404", "not_found"},
		{"/v1/pathways/%24%7Bjndi:ldap://x%7D", "404", "not_found"},
		{"/v1/pathways/{{7*7}}", "400|404", NULL},
		{"/v1/pathways/\\..\\..\\etc\\passwd", "400|404", NULL},
		{"/v1/pathways/pw-none?x=1'%20OR%201=1", "400",
		 "invalid_request"},
		{"/v1/pathways/pw-none?%zz", "400|404", NULL},
		{"/v1/events", "405", "method_not_allowed"},
		{"/v1/events/", "405", "method_not_allowed"},
		{"/v1/notifications?after=1'%3B%20DROP%20TABLE%20pathways%3B--",
		 "400", "invalid_request"},
		{"/v1/notifications?limit=1;DROP", "400", "invalid_request"},
		{"/v1/notifications?after=%00", "400", "invalid_request"},
		{"/v1/notifications?after=0x10", "400", "invalid_request"},
		{"/v1/notifications?after=&limit=", "400", "invalid_request"},
		{"/v1/notifications?after=1&after=2'", "200|400", NULL},
		{"/v1/notifications?a=%zz", "200|400", NULL},
		{"/v1/notifications?%", "200|400", NULL},
		{"/v1/notifications?==&&==", "200|400", NULL},
		{"/v1/pathways?region=x'%20OR%201=1--", "200|400|404", NULL},
		{"/v1/pathways?limit=1;DROP%20TABLE%20pathways", "200|400|404",
		 NULL},
		{"/v1/pathways?cursor=x'%3B--", "200|400|404", NULL},
		{"/v1/escalations?date=2025-01-01'%3B--", "200|400|404", NULL},
		{"/v1/escalations?date=x&region='", "200|400|404", NULL},
		{"/v1/stats/waiting?region=x'%20OR%20'1'='1", "200|400|404",
		 NULL},
		{"/v1/models?x=';DROP", "400", "invalid_request"},
		{"/v1/pathways?limit=-1", "200|400", NULL},
		{"/v1/pathways?limit=1e400", "200|400", NULL},
		{"/v1/pathways?limit=99999999999999999999", "200|400", NULL},
		{"/v1/pathways?overdue=maybe", "200|400", NULL},
		{"/v1/pathways?cursor=%00%ff", "200|400", NULL},
		{"/v1/pathways?phase=x&phase=y&level='", "200|400", NULL},
		{"/v1/escalations?date=2025-02-30", "200|400|404", NULL},
		{"/v1/escalations?date=99999-01-01", "200|400|404", NULL},
		{"/v1/escalations?date=", "200|400|404", NULL},
		{"/v1/stats/waiting?level=%27", "200|400", NULL},
		{"/v1/audit?after=1'%3B--", "200|400", NULL},
		{"/v1/audit?limit=-1", "200|400", NULL},
		{"*", "400|404", NULL},
		{"v1/pathways/pw-none", "400|404", NULL},
		{"http://evil.example/v1/pathways/pw-none", "400|404", NULL},
		{"http://127.0.0.1/../../etc/passwd", "400|404", NULL},
	};
	struct http_response r;
	char *ids[3];
	const char *lengths[] = {"129", "1000", "2100"};

	begin_group();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char what[300];
		request("GET", cases[i].target, NULL, NULL, 0, &r);
		snprintf(what, sizeof(what), "GET %s", cases[i].target);
		expect(what, &r, cases[i].statuses, cases[i].code, NULL);
	}
	checkpoint("path tricks");
	/* Very long ids, where 128 characters are allowed. */
	for (int i = 0; i < 3; i++) {
		size_t n = (size_t)atoi(lengths[i]);
		char what[200], path[2400];
		ids[i] = malloc(n + 1);
		memset(ids[i], 'a', n);
		ids[i][n] = '\0';
		snprintf(path, sizeof(path), "/v1/pathways/%s", ids[i]);
		request("GET", path, NULL, NULL, 0, &r);
		snprintf(what, sizeof(what), "GET /v1/pathways/<%zu x a>", n);
		expect(what, &r, "404", "not_found", NULL);
		snprintf(path, sizeof(path), "/v1/pathways/%s/transitions",
			 ids[i]);
		request("GET", path, NULL, NULL, 0, &r);
		snprintf(what, sizeof(what),
			 "GET /v1/pathways/<%zu x a>/transitions", n);
		expect(what, &r, "404", "not_found", NULL);
		snprintf(path, sizeof(path), "/v1/patients/%s/pathways",
			 ids[i]);
		request("GET", path, NULL, NULL, 0, &r);
		snprintf(what, sizeof(what),
			 "GET /v1/patients/<%zu x a>/pathways", n);
		expect(what, &r, "404", "not_found", NULL);
		free(ids[i]);
	}
	end_group("path_tricks");
}
END_TEST

START_TEST(sql_shaped_input)
{
	static const char *const sql[] = {
		"\"x'; DROP TABLE pathways;--\"",
		"\"x'); DROP TABLE transitions;--\"",
		"\"' OR '1'='1\"",
		"\"1; DELETE FROM pathways\"",
		"\"x\\\" OR 1=1 --\"",
		"\"$$; DROP TABLE notifications; $$\"",
		"\"x'||pg_sleep(5)||'\"",
		"\"\\\\'; TRUNCATE transitions;--\"",
	};
	/* ids refuse these by shape; free text must pass them through as
	 * data (an unknown patient: 404). */
	static const struct {
		const char *type, *path, *statuses, *code, *field;
	} places[] = {
		{"pathway.opened", "event_id", "400", "invalid_event",
		 "event_id"},
		{"pathway.opened", "patient_id", "400", "invalid_event",
		 "patient_id"},
		{"referral.sent", "pathway_id", "400", "invalid_event",
		 "pathway_id"},
		{"pathway.opened", "model", "400", "invalid_event", "model"},
		{"pathway.opened", "region", "400", "invalid_event", "region"},
		{"pathway.opened", "unit", "400", "invalid_event", "unit"},
		{"pathway.opened", "type", "400", "invalid_event", "type"},
		{"referral.sent", "data.to_unit", "400", "invalid_event",
		 "data.to_unit"},
		{"referral.sent", "data.to_level", "400", "invalid_event",
		 "data.to_level"},
		{"pathway.closed", "data.reason", "400", "invalid_event",
		 "data.reason"},
		{"pathway.opened", "data.flags", "400", "invalid_event",
		 "data.flags"},
		{"referral.sent", "data.justification", "404", "not_found",
		 NULL},
		{"pro.reported", "data.instrument", "404", "not_found", NULL},
		{"referral.withdrawn", "data.reason", "404", "not_found", NULL},
		{"collaboration.started", "data.partner", "404", "not_found",
		 NULL},
	};
	struct http_response r;
	char *out;
	int before_pathways;

	begin_group();
	before_pathways = e2e_count("SELECT count(*) FROM pathways");
	for (size_t p = 0; p < ARRAY_SIZE(places); p++) {
		for (size_t s = 0; s < ARRAY_SIZE(sql); s++) {
			char raw[128], what[300];
			size_t len;
			char *body;

			if (strcmp(places[p].path, "data.flags") == 0)
				snprintf(raw, sizeof(raw), "[%s]", sql[s]);
			else
				snprintf(raw, sizeof(raw), "%s", sql[s]);
			body = event_with(places[p].type, places[p].path, raw,
					  &len);
			post(body, len, &r);
			snprintf(what, sizeof(what),
				 "POST /v1/events %s with %s = %s",
				 places[p].type, places[p].path, raw);
			expect(what, &r, places[p].statuses, places[p].code,
			       places[p].field);
			free(body);
		}
	}
	/* As keys of free data, of scores and of referral content. */
	for (size_t s = 0; s < ARRAY_SIZE(sql); s++) {
		char raw[160], what[300];
		size_t len;
		char *body;

		snprintf(raw, sizeof(raw), "{%s:1}", sql[s]);
		body = event_with("pro.reported", "data.scores", raw, &len);
		post(body, len, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events pro.reported with data.scores = %s",
			 raw);
		expect(what, &r, "404", "not_found", NULL);
		free(body);
		snprintf(raw, sizeof(raw), "{%s:true}", sql[s]);
		body = event_with("referral.sent", "data.content", raw, &len);
		post(body, len, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events referral.sent with data.content = %s",
			 raw);
		expect(what, &r, "400", "invalid_event", "data.content");
		free(body);
	}
	checkpoint("SQL-shaped bodies");
	/* The tables are all there, and nothing went away. */
	out = harness_psql(&e2e_pg,
			   "SELECT count(*) FROM pg_tables WHERE schemaname = "
			   "'public' AND tablename IN ('pathways', "
			   "'transitions', 'notifications')");
	ck_assert_ptr_nonnull(out);
	if (strcmp(out, "3") != 0)
		fail_case("after SQL-shaped input: %s of the 3 core tables "
			  "remain",
			  out);
	free(out);
	if (e2e_count("SELECT count(*) FROM pathways") < before_pathways)
		fail_case("after SQL-shaped input: pathways went missing");
	end_group("sql_shaped_input");
}
END_TEST

/* --- HTTP-level garbage --- */

struct raw_case {
	const char *what;
	const char *bytes; /* 0x01 bytes are sent as NUL */
	const char *statuses;
	bool half_close;
};

static const struct raw_case garbage[] = {
	{"not HTTP at all", "hello\r\n\r\n", "4xx|closed", false},
	{"a TLS ClientHello",
	 "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03"
	 "abcdefghijklmnopqrstuvwxyz012345",
	 "4xx|closed", true},
	{"an HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "4xx|closed",
	 true},
	{"only NUL bytes", "\x01\x01\x01\x01\x01\x01\x01\x01\r\n\r\n",
	 "4xx|closed", true},
	{"only blank lines", "\r\n\r\n\r\n\r\n", "4xx|closed", true},
	{"an SSH banner", "SSH-2.0-OpenSSH_9.2\r\n", "4xx|closed", true},
	{"an SMTP greeting", "EHLO evil.example\r\n\r\n", "4xx|closed", true},
	/* RFC 9110 section 15.6.2: 501 answers a method the server does
	 * not recognise (methods are case-sensitive). */
	{"an unknown method",
	 "BREW /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	 "4xx|501|closed", false},
	{"a lower-case method",
	 "get /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	 "4xx|501|closed", false},
	{"TRACE",
	 "TRACE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	 "4xx|closed", false},
	{"CONNECT",
	 "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "\r\n",
	 "4xx|closed", false},
	{"PUT on /v1/events",
	 "PUT /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 2\r\n\r\n{}",
	 "405", false},
	{"DELETE on a pathway",
	 "DELETE /v1/pathways/pw-none HTTP/1.1\r\nHost: x\r\nConnection: "
	 "close\r\n\r\n",
	 "405", false},
	{"PATCH on a pathway",
	 "PATCH /v1/pathways/pw-none HTTP/1.1\r\nHost: x\r\nConnection: "
	 "close\r\nContent-Length: 2\r\n\r\n{}",
	 "405", false},
	{"OPTIONS *",
	 "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "4xx",
	 false},
	{"a 10000-byte method", NULL, "4xx|501|closed", true},
	{"a method of NUL bytes",
	 "\x01\x01\x01 /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "4xx|closed",
	 true},
	{"an HTTP/0.9 request line", "GET /healthz\r\n\r\n", "200|4xx|closed",
	 true},
	{"HTTP/0.9 without a blank line", "GET /healthz\r\n", "200|4xx|closed",
	 true},
	{"HTTP/9.9", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", "4xx|closed",
	 true},
	{"HTTP/1.12345678901234567890",
	 "GET /healthz HTTP/1.12345678901234567890\r\nHost: x\r\n\r\n",
	 "200|4xx|closed", true},
	{"a garbled version", "GET /healthz HTPT/1.1\r\nHost: x\r\n\r\n",
	 "4xx|closed", true},
	{"a missing Host", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
	 "200|400", false},
	{"two Hosts",
	 "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: "
	 "close\r\n\r\n",
	 "200|400", false},
	{"a header without a colon",
	 "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: "
	 "close\r\n\r\n",
	 "4xx|closed", true},
	{"a header with a NUL",
	 "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01"
	 "b\r\nConnection: close\r\n\r\n",
	 "200|4xx|closed", true},
	{"a header name with spaces",
	 "GET /healthz HTTP/1.1\r\nHost: x\r\nX A : b\r\nConnection: "
	 "close\r\n\r\n",
	 "200|4xx|closed", true},
	{"a folded header",
	 "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nConnection: "
	 "close\r\n\r\n",
	 "200|4xx|closed", true},
	{"a folded first header",
	 "GET /healthz HTTP/1.1\r\n x\r\nConnection: close\r\n\r\n",
	 "200|4xx|closed", true},
	{"bare LF line ends",
	 "GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n",
	 "200|4xx|closed", true},
	{"bare CR line ends",
	 "GET /healthz HTTP/1.1\rHost: x\rConnection: close\r\r",
	 "200|4xx|closed", true},
	{"spaces in the request line",
	 "GET  /healthz  HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	 "200|4xx|closed", true},
	{"a raw space in the path",
	 "GET /v1/pathways/a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "\r\n",
	 "4xx|closed", true},
	{"a raw 0xff in the path",
	 "GET /v1/pathways/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: "
	 "close\r\n\r\n",
	 "4xx|closed", true},
	{"a raw control byte in the path",
	 "GET /v1/pathways/a\x07"
	 "b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	 "4xx|closed", true},
	{"conflicting Content-Lengths",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 7\r\nContent-Length: 70\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"conflicting Content-Lengths, the other order",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 70\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a Content-Length list",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 7, 7\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a negative Content-Length",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: -1\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a Content-Length of -9223372036854775808",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: -9223372036854775808\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a Content-Length that is not a number",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: seven\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a hexadecimal Content-Length",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 0x7\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a Content-Length with a plus",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: +7\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a Content-Length larger than the body, then close",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 1000\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a Content-Length smaller than the body",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 3\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a chunk size that is not hex",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\nzz\r\n{\"a\":1}\r\n0\r\n\r\n",
	 "4xx|closed", true},
	{"a negative chunk size",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n-7\r\n{\"a\":1}\r\n0\r\n\r\n",
	 "4xx|closed", true},
	{"a chunk size of 2^72",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n{\"a\":1}"
	 "\r\n0\r\n\r\n",
	 "4xx|closed", true},
	{"a chunk size of 2^63-1",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n{\"a\":1}"
	 "\r\n0\r\n\r\n",
	 "4xx|closed", true},
	{"a chunk longer than its size",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n2\r\n{\"a\":1}\r\n0\r\n\r\n",
	 "4xx|closed", true},
	{"a chunk shorter than its size, then close",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n100\r\n{\"a\":1}\r\n",
	 "4xx|closed", true},
	{"no last chunk, then close",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n",
	 "4xx|closed", true},
	{"a chunk extension",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n7;evil=\"x\"\r\n{\"a\":1}\r\n0"
	 "\r\n\r\n",
	 "4xx|closed", true},
	{"chunked and a Content-Length",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n"
	 "{\"a\":1}\r\n0\r\n\r\n",
	 "4xx|closed", true},
	{"an unknown Transfer-Encoding",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: gzip\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"Transfer-Encoding: chunked, chunked",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Transfer-Encoding: chunked, chunked\r\n\r\n7\r\n{\"a\":1}\r\n0"
	 "\r\n\r\n",
	 "4xx|closed", true},
	{"a POST without a length, then close",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	 "{\"a\":1}",
	 "4xx|closed", true},
	{"Expect: 100-continue, no body, then close",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Expect: 100-continue\r\nContent-Length: 7\r\n\r\n",
	 "100|4xx|closed", true},
	{"an unknown Expect",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Expect: 999-evil\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
	 "4xx|closed", true},
	{"a good request, then garbage",
	 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n",
	 "200|4xx|closed", true},
	{"a good request, then a huge chunk",
	 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /v1/events HTTP/1.1\r\n"
	 "Host: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n",
	 "200|4xx|closed", true},
	{"a smuggled request in a body",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/pathways/x' "
	 "HTTP/1.1\r\nHost: x\r\n\r\n",
	 "4xx|closed", true},
	{"Upgrade: websocket",
	 "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n"
	 "Upgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n",
	 "200|4xx|closed", false},
	{"Content-Type with a bad charset",
	 "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	 "Content-Type: application/json; charset=ebcdic\r\n"
	 "Content-Length: 7\r\n\r\n{\"a\":1}",
	 "4xx", false},
};

START_TEST(http_garbage)
{
	struct http_response r;
	char what[300], *buf;

	begin_group();
	for (size_t i = 0; i < ARRAY_SIZE(garbage); i++) {
		const struct raw_case *c = &garbage[i];
		size_t len;

		if (c->bytes == NULL) {
			len = 10000 + 40;
			buf = malloc(len + 1);
			memset(buf, 'A', 10000);
			strcpy(buf + 10000,
			       " /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
			len = strlen(buf);
		} else {
			/* With the suite's token after the first Host line,
			 * so what gets through reaches the handlers. */
			const char *host = strstr(c->bytes, "\r\nHost: x\r\n");
			size_t at = host ? (size_t)(host - c->bytes) + 11 : 0;

			if (host != NULL)
				ck_assert_int_gt(asprintf(&buf, "%.*s%s%s",
							  (int)at, c->bytes,
							  token_line(),
							  c->bytes + at),
						 0);
			else
				buf = strdup(c->bytes);
			len = strlen(buf);
			for (size_t k = 0; k < len; k++)
				if (buf[k] == '\x01')
					buf[k] = '\0';
		}
		exchange(PORT, buf, len, c->half_close, SHORT_TIMEOUT_MS, &r);
		if (getenv("HOSTILE_VERBOSE") != NULL)
			fprintf(stderr, "hostile: %s -> %d (%ld ms) %.80s\n",
				c->what, r.status, last_ms, r.body);
		snprintf(what, sizeof(what), "%s (%s)", c->what,
			 excerpt(buf, len, (char[200]){0}, 200));
		expect(what, &r, c->statuses, NULL, NULL);
		free(buf);
		checkpoint(c->what);
	}
	/* 1 KiB of noise, a few times over. */
	{
		uint32_t x = 2463534242u;
		char noise[1024];

		for (int round = 0; round < 5; round++) {
			for (size_t k = 0; k < sizeof(noise); k++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				noise[k] = (char)(x & 0xff);
			}
			exchange(PORT, noise, sizeof(noise), true,
				 SHORT_TIMEOUT_MS, &r);
			expect("1 KiB of random bytes", &r, "4xx|closed", NULL,
			       NULL);
		}
	}
	/* 50 requests in one write: the daemon answers or drops, and lives. */
	{
		static const char one[] =
			"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
		size_t n = 50, len = n * (sizeof(one) - 1);
		buf = malloc(len);
		for (size_t i = 0; i < n; i++)
			memcpy(buf + i * (sizeof(one) - 1), one,
			       sizeof(one) - 1);
		exchange(PORT, buf, len, true, SHORT_TIMEOUT_MS, &r);
		expect("50 pipelined GET /healthz", &r, "200", NULL, NULL);
		free(buf);
	}
	end_group("http_garbage");
}
END_TEST

/* --- tokens --- */

START_TEST(bad_tokens)
{
	/* On POST /v1/events with an empty event: a token wrongly taken
	 * shows as a 400, never as a record. */
	static const struct {
		const char *header, *statuses, *code;
	} cases[] = {
		{NULL, "401", "unauthorized"},
		{"Authorization: \r\n", "401", "unauthorized"},
		{"Authorization: Bearer\r\n", "401", "unauthorized"},
		{"Authorization: Bearer \r\n", "401", "unauthorized"},
		{"Authorization: Bearer  dev-admin\r\n", "400|401", NULL},
		{"Authorization: Basic ZGV2LWFkbWluOmRldi1hZG1pbg==\r\n", "401",
		 "unauthorized"},
		{"Authorization: dev-admin\r\n", "401", "unauthorized"},
		{"Authorization: Bearer dev-admi\r\n", "401", "unauthorized"},
		{"Authorization: Bearer dev-admin2\r\n", "401", "unauthorized"},
		{"Authorization: Bearer DEV-ADMIN\r\n", "401", "unauthorized"},
		{"Authorization: Bearer plain:dev-admin\r\n", "401",
		 "unauthorized"},
		{"Authorization: Bearer ehr-vest\r\n", "401", "unauthorized"},
		{"Authorization: Bearer "
		 "sha256:1c47060e8cf9e7946ee29a7ddb6980a22a"
		 "6fa0a3c974442710a9830b17ae441c\r\n",
		 "401", "unauthorized"},
		{"Authorization: Bearer "
		 "1c47060e8cf9e7946ee29a7ddb6980a22a6fa0a3c"
		 "974442710a9830b17ae441c\r\n",
		 "401", "unauthorized"},
		{"Authorization: Bearer *\r\n", "401", "unauthorized"},
		{"Authorization: Bearer %00\r\n", "401", "unauthorized"},
		{"Authorization: Bearer hx-secret-0123456789\r\n", "401",
		 "unauthorized"},
		{"Authorization: Bearer x'; DROP TABLE pathways;--\r\n", "401",
		 "unauthorized"},
		{"Authorization: Bearer dev-admin\x01junk\r\n", "400|401",
		 NULL},
		{"Authorization: Bearer nope\r\nAuthorization: Bearer "
		 "dev-admin\r\n",
		 "400|401", NULL},
		{"Authorization: Bearer dev-coordinator\r\n", "403",
		 "forbidden"},
	};
	struct http_response r;

	begin_group();
	no_token = true;
	for (size_t i = 0; i < ARRAY_SIZE(cases) + 1; i++) {
		bool big = i == ARRAY_SIZE(cases);
		char *h = NULL, what[300], ex[200];
		size_t hlen = 0;

		if (big) {
			/* a 12 KiB token */
			h = malloc(12 * 1024 + 64);
			strcpy(h, "Authorization: Bearer ");
			memset(h + 22, 't', 12 * 1024);
			strcpy(h + 22 + 12 * 1024, "\r\n");
		} else if (cases[i].header != NULL) {
			h = strdup(cases[i].header);
		}
		if (h != NULL) {
			hlen = strlen(h);
			for (char *c = h; *c; c++)
				if (*c == '\x01')
					*c = '\0';
		}
		/* request() stops at a NUL: send the raw line then */
		if (h != NULL && strlen(h) != hlen) {
			char *raw = NULL;
			int n = asprintf(
				&raw, "POST /v1/events HTTP/1.1\r\nHost: x\r\n"
				      "Connection: close\r\nContent-Length: 2"
				      "\r\n");
			ck_assert_int_gt(n, 0);
			raw = realloc(raw, (size_t)n + hlen + 4);
			memcpy(raw + n, h, hlen);
			memcpy(raw + n + hlen, "\r\n{}", 4);
			exchange(PORT, raw, (size_t)n + hlen + 4, false,
				 RAW_TIMEOUT_MS, &r);
			free(raw);
		} else {
			request("POST", "/v1/events", h, "{}", 2, &r);
		}
		snprintf(what, sizeof(what), "POST /v1/events with %s",
			 h ? excerpt(h, hlen, ex, sizeof(ex))
			   : "no Authorization");
		if (r.body != NULL && strstr(r.body, "hx-secret") != NULL)
			fail_case("%s: the answer echoes the token: %s", what,
				  r.body);
		expect(what, &r, big ? "401|431|400" : cases[i].statuses,
		       big ? NULL : cases[i].code, NULL);
		free(h);
	}
	request("GET", "/v1/audit", "Authorization: Bearer dev-ehr\r\n", NULL,
		0, &r);
	expect("GET /v1/audit with an EHR token", &r, "403", "forbidden", NULL);
	no_token = false;
	end_group("bad_tokens");
}
END_TEST

/* --- the record --- */

START_TEST(refused_requests_recorded_nothing)
{
	ck_assert_int_eq(
		e2e_count("SELECT count(*) FROM transitions t JOIN pathways p "
			  "USING (pathway_id) WHERE p.patient_id LIKE 'hx-%'"),
		0);
	ck_assert_int_eq(e2e_count("SELECT count(*) FROM transitions WHERE "
				   "event_id LIKE 'hx%'"),
			 0);
	ck_assert_int_eq(e2e_count("SELECT count(*) FROM pathways WHERE "
				   "patient_id LIKE 'hx-%' OR patient_id "
				   "LIKE '%''%' OR patient_id LIKE '% %'"),
			 0);
	ck_assert_int_eq(e2e_count("SELECT count(*) FROM notifications "
				   "WHERE event_id LIKE 'hx%'"),
			 0);
	checkpoint("the whole hostile suite");
}
END_TEST

void e2e_add_hostile_tests(Suite *s)
{
	TCase *tc = e2e_tcase("hostile");

	tcase_add_test(tc, truncated_json);
	tcase_add_test(tc, malformed_json);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, huge_numbers);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, deeply_nested_event_stays_readable);
	tcase_add_test(tc, bad_text);
	tcase_add_test(tc, oversized);
	tcase_add_test(tc, slow_clients);
	tcase_add_test(tc, stalled_clients_time_out);
	tcase_add_test(tc, path_tricks);
	tcase_add_test(tc, sql_shaped_input);
	tcase_add_test(tc, http_garbage);
	tcase_add_test(tc, bad_tokens);
	tcase_add_test(tc, refused_requests_recorded_nothing);
	suite_add_tcase(s, tc);
}
