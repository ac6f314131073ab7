/*
 * The coordinators' figures: GET /v1/whoami and GET /v1/stats/clocks,
 * waiting, histogram, trend and flow.  Each is one statement of
 * lib/store_stats.c scoped to the token's regions; the answers are
 * aggregates (no patient is named), so they are not audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "http.h"
#include "export_csv.h"
#include "export_stream.h"
#include "reads.h"
#include "stats_params.h"
#include "stats_snapshot.h"
#include "textbuf.h"

#define BAND_DAYS 7

enum handled whoami_get(struct request *r, struct reply *out)
{
	const struct token *t = r->token;
	json_t *regions;

	if (t->all_regions) {
		regions = json_string("*");
	} else {
		regions = json_array();
		for (int i = 0; i < t->nregions; i++)
			json_array_append_new(regions,
					      json_string(t->regions[i]));
	}
	return reply_json(out, 200,
			  json_pack("{s:s, s:s, s:o}", "token_id", t->id,
				    "role", auth_role_name(t->role), "regions",
				    regions));
}

/* Sends statement id with $1..$11 and the route's own parameters, after
 * STATS_NO_JIT: renders read the last result.  A read of the whole
 * country (def_only: the route's own parameters are its defaults) takes
 * the snapshot's variant. */
static enum handled stats_read(struct request *r, struct reply *out,
			       enum stats_stmt id, int nparams,
			       const char *const *extra, int nextra,
			       bool def_only, render_fn render)
{
	struct stats_params sp;
	struct db_query q[2] = {
		{.sql = store_stats_sql[STATS_NO_JIT]},
		{.sql = store_stats_sql[stats_snapshot_read(r, id, def_only)]}};
	enum handled h;

	if (!stats_params_read(r, &sp, out)) {
		stats_params_free(&sp);
		return HANDLED_NOW;
	}
	stats_params_fill(r, &sp, &q[1]);
	q[1].nparams = nparams;
	for (int i = 0; i < nextra; i++)
		q[1].params[nparams - nextra + i] = extra[i];
	h = read_batch(r, q, 2, render);
	stats_params_free(&sp);
	return h;
}

/* --- answers ------------------------------------------------------------- */

/* Numbers go out as PostgreSQL wrote them (shortest exact decimals):
 * parsed into doubles and encoded again they would read 23.399999999. */
static void add_number(struct textbuf *t, const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		textbuf_add(t, "null", 4);
	else
		textbuf_printf(t, "%s", PQgetvalue(res, row, col));
}

static void add_json(struct textbuf *t, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (text == NULL)
		t->failed = true;
	else
		textbuf_printf(t, "%s", text);
	free(text);
	json_decref(v);
}

/* {"as_of": "...", "snapshot_at" when res came from a snapshot, then
 * the caller's members, "}" by the caller. */
static void open_answer(struct request *r, const PGresult *res,
			struct textbuf *t)
{
	char as_of[CAL_DATE_LEN];
	int at = PQfnumber(res, "snapshot_at");

	textbuf_init(t);
	if (stats_as_of(r, as_of))
		textbuf_printf(t, "{\"as_of\":\"%s\"", as_of);
	else
		textbuf_printf(t, "{\"as_of\":null");
	/* A UTC timestamp the statement formatted: no escaping. */
	if (at >= 0 && PQntuples(res) > 0 && !PQgetisnull(res, 0, at))
		textbuf_printf(t, ",\"snapshot_at\":\"%s\"",
			       PQgetvalue(res, 0, at));
}

/* --- tiles --------------------------------------------------------------- */

static json_t *rule_limit(struct request *r, const char *model,
			  const char *rule)
{
	const struct model *m = model_set_find(&r->app->models, model);
	enum rule parsed;

	if (m == NULL || !domain_rule_parse(rule, &parsed))
		return json_null();
	return stats_rule_limit_json(m, parsed);
}

static void render_clocks(struct request *r, PGresult **res, int n,
			  struct answer *a)
{
	const PGresult *q = res[n - 1];
	struct textbuf t;

	open_answer(r, q, &t);
	textbuf_printf(&t, ",\"rules\":[");
	for (int i = 0; i < PQntuples(q); i++) {
		const char *model = PQgetvalue(q, i, 0);
		const char *rule = PQgetvalue(q, i, 1);
		/* Model keys and rules are identifiers: no escaping. */
		textbuf_printf(&t,
			       "%s{\"model\":\"%s\",\"rule\":\"%s\","
			       "\"limit\":",
			       i ? "," : "", model, rule);
		add_json(&t, rule_limit(r, model, rule));
		textbuf_printf(&t,
			       ",\"running\":%s,\"overdue\":%s,\"paused\":%s,"
			       "\"within_limit_share\":",
			       PQgetvalue(q, i, 2), PQgetvalue(q, i, 3),
			       PQgetvalue(q, i, 4));
		add_number(&t, q, i, 5);
		textbuf_add(&t, "}", 1);
	}
	textbuf_add(&t, "]}", 2);
	answer_raw_json(a, textbuf_take(&t));
}

enum handled stats_clocks_get(struct request *r, struct reply *out)
{
	return stats_read(r, out, STATS_CLOCKS, 6, NULL, 0, true,
			  render_clocks);
}

/* --- by unit ------------------------------------------------------------- */

/* {"as_of", key: the statement's JSON text}. */
static void render_list(struct request *r, const PGresult *q, struct answer *a,
			const char *key)
{
	struct textbuf t;

	open_answer(r, q, &t);
	textbuf_printf(&t, ",\"%s\":%s}", key, PQgetvalue(q, 0, 0));
	answer_raw_json(a, textbuf_take(&t));
}

static void render_waiting(struct request *r, PGresult **res, int n,
			   struct answer *a)
{
	render_list(r, res[n - 1], a, "units");
}

enum handled stats_waiting_get(struct request *r, struct reply *out)
{
	if (export_wants_csv(r))
		return stats_waiting_csv(r, out);
	return stats_read(r, out, STATS_WAITING, 11, NULL, 0, true,
			  render_waiting);
}

/* --- histogram ----------------------------------------------------------- */

/* The limit to mark: the rule's, when the answer is one model's rule. */
static json_t *histogram_limit(struct request *r)
{
	const char *model = request_query(r, "model");
	const char *rule = request_query(r, "rule");
	const struct model *m =
		model ? model_set_find(&r->app->models, model) : NULL;
	enum rule parsed;
	int days;

	if (m == NULL || rule == NULL || !domain_rule_parse(rule, &parsed))
		return json_null();
	days = stats_rule_limit_days(m, parsed);
	return days >= 0 ? json_integer(days) : json_null();
}

static void render_histogram(struct request *r, PGresult **res, int n,
			     struct answer *a)
{
	const PGresult *q = res[n - 1];
	struct textbuf t;

	open_answer(r, q, &t);
	textbuf_printf(&t,
		       ",\"band_days\":%d,\"bands\":%s,\"waiting\":%s,"
		       "\"paused\":%s,\"median_days\":",
		       BAND_DAYS, PQgetvalue(q, 0, 4), PQgetvalue(q, 0, 0),
		       PQgetvalue(q, 0, 1));
	add_number(&t, q, 0, 2);
	textbuf_printf(&t, ",\"p90_days\":");
	add_number(&t, q, 0, 3);
	textbuf_printf(&t, ",\"limit_days\":");
	add_json(&t, histogram_limit(r));
	textbuf_add(&t, "}", 1);
	answer_raw_json(a, textbuf_take(&t));
}

enum handled stats_histogram_get(struct request *r, struct reply *out)
{
	const char *rule[1] = {request_query(r, "rule")};

	return stats_read(r, out, STATS_HISTOGRAM, 12, rule, 1, rule[0] == NULL,
			  render_histogram);
}

/* --- trend and flow ------------------------------------------------------ */

static void render_trend(struct request *r, PGresult **res, int n,
			 struct answer *a)
{
	render_list(r, res[n - 1], a, "months");
}

static void render_flow(struct request *r, PGresult **res, int n,
			struct answer *a)
{
	render_list(r, res[n - 1], a, "weeks");
}

enum handled stats_trend_get(struct request *r, struct reply *out)
{
	char months[16];
	const char *extra[1] = {months};

	if (!stats_count_param(r, "months", 12, 36, months, out))
		return HANDLED_NOW;
	return stats_read(r, out, STATS_TREND, 12, extra, 1,
			  strcmp(months, "12") == 0, render_trend);
}

enum handled stats_flow_get(struct request *r, struct reply *out)
{
	char weeks[16];
	const char *extra[1] = {weeks};

	if (!stats_count_param(r, "weeks", 12, 52, weeks, out))
		return HANDLED_NOW;
	return stats_read(r, out, STATS_FLOW, 12, extra, 1, false, render_flow);
}
