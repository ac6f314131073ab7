/*
 * GET /v1/deadlines: the running clocks due in the next within_days (7 or
 * 14) days, each with the escalation a night's report made of it and its
 * acknowledgement.  It names patients: audited like every such read.
 *
 * Level and unit are the escalations' (the pathway's level; the unit that
 * must act: the referral's receiving unit, or for the level review the
 * pathway's own), so the same filters find the same items in both.  The
 * soonest come first, at most limit (500 unless asked; 5000 at most):
 * "truncated" says there were more.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "reads.h"
#include "stats_params.h"

#define DEADLINES_DEFAULT 500
#define DEADLINES_MAX	  5000

/* The route's limit (checked before the query). */
static long limit_of(struct request *r)
{
	long limit = DEADLINES_DEFAULT;

	if (request_query(r, "limit") != NULL &&
	    !parse_count(request_query(r, "limit"), DEADLINES_MAX, &limit))
		limit = DEADLINES_DEFAULT;
	return limit;
}

static void render_deadlines(struct request *r, PGresult **res, int n,
			     struct answer *a)
{
	const PGresult *q = res[n - 1];
	json_t *items = json_array();
	char as_of[CAL_DATE_LEN];
	long limit = limit_of(r);
	/* One row beyond the limit says there are more. */
	bool truncated = PQntuples(q) > limit;

	for (int i = 0; i < PQntuples(q) && i < limit; i++) {
		json_t *item = stats_deadline_json(q, i);
		answer_pathway(
			a,
			json_string_value(json_object_get(item, "patient_id")),
			json_string_value(json_object_get(item, "region")));
		json_array_append_new(items, item);
	}
	answer_json(a, json_pack("{s:s?, s:o, s:b}", "as_of",
				 stats_as_of(r, as_of) ? as_of : NULL, "items",
				 items, "truncated", truncated));
}

enum handled deadlines_get(struct request *r, struct reply *out)
{
	const char *within = request_query(r, "within_days");
	const char *limit_text = request_query(r, "limit");
	char regions[STATS_REGIONS_LEN], fetch[24];
	struct stats_params sp;
	long limit = DEADLINES_DEFAULT;
	enum handled h;

	if (within != NULL && strcmp(within, "7") != 0 &&
	    strcmp(within, "14") != 0)
		return reply_error(out, ERR_INVALID_REQUEST, "within_days",
				   "within_days must be 7 or 14");
	if (limit_text != NULL &&
	    (!parse_count(limit_text, DEADLINES_MAX, &limit) || limit < 1))
		return reply_error(out, ERR_INVALID_REQUEST, "limit",
				   "limit must be 1-%d", DEADLINES_MAX);
	snprintf(fetch, sizeof(fetch), "%ld", limit + 1);
	if (!stats_params_read(r, &sp, out)) {
		stats_params_free(&sp);
		return HANDLED_NOW;
	}
	struct db_query q[2] = {
		{.sql = store_stats_sql[STATS_NO_JIT]},
		{.sql = store_stats_sql[STATS_DEADLINES],
		 .nparams = 8,
		 .params = {sp.as_of, request_query(r, "region"),
			    request_query(r, "level"), request_query(r, "unit"),
			    request_query(r, "rule"),
			    request_regions(r, regions, sizeof(regions)),
			    within ? within : "7", fetch}}};
	h = read_batch(r, q, 2, render_deadlines);
	stats_params_free(&sp);
	return h;
}
