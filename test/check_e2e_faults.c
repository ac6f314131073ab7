/*
 * Fault tests (issue 5): real daemons against real PostgreSQL clusters of
 * their own (never the suite's shared one), under concurrent load, with a
 * daemon killed, the database stopped, and a primary failing over to its
 * standby.  What must hold every time: nothing acknowledged is lost, nothing
 * is recorded twice, and the history replays to the same state.
 *
 * Figures go to stderr, one "faults:" line per test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "e2e.h"
#include "harness.h"

#define STEPS	     6	/* events in one patient's chain */
#define MAX_STREAMS  8	/* concurrent clients of the in-process loads */
#define MAX_PATIENTS 64 /* per load */
#define ANSWER_MAX_S 2.0
#define READY_MAX_S  20.0

static const char *const quiet[] = {"--log-level", "warning", NULL};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *psql_text(const struct pg_instance *pg, const char *sql)
{
	char *out = harness_psql(pg, sql);

	ck_assert_msg(out != NULL, "psql failed: %s", sql);
	return out;
}

static long psql_long(const struct pg_instance *pg, const char *sql)
{
	char *out = psql_text(pg, sql);
	long n = strtol(out, NULL, 10);

	free(out);
	return n;
}

static bool is_replay(const struct http_response *r)
{
	char *v = http_header(r, "Idempotent-Replay");
	bool yes = v != NULL && strcmp(v, "true") == 0;

	free(v);
	return yes;
}

/* A 503 as api.md promises it: Retry-After and the "unavailable" code. */
static void assert_unavailable(const struct http_response *r, const char *what)
{
	char *retry = http_header(r, "Retry-After");
	const char *code = e2e_str(r->json, "error.code");

	ck_assert_msg(r->status == 503, "%s: want 503, got %d: %s", what,
		      r->status, r->body);
	ck_assert_msg(retry != NULL && atoi(retry) > 0,
		      "%s: 503 without a Retry-After: %s", what, r->headers);
	ck_assert_msg(code != NULL && strcmp(code, "unavailable") == 0,
		      "%s: 503 with code %s", what, code ? code : "(none)");
	free(retry);
}

static int readyz(int port)
{
	struct http_response r;
	int status = http_request(port, "GET", "/readyz", NULL, NULL, &r);

	if (status == 503)
		assert_unavailable(&r, "/readyz");
	http_response_free(&r);
	return status;
}

/*
 * Recovery is the thing measured here, so this polls: /readyz at most
 * every 50 ms, for at most READY_MAX_S.  Returns the seconds it took.
 */
static double wait_ready(int port)
{
	const struct timespec pause = {0, 50 * 1000 * 1000};
	double start = now_s();

	while (now_s() - start < READY_MAX_S) {
		if (readyz(port) == 200)
			return now_s() - start;
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("the daemon did not become ready within %.0f s "
		     "after the database came back",
		     READY_MAX_S);
	return -1;
}

/* --- one patient's chain of events --------------------------------------- */

/* The body of step 0..STEPS-1 of patient p: always the same bytes, so a
 * retry is the same event. */
static void chain_body(char *buf, size_t len, const char *prefix, int p,
		       int step)
{
	static const char *const models[] = {"dk", "no", "se-adult"};
	static const char *const types[STEPS] = {
		"pathway.opened",    "referral.sent",	  "referral.received",
		"referral.accepted", "treatment.started", "pathway.closed"};
	static const char *const data[STEPS] = {
		"{\"age\":40,\"pain_onset\":\"2024-10-01\"}",
		"{\"to_level\":\"clinic\",\"to_unit\":\"clinic-1\"}",
		"{}",
		"{\"deadline\":\"2025-06-02\"}",
		"{}",
		"{\"reason\":\"completed\"}"};
	char opened[128] = "";

	if (step == 0)
		snprintf(opened, sizeof(opened),
			 "\"model\":\"%s\",\"region\":\"r1\",\"unit\":"
			 "\"gp-1\",",
			 models[p % 3]);
	snprintf(buf, len,
		 "{\"event_id\":\"%s-p%d-s%d\",\"type\":\"%s\","
		 "\"patient_id\":\"%s-p%d\",\"occurred_at\":"
		 "\"2025-03-%02dT10:00:00+01:00\",%s\"data\":%s}",
		 prefix, p, step, types[step], prefix, p, 3 + step, opened,
		 data[step]);
}

/*
 * An in-process load: `streams` clients, each with one request in flight
 * per round (http_begin for all, then http_end for all), each walking its
 * patients' chains in order.  done[p] counts the acknowledged steps of
 * patient p: a refused or unanswered event is posted again, with the same
 * event_id and body, in the next round.
 */
struct chain_load {
	const char *prefix;
	int patients;
	int streams;
	int next_patient;
	int cur[MAX_STREAMS];
	int done[MAX_PATIENTS];
	int created, replayed, unavailable;
	double worst_503_s;
};

enum { ALLOW_ACK = 1, ALLOW_503 = 2 };

static void load_init(struct chain_load *l, const char *prefix, int patients,
		      int streams)
{
	memset(l, 0, sizeof(*l));
	l->prefix = prefix;
	l->patients = patients;
	l->streams = streams;
	for (int s = 0; s < streams; s++)
		l->cur[s] = -1;
}

static int load_acked(const struct chain_load *l)
{
	int n = 0;

	for (int p = 0; p < l->patients; p++)
		n += l->done[p];
	return n;
}

static bool load_finished(const struct chain_load *l)
{
	return load_acked(l) == l->patients * STEPS;
}

/* One round.  between() runs while every request of the round is in
 * flight.  Returns the number of requests sent. */
static int load_round(struct chain_load *l, int port, unsigned allow,
		      void (*between)(void *), void *arg)
{
	int fds[MAX_STREAMS], sent = 0;
	double began[MAX_STREAMS];
	char body[1024], what[160];

	for (int s = 0; s < l->streams; s++) {
		int p = l->cur[s];

		while (p < 0 || l->done[p] == STEPS) {
			if (l->next_patient == l->patients) {
				p = -1;
				break;
			}
			p = l->next_patient++;
		}
		l->cur[s] = p;
		fds[s] = -1;
		if (p < 0)
			continue;
		chain_body(body, sizeof(body), l->prefix, p, l->done[p]);
		began[s] = now_s();
		fds[s] = http_begin(port, "POST", "/v1/events", body, NULL);
		ck_assert_msg(fds[s] >= 0, "cannot post to port %d", port);
		sent++;
	}
	if (between != NULL)
		between(arg);
	for (int s = 0; s < l->streams; s++) {
		struct http_response r;
		int p = l->cur[s];

		if (fds[s] < 0)
			continue;
		http_end(fds[s], &r);
		snprintf(what, sizeof(what), "%s-p%d-s%d", l->prefix, p,
			 l->done[p]);
		if ((allow & ALLOW_ACK) &&
		    (r.status == 201 || (r.status == 200 && is_replay(&r)))) {
			l->created += r.status == 201;
			l->replayed += r.status == 200;
			l->done[p]++;
		} else if ((allow & ALLOW_503) && r.status == 503) {
			double took = now_s() - began[s];

			assert_unavailable(&r, what);
			if (between == NULL) {
				ck_assert_msg(took <= ANSWER_MAX_S,
					      "%s: 503 after %.2f s", what,
					      took);
				if (took > l->worst_503_s)
					l->worst_503_s = took;
			}
			l->unavailable++;
		} else {
			ck_abort_msg("%s: unexpected %d: %s", what, r.status,
				     r.body);
		}
		http_response_free(&r);
	}
	return sent;
}

/* Rounds until at least `acked` steps are acknowledged in total. */
static void load_until(struct chain_load *l, int port, int acked)
{
	while (load_acked(l) < acked && !load_finished(l))
		load_round(l, port, ALLOW_ACK, NULL, NULL);
}

/* After recovery: the rest of every chain, retried events first.  A 503
 * is tolerated here (a client retries it) but counted and bounded. */
static int load_finish(struct chain_load *l, int port)
{
	int before = l->unavailable, rounds = 0;

	while (!load_finished(l)) {
		load_round(l, port, ALLOW_ACK | ALLOW_503, NULL, NULL);
		ck_assert_msg(++rounds < 10 * STEPS * MAX_PATIENTS,
			      "the load does not finish");
		ck_assert_msg(l->unavailable - before < 50,
			      "still 503 after /readyz said ready");
	}
	return l->unavailable - before;
}

/* Posts every event again, `streams` at a time: each must answer 200 with
 * Idempotent-Replay and the first answer's transition. */
static int repost_all(const struct chain_load *l, int port)
{
	int n = 0;

	for (int first = 0; first < l->patients * STEPS; first += l->streams) {
		int fds[MAX_STREAMS], count = 0;
		char body[1024];

		for (int i = first;
		     i < l->patients * STEPS && count < l->streams; i++) {
			chain_body(body, sizeof(body), l->prefix, i / STEPS,
				   i % STEPS);
			fds[count++] = http_begin(port, "POST", "/v1/events",
						  body, NULL);
		}
		for (int k = 0; k < count; k++) {
			struct http_response r;
			char eid[96];
			const char *got;
			int i = first + k;

			http_end(fds[k], &r);
			snprintf(eid, sizeof(eid), "%s-p%d-s%d", l->prefix,
				 i / STEPS, i % STEPS);
			got = e2e_str(r.json, "transition.event_id");
			ck_assert_msg(r.status == 200 && is_replay(&r) && got &&
					      strcmp(got, eid) == 0,
				      "re-post of %s: %d %s", eid, r.status,
				      r.body);
			http_response_free(&r);
			n++;
		}
	}
	return n;
}

struct chain_figures {
	int transitions; /* recorded */
	int lost;	 /* acknowledged, not recorded */
	int doubled;	 /* recorded beyond one transition per event */
	int misordered;	 /* patients whose history is not their chain */
};

/* How often event_id stands as a whole item in the comma list. */
static int occurrences(const char *list, const char *eid)
{
	size_t n = strlen(eid);
	int count = 0;

	for (const char *at = list; (at = strstr(at, eid)) != NULL; at += n)
		if ((at == list || at[-1] == ',') &&
		    (at[n] == ',' || at[n] == '\0'))
			count++;
	return count;
}

/*
 * Compares what the database holds with the chains: every patient has one
 * pathway whose transitions are exactly its STEPS events, in order, each
 * once.  acked[p] steps of patient p were acknowledged before the fault.
 */
static void verify_chains(const struct pg_instance *pg,
			  const struct chain_load *l, const int *acked,
			  struct chain_figures *f)
{
	char *rows, *save = NULL;
	int seen[MAX_PATIENTS] = {0}, present = 0;

	memset(f, 0, sizeof(*f));
	f->transitions = (int)psql_long(pg, "SELECT count(*) FROM transitions");
	rows = psql_text(pg, "SELECT p.patient_id || ' ' || "
			     "string_agg(t.event_id, ',' ORDER BY p.opened_at, "
			     "p.pathway_id, t.seq) FROM transitions t JOIN "
			     "pathways p USING (pathway_id) GROUP BY "
			     "p.patient_id");
	for (char *line = strtok_r(rows, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *list = strchr(line, ' '), want[1024] = "", eid[96];
		const char *tail;
		int p;

		ck_assert_ptr_nonnull(list);
		*list++ = '\0';
		tail = strrchr(line, 'p');
		ck_assert_ptr_nonnull(tail);
		p = atoi(tail + 1);
		ck_assert_int_lt(p, l->patients);
		seen[p]++;
		for (int s = 0; s < STEPS; s++) {
			size_t used = strlen(want);

			snprintf(eid, sizeof(eid), "%s-p%d-s%d", l->prefix, p,
				 s);
			snprintf(want + used, sizeof(want) - used, "%s%s",
				 s ? "," : "", eid);
			if (occurrences(list, eid) > 0)
				present++;
			else if (s < acked[p])
				f->lost++;
		}
		if (strcmp(list, want) != 0) {
			fprintf(stderr, "faults: %s holds %s, want %s\n", line,
				list, want);
			f->misordered++;
		}
	}
	free(rows);
	for (int p = 0; p < l->patients; p++)
		if (seen[p] == 0)
			f->lost += acked[p];
	f->doubled = f->transitions - present;
	ck_assert_int_eq(psql_long(pg, "SELECT count(*) FROM pathways p WHERE "
				       "version <> (SELECT count(*) FROM "
				       "transitions t WHERE t.pathway_id = "
				       "p.pathway_id)"),
			 0);
}

/* --- 1: conflicting clients through two daemons -------------------------- */

#define RACE_CLIENTS  8
#define RACE_PATIENTS 50
#define RACE_STEPS    7

static void race_body(char *buf, size_t len, int c, int p, int step)
{
	static const char *const models[] = {"dk", "no", "se-adult"};
	static const char *const types[RACE_STEPS] = {
		"pathway.opened",    "referral.sent",	  "referral.received",
		"referral.accepted", "treatment.started", "patient.transferred",
		"pathway.closed"};
	char data[256], opened[160] = "";

	switch (step) {
	case 0:
		snprintf(data, sizeof(data),
			 "{\"age\":%d,\"pain_onset\":\"2024-%02d-01\"}", 30 + c,
			 1 + c);
		snprintf(opened, sizeof(opened),
			 "\"model\":\"%s\",\"region\":\"r%d\",\"unit\":"
			 "\"gp-%d\",",
			 models[c % 3], c, c);
		break;
	case 1:
		snprintf(data, sizeof(data),
			 "{\"to_level\":\"clinic\",\"to_unit\":\"clinic-%d\"}",
			 c);
		break;
	case 3:
		snprintf(data, sizeof(data), "{\"deadline\":\"2025-06-%02d\"}",
			 1 + c);
		break;
	case 5:
		snprintf(data, sizeof(data),
			 "{\"to_level\":\"gp\",\"to_unit\":\"gp-back-%d\"}", c);
		break;
	case 6:
		snprintf(data, sizeof(data), "{\"reason\":\"completed\"}");
		break;
	default:
		snprintf(data, sizeof(data), "{}");
		break;
	}
	snprintf(buf, len,
		 "{\"event_id\":\"c%d-p%d-s%d\",\"type\":\"%s\","
		 "\"patient_id\":\"race-p%d\",\"occurred_at\":"
		 "\"2025-03-%02dT%02d:00:00+01:00\",%s\"data\":%s}",
		 c, p, step, types[step], p, 3 + step, 8 + c, opened, data);
}

static void say(int fd, const char *line)
{
	size_t len = strlen(line);

	if (write(fd, line, len) != (ssize_t)len)
		_exit(3);
}

/* A forked client: every patient, every step, alternating daemons.  One
 * line per answer that is not a plain refusal: "A <event_id>" for an
 * acknowledgement, "E ..." for anything the contract does not allow. */
static void race_client(int c, const int ports[2], int out)
{
	int refused = 0;
	char body[1024], line[1200];

	for (int p = 0; p < RACE_PATIENTS; p++) {
		for (int s = 0; s < RACE_STEPS; s++) {
			struct http_response r;
			const char *code;

			race_body(body, sizeof(body), c, p, s);
			http_request(ports[(c + p + s) % 2], "POST",
				     "/v1/events", body, NULL, &r);
			code = e2e_str(r.json, "error.code");
			if (r.status == 201 ||
			    (r.status == 200 && is_replay(&r))) {
				snprintf(line, sizeof(line), "A c%d-p%d-s%d\n",
					 c, p, s);
				say(out, line);
			} else if ((r.status == 409 && code &&
				    (!strcmp(code, "illegal_transition") ||
				     !strcmp(code, "out_of_order") ||
				     !strcmp(code, "pathway_exists"))) ||
				   (r.status == 404 && code &&
				    !strcmp(code, "not_found")) ||
				   (r.status == 422 && code &&
				    !strcmp(code, "guard_failed"))) {
				refused++;
			} else {
				snprintf(line, sizeof(line),
					 "E c%d-p%d-s%d %d %.900s\n", c, p, s,
					 r.status, r.body);
				say(out, line);
			}
			http_response_free(&r);
		}
	}
	snprintf(line, sizeof(line), "R %d\n", refused);
	say(out, line);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Forks the clients and collects their acknowledgements (sorted). */
static char **race_run(const int ports[2], int *nacked, int *refused)
{
	int fds[2], cap = 1024, n = 0;
	char **acked = malloc((size_t)cap * sizeof(*acked)), line[1300];
	pid_t pids[RACE_CLIENTS];
	FILE *in;

	ck_assert_ptr_nonnull(acked);
	ck_assert_int_eq(pipe(fds), 0);
	for (int c = 0; c < RACE_CLIENTS; c++) {
		pids[c] = fork();
		ck_assert_int_ge(pids[c], 0);
		if (pids[c] == 0) {
			close(fds[0]);
			race_client(c, ports, fds[1]);
			_exit(0);
		}
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	ck_assert_ptr_nonnull(in);
	*refused = 0;
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		ck_assert_msg(line[0] != 'E', "a client got %s", line + 2);
		if (line[0] == 'R') {
			*refused += atoi(line + 2);
			continue;
		}
		if (n == cap) {
			cap *= 2;
			acked = realloc(acked, (size_t)cap * sizeof(*acked));
			ck_assert_ptr_nonnull(acked);
		}
		acked[n++] = strdup(line + 2);
	}
	fclose(in);
	for (int c = 0; c < RACE_CLIENTS; c++) {
		int st;

		ck_assert_int_eq(waitpid(pids[c], &st, 0), pids[c]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "client %d failed (%d)", c, st);
	}
	qsort(acked, (size_t)n, sizeof(*acked), cmp_str);
	*nacked = n;
	return acked;
}

/* The recorded history is exactly the acknowledged events, each once, and
 * every pathway's seq runs 1..version without gaps. */
static void race_check_history(const struct pg_instance *pg, char **acked,
			       int nacked)
{
	char *rows = psql_text(pg, "SELECT event_id FROM transitions ORDER BY "
				   "event_id COLLATE \"C\"");
	char *save = NULL, *line;
	int i = 0;

	for (line = strtok_r(rows, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		ck_assert_msg(i < nacked, "recorded but not acknowledged: %s",
			      line);
		ck_assert_msg(strcmp(line, acked[i]) == 0,
			      "acknowledged %s, recorded %s (the first "
			      "difference)",
			      acked[i], line);
	}
	ck_assert_msg(i == nacked, "acknowledged but not recorded: %s",
		      acked[i]);
	free(rows);
	ck_assert_int_eq(psql_long(pg, "SELECT count(*) FROM pathways p WHERE "
				       "version <> (SELECT count(*) FROM "
				       "transitions t WHERE t.pathway_id = "
				       "p.pathway_id)"),
			 0);
	ck_assert_int_eq(psql_long(pg, "SELECT count(*) FROM pathways p WHERE "
				       "(SELECT array_agg(seq ORDER BY seq) "
				       "FROM transitions t WHERE t.pathway_id "
				       "= p.pathway_id) IS DISTINCT FROM "
				       "(SELECT array_agg(g ORDER BY g) FROM "
				       "generate_series(1, p.version) g)"),
			 0);
	/* The indexed columns agree with the stored state. */
	ck_assert_int_eq(psql_long(pg,
				   "SELECT count(*) FROM pathways WHERE "
				   "(doc::json->>'version')::int <> version "
				   "OR doc::json->>'phase' <> phase OR "
				   "doc::json->>'level' <> level OR "
				   "doc::json->>'unit' IS DISTINCT FROM unit"),
			 0);
}

static void assert_same_state(json_t *a, json_t *b, const char *pathway)
{
	static const char *const fields[] = {
		"phase",	  "level",     "unit",	"version",
		"levels_visited", "deadlines", "model", "flags"};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *x = json_object_get(a, fields[i]);
		json_t *y = json_object_get(b, fields[i]);
		char *xs = x ? json_dumps(x, JSON_ENCODE_ANY) : NULL;
		char *ys = y ? json_dumps(y, JSON_ENCODE_ANY) : NULL;

		ck_assert_msg(x != NULL && json_equal(x, y),
			      "pathway %s: %s is %s, its replay gives %s",
			      pathway, fields[i], xs ? xs : "(absent)",
			      ys ? ys : "(absent)");
		free(xs);
		free(ys);
	}
}

/* Every pathway's state as the daemon stored it (what GET
 * /v1/pathways/{id} answers), by pathway_id. */
static json_t *states_of(const struct pg_instance *pg)
{
	char *rows = psql_text(pg, "SELECT pathway_id, doc FROM "
				   "pathways");
	json_t *all = json_object();
	char *save = NULL;

	for (char *line = strtok_r(rows, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *state = strchr(line, '|');

		ck_assert_ptr_nonnull(state);
		*state++ = '\0';
		json_object_set_new(all, line, json_loads(state, 0, NULL));
	}
	free(rows);
	return all;
}

/* Replays one pathway's events, in seq order, as one batch (applied one
 * after the other, each in its own transaction).  Returns the replayed
 * pathway's id (malloc'd). */
static char *replay_pathway(int port, const char *batch)
{
	struct http_response r;
	json_t *results, *res;
	const char *id = NULL;
	size_t i;
	char *out;

	http_request(port, "POST", "/v1/events", batch, NULL, &r);
	ck_assert_msg(r.status == 200, "replay: %d %s", r.status, r.body);
	results = e2e_at(r.json, "results");
	ck_assert(json_array_size(results) > 0);
	json_array_foreach(results, i, res)
	{
		ck_assert_msg(json_integer_value(
				      json_object_get(res, "status")) == 201,
			      "replay refused an event: %s", r.body);
		id = e2e_str(res, "pathway_id");
	}
	ck_assert_ptr_nonnull(id);
	out = strdup(id);
	http_response_free(&r);
	return out;
}

/*
 * Serial replay: each pathway's recorded events (transitions.event) in seq
 * order through a new daemon on a fresh cluster, a patient's closed
 * pathways before its open one; then every pathway's state is compared
 * with the original's.  Returns the number of pathways compared.
 */
static int race_replay(const struct pg_instance *pg)
{
	struct pg_instance fresh;
	struct daemon_instance d;
	json_t *orig = states_of(pg), *again, *map = json_object();
	char *rows, *save = NULL, *line, prev[160] = "";
	size_t cap = 1 << 16, used = 0;
	char *batch = malloc(cap);
	int events = 0;
	const char *key;
	json_t *value;

	ck_assert_ptr_nonnull(batch);
	rows = psql_text(pg, "SELECT t.pathway_id, t.event::text FROM "
			     "transitions t JOIN pathways p USING (pathway_id) "
			     "ORDER BY p.patient_id, p.closed_at IS NULL, "
			     "(SELECT min(f.recorded_at) FROM transitions f "
			     "WHERE f.pathway_id = p.pathway_id), "
			     "p.pathway_id, t.seq");
	ck_assert(harness_pg_start(&fresh));
	ck_assert(harness_daemon_start(&d, fresh.conninfo, quiet));
	for (line = strtok_r(rows, "\n", &save);;
	     line = strtok_r(NULL, "\n", &save)) {
		char *event = line ? strchr(line, '|') : NULL;

		if (line != NULL) {
			ck_assert_ptr_nonnull(event);
			*event++ = '\0';
		}
		if (prev[0] && (line == NULL || strcmp(line, prev) != 0)) {
			char *id;

			snprintf(batch + used, cap - used, "]}");
			id = replay_pathway(d.port, batch);
			json_object_set_new(map, prev, json_string(id));
			free(id);
			used = 0;
		}
		if (line == NULL)
			break;
		ck_assert_uint_lt(used + strlen(event) + 64, cap);
		used += (size_t)snprintf(batch + used, cap - used, "%s%s",
					 used ? "," : "{\"events\":[", event);
		snprintf(prev, sizeof(prev), "%s", line);
		events++;
	}
	free(rows);
	free(batch);
	again = states_of(&fresh);
	ck_assert_int_eq(json_object_size(again), json_object_size(orig));
	json_object_foreach(orig, key, value)
	{
		const char *id = json_string_value(json_object_get(map, key));

		ck_assert_msg(id != NULL, "pathway %s was not replayed", key);
		assert_same_state(value, json_object_get(again, id), key);
	}
	fprintf(stderr, "faults: replayed %d events of %zu pathways serially\n",
		events, json_object_size(orig));
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	harness_pg_destroy(&fresh);
	json_decref(orig);
	json_decref(again);
	json_decref(map);
	return events;
}

START_TEST(conflicting_clients_through_two_daemons)
{
	struct pg_instance pg;
	struct daemon_instance d[2];
	int ports[2], nacked, refused, pathways;
	char **acked;
	double start = now_s();

	ck_assert(harness_pg_start(&pg));
	ck_assert(harness_daemon_start(&d[0], pg.conninfo, quiet));
	ck_assert(harness_daemon_start(&d[1], pg.conninfo, quiet));
	ports[0] = d[0].port;
	ports[1] = d[1].port;

	acked = race_run(ports, &nacked, &refused);
	race_check_history(&pg, acked, nacked);
	ck_assert_int_eq(race_replay(&pg), nacked);
	pathways = (int)psql_long(&pg, "SELECT count(*) FROM pathways");
	fprintf(stderr,
		"faults: race: %d clients x %d patients x %d steps: %d "
		"acknowledged, %d refused (409/404/422), %d pathways, "
		"lost=0 doubled=0 unacknowledged-recorded=0, %.1f s\n",
		RACE_CLIENTS, RACE_PATIENTS, RACE_STEPS, nacked, refused,
		pathways, now_s() - start);
	ck_assert_int_eq(nacked + refused,
			 RACE_CLIENTS * RACE_PATIENTS * RACE_STEPS);
	for (int i = 0; i < nacked; i++)
		free(acked[i]);
	free(acked);
	ck_assert_int_eq(harness_daemon_stop(&d[0]), 0);
	ck_assert_int_eq(harness_daemon_stop(&d[1]), 0);
	harness_pg_destroy(&pg);
}
END_TEST

/* --- 2: kill -9 in the middle of a load ---------------------------------- */

#define KILL_CLIENTS  4
#define KILL_PATIENTS 60
#define KILL_AFTER    120

/* A forked client: its patients' chains in order, stopping at the first
 * answer that is not an acknowledgement ("A p s" / "F p s status"). */
static void kill_client(int c, int port, int out)
{
	char body[1024], line[1200];

	for (int p = c; p < KILL_PATIENTS; p += KILL_CLIENTS) {
		for (int s = 0; s < STEPS; s++) {
			struct http_response r;

			chain_body(body, sizeof(body), "kill", p, s);
			http_request(port, "POST", "/v1/events", body, NULL,
				     &r);
			if (r.status == 201) {
				snprintf(line, sizeof(line), "A %d %d\n", p, s);
				say(out, line);
				http_response_free(&r);
				continue;
			}
			snprintf(line, sizeof(line), "F %d %d %d %.900s\n", p,
				 s, r.status, r.body);
			say(out, line);
			http_response_free(&r);
			return;
		}
	}
}

START_TEST(daemon_killed_mid_load_loses_nothing)
{
	struct pg_instance pg;
	struct daemon_instance d;
	struct chain_load l;
	struct chain_figures f;
	int fds[2], acked_at_kill[MAX_PATIENTS], acked = 0, in_flight = 0;
	int reposted;
	pid_t pids[KILL_CLIENTS];
	bool killed = false;
	char line[1300];
	FILE *in;
	double start = now_s();

	ck_assert(harness_pg_start(&pg));
	ck_assert(harness_daemon_start(&d, pg.conninfo, quiet));
	load_init(&l, "kill", KILL_PATIENTS, MAX_STREAMS);
	ck_assert_int_eq(pipe(fds), 0);
	for (int c = 0; c < KILL_CLIENTS; c++) {
		pids[c] = fork();
		ck_assert_int_ge(pids[c], 0);
		if (pids[c] == 0) {
			close(fds[0]);
			kill_client(c, d.port, fds[1]);
			_exit(0);
		}
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	ck_assert_ptr_nonnull(in);
	while (fgets(line, sizeof(line), in)) {
		int p, s, status = 0;
		char kind;

		ck_assert_int_ge(
			sscanf(line, "%c %d %d %d", &kind, &p, &s, &status), 3);
		ck_assert_int_lt(p, KILL_PATIENTS);
		if (kind == 'A') {
			/* The acknowledged steps are a prefix. */
			ck_assert_int_eq(s, l.done[p]);
			l.done[p]++;
			if (++acked == KILL_AFTER) {
				harness_daemon_kill(&d);
				killed = true;
			}
			continue;
		}
		ck_assert_msg(killed, "before the kill: %s", line);
		ck_assert_msg(status == 0, "an answer that is not 201: %s",
			      line);
		in_flight++;
	}
	fclose(in);
	for (int c = 0; c < KILL_CLIENTS; c++) {
		int st;

		ck_assert_int_eq(waitpid(pids[c], &st, 0), pids[c]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_msg(killed, "the load ended before %d acknowledgements",
		      KILL_AFTER);
	memcpy(acked_at_kill, l.done, sizeof(acked_at_kill));
	acked = load_acked(&l);

	/* A new daemon; every unacknowledged event again, same id, same
	 * body; then every event once more. */
	ck_assert(harness_daemon_start(&d, pg.conninfo, quiet));
	load_finish(&l, d.port);
	reposted = repost_all(&l, d.port);
	verify_chains(&pg, &l, acked_at_kill, &f);
	fprintf(stderr,
		"faults: kill -9: %d acknowledged before the kill (clients "
		"cut off: %d), %d acknowledged after it (%d of them "
		"recorded but unanswered before), %d re-posted as replays; "
		"transitions=%d lost=%d doubled=%d misordered=%d, %.1f s\n",
		acked, in_flight, l.created + l.replayed, l.replayed, reposted,
		f.transitions, f.lost, f.doubled, f.misordered,
		now_s() - start);
	ck_assert_int_eq(f.lost, 0);
	ck_assert_int_eq(f.doubled, 0);
	ck_assert_int_eq(f.misordered, 0);
	ck_assert_int_eq(f.transitions, KILL_PATIENTS * STEPS);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	harness_pg_destroy(&pg);
}
END_TEST

/* --- 3: PostgreSQL stopped and started under load ------------------------ */

#define OUTAGE_PATIENTS	   40
#define OUTAGE_BEFORE	   60
#define OUTAGE_DOWN_ROUNDS 3

static void stop_fast(void *arg)
{
	ck_assert(harness_pg_stop_server(arg, true));
}

/* While the database is away: every request a quick 503, /readyz too. */
static void assert_down(struct chain_load *l, int port)
{
	int acked = load_acked(l);

	for (int i = 0; i < OUTAGE_DOWN_ROUNDS; i++)
		load_round(l, port, ALLOW_503, NULL, NULL);
	ck_assert_int_eq(readyz(port), 503);
	ck_assert_int_eq(load_acked(l), acked);
}

static int sum(const int *v, int n)
{
	int total = 0;

	for (int i = 0; i < n; i++)
		total += v[i];
	return total;
}

START_TEST(database_restart_under_load)
{
	struct pg_instance pg;
	struct daemon_instance d;
	struct chain_load l;
	struct chain_figures f;
	int acked_before[MAX_PATIENTS], late503, reposted, down503;
	pid_t pid;
	double recovered, stopped_at, started_at;
	double start = now_s();

	ck_assert(harness_pg_start(&pg));
	ck_assert(harness_daemon_start(&d, pg.conninfo, quiet));
	pid = d.pid;
	load_init(&l, "outage", OUTAGE_PATIENTS, MAX_STREAMS);
	load_until(&l, d.port, OUTAGE_BEFORE);

	/* Stop with a round in flight: each answer is 201 or 503. */
	stopped_at = now_s();
	load_round(&l, d.port, ALLOW_ACK | ALLOW_503, stop_fast, &pg);
	memcpy(acked_before, l.done, sizeof(acked_before));
	assert_down(&l, d.port);
	down503 = l.unavailable;

	/* The same daemon, no restart, serves again. */
	ck_assert(harness_pg_start_server(&pg));
	started_at = now_s();
	recovered = wait_ready(d.port);
	ck_assert_int_eq(d.pid, pid);
	late503 = load_finish(&l, d.port);
	reposted = repost_all(&l, d.port);
	verify_chains(&pg, &l, acked_before, &f);
	fprintf(stderr,
		"faults: pg stop/start: %d acknowledged before and during "
		"the stop, %d answered 503 while down (slowest %.3f s), "
		"ready %.2f s after the start (%.2f s after the stop began), "
		"%d 503 after ready, %d acknowledged after it (%d of them "
		"recorded but unanswered before), %d re-posted as replays; "
		"transitions=%d "
		"lost=%d doubled=%d misordered=%d, %.1f s\n",
		sum(acked_before, OUTAGE_PATIENTS), down503, l.worst_503_s,
		recovered, started_at + recovered - stopped_at, late503,
		l.created + l.replayed - sum(acked_before, OUTAGE_PATIENTS),
		l.replayed, reposted, f.transitions, f.lost, f.doubled,
		f.misordered, now_s() - start);
	ck_assert_int_eq(f.lost, 0);
	ck_assert_int_eq(f.doubled, 0);
	ck_assert_int_eq(f.misordered, 0);
	ck_assert_int_eq(f.transitions, OUTAGE_PATIENTS * STEPS);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	harness_pg_destroy(&pg);
}
END_TEST

/* --- 4: failover to a promoted streaming standby ------------------------- */

#define FAILOVER_PATIENTS 40
#define FAILOVER_BEFORE	  60

static void stop_immediate(void *arg)
{
	ck_assert(harness_pg_stop_server(arg, false));
}

START_TEST(failover_to_promoted_standby)
{
	struct pg_instance primary, standby;
	struct daemon_instance d;
	struct chain_load l;
	struct chain_figures f;
	char conninfo[2 * PATH_MAX + 256];
	const char *user;
	int acked_before[MAX_PATIENTS], late503, reposted, down503;
	pid_t pid;
	double recovered, killed_at, promoted_at;
	double start = now_s();

	/* Synchronous replication: a commit (and so an acknowledgement)
	 * waits until the standby has the WAL; with asynchronous streaming
	 * an immediate stop may lose the last commits by design. */
	ck_assert(harness_pg_start(&primary));
	ck_assert(harness_pg_configure(&primary,
				       "synchronous_standby_names = '*'\n"));
	ck_assert(harness_pg_stop_server(&primary, true));
	ck_assert(harness_pg_start_server(&primary));
	ck_assert(harness_pg_start_standby(&primary, &standby));
	user = strstr(primary.conninfo, "user=");
	ck_assert_ptr_nonnull(user);
	snprintf(conninfo, sizeof(conninfo),
		 "host=%s,%s port=5432,5432 dbname=painpath %s "
		 "target_session_attrs=read-write connect_timeout=5",
		 primary.dir, standby.dir, user);
	ck_assert(harness_daemon_start(&d, conninfo, quiet));
	pid = d.pid;
	load_init(&l, "failover", FAILOVER_PATIENTS, MAX_STREAMS);
	load_until(&l, d.port, FAILOVER_BEFORE);
	ck_assert_int_eq(psql_long(&standby, "SELECT pg_is_in_recovery()::int"),
			 1);
	ck_assert_int_eq(psql_long(&primary, "SELECT count(*) FROM "
					     "pg_stat_replication WHERE "
					     "sync_state = 'sync'"),
			 1);

	/* The primary dies with a round in flight; the standby is still a
	 * standby, so nothing can be written: quick 503s. */
	killed_at = now_s();
	load_round(&l, d.port, ALLOW_ACK | ALLOW_503, stop_immediate, &primary);
	memcpy(acked_before, l.done, sizeof(acked_before));
	assert_down(&l, d.port);
	down503 = l.unavailable;

	ck_assert(harness_pg_promote(&standby));
	promoted_at = now_s();
	recovered = wait_ready(d.port);
	ck_assert_int_eq(d.pid, pid);
	late503 = load_finish(&l, d.port);
	reposted = repost_all(&l, d.port);
	ck_assert_int_eq(psql_long(&standby, "SELECT pg_is_in_recovery()::int"),
			 0);
	verify_chains(&standby, &l, acked_before, &f);
	fprintf(stderr,
		"faults: failover: %d acknowledged before and during the "
		"primary's death, %d answered 503 before the promotion "
		"(slowest %.3f s), ready %.2f s after the promotion (%.2f s "
		"after the kill), %d 503 after ready, %d acknowledged after "
		"it (%d of them recorded but unanswered before), %d "
		"re-posted as replays; on the "
		"new primary: transitions=%d lost=%d doubled=%d "
		"misordered=%d, %.1f s\n",
		sum(acked_before, FAILOVER_PATIENTS), down503, l.worst_503_s,
		recovered, promoted_at + recovered - killed_at, late503,
		l.created + l.replayed - sum(acked_before, FAILOVER_PATIENTS),
		l.replayed, reposted, f.transitions, f.lost, f.doubled,
		f.misordered, now_s() - start);
	ck_assert_int_eq(f.lost, 0);
	ck_assert_int_eq(f.doubled, 0);
	ck_assert_int_eq(f.misordered, 0);
	ck_assert_int_eq(f.transitions, FAILOVER_PATIENTS * STEPS);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	harness_pg_destroy(&standby);
	harness_pg_destroy(&primary);
}
END_TEST

void e2e_add_fault_tests(Suite *s)
{
	TCase *tc = tcase_create("faults");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, conflicting_clients_through_two_daemons);
	tcase_add_test(tc, daemon_killed_mid_load_loses_nothing);
	tcase_add_test(tc, database_restart_under_load);
	tcase_add_test(tc, failover_to_promoted_standby);
	suite_add_tcase(s, tc);
}
