/*
 * GET /public/waiting-times: for patients (issue 14, seed 004), no token.
 * Per region, level and unit: the median and 90th-percentile wait of the
 * treatments started in the last 90 days, their number, and the number
 * waiting now; any figure drawn from fewer than 5 patients is null.
 *
 * Anyone may ask, so the answer is computed at most every
 * PUBLIC_MAX_AGE_S seconds, in the background: a request finds the last
 * answer (refreshing it behind when it is older), and only the very first
 * ones wait for it.  Cacheable by browsers and proxies (Cache-Control,
 * ETag, 304 on If-None-Match).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "sha256.h"
#include "stats_params.h"
#include "stats_public.h"
#include "store_stats.h"
#include "webfiles.h"

#define CTX		 "public"
#define PUBLIC_MAX_AGE_S 300
#define PUBLIC_MAX_AGE	 "public, max-age=300"
#define MIN_PATIENTS	 5
#define WINDOW_DAYS	 90
#define MAX_WAITERS	 256

struct refresh {
	struct app *app;
	struct db_conn *conn;
	struct stats_models models;
	char today[CAL_DATE_LEN];
};

struct cached {
	char *body;
	size_t len;
	char etag[WEBFILES_ETAG_LEN];
	time_t at;
};

static struct cached cache;
/* The refresh under way, if any. */
static struct refresh *refreshing;
/* Requests that came before the first answer existed. */
static struct request *waiters[MAX_WAITERS];
static int nwaiters;

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* A count, or null below the threshold. */
static json_t *count_or_null(json_t *v)
{
	json_int_t n = json_integer_value(v);

	return n >= MIN_PATIENTS ? json_integer(n) : json_null();
}

static json_t *figure_or_null(json_t *v, json_int_t drawn_from)
{
	return drawn_from >= MIN_PATIENTS && json_is_number(v)
		       ? json_real(json_number_value(v))
		       : json_null();
}

static json_t *public_row(json_t *u)
{
	json_int_t started =
		json_integer_value(json_object_get(u, "completed_90d"));

	return json_pack(
		"{s:O, s:O, s:O, s:o, s:o, s:o, s:o}", "region",
		json_object_get(u, "region"), "level",
		json_object_get(u, "level"), "unit", json_object_get(u, "unit"),
		"median_days",
		figure_or_null(json_object_get(u, "completed_median_days"),
			       started),
		"p90_days",
		figure_or_null(json_object_get(u, "completed_p90_days"),
			       started),
		"started", count_or_null(json_object_get(u, "completed_90d")),
		"waiting_now",
		count_or_null(json_object_get(u, "waiting_now")));
}

/* The public document from the waiting statistics' units (stolen). */
static char *public_body(json_t *units, const char *today)
{
	json_t *rows = json_array(), *u, *doc;
	char generated[32], *text;
	time_t t = time(NULL);
	struct tm tm;
	size_t i;

	json_array_foreach(units, i, u)
	{
		/* A wait without a named unit tells a patient nothing. */
		if (json_is_string(json_object_get(u, "unit")))
			json_array_append_new(rows, public_row(u));
	}
	gmtime_r(&t, &tm);
	strftime(generated, sizeof(generated), "%Y-%m-%dT%H:%M:%SZ", &tm);
	doc = json_pack("{s:s, s:s, s:i, s:i, s:o}", "generated_at", generated,
			"as_of", today, "window_days", WINDOW_DAYS,
			"min_patients", MIN_PATIENTS, "units", rows);
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10))
		   : NULL;
	json_decref(doc);
	json_decref(units);
	return text;
}

static void answer_one(struct request *r, struct reply *rep)
{
	request_add_header(r, "X-Content-Type-Options", "nosniff");
	request_add_header(r, "Access-Control-Allow-Origin", "*");
	rep->cache_control = PUBLIC_MAX_AGE;
	snprintf(rep->etag, sizeof(rep->etag), "%s", cache.etag);
	{
		struct webfile f = {.data = NULL};
		snprintf(f.etag, sizeof(f.etag), "%s", cache.etag);
		if (webfiles_etag_matches(&f,
					  request_header(r, "If-None-Match"))) {
			reply_text(rep, 304, "application/json", strdup(""), 0);
			return;
		}
	}
	reply_text(rep, 200, "application/json", strndup(cache.body, cache.len),
		   cache.len);
}

static void answer_waiters(void)
{
	for (int i = 0; i < nwaiters; i++) {
		struct reply rep;
		reply_init(&rep);
		if (cache.body != NULL)
			answer_one(waiters[i], &rep);
		else
			reply_error(&rep, ERR_UNAVAILABLE, NULL,
				    "the waiting times cannot be computed now");
		request_finish(waiters[i], &rep);
	}
	nwaiters = 0;
}

static void refresh_end(struct refresh *job, char *body)
{
	char hex[SHA256_HEX_LEN];

	if (body != NULL) {
		free(cache.body);
		cache.body = body;
		cache.len = strlen(body);
		sha256_hex(body, cache.len, hex);
		snprintf(cache.etag, sizeof(cache.etag), "\"%s\"", hex);
		cache.at = now_s();
	}
	if (job->conn != NULL)
		db_release(job->conn);
	stats_models_free(&job->models);
	free(job);
	refreshing = NULL;
	answer_waiters();
}

static void on_units(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct refresh *job = arg;
	json_t *units;

	(void)conn;
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error(CTX, "%s", PQresultErrorMessage(res[i]));
			return refresh_end(job, NULL);
		}
	if (n == 0)
		return refresh_end(job, NULL);
	units = json_loads(PQgetvalue(res[n - 1], 0, 0), 0, NULL);
	refresh_end(job, units ? public_body(units, job->today) : NULL);
}

static void on_lease(struct db_conn *conn, void *arg)
{
	struct refresh *job = arg;
	struct db_query q[2] = {{.sql = store_stats_sql[STATS_NO_JIT]},
				{.sql = store_stats_sql[STATS_WAITING],
				 .nparams = 11,
				 .params = {job->today}}};

	job->conn = conn;
	if (conn == NULL)
		return refresh_end(job, NULL);
	/* Every region, level and unit: $2..$6 stay NULL. */
	stats_models_params(&job->models, &q[1].params[6]);
	if (!db_send(conn, q, 2, on_units, job))
		refresh_end(job, NULL);
}

static void start_refresh(struct request *r)
{
	struct app *app = r->app;
	struct refresh *job;

	if (refreshing || (job = calloc(1, sizeof(*job))) == NULL)
		return;
	job->app = app;
	if (!stats_today(app, job->today) ||
	    !stats_models_init(&job->models, &app->models)) {
		stats_models_free(&job->models);
		free(job);
		return;
	}
	refreshing = job;
	db_acquire(app->read_pool ? app->read_pool : app->pool, on_lease, job);
}

enum handled public_waiting_get(struct request *r, struct reply *out)
{
	if (cache.body == NULL || now_s() - cache.at >= PUBLIC_MAX_AGE_S)
		start_refresh(r);
	if (cache.body != NULL) {
		answer_one(r, out);
		return HANDLED_NOW;
	}
	if (!refreshing || nwaiters == MAX_WAITERS)
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "the waiting times cannot be computed now");
	waiters[nwaiters++] = r;
	return HANDLED_LATER;
}

void stats_public_free(void)
{
	/* After the loop: a refresh still out lost its connection with the
	 * pool; what it owns goes here. */
	if (refreshing != NULL) {
		stats_models_free(&refreshing->models);
		free(refreshing);
	}
	refreshing = NULL;
	free(cache.body);
	memset(&cache, 0, sizeof(cache));
}
