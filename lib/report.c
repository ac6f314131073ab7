#include "report.h"

#include "store_report.h"

#include "textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		/* Quoted: a model keyed "null" would be an SQL NULL bare
		 * (issue 10, the unquoted text[] literal). */
		k += (size_t)snprintf(keys + k, REPORT_LIST_LEN - k, "%s\"%s\"",
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
