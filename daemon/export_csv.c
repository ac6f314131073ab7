/*
 * CSV forms of the worklist, the waiting statistics and the night's
 * escalations (Accept: text/csv or ?format=csv): streamed through the
 * export engine at constant memory, a header row first, RFC 4180 fields
 * (lib/textbuf), dates and times in ISO 8601 (times in UTC).  The worklist
 * CSV holds every pathway its filters select (limit and cursor page only
 * the JSON form); it and the escalations name patients and are audited
 * with one row per export.
 */
#include "export_csv.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "export_stream.h"
#include "http.h"
#include "report.h"
#include "store_report.h"
#include "stats_params.h"
#include "store_export.h"
#include "store_stats.h"
#include "textbuf.h"

#define CSV_TYPE       "text/csv; charset=utf-8"
#define CSV_FETCH_ROWS 500

static void rows_csv(struct textbuf *t, const PGresult *res, int from_col)
{
	int cols = PQnfields(res);

	for (int i = 0; i < PQntuples(res); i++)
		for (int c = from_col; c < cols; c++)
			textbuf_csv_field(t,
					  PQgetisnull(res, i, c)
						  ? ""
						  : PQgetvalue(res, i, c),
					  c == cols - 1);
}

/* --- the worklist -------------------------------------------------------- */

static void format_worklist(struct textbuf *t, const PGresult *res, bool first,
			    void *ctx)
{
	(void)ctx;
	if (first)
		textbuf_add(t, export_worklist_header,
			    strlen(export_worklist_header));
	rows_csv(t, res, 0);
}

enum handled worklist_csv(struct request *r, struct reply *out,
			  const char *const *filters, const char *regions)
{
	struct export_spec spec = {
		.rows_sql = store_export_sql[EXPORT_WORKLIST],
		.nparams = 11,
		.audit_selection = store_export_sql[EXPORT_WORKLIST],
		.fetch_rows = CSV_FETCH_ROWS,
		.content_type = CSV_TYPE,
		.filename = "worklist.csv",
		.format = format_worklist,
	};

	memcpy(spec.params, filters, 10 * sizeof(char *));
	spec.params[10] = regions;
	return export_stream(r, &spec, out);
}

/* --- the waiting statistics ---------------------------------------------- */

static const char waiting_header[] =
	"region,level,unit,waiting_now,waiting_now_median_days,"
	"waiting_now_p90_days,paused_now,paused_days,with_clock,overdue,"
	"within_limit_share,completed_90d,completed_median_days,"
	"completed_p90_days,completed_within_limit_share\r\n";

static void format_waiting(struct textbuf *t, const PGresult *res, bool first,
			   void *ctx)
{
	(void)ctx;
	if (first)
		textbuf_add(t, waiting_header, sizeof(waiting_header) - 1);
	rows_csv(t, res, 0);
}

enum handled stats_waiting_csv(struct request *r, struct reply *out)
{
	struct stats_params sp;
	struct db_query q = {.nparams = 0};
	struct export_spec spec = {
		.rows_sql = store_stats_sql[STATS_WAITING_ROWS],
		.nparams = 11,
		.fetch_rows = CSV_FETCH_ROWS,
		.content_type = CSV_TYPE,
		.filename = "waiting.csv",
		.format = format_waiting,
	};
	enum handled h;

	if (!stats_params_read(r, &sp, out)) {
		stats_params_free(&sp);
		return HANDLED_NOW;
	}
	/* Aggregates: no patient is named, no audit row. */
	stats_params_fill(r, &sp, &q);
	memcpy(spec.params, q.params, 11 * sizeof(char *));
	h = export_stream(r, &spec, out);
	stats_params_free(&sp);
	return h;
}

/* --- the night's escalations --------------------------------------------- */

/* lib/report.c writes each fetch's rows under its header line; the header
 * goes out once. */
static void format_escalations(struct textbuf *t, const PGresult *res,
			       bool first, void *ctx)
{
	char *text = report_csv(res, *(cal_date *)ctx);
	const char *from = text;

	if (text == NULL) {
		t->failed = true;
		return;
	}
	if (!first && (from = strstr(text, "\r\n")) != NULL)
		from += 2;
	textbuf_add(t, from ? from : "", from ? strlen(from) : 0);
	free(text);
}

enum handled escalations_csv(struct request *r, struct reply *out,
			     cal_date night, const char *const params[7])
{
	cal_date *ctx = malloc(sizeof(*ctx));
	struct export_spec spec = {
		.rows_sql = report_items_sql,
		.nparams = 7,
		.audit_selection = report_items_sql,
		.check_sql = report_ran_sql,
		.check_nparams = 1,
		.check_params = {params[0]},
		.not_found = "the report for that night has not run; POST "
			     "/v1/escalations/run?date=... runs it",
		.fetch_rows = CSV_FETCH_ROWS,
		.content_type = CSV_TYPE,
		.filename = "escalations.csv",
		.format = format_escalations,
		.ctx = ctx,
		.ctx_free = free,
	};

	if (ctx == NULL)
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	*ctx = night;
	memcpy(spec.params, params, 7 * sizeof(char *));
	return export_stream(r, &spec, out);
}
