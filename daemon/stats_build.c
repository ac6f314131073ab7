/*
 * The statistics' nightly summary (lib/store_stats.c STATS_BUILD): built
 * each night at report_time in report_zone, with the days before that
 * night as its cutoff; at start when the summary is missing or older (the
 * backfill from the history is the same build); and on demand by POST
 * /v1/stats/build (admin).  Between builds, every ADD_EVERY_S seconds, the
 * events recorded since are added to it (STATS_BUILD_ADD), so a read
 * derives only the last few minutes' from the transitions.
 *
 * One transaction on the long-work pool: an advisory lock (the nightly
 * build takes it with try-lock and skips a night already built, so with
 * several daemons on one database one builds), the summary emptied and
 * written again, the build recorded.  Readers see the old summary until
 * it commits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "long_pool.h"
#include "stats_build.h"
#include "stats_params.h"
#include "store_stats.h"

#define CTX	     "stats"
#define TICK_SECONDS 15
#define ADD_EVERY_S  300
/* "summary" in ASCII, beside the report's own key. */
#define BUILD_LOCK_KEY	"126943194048370"
#define BUILD_TRY_LOCK	"SELECT pg_try_advisory_xact_lock(" BUILD_LOCK_KEY ")"
#define BUILD_WAIT_LOCK "SELECT pg_advisory_xact_lock(" BUILD_LOCK_KEY ")::text"

struct build_job {
	struct app *app;
	struct request *req; /* the admin's, or NULL for the schedule */
	bool add;	     /* an addition, not a build */
	struct db_conn *conn;
	cal_date cutoff;
	char cutoff_text[CAL_DATE_LEN];
	char built_by[96];
	struct stats_models models;
	bool models_ready;
	struct timespec started;
};

static struct event *tick;
/* The build running, if any: one at a time per daemon. */
static struct build_job *running;
/* The cutoff of the summary as last seen; -1 before the first look. */
static cal_date known_cutoff = -1;
/* When the last addition (or build) ended, on the monotonic clock. */
static time_t last_added;

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static time_t monotonic_s(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

static void answer(struct build_job *job, struct reply *rep)
{
	if (job->req != NULL)
		request_finish(job->req, rep);
	job->req = NULL;
	reply_clear(rep);
}

static void job_end(struct build_job *job, bool ok, const char *why)
{
	struct reply rep;

	reply_init(&rep);
	if (job->add) {
		if (!ok)
			log_warning(CTX, "addition to the summary: %s", why);
	} else if (!ok) {
		log_warning(CTX, "summary to %s not built: %s",
			    job->cutoff_text, why);
		reply_error(&rep, ERR_UNAVAILABLE, NULL,
			    "the summary could not be built; try again");
		answer(job, &rep);
	}
	if (job->conn != NULL)
		db_release(job->conn);
	if (job->models_ready)
		stats_models_free(&job->models);
	last_added = monotonic_s();
	free(job);
	running = NULL;
}

static bool results_ok(PGresult **res, int n)
{
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error(CTX, "%s", PQresultErrorMessage(res[i]));
			return false;
		}
	return n > 0;
}

static void on_built(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct build_job *job = arg;
	struct reply rep;

	(void)conn;
	if (!results_ok(res, n))
		return job_end(job, false, "the build failed");
	known_cutoff = job->cutoff;
	log_info(CTX, "summary to %s: %s day rows, %s month rows (%ld ms)",
		 job->cutoff_text, PQgetvalue(res[1], 0, 0),
		 PQgetvalue(res[1], 0, 1), stats_elapsed_ms(&job->started));
	reply_init(&rep);
	reply_json(&rep, 200,
		   json_pack("{s:s, s:i, s:i, s:I, s:s}", "cutoff",
			     job->cutoff_text, "day_rows",
			     atoi(PQgetvalue(res[1], 0, 0)), "month_rows",
			     atoi(PQgetvalue(res[1], 0, 1)), "millis",
			     (json_int_t)stats_elapsed_ms(&job->started),
			     "built_by", job->built_by));
	answer(job, &rep);
	job_end(job, true, NULL);
}

static void send_build(struct build_job *job)
{
	const char *m[5];
	struct db_query q[3] = {
		{.sql = store_stats_sql[STATS_BUILD_CLEAR]},
		{.sql = store_stats_sql[STATS_BUILD], .nparams = 7},
		{.sql = "COMMIT"},
	};

	stats_models_params(&job->models, m);
	q[1].params[0] = job->cutoff_text;
	for (int i = 0; i < 5; i++)
		q[1].params[1 + i] = m[i];
	q[1].params[6] = job->built_by;
	if (!db_send(job->conn, q, 3, on_built, job))
		job_end(job, false, "the database cannot be reached");
}

static void on_added(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct build_job *job = arg;

	(void)conn;
	if (!results_ok(res, n))
		return job_end(job, false, "the addition failed");
	log_debug(CTX,
		  "added to the summary: %s day rows, %s month rows (%ld ms)",
		  PQgetvalue(res[0], 0, 0), PQgetvalue(res[0], 0, 1),
		  stats_elapsed_ms(&job->started));
	job_end(job, true, NULL);
}

static void send_add(struct build_job *job)
{
	struct db_query q[2] = {
		{.sql = store_stats_sql[STATS_BUILD_ADD], .nparams = 5},
		{.sql = "COMMIT"},
	};

	stats_models_params(&job->models, q[0].params);
	if (!db_send(job->conn, q, 2, on_added, job))
		job_end(job, false, "the database cannot be reached");
}

/* res: BEGIN, timeout, lock, state. */
static void on_locked(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct build_job *job = arg;
	cal_date built = -1;

	(void)conn;
	if (!results_ok(res, n))
		return job_end(job, false, "the lock failed");
	if (PQntuples(res[3]) > 0 &&
	    calendar_parse_date(PQgetvalue(res[3], 0, 0), &built))
		known_cutoff = built;
	if (job->add) {
		/* Another daemon builds or adds now: the next tick. */
		if (strcmp(PQgetvalue(res[2], 0, 0), "t") != 0)
			return job_end(job, true, NULL);
		return send_add(job);
	}
	if (job->req == NULL && (strcmp(PQgetvalue(res[2], 0, 0), "t") != 0 ||
				 built >= job->cutoff)) {
		/* Another daemon builds, or has built this night. */
		return job_end(job, true, NULL);
	}
	log_info(CTX, "building the summary to %s", job->cutoff_text);
	send_build(job);
}

static void on_lease(struct db_conn *conn, void *arg)
{
	struct build_job *job = arg;
	struct db_query q[4] = {
		{.sql = "BEGIN"},
		{.sql = store_stats_sql[STATS_BUILD_TIMEOUT]},
		{.sql = job->req ? BUILD_WAIT_LOCK : BUILD_TRY_LOCK},
		{.sql = store_stats_sql[STATS_BUILD_STATE]},
	};

	job->conn = conn;
	if (conn == NULL || !db_send(conn, q, 4, on_locked, job))
		job_end(job, false, "the database cannot be reached");
}

/* Starts a build to cutoff (or an addition); false when one runs
 * already or out of memory. */
static bool start_job(struct app *app, struct request *r, cal_date cutoff,
		      bool add)
{
	struct build_job *job;
	struct db_pool *pool = long_pool(app);
	char host[64] = "localhost";

	if (running || pool == NULL || (job = calloc(1, sizeof(*job))) == NULL)
		return false;
	job->app = app;
	job->req = r;
	job->add = add;
	job->cutoff = cutoff;
	calendar_format_date(cutoff, job->cutoff_text);
	gethostname(host, sizeof(host) - 1);
	snprintf(job->built_by, sizeof(job->built_by), "%s:%ld%s", host,
		 (long)getpid(), r ? " (admin)" : "");
	clock_gettime(CLOCK_MONOTONIC, &job->started);
	job->models_ready = stats_models_init(&job->models, &app->models);
	if (!job->models_ready) {
		free(job);
		return false;
	}
	running = job;
	db_acquire(pool, on_lease, job);
	return true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;
	cal_date cutoff;

	(void)fd;
	(void)what;
	if (app->draining || running || !db_pool_ready(app->pool) ||
	    !escalations_latest_night(&app->cfg, now_millis(), &cutoff))
		return;
	if (known_cutoff < cutoff) {
		if (!start_job(app, NULL, cutoff, false))
			log_warning(CTX, "cannot start the nightly summary");
	} else if (monotonic_s() - last_added >= ADD_EVERY_S) {
		if (!start_job(app, NULL, cutoff, true))
			log_warning(CTX, "cannot add to the summary");
	}
}

enum handled stats_build_post(struct request *r, struct reply *out)
{
	const char *text = request_query(r, "cutoff");
	struct cal_zone zone;
	cal_date cutoff, today;

	if (!calendar_zone_parse(r->app->cfg.report_zone, &zone))
		return reply_error(out, ERR_INTERNAL, NULL,
				   "report_zone is not a known time zone");
	today = calendar_local_date(&zone, now_millis());
	cutoff = today;
	if (text != NULL &&
	    (!calendar_parse_date(text, &cutoff) || cutoff > today + 1))
		return reply_error(out, ERR_INVALID_REQUEST, "cutoff",
				   "cutoff must be a date, at most tomorrow");
	if (!start_job(r->app, r, cutoff, false))
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "a summary is being built; try again");
	return HANDLED_LATER;
}

bool stats_build_schedule_start(struct app *app)
{
	struct timeval every = {TICK_SECONDS, 0};

	if (!app->cfg.report_enabled)
		return true;
	tick = event_new(app->base, -1, EV_PERSIST, on_tick, app);
	if (tick == NULL || event_add(tick, &every) != 0)
		return false;
	/* The first look at once: a daemon started after a night (or on an
	 * empty summary) builds it without waiting a tick. */
	event_active(tick, EV_TIMEOUT, 0);
	return true;
}

void stats_build_schedule_stop(void)
{
	if (tick != NULL)
		event_free(tick);
	tick = NULL;
}

void stats_build_free(void)
{
	/* After the loop: its connection went with the pool; what the job
	 * owns goes here. */
	if (running != NULL) {
		if (running->models_ready)
			stats_models_free(&running->models);
		free(running);
	}
	running = NULL;
}

bool stats_zones_at_start(struct app *app)
{
	PGconn *conn = PQconnectdb(app->cfg.db);
	char err[512];
	long updated = 0;
	bool ok = PQstatus(conn) == CONNECTION_OK &&
		  stats_zones_sync(conn, &app->models, &updated, err,
				   sizeof(err));

	if (!ok)
		log_warning(CTX, "time zones: %s",
			    PQstatus(conn) == CONNECTION_OK
				    ? err
				    : PQerrorMessage(conn));
	else if (updated > 0)
		log_info(CTX,
			 "time zones: the receipt day of %ld pathway(s) "
			 "set",
			 updated);
	PQfinish(conn);
	return ok;
}
