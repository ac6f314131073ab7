/*
 * GET /v1/deadlines: the running clocks due in the next within_days (7 or
 * 14) days, each with the escalation a night's report made of it and its
 * acknowledgement.  It names patients: audited like every such read.
 *
 * Level and unit are the escalations' (the pathway's level; the unit that
 * must act: the referral's receiving unit, or for the level review the
 * pathway's own), so the same filters find the same items in both.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "reads.h"
#include "stats_params.h"

#define DEADLINES_LIMIT "5000"

static void render_deadlines(struct request *r, PGresult **res, int n,
			     struct answer *a)
{
	const PGresult *q = res[n - 1];
	json_t *items = json_array();
	char as_of[CAL_DATE_LEN];

	for (int i = 0; i < PQntuples(q); i++) {
		json_t *item = stats_deadline_json(q, i);
		answer_pathway(
			a,
			json_string_value(json_object_get(item, "patient_id")),
			json_string_value(json_object_get(item, "region")));
		json_array_append_new(items, item);
	}
	answer_json(a, json_pack("{s:s?, s:o}", "as_of",
				 stats_as_of(r, as_of) ? as_of : NULL, "items",
				 items));
}

enum handled deadlines_get(struct request *r, struct reply *out)
{
	const char *within = request_query(r, "within_days");
	char regions[STATS_REGIONS_LEN];
	struct stats_params sp;
	enum handled h;

	if (within != NULL && strcmp(within, "7") != 0 &&
	    strcmp(within, "14") != 0)
		return reply_error(out, ERR_INVALID_REQUEST, "within_days",
				   "within_days must be 7 or 14");
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
			    within ? within : "7", DEADLINES_LIMIT}}};
	h = read_batch(r, q, 2, render_deadlines);
	stats_params_free(&sp);
	return h;
}
