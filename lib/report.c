#include "report.h"

#include "textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "escalate" in ASCII: any constant every daemon agrees on. */
#define REPORT_LOCK_KEY "7310303091283456357"

/* The night's run may take longer than an event's statements. */
const char report_timeout_sql[] = "SET LOCAL statement_timeout = '10min'";

const char report_try_lock_sql[] =
	"SELECT pg_try_advisory_xact_lock(" REPORT_LOCK_KEY ")";
const char report_wait_lock_sql[] =
	"SELECT pg_advisory_xact_lock(" REPORT_LOCK_KEY ")";

const char report_ran_sql[] =
	"SELECT 1 FROM escalation_runs WHERE report_date = $1::date";

/* The partial index on next_due finds the few pathways with a clock due by
 * the latest window end; the lateral VALUES unfolds their clocks. */
const char report_run_sql[] =
	"WITH m AS (SELECT * FROM unnest($2::text[], $3::date[]) AS "
	"m(model, window_end)), "
	"cand AS (SELECT p.pathway_id, p.patient_id, p.region, p.model, "
	"p.level, p.phase, p.unit, c.rule, c.due, "
	/* Who must act: the receiving unit of the referral the clock
	 * watches; the patient's own unit for the level review. */
	"CASE WHEN c.rule = 'level_review' THEN p.unit ELSE p.ref_unit END "
	"AS responsible_unit, coalesce(p.ref_from_unit, p.unit) AS from_unit, "
	"p.ref_to_unit AS to_unit FROM m JOIN pathways p ON "
	"p.model = m.model AND p.closed_at IS NULL AND p.next_due <= "
	"m.window_end CROSS JOIN LATERAL (VALUES ('transit', p.due_transit), "
	"('assessment', p.due_assessment), ('treatment', p.due_treatment), "
	"('free_choice', p.due_free_choice), ('level_review', "
	"p.due_level_review)) AS c(rule, due) WHERE c.due IS NOT NULL AND "
	"c.due <= m.window_end), "
	"up AS (INSERT INTO escalations AS e (pathway_id, patient_id, region, "
	"model, level, phase, unit, rule, due, first_reported_on, "
	"last_reported_on, responsible_unit, from_unit, to_unit) SELECT "
	"pathway_id, patient_id, region, model, level, phase, unit, rule, "
	"due, $1::date, $1::date, responsible_unit, from_unit, to_unit FROM "
	"cand ON CONFLICT (pathway_id, rule, due) DO UPDATE SET level = "
	"EXCLUDED.level, phase = EXCLUDED.phase, unit = EXCLUDED.unit, "
	"responsible_unit = EXCLUDED.responsible_unit, from_unit = "
	"EXCLUDED.from_unit, to_unit = EXCLUDED.to_unit, "
	"first_reported_on = least(e.first_reported_on, "
	"EXCLUDED.first_reported_on), last_reported_on = "
	"greatest(e.last_reported_on, EXCLUDED.last_reported_on) "
	/* An unchanged row is not rewritten: a rerun writes nothing. */
	"WHERE (e.level, e.phase, e.unit, e.responsible_unit, e.from_unit, "
	"e.to_unit) IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.phase, "
	"EXCLUDED.unit, EXCLUDED.responsible_unit, EXCLUDED.from_unit, "
	"EXCLUDED.to_unit) OR e.first_reported_on > "
	"EXCLUDED.first_reported_on OR e.last_reported_on < "
	"EXCLUDED.last_reported_on RETURNING escalation_id), "
	/* The night's items: rows written now, and rows already there
	 * (seen as they were before this statement). */
	"ids AS (SELECT escalation_id FROM up UNION SELECT e.escalation_id "
	"FROM escalations e JOIN cand c ON e.pathway_id = c.pathway_id AND "
	"e.rule = c.rule AND e.due = c.due), "
	"added AS (INSERT INTO escalation_items (report_date, escalation_id) "
	"SELECT $1::date, escalation_id FROM ids ON CONFLICT DO NOTHING "
	"RETURNING 1) "
	"SELECT (SELECT count(*) FROM escalation_items WHERE report_date = "
	"$1::date) + (SELECT count(*) FROM added)";

const char report_record_sql[] =
	"INSERT INTO escalation_runs (report_date) VALUES ($1::date) "
	"ON CONFLICT (report_date) DO UPDATE SET last_ran_at = now(), "
	"runs = escalation_runs.runs + 1";

const char report_log_sql[] =
	"INSERT INTO escalation_run_log (report_date, ran_by, trigger, items) "
	"SELECT $1::date, $2, $3, count(*) FROM escalation_items WHERE "
	"report_date = $1::date";

#define ITEM_COLUMNS                                                           \
	"SELECT e.escalation_id, e.pathway_id, e.patient_id, e.region, "       \
	"e.model, e.level, e.phase, e.unit, e.rule, e.due::text, "             \
	"e.first_reported_on::text, e.acked_by, "                              \
	"to_char(e.acked_at AT TIME ZONE 'UTC', "                              \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), e.responsible_unit, "           \
	"e.from_unit, e.to_unit, e.ack_note, e.ack_claimed_by "

const char report_items_sql[] = ITEM_COLUMNS
	"FROM escalation_items i JOIN escalations e USING (escalation_id) "
	"WHERE i.report_date = $1::date AND ($2::text IS NULL OR e.region = "
	"$2) AND ($3::text IS NULL OR e.rule = $3) AND (NOT $4::bool OR "
	"e.acked_at IS NULL) AND ($5::text[] IS NULL OR e.region = ANY "
	"($5::text[])) AND ($6::text IS NULL OR e.responsible_unit = $6) AND "
	"($7::text IS NULL OR e.level = $7) ORDER BY e.region, e.due, "
	"e.pathway_id, e.rule";

/* The first acknowledgement stands: who and when are never overwritten.
 * $2 the token's id, $4 its note, $5 the name the body claimed. */
const char report_ack_sql[] =
	"UPDATE escalations SET acked_by = $2, acked_at = now(), ack_note = "
	"$4, ack_claimed_by = $5 WHERE escalation_id = $1::bigint AND "
	"acked_at IS NULL AND ($3::text[] IS NULL OR region = ANY "
	"($3::text[]))";

const char report_item_sql[] =
	ITEM_COLUMNS "FROM escalations e WHERE e.escalation_id = $1::bigint "
		     "AND ($2::text[] IS NULL OR e.region = ANY ($2::text[]))";

enum column {
	COL_ID,
	COL_PATHWAY,
	COL_PATIENT,
	COL_REGION,
	COL_MODEL,
	COL_LEVEL,
	COL_PHASE,
	COL_UNIT,
	COL_RULE,
	COL_DUE,
	COL_FIRST,
	COL_ACKED_BY,
	COL_ACKED_AT,
	COL_RESPONSIBLE,
	COL_FROM_UNIT,
	COL_TO_UNIT,
	COL_ACK_NOTE,
	COL_ACK_CLAIMED,
};

bool report_windows(const struct model_set *models, cal_date night,
		    char keys[REPORT_LIST_LEN], char ends[REPORT_LIST_LEN])
{
	size_t k = 0, e = 0;

	keys[k++] = '{';
	ends[e++] = '{';
	for (size_t i = 0; i < models->count; i++) {
		const struct model *m = &models->models[i];
		char date[CAL_DATE_LEN];
		calendar_format_date(model_add_duration(m, night, m->warning),
				     date);
		/* Model keys are identifiers: no quoting is ever needed. */
		k += (size_t)snprintf(keys + k, REPORT_LIST_LEN - k, "%s%s",
				      i ? "," : "", m->key);
		e += (size_t)snprintf(ends + e, REPORT_LIST_LEN - e, "%s%s",
				      i ? "," : "", date);
		if (k >= REPORT_LIST_LEN - 2 || e >= REPORT_LIST_LEN - 2)
			return false;
	}
	keys[k++] = '}';
	keys[k] = '\0';
	ends[e++] = '}';
	ends[e] = '\0';
	return true;
}

static json_t *text_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? json_null()
		       : json_string(PQgetvalue(res, row, col));
}

static int days_overdue(const PGresult *res, int row, cal_date night)
{
	cal_date due = night;

	if (!calendar_parse_date(PQgetvalue(res, row, COL_DUE), &due))
		return 0;
	return (int)(night - due);
}

json_t *report_item_json(const PGresult *res, int row, cal_date night)
{
	cal_date first = night;
	bool known =
		calendar_parse_date(PQgetvalue(res, row, COL_FIRST), &first) &&
		first < night;
	json_t *ack =
		PQgetisnull(res, row, COL_ACKED_AT)
			? json_null()
			: json_pack("{s:o, s:o, s:o, s:o}", "by",
				    text_or_null(res, row, COL_ACKED_BY), "at",
				    text_or_null(res, row, COL_ACKED_AT),
				    "note",
				    text_or_null(res, row, COL_ACK_NOTE),
				    "claimed_by",
				    text_or_null(res, row, COL_ACK_CLAIMED));
	json_t *item = json_pack(
		"{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o, "
		"s:b, s:o}",
		"id",
		(json_int_t)strtoll(PQgetvalue(res, row, COL_ID), NULL, 10),
		"pathway_id", text_or_null(res, row, COL_PATHWAY), "patient_id",
		text_or_null(res, row, COL_PATIENT), "region",
		text_or_null(res, row, COL_REGION), "model",
		text_or_null(res, row, COL_MODEL), "level",
		text_or_null(res, row, COL_LEVEL), "phase",
		text_or_null(res, row, COL_PHASE), "unit",
		text_or_null(res, row, COL_UNIT), "rule",
		text_or_null(res, row, COL_RULE), "due",
		text_or_null(res, row, COL_DUE), "days_overdue",
		days_overdue(res, row, night), "first_reported_on",
		text_or_null(res, row, COL_FIRST), "already_known", known,
		"acknowledged", ack);

	if (item == NULL)
		return NULL;
	json_object_set_new(item, "responsible_unit",
			    text_or_null(res, row, COL_RESPONSIBLE));
	json_object_set_new(item, "from_unit",
			    text_or_null(res, row, COL_FROM_UNIT));
	json_object_set_new(item, "to_unit",
			    text_or_null(res, row, COL_TO_UNIT));
	return item;
}

json_t *report_json(const PGresult *res, cal_date night)
{
	json_t *items = json_array();
	char date[CAL_DATE_LEN];

	for (int row = 0; row < PQntuples(res); row++)
		json_array_append_new(items, report_item_json(res, row, night));
	calendar_format_date(night, date);
	return json_pack("{s:s, s:o}", "date", date, "items", items);
}

char *report_csv(const PGresult *res, cal_date night)
{
	static const char header[] =
		"id,pathway_id,patient_id,region,model,level,phase,unit,rule,"
		"due,days_overdue,first_reported_on,already_known,acked_by,"
		"acked_at,responsible_unit,from_unit,to_unit,ack_note\r\n";
	struct textbuf t;

	textbuf_init(&t);
	textbuf_add(&t, header, sizeof(header) - 1);
	for (int row = 0; row < PQntuples(res); row++) {
		char days[16];
		cal_date first = night;
		bool known = calendar_parse_date(
				     PQgetvalue(res, row, COL_FIRST), &first) &&
			     first < night;
		for (int col = COL_ID; col <= COL_RULE; col++)
			textbuf_csv_field(&t, PQgetvalue(res, row, col), false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_DUE), false);
		snprintf(days, sizeof(days), "%d",
			 days_overdue(res, row, night));
		textbuf_csv_field(&t, days, false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_FIRST), false);
		textbuf_csv_field(&t, known ? "true" : "false", false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_ACKED_BY),
				  false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_ACKED_AT),
				  false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_RESPONSIBLE),
				  false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_FROM_UNIT),
				  false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_TO_UNIT), false);
		textbuf_csv_field(&t, PQgetvalue(res, row, COL_ACK_NOTE), true);
	}
	return textbuf_take(&t);
}

static bool exec_step(PGconn *conn, const char *sql, int n,
		      const char *const *params, PGresult **keep, char *err,
		      size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	if (keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return true;
}

/* Under the lock: false in *go when the night should be left alone. */
static bool lock_night(PGconn *conn, const char *date, bool wait, bool *go,
		       char *err, size_t errlen)
{
	const char *params[1] = {date};
	PGresult *lock = NULL, *ran = NULL;
	bool ok;

	ok = exec_step(conn, wait ? report_wait_lock_sql : report_try_lock_sql,
		       0, NULL, &lock, err, errlen) &&
	     exec_step(conn, report_ran_sql, 1, params, &ran, err, errlen);
	*go = ok && (wait || (strcmp(PQgetvalue(lock, 0, 0), "t") == 0 &&
			      PQntuples(ran) == 0));
	PQclear(lock);
	PQclear(ran);
	return ok;
}

bool report_run_blocking(PGconn *conn, const struct model_set *models,
			 cal_date night, const char *ran_by,
			 const char *trigger, bool wait, bool *ran, char *err,
			 size_t errlen)
{
	char keys[REPORT_LIST_LEN], ends[REPORT_LIST_LEN], date[CAL_DATE_LEN];
	const char *run_params[3] = {date, keys, ends};
	const char *log_params[3] = {date, ran_by, trigger};
	bool go = false;

	*ran = false;
	err[0] = '\0';
	calendar_format_date(night, date);
	if (!report_windows(models, night, keys, ends)) {
		snprintf(err, errlen, "too many models");
		return false;
	}
	if (!exec_step(conn, "BEGIN", 0, NULL, NULL, err, errlen) ||
	    !exec_step(conn, report_timeout_sql, 0, NULL, NULL, err, errlen))
		return false;
	if (!lock_night(conn, date, wait, &go, err, errlen) || !go)
		goto rollback;
	if (!exec_step(conn, report_run_sql, 3, run_params, NULL, err,
		       errlen) ||
	    !exec_step(conn, report_record_sql, 1, run_params, NULL, err,
		       errlen) ||
	    !exec_step(conn, report_log_sql, 3, log_params, NULL, err,
		       errlen) ||
	    !exec_step(conn, "COMMIT", 0, NULL, NULL, err, errlen))
		goto rollback;
	*ran = true;
	return true;
rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
	return go == false && err[0] == '\0';
}
