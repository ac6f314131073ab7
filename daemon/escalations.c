/*
 * The nightly escalation report: GET /v1/escalations, POST
 * /v1/escalations/run, POST /v1/escalations/{id}/ack, and the scheduler
 * that runs each night's report at report_time in report_zone.
 *
 * A run is one transaction: an advisory lock, then the report's single
 * statement (lib/report.c), the run's record and its log line.  The nightly
 * run takes the lock with try-lock and skips a night already run, so with
 * several daemons on one database exactly one runs it; an admin's run waits
 * for the lock and runs again (the items stay the same: they are keyed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "app.h"
#include "auth.h"
#include "export_csv.h"
#include "http.h"
#include "long_pool.h"
#include "log.h"
#include "reads.h"
#include "report.h"
#include "store_report.h"

#define CTX		      "report"
#define SCHEDULE_TICK_SECONDS 30

enum run_trigger { RUN_SCHEDULE, RUN_ADMIN };

struct run_job {
	struct app *app;
	struct request *req; /* NULL for the scheduler */
	struct db_conn *conn;
	enum run_trigger trigger;
	cal_date night;
	char date[CAL_DATE_LEN];
};

static struct event *schedule_timer;
static cal_date last_night_done = -1;
static char instance[96];

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *instance_name(void)
{
	if (instance[0] == '\0') {
		char host[64] = "localhost";
		gethostname(host, sizeof(host) - 1);
		snprintf(instance, sizeof(instance), "%s:%ld", host,
			 (long)getpid());
	}
	return instance;
}

/* date= or, when absent, today in the report's zone. */
static bool night_of(struct request *r, cal_date *night)
{
	const char *date = request_query(r, "date");
	struct cal_zone zone;

	if (date != NULL)
		return calendar_parse_date(date, night);
	if (!calendar_zone_parse(r->app->cfg.report_zone, &zone))
		return false;
	*night = calendar_local_date(&zone, now_millis());
	return true;
}

static void run_job_end(struct run_job *job, bool ok, int items)
{
	if (job->conn != NULL)
		db_release(job->conn);
	if (job->trigger == RUN_SCHEDULE) {
		if (ok) {
			last_night_done = job->night;
			if (items >= 0)
				log_info(CTX, "night %s: %d item(s)", job->date,
					 items);
		}
	} else if (!ok) {
		struct reply rep;
		reply_init(&rep);
		reply_error(&rep, ERR_UNAVAILABLE, NULL,
			    "the report could not be run; try again");
		request_finish(job->req, &rep);
	}
	free(job);
}

static void on_run_done(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct run_job *job = arg;
	int items;

	(void)conn;
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error(CTX, "night %s: %s", job->date,
				  DB_WHY(res[i]));
			return run_job_end(job, false, -1);
		}
	if (n == 0)
		return run_job_end(job, false, -1);
	items = atoi(PQgetvalue(res[0], 0, 0));
	if (job->trigger == RUN_ADMIN) {
		struct reply rep;
		reply_init(&rep);
		reply_json(&rep, 200,
			   json_pack("{s:s, s:i, s:s}", "date", job->date,
				     "items", items, "ran_by",
				     instance_name()));
		request_finish(job->req, &rep);
	}
	run_job_end(job, true, items);
}

/* Step 2: the report (res[0] holds its item count), its record and log
 * line, commit. */
static void send_run(struct run_job *job)
{
	char keys[REPORT_LIST_LEN], ends[REPORT_LIST_LEN];
	const char *trigger = job->trigger == RUN_ADMIN ? "admin" : "schedule";
	struct db_query q[4] = {
		{.sql = report_run_sql,
		 .nparams = 3,
		 .params = {job->date, keys, ends}},
		{.sql = report_record_sql, .nparams = 1, .params = {job->date}},
		{.sql = report_log_sql,
		 .nparams = 3,
		 .params = {job->date, instance_name(), trigger}},
		{.sql = "COMMIT"},
	};

	if (!report_windows(&job->app->models, job->night, keys, ends) ||
	    !db_send(job->conn, q, 4, on_run_done, job))
		run_job_end(job, false, -1);
}

static void on_locked(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct run_job *job = arg;
	bool locked, ran;

	(void)conn;
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i]))
			n = 0;
	if (n == 0)
		return run_job_end(job, false, -1);
	locked = job->trigger == RUN_ADMIN ||
		 strcmp(PQgetvalue(res[2], 0, 0), "t") == 0;
	ran = PQntuples(res[3]) > 0;
	if (job->trigger == RUN_SCHEDULE && (!locked || ran)) {
		/* Another daemon holds the night, or it has run: done. */
		return run_job_end(job, ran, -1);
	}
	send_run(job);
}

static void on_run_lease(struct db_conn *conn, void *arg)
{
	struct run_job *job = arg;
	struct db_query q[4] = {
		{.sql = "BEGIN"},
		{.sql = report_timeout_sql},
		{.sql = job->trigger == RUN_ADMIN ? report_wait_lock_sql
						  : report_try_lock_sql},
		{.sql = report_ran_sql, .nparams = 1, .params = {job->date}},
	};

	job->conn = conn;
	if (conn == NULL || !db_send(conn, q, 4, on_locked, job))
		run_job_end(job, false, -1);
}

static void start_run(struct app *app, struct request *r,
		      enum run_trigger trigger, cal_date night)
{
	struct run_job *job = calloc(1, sizeof(*job));

	if (job == NULL) {
		if (r != NULL) {
			struct reply rep;
			reply_init(&rep);
			reply_error(&rep, ERR_INTERNAL, NULL, "out of memory");
			request_finish(r, &rep);
		}
		return;
	}
	job->app = app;
	job->req = r;
	job->trigger = trigger;
	job->night = night;
	calendar_format_date(night, job->date);
	/* A night over a million pathways takes longer than the main pool's
	 * client-side query timeout (its statement has 10 minutes). */
	db_acquire(long_pool(app), on_run_lease, job);
}

enum handled escalations_run_post(struct request *r, struct reply *out)
{
	cal_date night;

	if (!night_of(r, &night))
		return reply_error(out, ERR_INVALID_REQUEST, "date",
				   "date must be YYYY-MM-DD");
	start_run(r->app, r, RUN_ADMIN, night);
	return HANDLED_LATER;
}

/* --- reading and acknowledging ------------------------------------------ */

static bool wants_csv(struct request *r)
{
	const char *accept = request_header(r, "Accept");
	const char *format = request_query(r, "format");

	return (accept != NULL && strstr(accept, "text/csv") != NULL) ||
	       (format != NULL && strcmp(format, "csv") == 0);
}

static void render_list(struct request *r, PGresult **res, int n,
			struct answer *a)
{
	cal_date night = 0;
	json_t *doc;

	(void)n;
	if (!night_of(r, &night) || PQntuples(res[0]) == 0) {
		const char *date = request_query(r, "date");
		return answer_error(a, ERR_NOT_FOUND, "date",
				    "the report for %s has not run; POST "
				    "/v1/escalations/run?date=... runs it",
				    date ? date : "today");
	}
	doc = report_json(res[1], night);
	answer_patients_of(a, json_object_get(doc, "items"));
	answer_json(a, doc);
}

static bool valid_level(const char *s)
{
	enum level l;

	return domain_level_parse(s, &l);
}

enum handled escalations_get(struct request *r, struct reply *out)
{
	const char *region = request_query(r, "region");
	const char *rule = request_query(r, "rule");
	const char *unacked = request_query(r, "unacknowledged");
	const char *unit = request_query(r, "unit");
	const char *level = request_query(r, "level");
	char date[CAL_DATE_LEN], regions[REGIONS_LEN];
	cal_date night;
	enum rule parsed;

	if (!night_of(r, &night))
		return reply_error(out, ERR_INVALID_REQUEST, "date",
				   "date must be YYYY-MM-DD");
	if (region && !domain_valid_id(region))
		return reply_error(out, ERR_INVALID_REQUEST, "region",
				   "region must be an identifier");
	if (unit && !domain_valid_id(unit))
		return reply_error(out, ERR_INVALID_REQUEST, "unit",
				   "unit must be an identifier");
	if (level && !valid_level(level))
		return reply_error(out, ERR_INVALID_REQUEST, "level",
				   "level must be gp, team, clinic or centre");
	if (rule && !domain_rule_parse(rule, &parsed))
		return reply_error(out, ERR_INVALID_REQUEST, "rule",
				   "rule must be a clock rule: transit, "
				   "assessment, treatment, free_choice or "
				   "level_review");
	if (unacked && strcmp(unacked, "true") && strcmp(unacked, "false"))
		return reply_error(out, ERR_INVALID_REQUEST, "unacknowledged",
				   "unacknowledged must be true or false");
	if (region != NULL && !auth_covers_region(r->token, region))
		return reply_error(out, ERR_FORBIDDEN, "region",
				   "this token does not cover region %s",
				   region);
	calendar_format_date(night, date);
	if (wants_csv(r)) {
		/* Streamed, and audited with one row (issue 14). */
		const char *params[7] = {
			date,
			region,
			rule,
			unacked && strcmp(unacked, "true") == 0 ? "true"
								: "false",
			request_regions(r, regions, sizeof(regions)),
			unit,
			level};
		return escalations_csv(r, out, night, params);
	}
	struct db_query q[2] = {
		{.sql = report_ran_sql, .nparams = 1, .params = {date}},
		{.sql = report_items_sql,
		 .nparams = 7,
		 .params = {date, region, rule,
			    unacked && strcmp(unacked, "true") == 0 ? "true"
								    : "false",
			    request_regions(r, regions, sizeof(regions)), unit,
			    level}},
	};
	return read_batch(r, q, 2, render_list);
}

static void render_ack(struct request *r, PGresult **res, int n,
		       struct answer *a)
{
	json_t *item;

	(void)r;
	(void)n;
	if (PQntuples(res[1]) == 0)
		return answer_error(a, ERR_NOT_FOUND, NULL,
				    "no such escalation");
	/* Outside a night's report, lateness and novelty mean nothing. */
	item = report_item_json(res[1], 0, 0);
	json_object_del(item, "days_overdue");
	json_object_del(item, "already_known");
	answer_patient(a,
		       json_string_value(json_object_get(item, "patient_id")));
	answer_json(a, item);
}

/* The acknowledgement is the token's; the body may add a note and the
 * name of the person, kept beside it (issue 10: "by" was taken at its
 * word).  Anything else in the body is refused. */
static bool ack_body(struct request *r, json_t **body, const char **note,
		     const char **by, struct reply *out)
{
	static const char *const known[] = {"note", "by", NULL};
	const char *key;
	json_t *v;

	*body = NULL;
	*note = *by = NULL;
	if (r->body_len == 0)
		return true;
	*body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(*body))
		return reply_error(out, ERR_INVALID_JSON, NULL,
				   "the body must be a JSON object: "
				   "{\"note\": \"...\"}"),
		       false;
	json_object_foreach(*body, key, v)
	{
		size_t i = 0;
		while (known[i] && strcmp(known[i], key) != 0)
			i++;
		if (known[i] == NULL)
			return reply_error(out, ERR_INVALID_REQUEST, NULL,
					   "the body takes note and by only"),
			       false;
		if (!json_is_string(v) || json_string_length(v) > 4000 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return reply_error(out, ERR_INVALID_REQUEST, key,
					   "%s must be a text of at most 4000 "
					   "bytes",
					   key),
			       false;
	}
	*note = json_string_value(json_object_get(*body, "note"));
	*by = json_string_value(json_object_get(*body, "by"));
	return true;
}

enum handled escalation_ack_post(struct request *r, struct reply *out)
{
	char id[24], regions[REGIONS_LEN];
	const char *note, *by;
	json_t *body;
	long value;
	enum handled h;

	if (!parse_count(r->params[0], 999999999999999999L, &value))
		return reply_error(out, ERR_NOT_FOUND, NULL,
				   "no such escalation");
	if (!ack_body(r, &body, &note, &by, out)) {
		json_decref(body);
		return HANDLED_NOW;
	}
	snprintf(id, sizeof(id), "%ld", value);
	const char *scope = request_regions(r, regions, sizeof(regions));
	struct db_query q[2] = {
		{.sql = report_ack_sql,
		 .nparams = 5,
		 .params = {id, r->token->id, scope, note, by}},
		{.sql = report_item_sql, .nparams = 2, .params = {id, scope}},
	};
	/* read_batch copies the parameters: the body may go. */
	h = read_batch(r, q, 2, render_ack);
	json_decref(body);
	return h;
}

/* --- the nightly schedule ------------------------------------------------ */

bool escalations_latest_night(const struct config *cfg, cal_millis now,
			      cal_date *night)
{
	struct cal_zone zone;
	int hh, mm;
	cal_date today;

	if (!calendar_zone_parse(cfg->report_zone, &zone) ||
	    sscanf(cfg->report_time, "%d:%d", &hh, &mm) != 2)
		return false;
	today = calendar_local_date(&zone, now);
	*night = calendar_minute_of_day(&zone, now) >= hh * 60 + mm ? today
								    : today - 1;
	return true;
}

static void on_schedule_tick(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;
	cal_date night;

	(void)fd;
	(void)what;
	if (app->draining ||
	    !escalations_latest_night(&app->cfg, now_millis(), &night) ||
	    night == last_night_done || !db_pool_ready(app->pool))
		return;
	start_run(app, NULL, RUN_SCHEDULE, night);
}

/* Before the loop runs (blocking is harmless then): a night missed while
 * the daemon was down is run now, so it is in the database before the
 * daemon reports ready.  A failure here is retried by the timer. */
static void run_missed_night(struct app *app)
{
	cal_date night;
	PGconn *conn;
	char err[512];
	bool ran;

	if (!escalations_latest_night(&app->cfg, now_millis(), &night))
		return;
	conn = PQconnectdb(app->cfg.db);
	if (PQstatus(conn) != CONNECTION_OK)
		log_warning(CTX, "missed night: %s", PQerrorMessage(conn));
	else if (!report_run_blocking(conn, &app->models, night,
				      instance_name(), "schedule", false, &ran,
				      err, sizeof(err)))
		log_warning(CTX, "missed night: %s", err);
	else
		last_night_done = night;
	PQfinish(conn);
}

bool escalations_schedule_start(struct app *app)
{
	struct timeval tick = {SCHEDULE_TICK_SECONDS, 0};
	cal_date night;
	int hh, mm;

	if (!app->cfg.report_enabled)
		return true;
	if (sscanf(app->cfg.report_time, "%d:%d", &hh, &mm) != 2 || hh < 0 ||
	    hh > 23 || mm < 0 || mm > 59 ||
	    !escalations_latest_night(&app->cfg, now_millis(), &night)) {
		log_error(CTX, "report_time must be HH:MM and report_zone a "
			       "known time zone");
		return false;
	}
	schedule_timer =
		event_new(app->base, -1, EV_PERSIST, on_schedule_tick, app);
	event_add(schedule_timer, &tick);
	run_missed_night(app);
	return true;
}

void escalations_schedule_stop(void)
{
	if (schedule_timer != NULL)
		event_free(schedule_timer);
	schedule_timer = NULL;
}
