/*
 * GET /v1/export?from=&to=&region= (admin): the quality-registry export
 * (002, 003: "the history is kept whole and can be exported").  Every
 * pathway touched in [from, to] -- a transition happened or was recorded
 * on one of those days -- with its whole history, corrections named
 * (corrected_by, retracted_by), one JSON object a line (NDJSON), in
 * pathway_id order.  Streamed from a cursor at constant memory; one audit
 * row names every patient exported.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "export_stream.h"
#include "http.h"
#include "reads.h"
#include "store_export.h"
#include "store_stats.h"

#define REGISTRY_FETCH_ROWS 100

/* Each row's line is its third column. */
static void format_lines(struct textbuf *t, const PGresult *res, bool first,
			 void *ctx)
{
	(void)first;
	(void)ctx;
	for (int i = 0; i < PQntuples(res); i++) {
		textbuf_add(t, PQgetvalue(res, i, 2),
			    (size_t)PQgetlength(res, i, 2));
		textbuf_add(t, "\n", 1);
	}
}

static bool read_period(struct request *r, char *from, char *to,
			struct reply *out)
{
	const char *f = request_query(r, "from"), *t = request_query(r, "to");
	cal_date a, b;

	if (f == NULL || !calendar_parse_date(f, &a))
		return reply_error(out, ERR_INVALID_REQUEST, "from",
				   "from must be a date, YYYY-MM-DD"),
		       false;
	if (t == NULL || !calendar_parse_date(t, &b) || b < a)
		return reply_error(out, ERR_INVALID_REQUEST, "to",
				   "to must be a date, YYYY-MM-DD, not before "
				   "from"),
		       false;
	calendar_format_date(a, from);
	calendar_format_date(b, to);
	return true;
}

enum handled export_get(struct request *r, struct reply *out)
{
	const char *region = request_query(r, "region");
	char from[CAL_DATE_LEN], to[CAL_DATE_LEN], regions[4096], filename[64];
	struct stats_models models;
	const char *m[5];
	enum handled h;

	if (!read_period(r, from, to, out))
		return HANDLED_NOW;
	if (region != NULL && !domain_valid_id(region))
		return reply_error(out, ERR_INVALID_REQUEST, "region",
				   "region must be an identifier");
	if (region != NULL && !auth_covers_region(r->token, region))
		return reply_error(out, ERR_FORBIDDEN, "region",
				   "this token does not cover region %s",
				   region);
	if (!stats_models_init(&models, &r->app->models)) {
		stats_models_free(&models);
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	}
	stats_models_params(&models, m);
	snprintf(filename, sizeof(filename), "painpath-%s-%s.ndjson", from, to);
	struct export_spec spec = {
		.rows_sql = store_export_sql[EXPORT_REGISTRY],
		.nparams = 6,
		.params = {from, to, region,
			   request_regions(r, regions, sizeof(regions)), m[0],
			   m[1]},
		.audit_selection = store_export_sql[EXPORT_REGISTRY_PATIENTS],
		.fetch_rows = REGISTRY_FETCH_ROWS,
		.content_type = "application/x-ndjson",
		.filename = filename,
		.format = format_lines,
	};
	h = export_stream(r, &spec, out);
	stats_models_free(&models);
	return h;
}
