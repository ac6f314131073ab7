/*
 * The outbox's worker (outbox.h): a timer claims due stream heads, each
 * claimed row is loaded, rendered (outbox_render.c), audited, sent
 * (outbox_send.c) and then marked delivered or put back with a later
 * attempt.  A database connection is leased for each step and given back
 * before anything waits on the network.
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>

#include "app.h"
#include "log.h"
#include "outbox_int.h"
#include "outbox_send.h"
#include "store.h"

#define CTX "outbox"
/* Deliveries in flight per daemon, and how often it looks for more. */
#define MAX_INFLIGHT 8
#define TICK_MS	     200
/* A claim's lease outlives the send's time limit, so a row is sent by one
 * daemon at a time unless that daemon died. */
#define SEND_TIMEOUT_S 10
#define LEASE_S	       30
#define RETRY_MIN_MS   250
#define RETRY_MAX_MS   60000
/* Failed tries of a row after which its Subscription is in error. */
#define FAILURES_TO_ERROR 3
#define PRUNE_EVERY_TICKS 3000

static struct app *the_app;
static struct event *tick;
static struct outbox_job *jobs;
static int inflight;
static bool claiming, stopping, endpoints_synced;
static unsigned ticks;
static char me[96];

static void kick(void);

/* --- jobs -------------------------------------------------------------------
 */

static struct outbox_job *job_new(const PGresult *res, int row)
{
	struct outbox_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		return NULL;
#define COPY(field, col)                                                       \
	snprintf(job->field, sizeof(job->field), "%s",                         \
		 PQgetvalue(res, row, col))
	COPY(id, 0);
	COPY(kind, 1);
	COPY(sub, 2);
	COPY(pathway, 3);
	COPY(seq, 4);
	COPY(region, 5);
	COPY(date, 6);
#undef COPY
	job->attempts = atoi(PQgetvalue(res, row, 7));
	job->next = jobs;
	if (jobs != NULL)
		jobs->prev = job;
	jobs = job;
	inflight++;
	return job;
}

static void job_free(struct outbox_job *job)
{
	if (job->prev != NULL)
		job->prev->next = job->next;
	else
		jobs = job->next;
	if (job->next != NULL)
		job->next->prev = job->prev;
	free(job->body);
	free(job->patients);
	free(job->regions);
	json_decref(job->headers);
	free(job);
	inflight--;
}

static void job_end(struct outbox_job *job)
{
	if (job->conn != NULL)
		db_release(job->conn);
	job_free(job);
	kick();
}

/* --- the outcome: delivered, dropped, or tried again later -----------------
 */

static void on_recorded(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	(void)conn;
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i]))
			log_error(CTX, "outcome: %s", DB_WHY(res[i]));
	job_end(arg);
}

static int retry_delay_ms(int attempts)
{
	long delay = RETRY_MIN_MS;
	unsigned char jitter = 0;

	for (int i = 0; i < attempts && delay < RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	/* Up to a quarter more, so receivers back from an outage are not
	 * hit by every daemon at once. */
	if (getrandom(&jitter, 1, 0) == 1)
		delay += delay * jitter / 1024;
	return (int)delay;
}

/* The Subscription's status after this try (fhir_subscription_next), or
 * NULL when it does not move. */
static const char *status_after(const struct outbox_job *job)
{
	enum fhir_sub_status next = job->status;

	if (job->sub[0] == '\0' || strcmp(job->done, "dropped") == 0)
		return NULL;
	if (job->delivered)
		next = fhir_subscription_next(job->status, FHIR_SUB_DELIVERED);
	else if (job->attempts + 1 >= FAILURES_TO_ERROR)
		next = fhir_subscription_next(job->status, FHIR_SUB_FAILED);
	/* A failure keeps its error text even when the status stays. */
	return next != job->status || !job->delivered
		       ? fhir_subscription_status_name(next)
		       : NULL;
}

static void on_outcome_lease(struct db_conn *conn, void *arg)
{
	struct outbox_job *job = arg;
	const struct store_outbox_outcome outcome = {
		.outbox_id = job->id,
		.claimed_by = me,
		.done = job->done[0] ? job->done : NULL,
		.delay_ms = job->delay,
		.error = job->error,
		.subscription_id = job->sub,
		.status = status_after(job),
		.sub_error = job->delivered ? NULL : job->error};
	struct db_query q[STORE_OUTBOX_OUTCOME_QUERIES];

	job->conn = conn;
	if (conn == NULL) /* the lease runs out: tried again then */
		return job_end(job);
	if (!db_send(conn, q, store_outbox_outcome(&outcome, q), on_recorded,
		     job))
		job_end(job);
}

/* done: "delivered", "dropped", or NULL to try again later. */
static void record(struct outbox_job *job, bool delivered, const char *done,
		   const char *error)
{
	job->delivered = delivered;
	snprintf(job->done, sizeof(job->done), "%s", done ? done : "");
	snprintf(job->delay, sizeof(job->delay), "%d",
		 retry_delay_ms(job->attempts));
	snprintf(job->error, sizeof(job->error), "%s", error ? error : "");
	if (job->conn != NULL) {
		db_release(job->conn);
		job->conn = NULL;
	}
	db_acquire(the_app->pool, on_outcome_lease, job);
}

/* --- sending
 * ------------------------------------------------------------------
 */

static struct outbox_stats counters;

void outbox_stats(struct outbox_stats *out)
{
	*out = counters;
}

static void on_sent(void *arg, int status, const char *error)
{
	struct outbox_job *job = arg;
	bool ok = status >= 200 && status < 300;

	if (ok)
		counters.delivered++;
	else
		counters.failed++;
	if (!ok)
		log_info(CTX, "delivery %s to %s: %s (try %d)", job->id,
			 job->endpoint, error ? error : "failed",
			 job->attempts + 1);
	record(job, ok, ok ? "delivered" : NULL, error);
}

static void send_now(struct outbox_job *job)
{
	const char *headers[FHIR_SUB_MAX_HEADERS + 5];
	char type[96], signature[128], delivery[64], sub[96];
	size_t n = 0, i;
	json_t *h;

	snprintf(type, sizeof(type), "Content-Type: %s", job->content_type);
	snprintf(signature, sizeof(signature), "%s: %s", FHIR_SIGNATURE_HEADER,
		 job->signature);
	snprintf(delivery, sizeof(delivery), "X-Painpath-Delivery: %s",
		 job->id);
	snprintf(sub, sizeof(sub), "X-Painpath-Subscription: %s", job->sub);
	headers[n++] = type;
	headers[n++] = signature;
	headers[n++] = delivery;
	if (job->sub[0] != '\0')
		headers[n++] = sub;
	json_array_foreach(job->headers, i, h)
	{
		if (n < sizeof(headers) / sizeof(headers[0]) - 1 &&
		    json_is_string(h))
			headers[n++] = json_string_value(h);
	}
	headers[n] = NULL;
	if (!outbox_send(the_app->base, job->endpoint, headers, job->body,
			 job->len, SEND_TIMEOUT_S, on_sent, job))
		record(job, false, NULL, "the endpoint cannot be reached");
}

/* The delivery shows patients: its audit row first, as for a read. */
static void on_audited(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct outbox_job *job = arg;

	(void)res;
	db_release(conn);
	job->conn = NULL;
	if (n == 0 || !db_result_ok(res[0])) {
		log_error(CTX, "delivery %s: the audit row failed", job->id);
		return job_end(job);
	}
	send_now(job);
}

static void audit(struct outbox_job *job)
{
	struct store_audit row;
	struct db_query q;
	bool sent;

	store_audit_init(&row);
	store_audit_add(&row, job->token, "POST", "outbox", job->endpoint,
			job->patients, "-", "0", job->regions);
	sent = store_audit_query(&row, &q) &&
	       db_send(job->conn, &q, 1, on_audited, job);
	store_audit_free(&row);
	if (!sent)
		job_end(job);
}

/* --- loading and rendering
 * -------------------------------------------------------
 */

static void on_loaded(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct outbox_job *job = arg;
	enum outbox_render r = OUTBOX_FAIL;

	(void)conn;
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i]))
			n = 0;
	if (n > 0)
		r = outbox_render(the_app, job, res, n);
	if (r == OUTBOX_SEND)
		return audit(job);
	if (r == OUTBOX_DROP)
		return record(job, false, "dropped", NULL);
	log_error(CTX, "delivery %s (%s) cannot be rendered", job->id,
		  job->kind);
	record(job, false, NULL, "cannot be rendered");
}

static void on_load_lease(struct db_conn *conn, void *arg)
{
	struct outbox_job *job = arg;
	struct db_query q[2];
	int nq = outbox_render_queries(job, q);

	job->conn = conn;
	if (conn == NULL || !db_send(conn, q, nq, on_loaded, job))
		job_end(job);
}

/* --- claims
 * ---------------------------------------------------------------------
 */

static void on_claimed(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	int rows = 0;

	(void)arg;
	claiming = false;
	if (n > 0 && db_result_ok(res[0]))
		rows = PQntuples(res[0]);
	else if (n > 0)
		log_error(CTX, "claim: %s", DB_WHY(res[0]));
	for (int i = 0; i < rows; i++) {
		struct outbox_job *job = job_new(res[0], i);
		if (job != NULL)
			db_acquire(the_app->pool, on_load_lease, job);
	}
	db_release(conn);
}

static void on_claim_lease(struct db_conn *conn, void *arg)
{
	static char limit[16], lease[16];
	/* Only the reports of regions this daemon has an endpoint for: one
	 * whose configuration lacks it (a file being rolled out) leaves the
	 * row to a daemon that can send it, rather than dropping it. */
	static char *report_regions, *report_formats;
	struct db_query q = {.stmt = STMT_OUTBOX_CLAIM, .nparams = 4};

	(void)arg;
	free(report_regions);
	free(report_formats);
	if (!outbox_reports_literals(&report_regions, &report_formats)) {
		free(report_regions);
		report_regions = NULL;
	}
	q.params[0] = me;
	q.params[1] = limit;
	q.params[2] = lease;
	q.params[3] = report_regions ? report_regions : "{}";
	snprintf(limit, sizeof(limit), "%d", MAX_INFLIGHT - inflight);
	snprintf(lease, sizeof(lease), "%d", LEASE_S);
	if (conn == NULL || !db_send(conn, &q, 1, on_claimed, NULL)) {
		if (conn != NULL)
			db_release(conn);
		claiming = false;
	}
}

/* Housekeeping on a claim's turn: the config's report endpoints into
 * their table once, old delivered rows away now and then. */
static void on_chore_done(struct db_conn *conn, PGresult **res, int n,
			  void *arg)
{
	(void)arg;
	if (n > 0 && !db_result_ok(res[0]))
		log_error(CTX, "%s", DB_WHY(res[0]));
	else if (n > 0)
		endpoints_synced = true;
	claiming = false;
	db_release(conn);
}

static void on_chore_lease(struct db_conn *conn, void *arg)
{
	static char *regions, *formats;
	struct db_query q;

	(void)arg;
	free(regions);
	free(formats);
	regions = formats = NULL;
	if (conn == NULL) {
		claiming = false;
		return;
	}
	if (!endpoints_synced && outbox_reports_literals(&regions, &formats))
		q = (struct db_query){.stmt = STMT_REPORT_ENDPOINTS,
				      .nparams = 2,
				      .params = {regions, formats}};
	else
		q = (struct db_query){.stmt = STMT_OUTBOX_PRUNE};
	if (!db_send(conn, &q, 1, on_chore_done, NULL)) {
		db_release(conn);
		claiming = false;
	}
}

static void kick(void)
{
	if (stopping || claiming || inflight >= MAX_INFLIGHT ||
	    !db_pool_ready(the_app->pool))
		return;
	claiming = true;
	if (!endpoints_synced || ++ticks % PRUNE_EVERY_TICKS == 0)
		db_acquire(the_app->pool, on_chore_lease, NULL);
	else
		db_acquire(the_app->pool, on_claim_lease, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	kick();
}

/* Before the loop runs (blocking is harmless then): the config's report
 * endpoints into their table, so that the night the scheduler runs at
 * start (escalations_schedule_start, after this) queues their reports.
 * A failure here is left to the loop's first turn. */
static void sync_endpoints_now(const struct app *app)
{
	char *regions = NULL, *formats = NULL;
	PGconn *conn;

	if (!outbox_reports_literals(&regions, &formats)) {
		free(regions);
		free(formats);
		return;
	}
	/* A database that does not answer must not hold the start up for
	 * long: the loop's first turn tries again. */
	conn = PQconnectdbParams(
		(const char *const[]){"dbname", "connect_timeout", NULL},
		(const char *const[]){app->cfg.db, "5", NULL}, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		log_warning(CTX, "report endpoints: %s", PQerrorMessage(conn));
	} else {
		const char *params[2] = {regions, formats};
		PGresult *res = PQexecParams(
			conn, store_statements[STMT_REPORT_ENDPOINTS - 1].sql,
			2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			endpoints_synced = true;
		else
			log_warning(CTX, "report endpoints: %s",
				    PQresultErrorMessage(res));
		PQclear(res);
	}
	PQfinish(conn);
	free(regions);
	free(formats);
}

bool outbox_start(struct app *app)
{
	struct timeval every = {0, TICK_MS * 1000};
	char err[512], host[64] = "localhost";
	unsigned int salt = 0;

	if (!outbox_reports_load(app->cfg.report_endpoints_file, err,
				 sizeof(err))) {
		log_error(CTX, "report_endpoints_file: %s", err);
		return false;
	}
	sync_endpoints_now(app);
	gethostname(host, sizeof(host) - 1);
	if (getrandom(&salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		salt = 0;
	snprintf(me, sizeof(me), "%s:%ld:%08x", host, (long)getpid(), salt);
	the_app = app;
	tick = event_new(app->base, -1, EV_PERSIST, on_tick, NULL);
	return tick != NULL && event_add(tick, &every) == 0;
}

void outbox_stop_claiming(void)
{
	stopping = true;
	if (tick != NULL)
		event_del(tick);
}

void outbox_free(void)
{
	stopping = true;
	outbox_send_shutdown();
	while (jobs != NULL)
		job_free(jobs);
	if (tick != NULL)
		event_free(tick);
	tick = NULL;
	outbox_reports_free();
}
