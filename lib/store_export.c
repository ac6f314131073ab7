#include "store_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */

#define UTC_TEXT(c) \
	"to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The pathways touched in [$1, $2]: a transition happened or was
 * recorded then (local days of the pathway's model).  Each pathway's
 * transitions are one range of their primary key. */
#define TOUCHED \
	"FROM pathways p JOIN unnest($5::text[], $6::text[]) AS mz(model, tz) " \
	"ON mz.model = p.model " \
	"WHERE ($3::text IS NULL OR p.region = $3) " \
	"AND ($4::text[] IS NULL OR p.region = ANY ($4::text[])) " \
	"AND EXISTS (SELECT 1 FROM transitions t WHERE t.pathway_id = " \
	"p.pathway_id AND ((t.occurred_at AT TIME ZONE mz.tz)::date " \
	"BETWEEN $1::date AND $2::date OR (t.recorded_at AT TIME ZONE " \
	"mz.tz)::date BETWEEN $1::date AND $2::date))"

/* A transition as GET /v1/pathways/{id}/transitions shows it, with the
 * corrections of it named (the text as stored when there are none). */
#define TRANSITION_TEXT \
	"CASE WHEN cb.ids IS NULL AND rb.id IS NULL THEN tx.doc ELSE " \
	"(tx.doc::jsonb || jsonb_strip_nulls(jsonb_build_object(" \
	"'corrected_by', cb.ids, 'retracted_by', rb.id)))::text END"

#define HISTORY_TEXT \
	"(SELECT coalesce(string_agg(" TRANSITION_TEXT ", ',' ORDER BY " \
	"t.seq), '') FROM transitions t " \
	"CROSS JOIN LATERAL (SELECT coalesce(t.doc, (t.response::json -> " \
	"'transition')::text) AS doc) tx " \
	"LEFT JOIN LATERAL (SELECT jsonb_agg(c.event_id ORDER BY c.seq) " \
	"AS ids FROM transitions c WHERE c.pathway_id = t.pathway_id AND " \
	"c.corrects = t.seq AND c.type = 'event.corrected') cb ON true " \
	"LEFT JOIN LATERAL (SELECT min(c.event_id) AS id FROM transitions c " \
	"WHERE c.pathway_id = t.pathway_id AND c.corrects = t.seq AND " \
	"c.type = 'event.retracted') rb ON true " \
	"WHERE t.pathway_id = p.pathway_id)"

static const char registry_sql[] =
	"SELECT p.patient_id, p.region, '{\"pathway\":' || p.doc || "
	"',\"transitions\":[' || " HISTORY_TEXT " || ']}' AS line "
	TOUCHED " ORDER BY p.pathway_id";

static const char registry_patients_sql[] =
	"SELECT p.patient_id, p.region " TOUCHED;

/* The worklist's selection (daemon/worklist.c worklist_sql) without its
 * keyset and limit; e2e tests hold the two to the same pathways. */
static const char worklist_sql[] =
	"SELECT p.pathway_id, p.patient_id, p.model, p.region, p.level, "
	"p.unit, p.phase, " UTC_TEXT("p.opened_at") ", p.ref_to_level, "
	"p.ref_unit, " UTC_TEXT("p.ref_received_at") ", p.next_due::text, "
	"CASE p.next_due WHEN p.due_transit THEN 'transit' "
	"WHEN p.due_assessment THEN 'assessment' "
	"WHEN p.due_treatment THEN 'treatment' "
	"WHEN p.due_free_choice THEN 'free_choice' "
	"WHEN p.due_level_review THEN 'level_review' END, "
	"p.ref_deadline::text, p.ref_paused_days, "
	"array_to_string(p.flags, ';'), p.content_covered "
	"FROM pathways p WHERE p.closed_at IS NULL "
	"AND ($1::text IS NULL OR p.region = $1) "
	"AND ($2::text IS NULL OR p.model = $2) "
	"AND ($3::text IS NULL OR p.level = $3) "
	"AND ($4::text IS NULL OR p.phase = $4) "
	"AND ($5::text IS NULL OR p.unit = $5) "
	"AND ($6::text IS NULL OR p.ref_unit = $6) "
	"AND ($7::jsonb IS NULL OR p.next_due < ($7::jsonb ->> p.model)::date) "
	"AND ($8::date IS NULL OR p.next_due < $8) "
	"AND ($9::text IS NULL OR $9 = ANY (p.flags)) "
	"AND (NOT $10::bool OR p.content_covered < 13) "
	"AND ($11::text[] IS NULL OR p.region = ANY ($11::text[])) "
	"ORDER BY p.opened_at, p.pathway_id";

/* clang-format on */

const char *const store_export_sql[EXPORT_STMT_COUNT] = {
	[EXPORT_REGISTRY] = registry_sql,
	[EXPORT_REGISTRY_PATIENTS] = registry_patients_sql,
	[EXPORT_WORKLIST] = worklist_sql,
};

const char export_worklist_header[] =
	"pathway_id,patient_id,model,region,level,unit,phase,opened_at,"
	"referral_to_level,referral_unit,referral_received_at,next_due,"
	"next_rule,deadline,paused_days,flags,content_covered\r\n";

const char export_begin_sql[] =
	"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
const char export_snapshot_sql[] = "SELECT pg_export_snapshot()";
const char export_begin_audit_sql[] = "BEGIN ISOLATION LEVEL REPEATABLE READ";
const char export_close_sql[] = "CLOSE painpath_export";

#define DECLARE_PREFIX "DECLARE painpath_export NO SCROLL CURSOR FOR "

char *export_declare_sql(const char *rows_sql)
{
	char *out = NULL;

	if (asprintf(&out, DECLARE_PREFIX "%s", rows_sql) < 0)
		return NULL;
	return out;
}

void export_fetch_sql(int rows, char *buf, size_t len)
{
	snprintf(buf, len, "FETCH %d FROM painpath_export", rows);
}

char *export_set_snapshot_sql(const char *name)
{
	char *out = NULL;
	size_t n = strlen(name);

	if (n == 0 || n > 64 || strspn(name, "0123456789ABCDEFabcdef-") != n)
		return NULL;
	if (asprintf(&out, "SET TRANSACTION SNAPSHOT '%s'", name) < 0)
		return NULL;
	return out;
}

char *export_audit_sql(const char *selection_sql, int n)
{
	char *out = NULL;

	if (asprintf(&out,
		     "INSERT INTO audit_log (token_id, method, route, uri, "
		     "patient_ids, remote, status, regions) SELECT $%d, $%d, "
		     "$%d, $%d, coalesce(array_agg(DISTINCT q.patient_id) "
		     "FILTER (WHERE q.patient_id IS NOT NULL), '{}'), $%d, "
		     "200, array_agg(DISTINCT q.region) FROM (%s) q",
		     n + 1, n + 2, n + 3, n + 4, n + 5, selection_sql) < 0)
		return NULL;
	return out;
}
