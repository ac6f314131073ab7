/*
 * Hostile input (issue 6): malformed, oversized, slow and tricky requests
 * sent to the real daemon.  The cases are data: test/data/hostile holds a
 * TSV file per kind, each saying what its columns are; this file is how
 * they are sent and judged.  Every case checks its answer: the documented
 * status and code where api.md names one, otherwise at least no server
 * error (503 aside), no hang and nothing internal in the body.  After each
 * group the daemon must still answer /healthz and still be alive, and the
 * refused requests must have recorded nothing.
 *
 * A group does not stop at its first bad answer: it prints every failing
 * case on stderr ("hostile FAIL: request: expected, got") and fails once at
 * its end, so one run lists everything the daemon gets wrong.
 *
 * Requests carry region-scoped tokens: events the EHR's of helse-vest,
 * reads its coordinator's; the audit, which only an admin may read, the
 * development admin's (no admin is scoped).  Hostile patients are
 * "hx-<pid>-<n>", hostile events "hxe-<pid>-<n>"; the last test checks that
 * none of them ever reached the database.  The one test that may record
 * ("okdeep-" patients) checks an accepted deeply nested event stays
 * readable.  HOSTILE_VERBOSE=1 prints how the daemon answered each piece of
 * HTTP-level garbage.
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
#include "tsv.h"

#ifndef PAINPATH_SOURCE_DIR
#define PAINPATH_SOURCE_DIR "."
#endif

#define RAW_TIMEOUT_MS	 10000 /* one answer; longer counts as a hang */
#define SHORT_TIMEOUT_MS 3000  /* garbage the daemon may just drop */
#define SERVED_WITHIN_MS 2000  /* others while a slow client stalls */
#define MIB		 (1024 * 1024)
#define HOLE		 "@HOLE@"
#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))

#define EHR_VEST   "Authorization: Bearer ehr-vest-secret-7\r\n"
#define COORD_VEST "Authorization: Bearer coord-vest-secret-3\r\n"
#define DEV_ADMIN  "Authorization: Bearer dev-admin\r\n"

static int sent;     /* requests this test sent */
static int failures; /* cases that failed */
static char first_failure[1024];
static int transitions_before;
static long last_ms;  /* how long the last exchange took */
static bool no_token; /* request() sends no Authorization */

/* The token a request of method to target carries: the least that may
 * make it. */
static const char *token_line(const char *method, const char *target)
{
	if (no_token)
		return "";
	if (strcmp(method, "POST") == 0)
		return EHR_VEST;
	return strncmp(target, "/v1/audit", 9) == 0 ? DEV_ADMIN : COORD_VEST;
}

/* The same for raw bytes that may start a request. */
static const char *token_for_bytes(const char *bytes)
{
	return token_line(strncmp(bytes, "POST ", 5) == 0 ? "POST" : "GET",
			  strchr(bytes, ' ') ? strchr(bytes, ' ') + 1 : "");
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

/* --- the tables ---------------------------------------------------------- */

/* A column, or NULL for "-". */
static const char *cell(const struct tsv *t, int i)
{
	return strcmp(t->col[i], "-") == 0 ? NULL : t->col[i];
}

/* A column's bytes (tsv_unescape), with the 0x01 that stands for NUL
 * turned into one; caller frees. */
static char *cell_bytes(const struct tsv *t, int i, size_t *len)
{
	char *b = tsv_unescape(t->col[i], len);

	for (size_t k = 0; k < *len; k++)
		if (b[k] == '\x01')
			b[k] = '\0';
	return b;
}

/* The column as text: escapes decoded, 0x01 kept (event_with turns it into
 * NUL once the JSON around it is built). */
static char *cell_text(const struct tsv *t, int i)
{
	size_t len;

	return strcmp(t->col[i], "-") == 0 ? NULL
					   : tsv_unescape(t->col[i], &len);
}

/* --- talking to the daemon ----------------------------------------------- */

/*
 * Raw bytes on a fresh connection (through the harness' client); with
 * half_close the sending side is shut after them, so a daemon waiting for
 * more sees the end at once.
 */
static int exchange(int port, const void *bytes, size_t len, bool half_close,
		    int timeout_ms, struct http_response *r)
{
	int64_t start = now_ms();

	sent++;
	http_raw_flags(port, bytes, len, timeout_ms,
		       half_close ? HTTP_HALF_CLOSE : 0, r);
	last_ms = (long)(now_ms() - start);
	return r->status;
}

/* Sends what the daemon takes before deadline; false when it stopped. */
static bool send_until(int fd, const void *bytes, size_t len, int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return http_send(fd, bytes, len, left > 0 ? (int)left : 0);
}

/* Reads until the daemon closes or deadline, parses, closes fd. */
static int read_answer(int fd, int64_t deadline, struct http_response *r)
{
	int64_t left = deadline - now_ms();

	return http_read(fd, left > 0 ? (int)left : 0, r);
}

/*
 * One request: the request line, Host and Connection: close, the token,
 * extra headers, and with a body its Content-Type and Content-Length.  The
 * body may hold any bytes, NUL included.
 */
static int request(const char *method, const char *target, const char *extra,
		   const void *body, size_t len, struct http_response *r)
{
	char *head = NULL, *buf, clen[96] = "";
	const char *token = extra && strcasestr(extra, "authorization:")
				    ? ""
				    : token_line(method, target);
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

/* --- judging answers ----------------------------------------------------- */

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
	struct tsv t;

	begin_group();
	/* None is JSON (or none is an event): none records anything however
	 * it is read. */
	tsv_open(&t, "hostile/malformed_json.tsv");
	while (tsv_next(&t, 2, 2)) {
		struct http_response r;
		char what[256], ex[200];
		size_t len;
		char *b = cell_bytes(&t, 0, &len);

		post(b, len, &r);
		snprintf(what, sizeof(what), "POST /v1/events %s",
			 excerpt(b, len, ex, sizeof(ex)));
		expect(what, &r, "400", t.col[1], NULL);
		free(b);
	}
	tsv_close(&t, 40);
	checkpoint("malformed JSON");
	/* Valid events spoiled only after their end: the whole body counts,
	 * not the first value. */
	tsv_open(&t, "hostile/json_tails.tsv");
	while (tsv_next(&t, 1, 1)) {
		size_t len, tlen;
		char *tail = cell_bytes(&t, 0, &tlen);
		char *ev =
			event_with("pathway.opened", "unit", "\"u-1\"", &len);
		char *body = malloc(len + tlen + 1), what[256], ex[200];
		struct http_response r;

		memcpy(body, ev, len);
		memcpy(body + len, tail, tlen + 1);
		post(body, len + tlen, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events, a valid pathway.opened followed by "
			 "\"%s\"",
			 excerpt(body + len, tlen, ex, sizeof(ex)));
		expect(what, &r, "400", "invalid_json", NULL);
		free(body);
		free(ev);
		free(tail);
	}
	tsv_close(&t, 8);
	end_group("malformed_json");
}
END_TEST

/* --- wrong types --- */

/* A valid event of type with raw at path (NULL: the field removed),
 * posted and judged. */
static void post_field_case(const char *type, const char *path, const char *raw,
			    const char *field, const char *statuses,
			    const char *codes)
{
	struct http_response r;
	char what[400], ex[200];
	size_t len;
	char *body = event_with(type, path, raw, &len);

	post(body, len, &r);
	if (raw != NULL)
		snprintf(what, sizeof(what), "POST /v1/events %s with %s = %s",
			 type, path, excerpt(raw, strlen(raw), ex, sizeof(ex)));
	else
		snprintf(what, sizeof(what), "POST /v1/events %s without %s",
			 type, path);
	expect(what, &r, statuses, codes, field);
	free(body);
}

START_TEST(wrong_types)
{
	struct http_response r;
	struct tsv t;

	begin_group();
	tsv_open(&t, "hostile/wrong_types.tsv");
	while (tsv_next(&t, 4, 4)) {
		char *raw = cell_text(&t, 2);

		post_field_case(t.col[0], t.col[1], raw, t.col[3], "400",
				"invalid_event");
		free(raw);
	}
	tsv_close(&t, 140);
	checkpoint("wrong types");
	tsv_open(&t, "hostile/not_events.tsv");
	while (tsv_next(&t, 2, 2)) {
		char what[128];

		post(t.col[0], strlen(t.col[0]), &r);
		snprintf(what, sizeof(what), "POST /v1/events %s", t.col[0]);
		expect(what, &r, "400", "invalid_event", cell(&t, 1));
	}
	tsv_close(&t, 9);
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

/* Each huge number in one place of an event. */
static void huge_in_place(const char *type, const char *path, const char *field)
{
	/* Where any number goes (free data of an unknown patient, scores),
	 * a finite one may be taken: 404.  An infinite one never. */
	bool free_number =
		field == NULL || strcmp(path, "data.scores.pain") == 0;
	struct tsv t;

	tsv_open(&t, "hostile/huge_numbers.tsv");
	while (tsv_next(&t, 1, 1)) {
		bool infinite = strstr(t.col[0], "e4") != NULL ||
				strstr(t.col[0], "e9") != NULL;

		if (free_number && !infinite)
			post_field_case(type, path, t.col[0], field, "400|404",
					"invalid_json|invalid_event|not_found");
		else
			post_field_case(type, path, t.col[0], field, "400",
					"invalid_json|invalid_event");
	}
	tsv_close(&t, 8);
}

START_TEST(huge_numbers)
{
	struct http_response r;
	struct tsv t;

	begin_group();
	tsv_open(&t, "hostile/number_places.tsv");
	while (tsv_next(&t, 3, 3))
		huge_in_place(t.col[0], t.col[1], cell(&t, 2));
	tsv_close(&t, 8);
	checkpoint("huge numbers in fields");
	tsv_open(&t, "hostile/huge_numbers.tsv");
	while (tsv_next(&t, 1, 1)) {
		char body[256], what[300];
		int n = snprintf(body, sizeof(body), "{\"events\":[%s]}",
				 t.col[0]);
		post(body, (size_t)n, &r);
		snprintf(what, sizeof(what), "POST /v1/events %s", body);
		/* a parseable number is one refused event in a batch */
		if (r.status == 200)
			http_response_free(&r);
		else
			expect(what, &r, "400", "invalid_json|invalid_event",
			       NULL);
		post(t.col[0], strlen(t.col[0]), &r);
		snprintf(what, sizeof(what), "POST /v1/events %s", t.col[0]);
		expect(what, &r, "400", "invalid_json|invalid_event", NULL);
	}
	tsv_close(&t, 8);
	/* Query parameters that are numbers too big for anything. */
	tsv_open(&t, "hostile/huge_queries.tsv");
	while (tsv_next(&t, 1, 1)) {
		char what[300];
		request("GET", t.col[0], NULL, NULL, 0, &r);
		snprintf(what, sizeof(what), "GET %s", t.col[0]);
		expect(what, &r, "400", "invalid_request", NULL);
	}
	tsv_close(&t, 6);
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
				"\"model\":\"dk\",\"region\":\"helse-vest\","
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

/* Each bad text, inside a JSON string between "h" and "x", at one place
 * (or as a key when path is NULL). */
static void bad_text_at(const char *type, const char *path, const char *field)
{
	struct tsv t;

	tsv_open(&t, "hostile/bad_text.tsv");
	while (tsv_next(&t, 1, 1)) {
		char raw[64], *bad = cell_text(&t, 0);

		if (path != NULL)
			snprintf(raw, sizeof(raw), "\"h%sx\"", bad);
		else
			snprintf(raw, sizeof(raw), "{\"h%sx\":1}", bad);
		post_field_case(type, path ? path : "data.extra", raw, field,
				"400", "invalid_json|invalid_event");
		free(bad);
	}
	tsv_close(&t, 30);
}

START_TEST(bad_text)
{
	struct http_response r;
	struct tsv t;

	begin_group();
	tsv_open(&t, "hostile/text_places.tsv");
	while (tsv_next(&t, 3, 3)) {
		bad_text_at(t.col[0], t.col[1], cell(&t, 2));
		checkpoint(t.col[1]);
	}
	tsv_close(&t, 5);
	/* Bad text as a key. */
	bad_text_at("pathway.opened", NULL, NULL);
	/* Raw NUL bytes where no string is. */
	tsv_open(&t, "hostile/nul_bodies.tsv");
	while (tsv_next(&t, 1, 1)) {
		char what[200], ex[200];
		size_t len;
		char *body = cell_bytes(&t, 0, &len);

		post(body, len, &r);
		snprintf(what, sizeof(what), "POST /v1/events %s",
			 excerpt(body, len, ex, sizeof(ex)));
		expect(what, &r, "400", "invalid_json", NULL);
		free(body);
	}
	tsv_close(&t, 6);
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
			 token_line("POST", "/v1/events"), extra_headers);
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
		struct tsv t;

		tsv_open(&t, "hostile/long_urls.tsv");
		while (tsv_next(&t, 3, 3)) {
			size_t plen = strlen(t.col[0]);
			size_t ulen = (size_t)strtoul(t.col[1], NULL, 10);
			char *u = malloc(ulen + 1);

			memset(u, 'x', ulen);
			memcpy(u, t.col[0], plen);
			u[ulen] = '\0';
			request("GET", u, NULL, NULL, 0, &r);
			snprintf(what, sizeof(what), "GET %s... (%zu bytes)",
				 t.col[0], ulen);
			expect(what, &r, t.col[2], NULL, NULL);
			free(u);
		}
		tsv_close(&t, 6);
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
	enum { COPIES = 5, IDLE = 200 };
	int stalled[64 * COPIES], idle[IDLE];
	char *partial[64];
	size_t npartial = 0;
	int nstalled = 0;
	struct tsv t;
	static const char slow_req[] =
		"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct http_response r;
	int fd, one = 1;

	begin_group();
	tsv_open(&t, "hostile/partial_requests.tsv");
	while (npartial < ARRAY_SIZE(partial) && tsv_next(&t, 1, 1))
		partial[npartial++] = cell_text(&t, 0);
	tsv_close(&t, 10);
	/* Half requests left hanging, several of each. */
	for (int c = 0; c < COPIES; c++) {
		for (size_t i = 0; i < npartial; i++) {
			fd = http_connect(PORT);
			ck_assert_int_ge(fd, 0);
			sent++;
			send_until(fd, partial[i], strlen(partial[i]),
				   now_ms() + 1000);
			stalled[nstalled++] = fd;
		}
	}
	others_are_served("50 clients stall half-way through a request", 10);
	for (int i = 0; i < IDLE; i++) {
		idle[i] = http_connect(PORT);
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
				  partial[i % npartial], buf);
	}
	close_all(idle, IDLE);
	close_all(stalled, nstalled);
	for (size_t i = 0; i < npartial; i++)
		free(partial[i]);
	checkpoint("stalled clients went away");

	/* A request one byte at a time, others served between the bytes. */
	fd = http_connect(PORT);
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
	expect("GET /healthz sent one byte at a time", &r, "200", NULL, NULL);

	/* A client that does not read its answer. */
	{
		char *models_req = NULL;
		int small = 1024;
		int fds[5];
		ck_assert_int_gt(asprintf(&models_req,
					  "GET /v1/models HTTP/1.1\r\nHost: "
					  "x\r\n%sConnection: close\r\n\r\n",
					  token_line("GET", "/v1/models")),
				 0);
		for (int i = 0; i < 5; i++) {
			fds[i] = http_connect(PORT);
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
					 i, token_line("GET", "/v1/pathways")),
				0);
		else
			ck_assert_int_gt(
				asprintf(&req,
					 "POST /v1/events HTTP/1.1\r\nHost: "
					 "x\r\n%sContent-Length: %zu\r\n\r\n%s",
					 token_line("POST", "/v1/events"), len,
					 body),
				0);
		fd = http_connect(PORT);
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
	struct daemon_instance d;
	int fds[16];
	char *bytes[16], statuses[16][32];
	bool token[16];
	size_t n = 0;
	int64_t start;
	struct tsv t;

	sent = failures = 0;
	tsv_open(&t, "hostile/stalled_requests.tsv");
	while (n < ARRAY_SIZE(fds) && tsv_next(&t, 3, 3)) {
		bytes[n] = cell_text(&t, 0);
		token[n] = strcmp(t.col[1], "token") == 0;
		snprintf(statuses[n++], sizeof(statuses[0]), "%s", t.col[2]);
	}
	tsv_close(&t, 5);
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, extra));
	start = now_ms();
	for (size_t i = 0; i < n; i++) {
		/* The token goes after the Host line. */
		const char *host = strstr(bytes[i], "Host: x\r\n");
		size_t at = host && token[i] ? (size_t)(host - bytes[i]) + 9
					     : strlen(bytes[i]);
		const char *tok = token[i] ? token_for_bytes(bytes[i]) : "";

		fds[i] = http_connect(d.port);
		ck_assert_int_ge(fds[i], 0);
		sent++;
		send_until(fds[i], bytes[i], at, now_ms() + 1000);
		send_until(fds[i], tok, strlen(tok), now_ms() + 1000);
		send_until(fds[i], bytes[i] + at, strlen(bytes[i] + at),
			   now_ms() + 1000);
	}
	assert_serving_on(&d, "clients stalled");
	/* request_timeout_s = 2: each must be closed (or answered 408)
	 * well within 10 s; read_answer returns at the close. */
	for (size_t i = 0; i < n; i++) {
		struct http_response r;
		char what[200], ex[100];
		bool closed;

		read_answer(fds[i], start + 10000, &r);
		closed = now_ms() - start < 10000;
		snprintf(what, sizeof(what),
			 "a client stalled after \"%s\"%s (request timeout 2 "
			 "s)",
			 excerpt(bytes[i], strlen(bytes[i]), ex, sizeof(ex)),
			 token[i] ? " with a token" : "");
		if (!closed)
			fail_case("%s: still open after 10 s", what);
		expect(what, &r, statuses[i], NULL, NULL);
		free(bytes[i]);
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
	struct http_response r;
	char *ids[3];
	const char *lengths[] = {"129", "1000", "2100"};
	struct tsv t;

	begin_group();
	tsv_open(&t, "hostile/paths.tsv");
	while (tsv_next(&t, 3, 3)) {
		char what[300], *target = cell_text(&t, 0);

		request("GET", target, NULL, NULL, 0, &r);
		snprintf(what, sizeof(what), "GET %s", target);
		expect(what, &r, t.col[1], cell(&t, 2), NULL);
		free(target);
	}
	tsv_close(&t, 75);
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
	/* ids refuse these by shape; free text must pass them through as
	 * data (an unknown patient: 404). */
	struct tsv places, sql;
	struct http_response r;
	char *out;
	int before_pathways;

	begin_group();
	before_pathways = e2e_count("SELECT count(*) FROM pathways");
	tsv_open(&places, "hostile/sql_places.tsv");
	while (tsv_next(&places, 5, 5)) {
		tsv_open(&sql, "hostile/sql.tsv");
		while (tsv_next(&sql, 1, 1)) {
			char raw[128], what[300], *text = cell_text(&sql, 0);
			size_t len;
			char *body;

			if (strcmp(places.col[1], "data.flags") == 0)
				snprintf(raw, sizeof(raw), "[%s]", text);
			else
				snprintf(raw, sizeof(raw), "%s", text);
			free(text);
			body = event_with(places.col[0], places.col[1], raw,
					  &len);
			post(body, len, &r);
			snprintf(what, sizeof(what),
				 "POST /v1/events %s with %s = %s",
				 places.col[0], places.col[1], raw);
			expect(what, &r, places.col[2], cell(&places, 3),
			       cell(&places, 4));
			free(body);
		}
		tsv_close(&sql, 8);
	}
	tsv_close(&places, 15);
	/* As keys of free data, of scores and of referral content. */
	tsv_open(&sql, "hostile/sql.tsv");
	while (tsv_next(&sql, 1, 1)) {
		char raw[160], what[300], *text = cell_text(&sql, 0);
		size_t len;
		char *body;

		snprintf(raw, sizeof(raw), "{%s:1}", text);
		body = event_with("pro.reported", "data.scores", raw, &len);
		post(body, len, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events pro.reported with data.scores = %s",
			 raw);
		expect(what, &r, "404", "not_found", NULL);
		free(body);
		snprintf(raw, sizeof(raw), "{%s:true}", text);
		free(text);
		body = event_with("referral.sent", "data.content", raw, &len);
		post(body, len, &r);
		snprintf(what, sizeof(what),
			 "POST /v1/events referral.sent with data.content = %s",
			 raw);
		expect(what, &r, "400", "invalid_event", "data.content");
		free(body);
	}
	tsv_close(&sql, 8);
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

/* The bytes of a garbage case: the suite's token goes after the first
 * Host line, so what gets through reaches the handlers. */
static char *garbage_bytes(const struct tsv *t, size_t *len)
{
	char *raw, *buf = NULL;
	const char *host;

	if (cell(t, 1) == NULL) {
		buf = malloc(10000 + 64);
		memset(buf, 'A', 10000);
		strcpy(buf + 10000, " /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		*len = strlen(buf);
		return buf;
	}
	raw = cell_text(t, 1);
	host = strstr(raw, "\r\nHost: x\r\n");
	if (host != NULL) {
		size_t at = (size_t)(host - raw) + 11;
		ck_assert_int_gt(asprintf(&buf, "%.*s%s%s", (int)at, raw,
					  token_for_bytes(raw), raw + at),
				 0);
		free(raw);
	} else {
		buf = raw;
	}
	*len = strlen(buf);
	for (size_t k = 0; k < *len; k++)
		if (buf[k] == '\x01')
			buf[k] = '\0';
	return buf;
}

START_TEST(http_garbage)
{
	struct http_response r;
	char what[300], *buf;
	struct tsv t;

	begin_group();
	tsv_open(&t, "hostile/garbage.tsv");
	while (tsv_next(&t, 4, 4)) {
		size_t len;

		buf = garbage_bytes(&t, &len);
		exchange(PORT, buf, len, strcmp(t.col[3], "half-close") == 0,
			 SHORT_TIMEOUT_MS, &r);
		if (getenv("HOSTILE_VERBOSE") != NULL)
			fprintf(stderr, "hostile: %s -> %d (%ld ms) %.80s\n",
				t.col[0], r.status, last_ms, r.body);
		snprintf(what, sizeof(what), "%s (%s)", t.col[0],
			 excerpt(buf, len, (char[200]){0}, 200));
		expect(what, &r, t.col[2], NULL, NULL);
		free(buf);
		checkpoint(t.col[0]);
	}
	tsv_close(&t, 60);
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
	struct http_response r;
	struct tsv t;

	begin_group();
	no_token = true;
	tsv_open(&t, "hostile/tokens.tsv");
	for (bool big = false, more = true; more;) {
		char *h = NULL, what[300], ex[200];
		size_t hlen = 0;

		more = tsv_next(&t, 3, 3);
		big = !more;
		if (big) {
			/* a 12 KiB token */
			h = malloc(12 * 1024 + 64);
			strcpy(h, "Authorization: Bearer ");
			memset(h + 22, 't', 12 * 1024);
			strcpy(h + 22 + 12 * 1024, "\r\n");
		} else if (cell(&t, 0) != NULL) {
			h = cell_text(&t, 0);
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
		expect(what, &r, big ? "401|431|400" : t.col[1],
		       big ? NULL : cell(&t, 2), NULL);
		free(h);
	}
	tsv_close(&t, 20);
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
