/* The nightly report's SQL (store_report.h): part of the store module. */
#include "store_report.h"

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
