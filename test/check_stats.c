/*
 * check_stats: the statistics' SQL (lib/store_stats.c) against a real
 * PostgreSQL with the real schema, on rows written here by hand, and the
 * figures computed by hand: medians and 90th percentiles (an even count,
 * ties, one wait, none), paused days left out of waits and reported
 * beside, days counted in each model's own time zone, the tiles' counts,
 * completed waits and their limits, retracted events, corrected ones (a
 * receipt, a start, a deadline) and pathways entered in error, the
 * deadlines window, the nightly summary giving the same answers as the
 * live derivation, and the reads reaching the transitions by indexes.
 *
 * percentile_cont interpolates between the two nearest ranks: over n
 * sorted values the p-th lies at position p * (n - 1), 0-based.
 *
 * Each test has regions of its own, so the tests share one cluster.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "harness.h"
#include "migrate.h"
#include "model.h"
#include "store_stats.h"
#include "suites.h"

static struct pg_instance pg;
static bool pg_ok;
static PGconn *conn;

/* Two of the real models and one of the test's own, far west, so that a
 * day in New York is another day in Oslo. */
static const char *const models[5] = {
	"{no,se-adult,xx}",
	"{Europe/Oslo,Europe/Stockholm,America/New_York}",
	"{deadline,days,days}",
	"{NULL,90,30}",
	"{\"\",\"clinic,centre\",\"\"}",
};

static void pg_setup(void)
{
	char err[512];
	int applied = 0;
	PGconn *c;

	memset(&pg, 0, sizeof(pg));
	pg_ok = harness_pg_start(&pg);
	if (!pg_ok)
		return;
	c = PQconnectdb(pg.conninfo);
	pg_ok = PQstatus(c) == CONNECTION_OK &&
		migrate_apply(c, PAINPATH_SOURCE_DIR "/schema", &applied, err,
			      sizeof(err));
	if (!pg_ok)
		fprintf(stderr, "stats: schema: %s\n", err);
	/* The zones the daemon would write at start. */
	PQclear(PQexec(c, "INSERT INTO stats_zones VALUES ('no', "
			  "'Europe/Oslo'), ('se-adult', 'Europe/Stockholm'), "
			  "('xx', 'America/New_York')"));
	PQfinish(c);
}

static void pg_teardown(void)
{
	if (pg.running)
		harness_pg_destroy(&pg);
	pg_ok = false;
}

static void conn_open(void)
{
	ck_assert_msg(pg_ok, "no PostgreSQL");
	conn = PQconnectdb(pg.conninfo);
	ck_assert_int_eq(PQstatus(conn), CONNECTION_OK);
}

static void conn_close(void)
{
	PQfinish(conn);
	conn = NULL;
}

static PGresult *run(const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK, "%s",
		      PQresultErrorMessage(res));
	return res;
}

/* --- writing rows ------------------------------------------------------ */

struct pw {
	const char *id, *model, *region, *phase;
	const char *unit;	 /* the referral's receiving unit */
	const char *received;	 /* ref_received_at, or NULL */
	const char *paused_days; /* finished paused days, "0" when NULL */
	const char *paused_on;	 /* paused now since, or NULL */
	const char *clocks;	 /* the clocks text, "" when NULL */
	const char *due[5];	 /* transit ... level_review */
	const char *own_unit;	 /* the pathway's unit, "gp-1" when NULL */
	const char *to_level;	 /* "clinic" when NULL */
};

static void pathway(const struct pw *p)
{
	const char *params[16] = {p->id,
				  p->model,
				  p->region,
				  p->phase ? p->phase : "waiting",
				  p->to_level ? p->to_level : "clinic",
				  p->unit,
				  p->received,
				  p->paused_days ? p->paused_days : "0",
				  p->paused_on,
				  p->clocks ? p->clocks : "",
				  p->due[0],
				  p->due[1],
				  p->due[2],
				  p->due[3],
				  p->due[4],
				  p->own_unit ? p->own_unit : "gp-1"};

	PQclear(run(
		"INSERT INTO pathways (pathway_id, patient_id, model, "
		"region, level, unit, phase, version, opened_at, "
		"updated_at, last_change_at, doc, ref_to_level, ref_unit, "
		"ref_received_at, ref_paused_days, ref_paused_on, clocks, "
		"due_transit, due_assessment, due_treatment, "
		"due_free_choice, due_level_review, next_due) VALUES ($1, "
		"$1 || '-patient', $2, $3, 'gp', $16, $4, 1, '2025-01-01Z', "
		"now(), now(), '{}', CASE WHEN $6::text IS NULL THEN NULL "
		"ELSE $5 END, $6, $7::timestamptz, $8::int, $9::date, $10, "
		"$11::date, $12::date, $13::date, $14::date, $15::date, "
		"least($11::date, $12::date, $13::date, $14::date, "
		"$15::date))",
		16, params));
}

/* How long ago the next transitions are recorded: before any build's
 * watermark unless a test says otherwise. */
static const char *recorded_ago = "1 hour";

static void transition(const char *pathway_id, int seq, const char *type,
		       const char *occurred_at, const char *data,
		       const char *event, const char *waited_since,
		       const char *paused_days, const char *corrects)
{
	char seq_text[16], event_id[160];
	const char *params[11];

	snprintf(seq_text, sizeof(seq_text), "%d", seq);
	snprintf(event_id, sizeof(event_id), "%s-%d", pathway_id, seq);
	params[0] = pathway_id;
	params[1] = seq_text;
	params[2] = event_id;
	params[3] = type;
	params[4] = occurred_at;
	params[5] = data ? data : "{}";
	params[6] = event ? event : "{}";
	params[7] = waited_since;
	params[8] = paused_days;
	params[9] = corrects;
	params[10] = recorded_ago;
	PQclear(run("INSERT INTO transitions (pathway_id, seq, event_id, type, "
		    "to_phase, from_level, to_level, unit, occurred_at, "
		    "recorded_at, data, event, response, waited_since, "
		    "paused_days, corrects) VALUES ($1, $2::int, $3, $4, "
		    "'active', 'gp', 'gp', 'gp-1', $5::timestamptz, now() - "
		    "$11::interval, $6, $7, '{}', $8::timestamptz, "
		    "$9::int, $10::int)",
		    11, params));
}

/* A referral to unit at to_level of pathway id, sent on sent and
 * received on received (seq 2, 3); the caller adds what follows. */
static void referral_sent(const char *id, const char *unit,
			  const char *to_level, const char *sent,
			  const char *received)
{
	char data[256];

	snprintf(data, sizeof(data), "{\"to_level\":\"%s\",\"to_unit\":\"%s\"}",
		 to_level, unit);
	transition(id, 1, "pathway.opened", "2025-01-01T08:00:00Z", NULL, NULL,
		   NULL, NULL, NULL);
	transition(id, 2, "referral.sent", sent, data, NULL, NULL, NULL, NULL);
	transition(id, 3, "referral.received", received, NULL, NULL, NULL, NULL,
		   NULL);
}

/* The same, sent and received at once. */
static void referral(const char *id, const char *unit, const char *to_level,
		     const char *received)
{
	referral_sent(id, unit, to_level, received, received);
}

/* An event.corrected of event number target of pathway id, recorded as
 * seq on on: the corrected occurred_at and data (a JSON object), each
 * NULL when not corrected. */
static void corrected(const char *id, int seq, int target, const char *on,
		      const char *at, const char *data)
{
	char body[512], at_member[96] = "", data_member[256] = "", t[16];

	if (at != NULL)
		snprintf(at_member, sizeof(at_member),
			 ",\"occurred_at\":\"%s\"", at);
	if (data != NULL)
		snprintf(data_member, sizeof(data_member), ",\"data\":%s",
			 data);
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-%d\",\"reason\":\"entered wrong\"%s%s}",
		 id, target, at_member, data_member);
	snprintf(t, sizeof(t), "%d", target);
	transition(id, seq, "event.corrected", on, body, NULL, NULL, NULL, t);
}

/* --- reading the statements --------------------------------------------- */

/* $1..$11 and the route's own $12. */
static PGresult *read_stats(enum stats_stmt id, const char *as_of,
			    const char *region, const char *extra, int n)
{
	const char *p[12] = {as_of,	region,	   NULL,      NULL,
			     NULL,	NULL,	   models[0], models[1],
			     models[2], models[3], models[4], extra};

	return run(store_stats_sql[id], n, p);
}

static json_t *stats_json(enum stats_stmt id, const char *as_of,
			  const char *region, const char *extra, int n)
{
	PGresult *res = read_stats(id, as_of, region, extra, n);
	json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);

	PQclear(res);
	ck_assert_ptr_nonnull(doc);
	return doc;
}

static json_t *unit_row(json_t *units, const char *unit)
{
	size_t i;
	json_t *u;

	json_array_foreach(units, i, u)
	{
		if (json_is_string(json_object_get(u, "unit")) &&
		    strcmp(json_string_value(json_object_get(u, "unit")),
			   unit) == 0)
			return u;
	}
	ck_abort_msg("no row for unit %s", unit);
	return NULL;
}

/* A number member equals want (within rounding); want NAN: null. */
static void number_is(json_t *obj, const char *key, double want)
{
	json_t *v = json_object_get(obj, key);

	if (want != want) {
		ck_assert_msg(json_is_null(v), "%s is not null", key);
		return;
	}
	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	ck_assert_msg(json_number_value(v) > want - 0.00001 &&
			      json_number_value(v) < want + 0.00001,
		      "%s is %g, not %g", key, json_number_value(v), want);
}

#define NONE (0.0 / 0.0)

/* ---------------------------------------------------------------------- */

/* Waits (days before 2026-03-12, received at noon UTC): an even count,
 * ties, a single wait; in one region. */
static void seed_percentiles(const char *region)
{
	static const struct {
		const char *unit;
		const char *received;
	} rows[] = {
		{"u-even", "2026-03-10T12:00:00Z"}, /* 2 */
		{"u-even", "2026-03-08T12:00:00Z"}, /* 4 */
		{"u-even", "2026-03-06T12:00:00Z"}, /* 6 */
		{"u-even", "2026-03-04T12:00:00Z"}, /* 8 */
		{"u-ties", "2026-03-07T12:00:00Z"}, /* 5 */
		{"u-ties", "2026-03-07T12:00:00Z"}, /* 5 */
		{"u-ties", "2026-03-07T12:00:00Z"}, /* 5 */
		{"u-ties", "2026-03-02T12:00:00Z"}, /* 10 */
		{"u-one", "2026-03-05T12:00:00Z"},  /* 7 */
	};
	char id[32];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(id, sizeof(id), "%s-%zu", region, i);
		pathway(&(struct pw){.id = id,
				     .model = "se-adult",
				     .region = region,
				     .unit = rows[i].unit,
				     .received = rows[i].received});
	}
}

START_TEST(test_wait_percentiles)
{
	json_t *units;

	seed_percentiles("pct");
	units = stats_json(STATS_WAITING, "2026-03-12", "pct", NULL, 11);
	ck_assert_int_eq(json_array_size(units), 3);
	/* 2 4 6 8: the median halfway between 4 and 6; the 90th at 2.7,
	 * 6 + 0.7 * 2. */
	number_is(unit_row(units, "u-even"), "waiting_now", 4);
	number_is(unit_row(units, "u-even"), "waiting_now_median_days", 5);
	number_is(unit_row(units, "u-even"), "waiting_now_p90_days", 7.4);
	/* 5 5 5 10: ties hold the median; the 90th at 2.7, 5 + 0.7 * 5. */
	number_is(unit_row(units, "u-ties"), "waiting_now_median_days", 5);
	number_is(unit_row(units, "u-ties"), "waiting_now_p90_days", 8.5);
	/* One wait is its own median and 90th percentile. */
	number_is(unit_row(units, "u-one"), "waiting_now", 1);
	number_is(unit_row(units, "u-one"), "waiting_now_median_days", 7);
	number_is(unit_row(units, "u-one"), "waiting_now_p90_days", 7);
	json_decref(units);
}
END_TEST

START_TEST(test_histogram)
{
	PGresult *res;
	json_t *bands;

	seed_percentiles("hist");
	res = read_stats(STATS_HISTOGRAM, "2026-03-12", "hist", NULL, 12);
	/* All nine: 2 4 5 5 5 6 7 8 10; the median the fifth, the 90th at
	 * 7.2: 8 + 0.2 * 2. */
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "9");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "5");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "8.4");
	bands = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
	ck_assert_int_eq(json_array_size(bands), 2);
	number_is(json_array_get(bands, 0), "from_days", 0);
	number_is(json_array_get(bands, 0), "to_days", 6);
	number_is(json_array_get(bands, 0), "count", 6);
	number_is(json_array_get(bands, 1), "from_days", 7);
	number_is(json_array_get(bands, 1), "count", 3);
	json_decref(bands);
	PQclear(res);
}
END_TEST

START_TEST(test_wait_none)
{
	json_t *units =
		stats_json(STATS_WAITING, "2026-03-12", "empty", NULL, 11);
	PGresult *res;

	ck_assert_int_eq(json_array_size(units), 0);
	json_decref(units);
	res = read_stats(STATS_HISTOGRAM, "2026-03-12", "empty", NULL, 12);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
	ck_assert(PQgetisnull(res, 0, 2));
	ck_assert(PQgetisnull(res, 0, 3));
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "[]");
	PQclear(res);
}
END_TEST

/* 20 days since receipt, 5 of them paused: a pause that ended (5 days),
 * and one of 2 days that ended and one running since 3 days. */
START_TEST(test_paused_excluded)
{
	json_t *units, *u;

	pathway(&(struct pw){.id = "pz-1",
			     .model = "se-adult",
			     .region = "paused",
			     .unit = "u-p",
			     .received = "2026-02-20T12:00:00Z",
			     .paused_days = "5"});
	pathway(&(struct pw){.id = "pz-2",
			     .model = "se-adult",
			     .region = "paused",
			     .unit = "u-p",
			     .received = "2026-02-20T12:00:00Z",
			     .paused_days = "2",
			     .paused_on = "2026-03-09"});
	units = stats_json(STATS_WAITING, "2026-03-12", "paused", NULL, 11);
	u = unit_row(units, "u-p");
	number_is(u, "waiting_now", 2);
	number_is(u, "waiting_now_median_days", 15);
	number_is(u, "waiting_now_p90_days", 15);
	number_is(u, "paused_now", 1);
	number_is(u, "paused_days", 10);
	json_decref(units);
}
END_TEST

/* The same instant is another day in New York than in Oslo: each
 * pathway's wait is counted in its model's zone. */
START_TEST(test_time_zones)
{
	json_t *units;

	/* 23:30 UTC on 1 March is 00:30 on 2 March in Oslo: 10 days. */
	pathway(&(struct pw){.id = "tz-no",
			     .model = "no",
			     .region = "zones",
			     .unit = "u-oslo",
			     .received = "2026-03-01T23:30:00Z"});
	/* 03:00 UTC on 2 March is 22:00 on 1 March in New York: 11. */
	pathway(&(struct pw){.id = "tz-xx",
			     .model = "xx",
			     .region = "zones",
			     .unit = "u-ny",
			     .received = "2026-03-02T03:00:00Z"});
	units = stats_json(STATS_WAITING, "2026-03-12", "zones", NULL, 11);
	number_is(unit_row(units, "u-oslo"), "waiting_now_median_days", 10);
	number_is(unit_row(units, "u-ny"), "waiting_now_median_days", 11);
	json_decref(units);
	/* Summer time begins in Oslo at 01:00 UTC on 29 March 2026: 22:30
	 * UTC that day is 00:30 on the 30th (UTC+2); 23:30 UTC on the 28th
	 * is 00:30 on the 29th (UTC+1).  On 8 April: 9 and 10 days. */
	pathway(&(struct pw){.id = "tz-dst-1",
			     .model = "no",
			     .region = "dst",
			     .unit = "u-dst-1",
			     .received = "2026-03-29T22:30:00Z"});
	pathway(&(struct pw){.id = "tz-dst-2",
			     .model = "no",
			     .region = "dst",
			     .unit = "u-dst-2",
			     .received = "2026-03-28T23:30:00Z"});
	units = stats_json(STATS_WAITING, "2026-04-08", "dst", NULL, 11);
	number_is(unit_row(units, "u-dst-1"), "waiting_now_median_days", 9);
	number_is(unit_row(units, "u-dst-2"), "waiting_now_median_days", 10);
	json_decref(units);
}
END_TEST

/* Tiles: running clocks by model and rule, overdue the ones due before
 * as_of, paused ones apart (not running, not overdue). */
START_TEST(test_clocks)
{
	const char *p[6] = {"2026-03-12", "clocks", NULL, NULL, NULL, NULL};
	PGresult *res;

	pathway(&(struct pw){.id = "ck-1",
			     .model = "se-adult",
			     .region = "clocks",
			     .unit = "u-c",
			     .received = "2026-01-01T12:00:00Z",
			     .due = {NULL, NULL, "2026-03-11"}});
	pathway(&(struct pw){.id = "ck-2",
			     .model = "se-adult",
			     .region = "clocks",
			     .unit = "u-c",
			     .received = "2026-02-01T12:00:00Z",
			     .due = {NULL, NULL, "2026-03-17"}});
	pathway(&(struct pw){.id = "ck-3",
			     .model = "se-adult",
			     .region = "clocks",
			     .unit = "u-c",
			     .received = "2026-02-01T12:00:00Z",
			     .paused_on = "2026-03-01",
			     .clocks = "treatment 2026-05-02 1769947200000 "
				       "2026-03-01 patient_requested 0 0"});
	pathway(&(struct pw){.id = "ck-4",
			     .model = "no",
			     .region = "clocks",
			     .unit = "u-c",
			     .received = "2026-03-10T12:00:00Z",
			     .due = {NULL, "2026-03-13"}});
	pathway(&(struct pw){.id = "ck-5",
			     .model = "no",
			     .region = "clocks",
			     .phase = "active",
			     .own_unit = "gp-9",
			     .due = {NULL, NULL, NULL, NULL, "2026-03-01"}});
	res = run(store_stats_sql[STATS_CLOCKS], 6, p);
	ck_assert_int_eq(PQntuples(res), 3);
	/* no/assessment: 1 running, none overdue. */
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "assessment");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "1");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "0");
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "1.0000");
	/* no/level_review: due before as_of. */
	ck_assert_str_eq(PQgetvalue(res, 1, 1), "level_review");
	ck_assert_str_eq(PQgetvalue(res, 1, 3), "1");
	ck_assert_str_eq(PQgetvalue(res, 1, 5), "0.0000");
	/* se-adult/treatment: 2 running, 1 overdue, 1 paused. */
	ck_assert_str_eq(PQgetvalue(res, 2, 0), "se-adult");
	ck_assert_str_eq(PQgetvalue(res, 2, 2), "2");
	ck_assert_str_eq(PQgetvalue(res, 2, 3), "1");
	ck_assert_str_eq(PQgetvalue(res, 2, 4), "1");
	ck_assert_str_eq(PQgetvalue(res, 2, 5), "0.5000");
	PQclear(res);
	/* The level review is counted under the pathway's own unit. */
	p[3] = "gp-9";
	res = run(store_stats_sql[STATS_CLOCKS], 6, p);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "level_review");
	PQclear(res);
}
END_TEST

/*
 * Completed waits, from the transitions: Norway against the deadline set
 * on acceptance, Sweden against 90 days at a clinic (and no limit for a
 * team), paused days left out; a retracted start does not count.
 */
static void seed_completed(const char *region)
{
	char id[64];

	/* no: received 1 Feb, deadline 10 Mar, started 5 Mar, 3 days
	 * paused: 32 - 3 = 29 days, within. */
	snprintf(id, sizeof(id), "%s-no", region);
	pathway(&(struct pw){
		.id = id, .model = "no", .region = region, .phase = "active"});
	referral(id, "u-no", "clinic", "2026-02-01T09:00:00Z");
	transition(id, 4, "referral.accepted", "2026-02-03T09:00:00Z",
		   "{\"deadline\":\"2026-03-10\"}", NULL, NULL, NULL, NULL);
	transition(id, 5, "treatment.started", "2026-03-05T09:00:00Z", NULL,
		   NULL, "2026-02-01T09:00:00Z", "3", NULL);
	/* se-adult at a clinic: 2 Dec to 5 Mar, 93 days: over 90. */
	snprintf(id, sizeof(id), "%s-se", region);
	pathway(&(struct pw){.id = id,
			     .model = "se-adult",
			     .region = region,
			     .phase = "active"});
	referral(id, "u-se", "clinic", "2025-12-02T09:00:00Z");
	transition(id, 4, "referral.accepted", "2025-12-03T09:00:00Z", NULL,
		   NULL, NULL, NULL, NULL);
	transition(id, 5, "treatment.started", "2026-03-05T09:00:00Z", NULL,
		   NULL, "2025-12-02T09:00:00Z", "0", NULL);
	/* se-adult to a team: 10 days, no limit applies. */
	snprintf(id, sizeof(id), "%s-team", region);
	pathway(&(struct pw){.id = id,
			     .model = "se-adult",
			     .region = region,
			     .phase = "active"});
	referral(id, "u-se", "team", "2026-02-23T09:00:00Z");
	transition(id, 4, "referral.accepted", "2026-02-24T09:00:00Z", NULL,
		   NULL, NULL, NULL, NULL);
	transition(id, 5, "treatment.started", "2026-03-05T09:00:00Z", NULL,
		   NULL, "2026-02-23T09:00:00Z", "0", NULL);
	/* A start retracted afterwards. */
	snprintf(id, sizeof(id), "%s-gone", region);
	pathway(&(struct pw){.id = id,
			     .model = "se-adult",
			     .region = region,
			     .phase = "active"});
	referral(id, "u-se", "clinic", "2026-02-01T09:00:00Z");
	transition(id, 4, "referral.accepted", "2026-02-02T09:00:00Z", NULL,
		   NULL, NULL, NULL, NULL);
	transition(id, 5, "treatment.started", "2026-03-02T09:00:00Z", NULL,
		   NULL, "2026-02-01T09:00:00Z", "0", NULL);
	transition(id, 6, "event.retracted", "2026-03-03T09:00:00Z", NULL, NULL,
		   NULL, NULL, "5");
}

START_TEST(test_completed_waits)
{
	json_t *units, *u;

	seed_completed("done");
	units = stats_json(STATS_WAITING, "2026-03-12", "done", NULL, 11);
	u = unit_row(units, "u-no");
	number_is(u, "completed_90d", 1);
	number_is(u, "completed_median_days", 29);
	number_is(u, "completed_within_limit_share", 1);
	/* The clinic's 93 days (over) and the team's 10 (no limit). */
	ck_assert_int_eq(json_array_size(units), 3);
	u = NULL;
	for (size_t i = 0; i < json_array_size(units); i++) {
		json_t *r = json_array_get(units, i);
		if (strcmp(json_string_value(json_object_get(r, "level")),
			   "clinic") == 0 &&
		    strcmp(json_string_value(json_object_get(r, "unit")),
			   "u-se") == 0)
			u = r;
	}
	ck_assert_ptr_nonnull(u);
	number_is(u, "completed_90d", 1);
	number_is(u, "completed_median_days", 93);
	number_is(u, "completed_within_limit_share", 0);
	json_decref(units);
}
END_TEST

/* The flow counts the receipts, acceptances and starts by ISO week. */
START_TEST(test_flow)
{
	json_t *weeks, *w;

	seed_completed("flow");
	weeks = stats_json(STATS_FLOW, "2026-03-12", "flow", "2", 12);
	ck_assert_int_eq(json_array_size(weeks), 2);
	/* Week 10 (2-8 March): three starts, the retracted one not. */
	w = json_array_get(weeks, 0);
	ck_assert_str_eq(json_string_value(json_object_get(w, "week")),
			 "2026-W10");
	ck_assert_str_eq(json_string_value(json_object_get(w, "from")),
			 "2026-03-02");
	number_is(w, "started", 3);
	number_is(w, "received", 0);
	json_decref(weeks);
	weeks = stats_json(STATS_FLOW, "2026-03-01", "flow", "1", 12);
	/* Week 9 (23 Feb-1 Mar): the team's receipt and acceptance. */
	w = json_array_get(weeks, 0);
	number_is(w, "received", 1);
	number_is(w, "accepted", 1);
	json_decref(weeks);
}
END_TEST

/* The statement's JSON text, without the members named in drop (who
 * waited at the end of a past month is known only from a summary). */
static char *text_of(enum stats_stmt id, const char *as_of, const char *region,
		     const char *extra, int n, const char *drop)
{
	PGresult *res = read_stats(id, as_of, region, extra, n);
	json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL), *v;
	char *text;
	size_t i;

	ck_assert_ptr_nonnull(doc);
	json_array_foreach(doc, i, v)
	{
		if (drop != NULL)
			json_object_del(v, drop);
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	PQclear(res);
	return text;
}

static void build(const char *cutoff)
{
	const char *p[7] = {cutoff,    models[0], models[1],	models[2],
			    models[3], models[4], "check_stats"};

	PQclear(run("BEGIN", 0, NULL));
	PQclear(run(store_stats_sql[STATS_BUILD_CLEAR], 0, NULL));
	PQclear(run(store_stats_sql[STATS_BUILD], 7, p));
	PQclear(run("COMMIT", 0, NULL));
}

/*
 * Who waited at each month's end: a wait from 15 January to 10 March
 * (ended by its start) at the ends of January and February; one from 20
 * February still open at the ends of February and March, and now.  Every
 * other figure is the same before the nightly build (all derived live)
 * and after it (the months before the cutoff's from the summary); who
 * waited at a past month's end, and what started in a month before
 * as_of's, are known from the summary only.
 */
START_TEST(test_trend_and_summary)
{
	const char *as_of = "2026-04-15";
	char *before[3], *after[3];
	json_t *months, *m;

	pathway(&(struct pw){.id = "tr-1",
			     .model = "se-adult",
			     .region = "trend",
			     .phase = "active"});
	referral("tr-1", "u-t", "clinic", "2026-01-15T09:00:00Z");
	transition("tr-1", 4, "referral.accepted", "2026-01-16T09:00:00Z", NULL,
		   NULL, NULL, NULL, NULL);
	transition("tr-1", 5, "treatment.started", "2026-03-10T09:00:00Z", NULL,
		   NULL, "2026-01-15T09:00:00Z", "0", NULL);
	pathway(&(struct pw){.id = "tr-2",
			     .model = "se-adult",
			     .region = "trend",
			     .unit = "u-t",
			     .received = "2026-02-20T09:00:00Z"});
	referral("tr-2", "u-t", "clinic", "2026-02-20T09:00:00Z");

	before[0] =
		text_of(STATS_TREND, as_of, "trend", "1", 12, "waiting_at_end");
	before[1] = text_of(STATS_FLOW, as_of, "trend", "12", 12, NULL);
	before[2] =
		text_of(STATS_WAITING, "2026-03-20", "trend", NULL, 11, NULL);
	build("2026-04-15");
	after[0] =
		text_of(STATS_TREND, as_of, "trend", "1", 12, "waiting_at_end");
	after[1] = text_of(STATS_FLOW, as_of, "trend", "12", 12, NULL);
	after[2] =
		text_of(STATS_WAITING, "2026-03-20", "trend", NULL, 11, NULL);

	months = stats_json(STATS_TREND, as_of, "trend", "4", 12);
	ck_assert_int_eq(json_array_size(months), 4);
	m = json_array_get(months, 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "month")),
			 "2026-01");
	number_is(m, "waiting_at_end", 1);
	number_is(json_array_get(months, 1), "waiting_at_end", 2);
	m = json_array_get(months, 2);
	number_is(m, "waiting_at_end", 1);
	/* March's start: 15 Jan to 10 Mar, 54 days, within 90. */
	number_is(m, "started", 1);
	number_is(m, "median_days", 54);
	number_is(m, "within_limit_share", 1);
	/* April ends now: who waits is counted from the pathways. */
	number_is(json_array_get(months, 3), "waiting_at_end", 1);
	json_decref(months);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(before[i], after[i]);
		free(before[i]);
		free(after[i]);
	}
}
END_TEST

/*
 * An addition to the summary: after a build (made as if two hours ago),
 * events recorded an hour ago are derived live; once added, they come
 * from the summary, with the same answers, and the watermark has moved.
 */
START_TEST(test_summary_addition)
{
	const char *m5[5] = {models[0], models[1], models[2], models[3],
			     models[4]};
	char *before[3], *after[3];
	PGresult *res;

	recorded_ago = "3 hours";
	seed_completed("add1");
	build("2026-04-15");
	PQclear(run("UPDATE stats_build SET recorded_before = now() - "
		    "interval '2 hours'",
		    0, NULL));
	recorded_ago = "1 hour";
	seed_completed("add2");
	before[0] =
		text_of(STATS_WAITING, "2026-03-12", "add2", NULL, 11, NULL);
	before[1] = text_of(STATS_FLOW, "2026-03-12", "add2", "4", 12, NULL);
	before[2] = text_of(STATS_TREND, "2026-03-12", "add2", "3", 12,
			    "waiting_at_end");
	PQclear(run("BEGIN", 0, NULL));
	res = run(store_stats_sql[STATS_BUILD_ADD], 5, m5);
	/* Days of the new events, and their months before April's. */
	ck_assert_int_gt(atoi(PQgetvalue(res, 0, 0)), 0);
	ck_assert_int_gt(atoi(PQgetvalue(res, 0, 1)), 0);
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "1");
	PQclear(res);
	PQclear(run("COMMIT", 0, NULL));
	after[0] = text_of(STATS_WAITING, "2026-03-12", "add2", NULL, 11, NULL);
	after[1] = text_of(STATS_FLOW, "2026-03-12", "add2", "4", 12, NULL);
	after[2] = text_of(STATS_TREND, "2026-03-12", "add2", "3", 12,
			   "waiting_at_end");
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(before[i], after[i]);
		free(before[i]);
		free(after[i]);
	}
	res = run("SELECT count(*) FROM stats_days WHERE region = 'add2'", 0,
		  NULL);
	ck_assert_int_gt(atoi(PQgetvalue(res, 0, 0)), 0);
	PQclear(res);
	/* The first region's rows were not counted twice. */
	res = run("SELECT sum(started) FROM stats_days WHERE region = 'add1'",
		  0, NULL);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "3");
	PQclear(res);
}
END_TEST

/* --- corrections (issue 12) ---------------------------------------------- */

/* The events written since are derived live: a build's watermark (if
 * one ran) is put before them. */
static void derive_live(void)
{
	PQclear(run("UPDATE stats_build SET recorded_before = now() - "
		    "interval '2 hours'",
		    0, NULL));
}

/* The week of weeks (oldest first) that begins on monday. */
static json_t *week_of(json_t *weeks, const char *monday)
{
	size_t i;
	json_t *w;

	json_array_foreach(weeks, i, w)
	{
		if (strcmp(json_string_value(json_object_get(w, "from")),
			   monday) == 0)
			return w;
	}
	ck_abort_msg("no week from %s", monday);
	return NULL;
}

/* The one value a query answers, as text. */
static void sql_is(const char *sql, const char *want)
{
	PGresult *res = run(sql, 0, NULL);

	ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), want) == 0,
		      "%s: %s, not %s", sql, PQgetvalue(res, 0, 0), want);
	PQclear(res);
}

/*
 * Receipts corrected, se-adult (Stockholm), at two clinics:
 *   u-late: received 10 Feb, started 5 Mar (23 days as recorded); after
 *     the start the receipt is corrected twice, first to 21 January, then
 *     to 20:30 on 26 January at -05:00, which is 02:30 on 27 January in
 *     Stockholm, and last its data alone: the wait is 27 January to 5
 *     March, 37 days, and the receipt moves from week 7 (9-15 Feb) to
 *     week 5 (26 Jan - 1 Feb), so that it also waited at January's end.
 *   u-early: received 4 Feb, corrected to 2 Feb before the start, which
 *     then recorded the corrected receipt as its waited_since: 2 Feb to
 *     4 Mar, 30 days (not moved twice).
 */
static void seed_receipts_corrected(const char *region)
{
	char id[64];

	snprintf(id, sizeof(id), "%s-late", region);
	pathway(&(struct pw){.id = id,
			     .model = "se-adult",
			     .region = region,
			     .phase = "active"});
	referral_sent(id, "u-late", "clinic", "2026-01-20T09:00:00Z",
		      "2026-02-10T09:00:00Z");
	transition(id, 4, "referral.accepted", "2026-02-11T09:00:00Z", NULL,
		   NULL, NULL, NULL, NULL);
	transition(id, 5, "treatment.started", "2026-03-05T09:00:00Z", NULL,
		   NULL, "2026-02-10T09:00:00Z", "0", NULL);
	corrected(id, 6, 3, "2026-03-06T09:00:00Z", "2026-01-21T09:00:00Z",
		  NULL);
	corrected(id, 7, 3, "2026-03-06T10:00:00Z", "2026-01-26T20:30:00-05:00",
		  NULL);
	corrected(id, 8, 3, "2026-03-06T11:00:00Z", NULL, "{}");
	snprintf(id, sizeof(id), "%s-early", region);
	pathway(&(struct pw){.id = id,
			     .model = "se-adult",
			     .region = region,
			     .phase = "active"});
	referral_sent(id, "u-early", "clinic", "2026-01-26T09:00:00Z",
		      "2026-02-04T09:00:00Z");
	corrected(id, 4, 3, "2026-02-04T10:00:00Z", "2026-02-02T09:00:00+01:00",
		  NULL);
	transition(id, 5, "referral.accepted", "2026-02-05T09:00:00Z", NULL,
		   NULL, NULL, NULL, NULL);
	transition(id, 6, "treatment.started", "2026-03-04T09:00:00Z", NULL,
		   NULL, "2026-02-02T08:00:00Z", "0", NULL);
}

/* The figures of seed_receipts_corrected on 12 March, live or from the
 * summary. */
static void receipts_corrected_figures(const char *region)
{
	json_t *doc, *w;

	doc = stats_json(STATS_WAITING, "2026-03-12", region, NULL, 11);
	ck_assert_int_eq(json_array_size(doc), 2);
	number_is(unit_row(doc, "u-late"), "completed_90d", 1);
	number_is(unit_row(doc, "u-late"), "completed_median_days", 37);
	number_is(unit_row(doc, "u-late"), "completed_within_limit_share", 1);
	number_is(unit_row(doc, "u-early"), "completed_median_days", 30);
	json_decref(doc);
	doc = stats_json(STATS_FLOW, "2026-03-12", region, "8", 12);
	ck_assert_int_eq(json_array_size(doc), 8);
	w = week_of(doc, "2026-01-26");
	ck_assert_str_eq(json_string_value(json_object_get(w, "week")),
			 "2026-W05");
	number_is(w, "received", 1);
	number_is(week_of(doc, "2026-02-02"), "received", 1);
	number_is(week_of(doc, "2026-02-09"), "received", 0);
	number_is(week_of(doc, "2026-02-09"), "accepted", 1);
	number_is(week_of(doc, "2026-03-02"), "started", 2);
	json_decref(doc);
	/* March: 30 and 37 days, the median halfway. */
	doc = stats_json(STATS_TREND, "2026-03-12", region, "1", 12);
	number_is(json_array_get(doc, 0), "started", 2);
	number_is(json_array_get(doc, 0), "median_days", 33.5);
	json_decref(doc);
}

START_TEST(test_receipt_corrected)
{
	json_t *months;

	seed_receipts_corrected("crcv");
	derive_live();
	receipts_corrected_figures("crcv");
	build("2026-04-15");
	receipts_corrected_figures("crcv");
	/* Who waited at the ends of January (the corrected receipt) and
	 * February (both), from the summary. */
	months = stats_json(STATS_TREND, "2026-03-12", "crcv", "3", 12);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(months, 0), "month")),
			 "2026-01");
	number_is(json_array_get(months, 0), "waiting_at_end", 1);
	number_is(json_array_get(months, 1), "waiting_at_end", 2);
	json_decref(months);
	sql_is("SELECT string_agg(day::text, ',' ORDER BY day) FROM "
	       "stats_days WHERE "
	       "region = 'crcv' AND received > 0",
	       "2026-01-27,2026-02-02");
}
END_TEST

/*
 * Treatment starts corrected:
 *   u-se (se-adult, 90 days at a clinic): received 5 January, started 20
 *     April as recorded (105 days, over); corrected to 05:00 on 31 March
 *     at +20:00 (an offset timestamptz input refuses), 09:00 UTC on 30
 *     March: 84 days, within, in week 14 (30 Mar - 5 Apr) and March.
 *   u-no (Norway): received 1 February, started 5 March, 32 days; the
 *     acceptance's deadline corrected from 1 to 10 March: within.
 */
static void seed_starts_corrected(const char *region)
{
	char id[64];

	snprintf(id, sizeof(id), "%s-se", region);
	pathway(&(struct pw){.id = id,
			     .model = "se-adult",
			     .region = region,
			     .phase = "active"});
	referral_sent(id, "u-se", "clinic", "2026-01-02T09:00:00Z",
		      "2026-01-05T09:00:00Z");
	transition(id, 4, "referral.accepted", "2026-01-06T09:00:00Z", NULL,
		   NULL, NULL, NULL, NULL);
	transition(id, 5, "treatment.started", "2026-04-20T09:00:00Z", NULL,
		   NULL, "2026-01-05T09:00:00Z", "0", NULL);
	corrected(id, 6, 5, "2026-04-21T09:00:00Z", "2026-03-31T05:00:00+20:00",
		  NULL);
	snprintf(id, sizeof(id), "%s-no", region);
	pathway(&(struct pw){
		.id = id, .model = "no", .region = region, .phase = "active"});
	referral_sent(id, "u-no", "clinic", "2026-01-30T09:00:00Z",
		      "2026-02-01T09:00:00Z");
	transition(id, 4, "referral.accepted", "2026-02-03T09:00:00Z",
		   "{\"deadline\":\"2026-03-01\"}", NULL, NULL, NULL, NULL);
	transition(id, 5, "treatment.started", "2026-03-05T09:00:00Z", NULL,
		   NULL, "2026-02-01T09:00:00Z", "0", NULL);
	corrected(id, 6, 4, "2026-03-06T09:00:00Z", NULL,
		  "{\"deadline\":\"2026-03-10\"}");
}

/* Its figures on 25 April, live or from the summary. */
static void starts_corrected_figures(const char *region)
{
	json_t *doc;

	doc = stats_json(STATS_WAITING, "2026-04-25", region, NULL, 11);
	number_is(unit_row(doc, "u-se"), "completed_90d", 1);
	number_is(unit_row(doc, "u-se"), "completed_median_days", 84);
	number_is(unit_row(doc, "u-se"), "completed_within_limit_share", 1);
	number_is(unit_row(doc, "u-no"), "completed_median_days", 32);
	number_is(unit_row(doc, "u-no"), "completed_within_limit_share", 1);
	json_decref(doc);
	doc = stats_json(STATS_FLOW, "2026-04-25", region, "8", 12);
	number_is(week_of(doc, "2026-03-02"), "started", 1);
	number_is(week_of(doc, "2026-03-30"), "started", 1);
	number_is(week_of(doc, "2026-04-20"), "started", 0);
	json_decref(doc);
}

START_TEST(test_start_corrected)
{
	json_t *months, *m;

	seed_starts_corrected("cstart");
	derive_live();
	starts_corrected_figures("cstart");
	build("2026-04-15");
	starts_corrected_figures("cstart");
	/* March from the summary: 32 and 84 days, both within; none in
	 * April. */
	months = stats_json(STATS_TREND, "2026-04-25", "cstart", "2", 12);
	m = json_array_get(months, 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "month")),
			 "2026-03");
	number_is(m, "started", 2);
	number_is(m, "median_days", 58);
	number_is(m, "within_limit_share", 1);
	number_is(json_array_get(months, 1), "started", 0);
	json_decref(months);
}
END_TEST

/* Pathway id's opening retracted as seq on on: the pathway as the daemon
 * then stores it, closed and entered in error. */
static void entered_in_error(const char *id, int seq, const char *on)
{
	char sql[256];

	transition(id, seq, "event.retracted", on,
		   "{\"event_id\":\"x\",\"reason\":\"wrong patient\"}", NULL,
		   NULL, NULL, "1");
	snprintf(sql, sizeof(sql),
		 "UPDATE pathways SET phase = 'closed', closed_at = '%s', "
		 "close_reason = 'entered_in_error' WHERE pathway_id = '%s'",
		 on, id);
	PQclear(run(sql, 0, NULL));
}

/*
 * Pathways entered in error count nowhere; at u-e (se-adult):
 *   eie-ok: received 2 Feb, started 2 Mar: 28 days.
 *   eie-done: received 3 Feb, started 9 Mar (34 days), then entered in
 *     error.
 *   eie-open: received 16 Feb, entered in error while waiting.
 */
static void seed_entered_in_error(void)
{
	pathway(&(struct pw){.id = "eie-ok",
			     .model = "se-adult",
			     .region = "eie",
			     .phase = "active"});
	referral_sent("eie-ok", "u-e", "clinic", "2026-01-28T09:00:00Z",
		      "2026-02-02T09:00:00Z");
	transition("eie-ok", 4, "referral.accepted", "2026-02-03T09:00:00Z",
		   NULL, NULL, NULL, NULL, NULL);
	transition("eie-ok", 5, "treatment.started", "2026-03-02T09:00:00Z",
		   NULL, NULL, "2026-02-02T09:00:00Z", "0", NULL);
	pathway(&(struct pw){.id = "eie-done",
			     .model = "se-adult",
			     .region = "eie",
			     .phase = "active"});
	referral_sent("eie-done", "u-e", "clinic", "2026-01-28T09:00:00Z",
		      "2026-02-03T09:00:00Z");
	transition("eie-done", 4, "referral.accepted", "2026-02-04T09:00:00Z",
		   NULL, NULL, NULL, NULL, NULL);
	transition("eie-done", 5, "treatment.started", "2026-03-09T09:00:00Z",
		   NULL, NULL, "2026-02-03T09:00:00Z", "0", NULL);
	entered_in_error("eie-done", 6, "2026-03-10T09:00:00Z");
	pathway(&(struct pw){.id = "eie-open",
			     .model = "se-adult",
			     .region = "eie",
			     .phase = "assessing"});
	referral_sent("eie-open", "u-e", "clinic", "2026-02-10T09:00:00Z",
		      "2026-02-16T09:00:00Z");
	entered_in_error("eie-open", 4, "2026-03-10T09:00:00Z");
}

/* Its figures on 12 March, live or from the summary: eie-ok's alone. */
static void entered_in_error_figures(void)
{
	json_t *doc, *u;

	doc = stats_json(STATS_WAITING, "2026-03-12", "eie", NULL, 11);
	ck_assert_int_eq(json_array_size(doc), 1);
	u = unit_row(doc, "u-e");
	number_is(u, "waiting_now", 0);
	number_is(u, "completed_90d", 1);
	number_is(u, "completed_median_days", 28);
	json_decref(doc);
	doc = stats_json(STATS_FLOW, "2026-03-12", "eie", "6", 12);
	number_is(week_of(doc, "2026-02-02"), "received", 1);
	number_is(week_of(doc, "2026-02-02"), "accepted", 1);
	number_is(week_of(doc, "2026-02-16"), "received", 0);
	number_is(week_of(doc, "2026-03-02"), "started", 1);
	number_is(week_of(doc, "2026-03-09"), "started", 0);
	json_decref(doc);
	doc = stats_json(STATS_TREND, "2026-03-12", "eie", "1", 12);
	number_is(json_array_get(doc, 0), "started", 1);
	number_is(json_array_get(doc, 0), "median_days", 28);
	number_is(json_array_get(doc, 0), "waiting_at_end", 0);
	json_decref(doc);
}

START_TEST(test_entered_in_error)
{
	json_t *months;

	seed_entered_in_error();
	derive_live();
	entered_in_error_figures();
	build("2026-04-15");
	entered_in_error_figures();
	/* At February's end eie-ok alone waited. */
	months = stats_json(STATS_TREND, "2026-03-12", "eie", "2", 12);
	number_is(json_array_get(months, 0), "waiting_at_end", 1);
	json_decref(months);
	sql_is("SELECT sum(received) || ' ' || sum(accepted) || ' ' || "
	       "sum(started) || ' ' || (SELECT array_agg(w ORDER BY w) FROM "
	       "stats_days d, unnest(d.waits) AS w WHERE d.region = 'eie')"
	       "::text FROM stats_days WHERE region = 'eie'",
	       "1 1 1 {28}");
	sql_is("SELECT string_agg(month || ':' || waiting_at_end || ':' || "
	       "started, ' ' ORDER BY month) FROM stats_months WHERE region = "
	       "'eie'",
	       "2026-02-01:1:0 2026-03-01:0:1");
}
END_TEST

/* Every plan node of a JSON plan, depth first. */
static void plan_nodes(json_t *plan, json_t *out)
{
	size_t i;
	json_t *sub;

	json_array_append(out, plan);
	json_array_foreach(json_object_get(plan, "Plans"), i, sub)
	{
		plan_nodes(sub, out);
	}
}

/* The reads' plans for as_of and region, as the daemon has them planned
 * (custom plans for its parameters): the transitions reached by their
 * indexes only (the events recorded since the summary, each pathway's
 * history by its key, the corrections and retractions by theirs), never
 * scanned; nor the pathways for the live part
 * (regression_region_live_part_hashes_every_pathway, at a million
 * pathways a region's flow took 0.8 s). */
static void reads_use_indexes(const char *when, const char *as_of,
			      const char *region)
{
	static const enum stats_stmt reads[] = {STATS_WAITING, STATS_TREND,
						STATS_FLOW};
	const char *p[12] = {as_of,	NULL,	   NULL,      NULL,
			     NULL,	NULL,	   models[0], models[1],
			     models[2], models[3], models[4], "12"};

	p[1] = region;
	for (size_t k = 0; k < sizeof(reads) / sizeof(reads[0]); k++) {
		PGresult *res;
		json_t *plan, *all = json_array(), *node;
		char *sql;
		size_t i;

		ck_assert_int_gt(asprintf(&sql, "EXPLAIN (FORMAT JSON) %s",
					  store_stats_sql[reads[k]]),
				 0);
		res = run(sql, reads[k] == STATS_WAITING ? 11 : 12, p);
		free(sql);
		plan = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		PQclear(res);
		ck_assert_ptr_nonnull(plan);
		plan_nodes(json_object_get(json_array_get(plan, 0), "Plan"),
			   all);
		json_array_foreach(all, i, node)
		{
			const char *type = json_string_value(
				json_object_get(node, "Node Type"));
			const char *rel = json_string_value(
				json_object_get(node, "Relation Name"));
			ck_assert_msg(!(strcmp(type, "Seq Scan") == 0 && rel &&
					strcmp(rel, "transitions") == 0),
				      "%s: statement %d scans transitions",
				      when, (int)reads[k]);
			/* The flow reads pathways only for the live part's
			 * few: a region's once hashed every pathway. */
			ck_assert_msg(!(reads[k] == STATS_FLOW &&
					strcmp(type, "Seq Scan") == 0 && rel &&
					strcmp(rel, "pathways") == 0),
				      "%s: the flow scans pathways", when);
		}
		json_decref(all);
		json_decref(plan);
	}
}

/*
 * 20,000 pathways of one region, each sent, received, accepted and
 * started, one in 50 with its receipt corrected and one in 100 entered
 * in error, recorded days ago: with the summary built and without it,
 * with the table's statistics gathered and not (as after a first load,
 * issue 11), the reads reach the transitions by their indexes.
 */
START_TEST(test_reads_use_indexes)
{
	char sql[2048];

	PQclear(run("INSERT INTO pathways (pathway_id, patient_id, model, "
		    "region, level, unit, phase, version, opened_at, "
		    "updated_at, last_change_at, doc, closed_at, close_reason) "
		    "SELECT 'pl-' || g, 'pl-' || g || '-patient', 'se-adult', "
		    "'plan', 'clinic', 'u-' || g % 40, CASE WHEN g % 100 = 0 "
		    "THEN 'closed' ELSE 'active' END, 5, '2025-01-01Z', now(), "
		    "now(), '{}', CASE WHEN g % 100 = 0 THEN now() END, CASE "
		    "WHEN g % 100 = 0 THEN 'entered_in_error' END FROM "
		    "generate_series(1, 20000) g",
		    0, NULL));
	snprintf(sql, sizeof(sql),
		 "INSERT INTO transitions (pathway_id, seq, event_id, type, "
		 "to_phase, from_level, to_level, unit, occurred_at, "
		 "recorded_at, data, event, response, waited_since, "
		 "paused_days, corrects) SELECT 'pl-' || g, s, "
		 "'pl-' || g || '-' || s, (ARRAY['pathway.opened', "
		 "'referral.sent', 'referral.received', 'referral.accepted', "
		 "'treatment.started', 'event.corrected', "
		 "'event.retracted'])[s], 'active', 'gp', 'clinic', 'u-' || g "
		 "%% 40, '2025-06-01Z'::timestamptz + g * interval '20 min' + "
		 "s * interval '9 days', now() - interval '3 days', CASE s "
		 "WHEN 2 THEN '{\"to_level\":\"clinic\",\"to_unit\":\"u-' || "
		 "g %% 40 || '\"}' WHEN 6 THEN '{\"event_id\":\"x\",\"reason\":"
		 "\"late\",\"occurred_at\":\"2025-06-02T09:00:00Z\"}' ELSE "
		 "'{}' END, '{}', '{}', CASE s WHEN 5 THEN '2025-06-01Z'::"
		 "timestamptz + g * interval '20 min' + interval '27 days' "
		 "END, CASE s WHEN 5 THEN 0 END, CASE s WHEN 6 THEN 3 WHEN 7 "
		 "THEN 1 END FROM generate_series(1, 20000) g, "
		 "generate_series(1, 7) s WHERE s <= 5 OR (s = 6 AND g %% 50 "
		 "= 0) OR (s = 7 AND g %% 100 = 0)");
	PQclear(run(sql, 0, NULL));
	/* Without a summary (every event derived live), then with one. */
	PQclear(run("BEGIN", 0, NULL));
	PQclear(run("DELETE FROM stats_build", 0, NULL));
	reads_use_indexes("no summary, not analysed", "2026-04-15", "plan");
	PQclear(run("ROLLBACK", 0, NULL));
	build("2026-04-15");
	reads_use_indexes("summary, not analysed", "2026-04-15", "plan");
	reads_use_indexes("summary, not analysed", "2026-04-15", NULL);
	PQclear(run("ANALYZE pathways", 0, NULL));
	PQclear(run("ANALYZE transitions", 0, NULL));
	PQclear(run("BEGIN", 0, NULL));
	PQclear(run("DELETE FROM stats_build", 0, NULL));
	reads_use_indexes("no summary, analysed", "2026-04-15", "plan");
	PQclear(run("ROLLBACK", 0, NULL));
	reads_use_indexes("summary, analysed", "2026-04-15", "plan");
	reads_use_indexes("summary, analysed", "2026-04-15", NULL);
}
END_TEST

/* Deadlines in the window, with the escalation a night made of one. */
START_TEST(test_deadlines)
{
	const char *p[8] = {"2026-03-12", "dl", NULL, NULL,
			    NULL,	  NULL, "7",  "100"};
	PGresult *res;

	pathway(&(struct pw){.id = "dl-1",
			     .model = "no",
			     .region = "dl",
			     .phase = "referred",
			     .unit = "u-dl",
			     .due = {"2026-03-15", NULL, "2026-03-10"}});
	pathway(&(struct pw){.id = "dl-2",
			     .model = "no",
			     .region = "dl",
			     .unit = "u-dl",
			     .received = "2026-03-01T09:00:00Z",
			     .due = {NULL, NULL, "2026-03-25"}});
	PQclear(run(
		"INSERT INTO escalations (pathway_id, patient_id, region, "
		"model, level, phase, unit, rule, due, first_reported_on, "
		"last_reported_on, acked_by, acked_at, ack_note) VALUES "
		"('dl-1', 'dl-1-patient', 'dl', 'no', 'gp', 'referred', "
		"'gp-1', 'transit', '2026-03-15', '2026-03-12', "
		"'2026-03-12', 'coord-1', '2026-03-12T08:00:00Z', 'called')",
		0, NULL));
	res = run(store_stats_sql[STATS_DEADLINES], 8, p);
	/* The overdue treatment clock (10 Mar) is not in the window, nor
	 * dl-2's (25 Mar, beyond 7 days). */
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "transit");
	ck_assert_str_eq(PQgetvalue(res, 0, 7), "3");
	{
		json_t *item = stats_deadline_json(res, 0);
		ck_assert_ptr_nonnull(json_object_get(item, "escalation_id"));
		ck_assert_str_eq(
			json_string_value(json_object_get(
				json_object_get(item, "acknowledged"), "by")),
			"coord-1");
		json_decref(item);
	}
	PQclear(res);
	p[6] = "14";
	res = run(store_stats_sql[STATS_DEADLINES], 8, p);
	ck_assert_int_eq(PQntuples(res), 2);
	PQclear(res);
}
END_TEST

static void receipt_day_is(const char *pathway_id, const char *want)
{
	const char *p[1] = {pathway_id};
	PGresult *res = run("SELECT ref_received_on FROM pathways WHERE "
			    "pathway_id = $1",
			    1, p);

	ck_assert_str_eq(PQgetvalue(res, 0, 0), want);
	PQclear(res);
}

/* The receipt day is stored with the pathway in its model's zone; a
 * receipt written before its zone was known gets it at the daemon's next
 * start, and one of a model whose zone changed is counted again. */
START_TEST(test_zones_sync)
{
	struct model_set set;
	char err[512];
	long updated = -1;
	PGresult *res;

	ck_assert_msg(model_set_load_dir(PAINPATH_SOURCE_DIR "/config/models",
					 &set, err, sizeof(err)),
		      "%s", err);
	/* 23:30 UTC on 1 March: 2 March in Copenhagen, 1 March in NY. */
	PQclear(run("DELETE FROM stats_zones WHERE model = 'dk'", 0, NULL));
	pathway(&(struct pw){.id = "zs-1",
			     .model = "dk",
			     .region = "zs",
			     .unit = "u-zs",
			     .received = "2026-03-01T23:30:00Z"});
	res = run("SELECT ref_received_on IS NULL FROM pathways WHERE "
		  "pathway_id = 'zs-1'",
		  0, NULL);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	ck_assert_msg(stats_zones_sync(conn, &set, &updated, err, sizeof(err)),
		      "%s", err);
	ck_assert_int_ge(updated, 1);
	receipt_day_is("zs-1", "2026-03-02");
	/* A zone written wrong (and days counted in it) is put right. */
	PQclear(run("UPDATE stats_zones SET tz = 'America/New_York' WHERE "
		    "model = 'dk'",
		    0, NULL));
	PQclear(run("UPDATE pathways SET ref_received_on = '2026-03-01' "
		    "WHERE pathway_id = 'zs-1'",
		    0, NULL));
	ck_assert(stats_zones_sync(conn, &set, &updated, err, sizeof(err)));
	receipt_day_is("zs-1", "2026-03-02");
	/* No zone changed: only the receipts without a day are set (the
	 * statement without the OR over the changed models). */
	PQclear(run("UPDATE pathways SET ref_received_on = NULL WHERE "
		    "pathway_id = 'zs-1'",
		    0, NULL));
	ck_assert(stats_zones_sync(conn, &set, &updated, err, sizeof(err)));
	ck_assert_int_ge(updated, 1);
	receipt_day_is("zs-1", "2026-03-02");
	model_set_free(&set);
}
END_TEST

/* --- the models as parameters, without a database ----------------------- */

START_TEST(test_models_params)
{
	struct model_set set;
	struct stats_models m;
	const char *p[5];
	char err[512];
	json_t *limit;

	ck_assert_msg(model_set_load_dir(PAINPATH_SOURCE_DIR "/config/models",
					 &set, err, sizeof(err)),
		      "%s", err);
	ck_assert(stats_models_init(&m, &set));
	stats_models_params(&m, p);
	ck_assert_str_eq(p[0], "{\"dk\",\"no\",\"se-adult\",\"se-child\"}");
	ck_assert_str_eq(p[1], "{\"Europe/Copenhagen\",\"Europe/Oslo\","
			       "\"Europe/Stockholm\",\"Europe/Stockholm\"}");
	/* Denmark: 30 days of waiting (free choice); Norway: the deadline;
	 * Sweden: 90 days at a clinic or centre. */
	ck_assert_str_eq(p[2], "{\"days\",\"deadline\",\"days\",\"days\"}");
	ck_assert_str_eq(p[3], "{\"30\",NULL,\"90\",\"90\"}");
	ck_assert_str_eq(p[4], "{\"\",\"\",\"clinic,centre\","
			       "\"clinic,centre\"}");
	limit = stats_rule_limit_json(model_set_find(&set, "no"),
				      RULE_ASSESSMENT);
	ck_assert_str_eq(json_string_value(json_object_get(limit, "unit")),
			 "working_days");
	ck_assert_int_eq(json_integer_value(json_object_get(limit, "n")), 10);
	json_decref(limit);
	ck_assert(json_is_null(stats_rule_limit_json(model_set_find(&set, "no"),
						     RULE_TREATMENT)));
	/* 10 working days marked as 14 calendar days. */
	ck_assert_int_eq(stats_rule_limit_days(model_set_find(&set, "no"),
					       RULE_ASSESSMENT),
			 14);
	ck_assert_int_eq(stats_rule_limit_days(model_set_find(&set, "dk"),
					       RULE_TREATMENT),
			 -1);
	stats_models_free(&m);
	model_set_free(&set);
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *sql = tcase_create("sql");
	TCase *params = tcase_create("params");

	tcase_add_unchecked_fixture(sql, pg_setup, pg_teardown);
	tcase_add_checked_fixture(sql, conn_open, conn_close);
	tcase_set_timeout(sql, 60);
	tcase_add_test(sql, test_wait_percentiles);
	tcase_add_test(sql, test_histogram);
	tcase_add_test(sql, test_wait_none);
	tcase_add_test(sql, test_paused_excluded);
	tcase_add_test(sql, test_time_zones);
	tcase_add_test(sql, test_clocks);
	tcase_add_test(sql, test_completed_waits);
	tcase_add_test(sql, test_flow);
	tcase_add_test(sql, test_trend_and_summary);
	tcase_add_test(sql, test_summary_addition);
	tcase_add_test(sql, test_deadlines);
	tcase_add_test(sql, test_zones_sync);
	tcase_add_test(sql, test_receipt_corrected);
	tcase_add_test(sql, test_start_corrected);
	tcase_add_test(sql, test_entered_in_error);
	tcase_add_test(sql, test_reads_use_indexes);
	suite_add_tcase(s, sql);
	tcase_add_test(params, test_models_params);
	suite_add_tcase(s, params);
	return s;
}
