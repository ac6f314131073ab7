#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "evtype.h"
#include "store_stats.h"

/* Milliseconds since the epoch of a timestamptz column, so no date text
 * is parsed to read a row back. */
#define MS(c) "(extract(epoch FROM " c ") * 1000)::bigint"

/*
 * A pathway row as the daemon writes it: n, column, the parameter's
 * element type, and a cast from it to the column's type.  Every column
 * is one array parameter holding the group's rows (unnest); a column of
 * arrays travels as the text of each row's array, cast back.
 */
/* clang-format off */
#define PATHWAY_WRITE(X, SEP)                                                  \
	X(1, pathway_id, text, "") SEP X(2, patient_id, text, "")              \
	SEP X(3, model, text, "") SEP X(4, region, text, "")                   \
	SEP X(5, level, text, "") SEP X(6, unit, text, "")                     \
	SEP X(7, phase, text, "") SEP X(8, version, int, "")                   \
	SEP X(9, flags, text, "::text[]")                                      \
	SEP X(10, opened_at, timestamptz, "")                                  \
	SEP X(11, updated_at, timestamptz, "")                                 \
	SEP X(12, closed_at, timestamptz, "")                                  \
	SEP X(13, close_reason, text, "") SEP X(14, gp_unit, text, "")         \
	SEP X(15, pain_onset, date, "") SEP X(16, birth_date, date, "")        \
	SEP X(17, age_at_opening, int, "")                                     \
	SEP X(18, levels_visited, text, "::text[]")                            \
	SEP X(19, last_change_at, timestamptz, "")                             \
	SEP X(20, content_covered, int, "")                                    \
	SEP X(21, ref_from_level, text, "") SEP X(22, ref_from_unit, text, "") \
	SEP X(23, ref_to_level, text, "") SEP X(24, ref_to_unit, text, "")     \
	SEP X(25, ref_received_unit, text, "") SEP X(26, ref_unit, text, "")   \
	SEP X(27, ref_private, bool, "")                                       \
	SEP X(28, ref_sent_at, timestamptz, "")                                \
	SEP X(29, ref_received_at, timestamptz, "")                            \
	SEP X(30, ref_accepted_at, timestamptz, "")                            \
	SEP X(31, ref_deadline, date, "")                                      \
	SEP X(32, ref_content_covered, int, "")                                \
	SEP X(33, ref_paused_days, int, "")                                    \
	SEP X(34, ref_paused_on, date, "") SEP X(35, clocks, text, "")         \
	SEP X(36, due_transit, date, "") SEP X(37, due_assessment, date, "")   \
	SEP X(38, due_treatment, date, "")                                     \
	SEP X(39, due_free_choice, date, "")                                   \
	SEP X(40, due_level_review, date, "") SEP X(41, next_due, date, "")    \
	SEP X(42, doc, text, "")
#define PATHWAY_WRITE_COUNT 42

/* The update's own column after the row's: the version each row must still
 * have (the decision's starting point). */
#define PATHWAY_UPDATE_EXTRA(X, SEP) SEP X(43, prior_version, int, "")

/* An audit row, as struct store_audit collects it. */
#define AUDIT_WRITE(X, SEP)                                                    \
	X(1, token_id, text, "") SEP X(2, method, text, "")                    \
	SEP X(3, route, text, "") SEP X(4, uri, text, "")                      \
	SEP X(5, patient_ids, text, "::text[]") SEP X(6, remote, text, "")     \
	SEP X(7, status, int, "") SEP X(8, regions, text, "::text[]")

#define TRANSITION_WRITE(X, SEP)                                               \
	X(1, pathway_id, text, "") SEP X(2, seq, int, "")                      \
	SEP X(3, event_id, text, "") SEP X(4, source, text, "")                \
	SEP X(5, type, text, "") SEP X(6, from_phase, text, "")                \
	SEP X(7, to_phase, text, "") SEP X(8, from_level, text, "")            \
	SEP X(9, to_level, text, "") SEP X(10, unit, text, "")                 \
	SEP X(11, occurred_at, timestamptz, "")                                \
	SEP X(12, recorded_at, timestamptz, "") SEP X(13, data, text, "")      \
	SEP X(14, event, text, "") SEP X(15, response, text, "")               \
	SEP X(16, waited_since, timestamptz, "")                               \
	SEP X(17, paused_days, int, "") SEP X(18, corrects, int, "")           \
	SEP X(19, doc, text, "")
#define TRANSITION_WRITE_COUNT 19

#define NOTIFICATION_WRITE(X, SEP)                                             \
	X(1, pathway_id, text, "") SEP X(2, event_id, text, "")                \
	SEP X(3, kind, text, "") SEP X(4, region, text, "")                    \
	SEP X(5, payload, text, "::jsonb")
#define NOTIFICATION_WRITE_COUNT 5

/* A write's FHIR change (fhir_change.h), joined with the live
 * Subscriptions' criteria columns. */
#define OUTBOX_WRITE(X, SEP)                                                   \
	X(1, pathway_id, text, "") SEP X(2, seq, int, "")                      \
	SEP X(3, patient_id, text, "") SEP X(4, region, text, "")              \
	SEP X(5, status, text, "") SEP X(6, units, text, "::text[]")           \
	SEP X(7, any_unit, bool, "") SEP X(8, decision, bool, "")
#define OUTBOX_WRITE_COUNT 8

#define COL_NAME(n, c, t, cast)   #c
#define COL_PARAM(n, c, t, cast)  "$" #n "::" #t "[]"
#define COL_SELECT(n, c, t, cast) "u." #c cast
#define COL_SET(n, c, t, cast)    #c " = u." #c cast

#define INSERT_SQL(table, COLUMNS)                                             \
	"INSERT INTO " table " (" COLUMNS(COL_NAME, ", ") ") SELECT "          \
	COLUMNS(COL_SELECT, ", ") " FROM unnest(" COLUMNS(COL_PARAM, ", ")     \
	") AS u(" COLUMNS(COL_NAME, ", ") ")"

/* Each row only if it still has the version the decision started from: a
 * row changed meanwhile aborts the group (40001), to be retried. */
#define PATHWAY_UPDATE_SQL                                                     \
	"WITH u AS (SELECT * FROM unnest(" PATHWAY_WRITE(COL_PARAM, ", ")      \
	PATHWAY_UPDATE_EXTRA(COL_PARAM, ", ") ") AS u("                        \
	PATHWAY_WRITE(COL_NAME, ", ") PATHWAY_UPDATE_EXTRA(COL_NAME, ", ")     \
	")), w AS (UPDATE pathways p SET " PATHWAY_WRITE(COL_SET, ", ")        \
	" FROM u WHERE p.pathway_id = u.pathway_id AND p.version = "           \
	"u.prior_version RETURNING 1) SELECT painpath_expect_rows(count(*), "  \
	"$44::int) FROM w"
/* clang-format on */

/* clang-format off */
#define LOCK_COLUMNS                                                           \
	"pathway_id, patient_id, model, region, level, unit, phase, version, " \
	"flags::text, " MS("opened_at") ", " MS("updated_at") ", "             \
	MS("closed_at") ", close_reason, gp_unit, pain_onset::text, "          \
	"birth_date::text, age_at_opening, levels_visited::text, "             \
	MS("last_change_at") ", content_covered, ref_from_level, "             \
	"ref_from_unit, ref_to_level, ref_to_unit, ref_received_unit, "        \
	"ref_private, " MS("ref_sent_at") ", " MS("ref_received_at") ", "      \
	MS("ref_accepted_at") ", ref_deadline::text, ref_content_covered, "    \
	"clocks"
/* clang-format on */

#define REGIONS(n) "($" #n "::text[] IS NULL OR region = ANY ($" #n "::text[]))"

#define STMT(id, sql) [id - 1] = {#id, sql, false}
/* Finds its rows by index keys, whatever the tables hold (db.h): planned
 * once per connection.  check_store pins each one's plan. */
#define KEYED(id, sql) [id - 1] = {#id, sql, true}

/* clang-format off */
/* One rule's running and overdue clocks (each model's today from m). */
#define METRICS_RULE(R) \
	"count(p.due_" R ") AS " R "_n, count(*) FILTER (WHERE p.due_" R \
	" < m.today) AS " R "_o"
#define METRICS_CLOCKS_SQL \
	"WITH m AS (SELECT * FROM unnest($1::text[], $2::date[]) AS " \
	"m(model, today)), " \
	"c AS (SELECT p.region, " METRICS_RULE("transit") ", " \
	METRICS_RULE("assessment") ", " METRICS_RULE("treatment") ", " \
	METRICS_RULE("free_choice") ", " METRICS_RULE("level_review") " " \
	"FROM pathways p JOIN m ON m.model = p.model WHERE p.closed_at IS " \
	"NULL AND p.next_due IS NOT NULL GROUP BY p.region), " \
	"z AS (SELECT p.region, count(*) AS n FROM pathways p JOIN m ON " \
	"m.model = p.model WHERE p.closed_at IS NULL AND p.clocks ~ " \
	STATS_PAUSED_ANY " AND p.ref_paused_on IS NOT NULL GROUP BY 1) " \
	"SELECT region, rule, n, o FROM (SELECT c.region, v.rule, v.n, v.o " \
	"FROM c CROSS JOIN LATERAL (VALUES " \
	"('transit', transit_n, transit_o), " \
	"('assessment', assessment_n, assessment_o), " \
	"('treatment', treatment_n, treatment_o), " \
	"('free_choice', free_choice_n, free_choice_o), " \
	"('level_review', level_review_n, level_review_o)) AS v(rule, n, o) " \
	"WHERE v.n > 0 UNION ALL SELECT region, 'paused', n, 0 FROM z) x " \
	"ORDER BY 1, 2"
/* clang-format on */

/* --- FHIR (issue 13) --- */

/* The hash a "pw.h" FHIR id carries (fhir_id_pathway_hash), as the index
 * pathways_fhir_hash has it. */
#define FHIR_HASH "left(encode(sha256(p.pathway_id::bytea), 'hex'), 32)"

/* A pathway and its transitions as lib/fhir_resource renders them. */
#define FHIR_VIEW_COLUMNS                                                      \
	"p.doc, (SELECT json_agg(coalesce(t.doc, (t.response::json -> "        \
	"'transition')::text)::json ORDER BY t.seq) FROM transitions t WHERE " \
	"t.pathway_id = p.pathway_id)::text, p.patient_id, p.region, p.model"

#define FHIR_VIEW_WHERE(cond)                                                  \
	"SELECT " FHIR_VIEW_COLUMNS ", $3::text FROM pathways p WHERE " cond   \
	" AND ($2::text[] IS NULL OR p.region = ANY ($2::text[]))"

#define FHIR_FILTERS                                                           \
	"($1::text[] IS NULL OR p.pathway_id = ANY ($1::text[])) AND "         \
	"($2::text[] IS NULL OR " FHIR_HASH " = ANY ($2::text[])) AND "        \
	"($3::text[] IS NULL OR p.patient_id = ANY ($3::text[])) AND "         \
	"($4::text[] IS NULL OR p.phase = ANY ($4::text[])) AND "              \
	"($5::text[] IS NULL OR p.unit = ANY ($5::text[])) AND "               \
	"($6::text[] IS NULL OR (p.ref_unit = ANY ($6::text[]) AND "           \
	"p.closed_at IS NULL) OR p.unit = ANY ($6::text[])) AND "              \
	"($7::timestamptz IS NULL OR p.updated_at >= $7::timestamptz) AND "    \
	"($8::timestamptz IS NULL OR p.updated_at < $8::timestamptz) AND "     \
	"($9::text[] IS NULL OR p.pathway_id IN (SELECT t.pathway_id FROM "    \
	"transitions t WHERE t.event_id = ANY ($9::text[]) AND t.type = "      \
	"$10::text)) AND ($11::date IS NULL OR (p.next_due <= $11::date AND "  \
	"p.closed_at IS NULL)) AND ($12::text[] IS NULL OR p.region = ANY "    \
	"($12::text[]))"

const char store_fhir_search_sql[] =
	"SELECT " FHIR_VIEW_COLUMNS ", NULL::text, (extract(epoch FROM "
	"p.opened_at) * 1000000)::bigint FROM pathways p WHERE " FHIR_FILTERS
	" AND ($13::bigint IS NULL OR (p.opened_at, p.pathway_id) >= "
	"('epoch'::timestamptz + $13::bigint * interval '1 microsecond', "
	"$14::text)) ORDER BY p.opened_at, p.pathway_id LIMIT $15::int";

const char store_fhir_count_sql[] =
	"SELECT count(*) FROM pathways p WHERE " FHIR_FILTERS;

/* The heads of the streams that are due: a stream's next row waits for
 * the one before it (order per resource), a leased row for its lease
 * (one sender), a subscription turned off for its client. */
#define OUTBOX_CLAIM_SQL                                                       \
	"UPDATE outbox o SET claimed_by = $1, claimed_until = now() + "        \
	"$3::int * interval '1 second' FROM (SELECT h.outbox_id FROM outbox "  \
	"h "                                                                   \
	"WHERE h.delivered_at IS NULL AND h.next_attempt_at <= now() AND "     \
	"(h.claimed_until IS NULL OR h.claimed_until < now()) AND NOT EXISTS " \
	"(SELECT 1 FROM outbox e WHERE e.stream = h.stream AND "               \
	"e.delivered_at IS NULL AND e.outbox_id < h.outbox_id) AND "           \
	"(h.subscription_id IS NULL OR EXISTS (SELECT 1 FROM "                 \
	"fhir_subscriptions s WHERE s.subscription_id = h.subscription_id "    \
	"AND s.status <> 'off')) AND (h.kind <> 'report' OR h.region = ANY "   \
	"($4::text[])) ORDER BY h.next_attempt_at, h.outbox_id "               \
	"LIMIT $2::int FOR UPDATE SKIP LOCKED) c WHERE o.outbox_id = "         \
	"c.outbox_id RETURNING o.outbox_id, o.kind, o.subscription_id, "       \
	"o.pathway_id, o.seq, o.region, o.report_date::text, o.attempts"

/* Every change of the group joined with the live subscriptions whose
 * criteria columns it may match (a superset: the delivery matches
 * exactly).  One stream per subscription and pathway. */
#define OUTBOX_INSERT_SQL                                                      \
	"INSERT INTO outbox (stream, kind, subscription_id, pathway_id, seq) " \
	"SELECT 'sub:' || s.subscription_id || ':' || c.pathway_id, CASE "     \
	"WHEN c.decision THEN 'decision' ELSE 'change' END, "                  \
	"s.subscription_id, c.pathway_id, c.seq FROM unnest(" OUTBOX_WRITE(    \
		COL_PARAM,                                                     \
		", ") ") WITH ORDINALITY AS c(" OUTBOX_WRITE(COL_NAME,         \
							     ", ") ", i) "     \
								   "JOIN "     \
								   "fhir_"     \
								   "subscript" \
								   "ions s "   \
								   "ON "       \
								   "s.status " \
								   "<> 'off' " \
								   "AND "      \
								   "(s.end_"   \
								   "at IS "    \
								   "NULL OR "  \
								   "s.end_at " \
								   "> now()) " \
								   "AND "      \
								   "(s."       \
								   "regions "  \
								   "IS NULL "  \
								   "OR "       \
								   "c.region " \
								   "= ANY "    \
								   "(s."       \
								   "regions))" \
								   " AND "     \
								   "(s."       \
								   "patients " \
								   "IS NULL "  \
								   "OR "       \
								   "c."        \
								   "patient_"  \
								   "id = ANY " \
								   "(s."       \
								   "patients)" \
								   ") AND "    \
								   "(s.units " \
								   "IS NULL "  \
								   "OR "       \
								   "c.any_"    \
								   "unit OR "  \
								   "c.units::" \
								   "text[] "   \
								   "&& "       \
								   "s.units) " \
								   "AND "      \
								   "(s."       \
								   "statuses " \
								   "IS NULL "  \
								   "OR "       \
								   "s."        \
								   "resource_" \
								   "type <> "  \
								   "'EpisodeO" \
								   "fCare' "   \
								   "OR "       \
								   "c.status " \
								   "= ANY "    \
								   "(s."       \
								   "statuses)" \
								   ") ORDER "  \
								   "BY c.i, "  \
								   "s."        \
								   "subscript" \
								   "ion_id"

/* The pathways a group's events address: $1 by id, $2 patients' open
 * ones, $3 patients' latest.  Each part an index scan; a NULL array
 * (nothing of that kind in the group) is planned away, which an empty
 * array is not.  "Open" is said with the phase, not closed_at: the
 * worklists' partial indexes (WHERE closed_at IS NULL) then cannot match,
 * and a plan made on a small table cannot pick one of them to scan. */
#define FOUND_PATHWAYS                                                         \
	"SELECT unnest($1::text[]) UNION ALL SELECT pathway_id FROM pathways " \
	"WHERE $2::text[] IS NOT NULL AND phase <> 'closed' AND patient_id = " \
	"ANY ($2::text[]) UNION "                                              \
	"ALL SELECT * FROM (SELECT DISTINCT ON (patient_id) pathway_id FROM "  \
	"pathways WHERE $3::text[] IS NOT NULL AND patient_id = ANY "          \
	"($3::text[]) ORDER BY patient_id, opened_at DESC) latest"

const struct db_statement store_statements[] = {
	/* Rows are locked in patient order, the same in every group of
	 * every daemon, so groups never deadlock on each other. */
	KEYED(STMT_LOCK,
	      "SELECT " LOCK_COLUMNS " FROM pathways WHERE pathway_id IN "
	      "(" FOUND_PATHWAYS ") ORDER BY patient_id, pathway_id FOR "
	      "UPDATE"),
	/* After the lock in the same pipeline: a concurrent post of the same
	 * event that committed while we waited is seen here. */
	KEYED(STMT_EVENT_LOOKUP,
	      "SELECT k.i, t.source, t.pathway_id, t.event, t.response, "
	      "p.region FROM unnest($1::text[], $2::text[]) WITH ORDINALITY "
	      "AS k(source, event_id, i) JOIN transitions t ON t.event_id = "
	      "k.event_id AND t.source IN (k.source, '') JOIN pathways p ON "
	      "p.pathway_id = t.pathway_id ORDER BY k.i, t.source DESC"),
	KEYED(STMT_HISTORY,
	      "SELECT pathway_id, seq, source, event_id, event, " MS(
		      "recorded_at") " FROM transitions WHERE pathway_id IN "
				     "(" FOUND_PATHWAYS ") ORDER BY "
				     "pathway_id, seq"),
	KEYED(STMT_PATHWAY_INSERT, INSERT_SQL("pathways", PATHWAY_WRITE)),
	KEYED(STMT_PATHWAY_UPDATE, PATHWAY_UPDATE_SQL),
	KEYED(STMT_TRANSITION_INSERT,
	      INSERT_SQL("transitions", TRANSITION_WRITE)),
	/* Any constant: the only advisory lock the schema's users take. */
	KEYED(STMT_NOTIFICATION_ORDER, "SELECT pg_advisory_xact_lock(3170003)"),
	KEYED(STMT_NOTIFICATION_INSERT,
	      INSERT_SQL("notifications", NOTIFICATION_WRITE)),
	KEYED(STMT_XACT_ID, "SELECT pg_current_xact_id()"),
	KEYED(STMT_PATHWAYS_GET_AUDITED,
	      "WITH r AS (SELECT k.*, p.doc, p.patient_id, p.region FROM "
	      "unnest($1::text[], $2::text[], $3::text[], $4::text[], "
	      "$5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS "
	      "k(pathway_id, regions, token_id, method, route, uri, remote, i) "
	      "JOIN pathways p ON p.pathway_id = k.pathway_id AND (k.regions "
	      "IS "
	      "NULL OR p.region = ANY (k.regions::text[]))), a AS (INSERT INTO "
	      "audit_log (token_id, method, route, uri, patient_ids, remote, "
	      "status, regions) SELECT token_id, method, route, uri, "
	      "ARRAY[patient_id], remote, 200, ARRAY[region] FROM r) "
	      "SELECT i, doc, patient_id, region FROM r ORDER BY i"),
	KEYED(STMT_PATHWAYS_GET,
	      "SELECT k.i, p.doc, p.patient_id, p.region FROM "
	      "unnest($1::text[], "
	      "$2::text[]) WITH ORDINALITY AS k(pathway_id, regions, i) JOIN "
	      "pathways p ON p.pathway_id = k.pathway_id AND (k.regions IS "
	      "NULL "
	      "OR p.region = ANY (k.regions::text[])) ORDER BY k.i"),
	/* The corrections are gathered once, not looked up per row: a long
	 * history is a thousand rows. */
	KEYED(STMT_PATHWAY_TRANSITIONS,
	      "WITH c AS (SELECT corrects, json_agg(event_id ORDER BY seq) "
	      "FILTER (WHERE type = 'event.corrected') AS corrected_by, "
	      "min(event_id) FILTER (WHERE type = 'event.retracted') AS "
	      "retracted_by FROM transitions WHERE pathway_id = $1 AND "
	      "corrects IS NOT NULL GROUP BY corrects) "
	      "SELECT t.seq, coalesce(t.doc, (t.response::json -> "
	      "'transition')::text), c.corrected_by::text, c.retracted_by, "
	      "p.patient_id, p.region FROM transitions t "
	      "JOIN pathways p USING (pathway_id) LEFT JOIN c ON c.corrects = "
	      "t.seq WHERE t.pathway_id = $1 AND "
	      "($2::text[] IS NULL OR p.region = ANY ($2::text[])) ORDER BY "
	      "t.seq"),
	KEYED(STMT_PATIENTS_PATHWAYS,
	      "SELECT k.i, p.doc, p.region FROM unnest($1::text[], $2::text[]) "
	      "WITH ORDINALITY AS k(patient_id, regions, i) JOIN pathways p ON "
	      "p.patient_id = k.patient_id AND (k.regions IS NULL OR p.region "
	      "= "
	      "ANY (k.regions::text[])) ORDER BY k.i, p.closed_at IS NOT NULL, "
	      "p.opened_at DESC"),
	STMT(STMT_NOTIFICATIONS_AFTER,
	     "SELECT coalesce(json_agg(jsonb_build_object('notification_id', "
	     "notification_id::text, 'created_at', to_char(created_at AT "
	     "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
	     "'event_id', event_id, 'kind', kind) || payload ORDER BY "
	     "notification_id), '[]')::text, max(notification_id)::text "
	     "FROM (SELECT * FROM notifications WHERE notification_id > "
	     "$1::bigint AND " REGIONS(
		     3) " ORDER BY notification_id LIMIT $2::int) n"),
	STMT(STMT_AUDIT_OF_PATIENT,
	     "SELECT coalesce(json_agg(json_build_object('audit_id', "
	     "audit_id::text, 'at', to_char(at AT TIME ZONE 'UTC', "
	     "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'token_id', token_id, "
	     "'method', method, 'route', route, 'uri', uri, 'remote', remote, "
	     "'status', status) ORDER BY audit_id), '[]')::text FROM (SELECT "
	     "* FROM audit_log WHERE patient_ids @> ARRAY[$1::text] AND "
	     "($3::text[] IS NULL OR regions <@ $3::text[]) ORDER BY "
	     "audit_id DESC LIMIT $2::int) a"),
	KEYED(STMT_AUDIT_INSERT, INSERT_SQL("audit_log", AUDIT_WRITE)),
	STMT(STMT_VERIFY_PAGE,
	     "SELECT " LOCK_COLUMNS
	     ", due_transit::text, due_assessment::text, "
	     "due_treatment::text, due_free_choice::text, "
	     "due_level_review::text, next_due::text, doc, (SELECT count(*) "
	     "FROM transitions t WHERE t.pathway_id = p.pathway_id) FROM "
	     "pathways p WHERE pathway_id > $1 ORDER BY pathway_id LIMIT "
	     "$2::int"),
	STMT(STMT_PATIENTS_OF_PATHWAYS,
	     "SELECT patient_id, region FROM pathways WHERE pathway_id = ANY "
	     "($1::text[])"),
	STMT(STMT_METRICS_OUTBOX,
	     "SELECT count(*), coalesce(extract(epoch FROM now() - "
	     "min(created_at))::bigint, 0) FROM outbox WHERE delivered_at IS "
	     "NULL"),
	STMT(STMT_METRICS_PATHWAYS,
	     "SELECT region, phase, level, count(*) FROM pathways WHERE "
	     "closed_at IS NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
	/* Each open pathway read once from the clocks' covering index,
	 * every rule counted by FILTER (a row per pathway and rule scanned
	 * the table: 1.5-2.8 s at a million pathways, every 30 s); the
	 * paused waits from their own partial index. */
	STMT(STMT_METRICS_CLOCKS, METRICS_CLOCKS_SQL),
	KEYED(STMT_FHIR_VIEW, FHIR_VIEW_WHERE("p.pathway_id = $1")),
	KEYED(STMT_FHIR_VIEW_HASH, FHIR_VIEW_WHERE(FHIR_HASH " = $1")),
	KEYED(STMT_FHIR_VIEWS,
	      "SELECT " FHIR_VIEW_COLUMNS ", NULL::text FROM pathways p WHERE "
	      "(p.pathway_id = ANY ($1::text[]) OR (p.patient_id = ANY "
	      "($2::text[]) AND p.phase <> 'closed') OR " FHIR_HASH " = ANY "
	      "($4::text[])) AND ($3::text[] IS NULL OR p.region = ANY "
	      "($3::text[])) ORDER BY p.pathway_id"),
	KEYED(STMT_FHIR_CONTEXT, "SELECT $1::text"),
	STMT(STMT_SUB_INSERT,
	     "INSERT INTO fhir_subscriptions (subscription_id, resource_type, "
	     "criteria, patients, units, statuses, endpoint, full_payload, "
	     "headers, secret, status, reason, end_at, token_id, source, "
	     "regions, doc) VALUES ($1, $2, $3, $4::text[], $5::text[], "
	     "$6::text[], $7, $8::bool, $9::text[], $10, $11, $12, "
	     "$13::timestamptz, $14, $15, $16::text[], $17)"),
	STMT(STMT_SUB_LIST,
	     "SELECT doc, status, error FROM fhir_subscriptions WHERE "
	     "($1::text IS NULL OR subscription_id = $1) AND ($2::text IS "
	     "NULL OR status = $2) AND ($3::text IS NULL OR source = $3) "
	     "ORDER BY created_at, subscription_id LIMIT 1000"),
	STMT(STMT_SUB_DELETE,
	     "DELETE FROM fhir_subscriptions WHERE subscription_id = $1 AND "
	     "($2::text IS NULL OR source = $2) RETURNING subscription_id"),
	STMT(STMT_OUTBOX_CLAIM, OUTBOX_CLAIM_SQL),
	STMT(STMT_OUTBOX_SUBSCRIPTION,
	     "SELECT resource_type, criteria, endpoint, full_payload, "
	     "to_json(headers)::text, secret, status, token_id, doc FROM "
	     "fhir_subscriptions WHERE subscription_id = $1"),
	STMT(STMT_OUTBOX_HISTORY,
	     "SELECT t.seq, coalesce(t.doc, (t.response::json -> "
	     "'transition')::text), CASE WHEN t.seq >= $2::int - 1 THEN "
	     "(t.response::json -> 'pathway')::text END, p.model, "
	     "p.patient_id, p.region FROM transitions t JOIN pathways p USING "
	     "(pathway_id) WHERE t.pathway_id = $1 AND t.seq <= $2::int ORDER "
	     "BY t.seq"),
	STMT(STMT_OUTBOX_DONE,
	     "UPDATE outbox SET delivered_at = now(), outcome = $3, "
	     "claimed_by = NULL, claimed_until = NULL WHERE outbox_id = "
	     "$1::bigint AND claimed_by = $2"),
	STMT(STMT_OUTBOX_RETRY,
	     "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = "
	     "now() + $3::int * interval '1 millisecond', last_error = $4, "
	     "claimed_by = NULL, claimed_until = NULL WHERE outbox_id = "
	     "$1::bigint AND claimed_by = $2"),
	STMT(STMT_SUB_OUTCOME,
	     "UPDATE fhir_subscriptions SET status = CASE WHEN status = 'off' "
	     "THEN 'off' ELSE $2 END, error = $3, updated_at = now() WHERE "
	     "subscription_id = $1"),
	STMT(STMT_REPORT_ENDPOINTS,
	     "WITH gone AS (DELETE FROM report_endpoints WHERE region <> ALL "
	     "($1::text[])) INSERT INTO report_endpoints (region, format) "
	     "SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT "
	     "(region) DO UPDATE SET format = EXCLUDED.format"),
	STMT(STMT_OUTBOX_PRUNE,
	     "DELETE FROM outbox WHERE outbox_id IN (SELECT outbox_id FROM "
	     "outbox WHERE delivered_at < now() - interval '1 day' LIMIT "
	     "1000)"),
	KEYED(STMT_OUTBOX_INSERT, OUTBOX_INSERT_SQL),
	{NULL, NULL, false},
};

/* --- reading a row
 * ------------------------------------------------------------ */

enum lock_column {
	LC_ID,
	LC_PATIENT,
	LC_MODEL,
	LC_REGION,
	LC_LEVEL,
	LC_UNIT,
	LC_PHASE,
	LC_VERSION,
	LC_FLAGS,
	LC_OPENED,
	LC_UPDATED,
	LC_CLOSED,
	LC_CLOSE_REASON,
	LC_GP_UNIT,
	LC_PAIN_ONSET,
	LC_BIRTH_DATE,
	LC_AGE,
	LC_LEVELS,
	LC_LAST_CHANGE,
	LC_CONTENT,
	LC_REF_FROM_LEVEL,
	LC_REF_FROM_UNIT,
	LC_REF_TO_LEVEL,
	LC_REF_TO_UNIT,
	LC_REF_RECEIVED_UNIT,
	LC_REF_PRIVATE,
	LC_REF_SENT,
	LC_REF_RECEIVED,
	LC_REF_ACCEPTED,
	LC_REF_DEADLINE,
	LC_REF_CONTENT,
	LC_CLOCKS,
	LC_COUNT
};
_Static_assert(LC_COUNT == STORE_PATHWAY_COLUMNS,
	       "store.h's column count and the reader disagree");

struct row {
	const PGresult *res;
	int row;
};

static const char *text_at(const struct row *r, enum lock_column c)
{
	return PQgetisnull(r->res, r->row, c) ? NULL
					      : PQgetvalue(r->res, r->row, c);
}

static bool id_at(const struct row *r, enum lock_column c, char *out,
		  bool required)
{
	const char *s = text_at(r, c);

	out[0] = '\0';
	if (s == NULL)
		return !required;
	if (strlen(s) > ID_MAX)
		return false;
	strcpy(out, s);
	return true;
}

static long long number_at(const struct row *r, enum lock_column c,
			   long long fallback)
{
	const char *s = text_at(r, c);

	return s ? strtoll(s, NULL, 10) : fallback;
}

static bool date_at(const struct row *r, enum lock_column c, cal_date *out,
		    bool *present)
{
	const char *s = text_at(r, c);

	*present = s != NULL;
	return s == NULL || calendar_parse_date(s, out);
}

static bool level_at(const struct row *r, enum lock_column c, enum level *out)
{
	const char *s = text_at(r, c);

	return s != NULL && domain_level_parse(s, out);
}

/* Walks "{a,b}" (identifiers: never quoted) calling each(name). */
static bool each_element(const char *s, void *arg,
			 bool (*each)(const char *name, void *arg))
{
	char name[ID_MAX + 1];
	size_t n;

	if (s == NULL || *s++ != '{')
		return false;
	while (*s != '}' && *s != '\0') {
		n = strcspn(s, ",}");
		if (n == 0 || n > ID_MAX)
			return false;
		memcpy(name, s, n);
		name[n] = '\0';
		if (!each(name, arg))
			return false;
		s += n + (s[n] == ',');
	}
	return *s == '}';
}

static bool add_flag(const char *name, void *arg)
{
	enum flag f;

	if (!domain_flag_parse(name, &f))
		return false;
	((struct pathway *)arg)->flags |= 1u << f;
	return true;
}

static bool add_level(const char *name, void *arg)
{
	enum level l;

	if (!domain_level_parse(name, &l))
		return false;
	pathway_visit_level(arg, l);
	return true;
}

/* One clock of the clocks column: "rule due started_ms paused_on reason
 * paused_days paused_calendar", "-" for none. */
static bool parse_clock(char *text, struct pathway *p)
{
	char rule[32], due[16], paused_on[16], reason[32];
	long long started;
	int days, calendar_days;
	enum rule r;
	struct pathway_clock *c;

	if (sscanf(text, "%31s %15s %lld %15s %31s %d %d", rule, due, &started,
		   paused_on, reason, &days, &calendar_days) != 7 ||
	    !domain_rule_parse(rule, &r))
		return false;
	c = &p->clocks[r];
	c->running = true;
	c->started_at = started;
	c->paused_days = days;
	c->paused_calendar_days = calendar_days;
	c->paused = strcmp(paused_on, "-") != 0;
	if (!calendar_parse_date(due, &c->due))
		return false;
	if (!c->paused)
		return true;
	return calendar_parse_date(paused_on, &c->paused_on) &&
	       domain_pause_reason_parse(reason, &c->pause_reason);
}

static bool clocks_from_text(const char *s, struct pathway *p)
{
	char buf[1024], *save = NULL;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (char *c = strtok_r(buf, ";", &save); c != NULL;
	     c = strtok_r(NULL, ";", &save))
		if (!parse_clock(c, p))
			return false;
	return true;
}

static bool referral_from_row(const struct row *r, struct pathway_referral *f)
{
	bool has;

	memset(f, 0, sizeof(*f));
	f->content_covered = (int)number_at(r, LC_REF_CONTENT, -1);
	if (text_at(r, LC_REF_SENT) == NULL)
		return true;
	f->open = true;
	f->private_unit = text_at(r, LC_REF_PRIVATE) &&
			  strcmp(text_at(r, LC_REF_PRIVATE), "t") == 0;
	f->sent_at = number_at(r, LC_REF_SENT, 0);
	f->received_at = number_at(r, LC_REF_RECEIVED, 0);
	f->accepted_at = number_at(r, LC_REF_ACCEPTED, 0);
	return level_at(r, LC_REF_FROM_LEVEL, &f->from_level) &&
	       level_at(r, LC_REF_TO_LEVEL, &f->to_level) &&
	       id_at(r, LC_REF_FROM_UNIT, f->from_unit, false) &&
	       id_at(r, LC_REF_TO_UNIT, f->to_unit, false) &&
	       id_at(r, LC_REF_RECEIVED_UNIT, f->received_unit, false) &&
	       date_at(r, LC_REF_DEADLINE, &f->deadline, &has) &&
	       ((f->has_deadline = has), true);
}

bool store_pathway_from_row(const PGresult *res, int row, struct pathway *p)
{
	struct row r = {res, row};
	const char *phase = PQgetvalue(res, row, LC_PHASE);
	const char *reason = text_at(&r, LC_CLOSE_REASON);

	memset(p, 0, sizeof(*p));
	if (PQnfields(res) < LC_COUNT || !domain_phase_parse(phase, &p->phase))
		return false;
	if (reason != NULL &&
	    !domain_close_reason_parse(reason, &p->close_reason))
		return false;
	p->version = (int)number_at(&r, LC_VERSION, 0);
	p->opened_at = number_at(&r, LC_OPENED, 0);
	p->updated_at = number_at(&r, LC_UPDATED, 0);
	p->closed_at = number_at(&r, LC_CLOSED, 0);
	p->age_at_opening = (int)number_at(&r, LC_AGE, -1);
	p->last_change_at = number_at(&r, LC_LAST_CHANGE, 0);
	p->last_content_covered = (int)number_at(&r, LC_CONTENT, -1);
	return id_at(&r, LC_ID, p->id, true) &&
	       id_at(&r, LC_PATIENT, p->patient_id, true) &&
	       id_at(&r, LC_MODEL, p->model, true) &&
	       id_at(&r, LC_REGION, p->region, true) &&
	       id_at(&r, LC_UNIT, p->unit, false) &&
	       id_at(&r, LC_GP_UNIT, p->gp_unit, false) &&
	       level_at(&r, LC_LEVEL, &p->level) &&
	       each_element(text_at(&r, LC_FLAGS), p, add_flag) &&
	       each_element(text_at(&r, LC_LEVELS), p, add_level) &&
	       date_at(&r, LC_PAIN_ONSET, &p->pain_onset, &p->has_pain_onset) &&
	       date_at(&r, LC_BIRTH_DATE, &p->birth_date, &p->has_birth_date) &&
	       referral_from_row(&r, &p->referral) &&
	       clocks_from_text(text_at(&r, LC_CLOCKS), p);
}

/* --- writing a group
 * ------------------------------------------------------------ */

struct store_group {
	struct pgarray pathway_insert[PATHWAY_WRITE_COUNT];
	struct pgarray pathway_update[PATHWAY_WRITE_COUNT + 1];
	struct pgarray transition[TRANSITION_WRITE_COUNT];
	struct pgarray notification[NOTIFICATION_WRITE_COUNT];
	struct pgarray outbox[OUTBOX_WRITE_COUNT];
	int inserts, updates, transitions, notifications, changes;
	char updates_text[16];
};

struct store_group *store_group_new(void)
{
	struct store_group *g = calloc(1, sizeof(*g));

	return g;
}

static void free_arrays(struct pgarray *a, int n)
{
	for (int i = 0; i < n; i++)
		pgarray_free(&a[i]);
}

void store_group_reset(struct store_group *g)
{
	free_arrays(g->pathway_insert, PATHWAY_WRITE_COUNT);
	free_arrays(g->pathway_update, PATHWAY_WRITE_COUNT + 1);
	free_arrays(g->transition, TRANSITION_WRITE_COUNT);
	free_arrays(g->notification, NOTIFICATION_WRITE_COUNT);
	free_arrays(g->outbox, OUTBOX_WRITE_COUNT);
	memset(g, 0, sizeof(*g));
}

void store_group_free(struct store_group *g)
{
	if (g == NULL)
		return;
	store_group_reset(g);
	free(g);
}

/* A column's text for one row, appended in order. */
struct cursor {
	struct pgarray *col;
	int n;
};

static void put(struct cursor *c, const char *s)
{
	pgarray_add(&c->col[c->n++], s);
}

static void put_int(struct cursor *c, long long v)
{
	pgarray_addf(&c->col[c->n++], "%lld", v);
}

static void put_opt_id(struct cursor *c, const char *s)
{
	put(c, s[0] != '\0' ? s : NULL);
}

static void put_time(struct cursor *c, cal_millis t)
{
	char buf[CAL_TIMESTAMP_LEN];

	if (t == 0)
		return put(c, NULL);
	calendar_format_timestamp(t, buf);
	put(c, buf);
}

static void put_date(struct cursor *c, bool present, cal_date d)
{
	char buf[CAL_DATE_LEN];

	if (!present)
		return put(c, NULL);
	calendar_format_date(d, buf);
	put(c, buf);
}

/* "{a,b}" of the set bits, named by name(i). */
static void put_set(struct cursor *c, unsigned bits, int count,
		    const char *(*name)(int))
{
	char buf[512];
	size_t used = (size_t)snprintf(buf, sizeof(buf), "{");

	for (int i = 0; i < count; i++)
		if (bits & (1u << i))
			used += (size_t)snprintf(buf + used, sizeof(buf) - used,
						 "%s%s", used > 1 ? "," : "",
						 name(i));
	snprintf(buf + used, sizeof(buf) - used, "}");
	put(c, buf);
}

static const char *flag_name(int i)
{
	return domain_flag_name((enum flag)i);
}

static void put_levels(struct cursor *c, const struct pathway *p)
{
	char buf[128];
	size_t used = (size_t)snprintf(buf, sizeof(buf), "{");

	for (int i = 0; i < p->levels_visited_count; i++)
		used += (size_t)snprintf(
			buf + used, sizeof(buf) - used, "%s%s", i ? "," : "",
			domain_level_name(p->levels_visited[i]));
	snprintf(buf + used, sizeof(buf) - used, "}");
	put(c, buf);
}

static void put_clocks(struct cursor *c, const struct pathway *p)
{
	char buf[1024], due[CAL_DATE_LEN], on[CAL_DATE_LEN];
	size_t used = 0;

	buf[0] = '\0';
	for (int r = 0; r < RULE_COUNT; r++) {
		const struct pathway_clock *k = &p->clocks[r];
		if (!k->running)
			continue;
		calendar_format_date(k->due, due);
		calendar_format_date(k->paused_on, on);
		used += (size_t)snprintf(
			buf + used, sizeof(buf) - used,
			"%s%s %s %lld %s %s %d %d", used ? ";" : "",
			domain_rule_name((enum rule)r), due,
			(long long)k->started_at, k->paused ? on : "-",
			k->paused ? domain_pause_reason_name(k->pause_reason)
				  : "-",
			k->paused_days, k->paused_calendar_days);
	}
	put(c, buf);
}

/* A clock is reported (due_*, next_due) while it runs and is not paused. */
static bool reported(const struct pathway *p, enum rule r)
{
	return p->clocks[r].running && !p->clocks[r].paused;
}

static void put_dues(struct cursor *c, const struct pathway *p)
{
	bool any = false;
	cal_date next = 0;

	for (int r = 0; r < RULE_COUNT; r++) {
		put_date(c, reported(p, (enum rule)r), p->clocks[r].due);
		if (reported(p, (enum rule)r) &&
		    (!any || p->clocks[r].due < next))
			next = p->clocks[r].due;
		any = any || reported(p, (enum rule)r);
	}
	put_date(c, any, next);
}

static void put_referral(struct cursor *c, const struct pathway *p)
{
	const struct pathway_referral *r = &p->referral;
	const char *receiving =
		r->received_unit[0] ? r->received_unit : r->to_unit;
	cal_date paused_on = 0;
	bool paused = false;

	put(c, r->open ? domain_level_name(r->from_level) : NULL);
	put(c, r->open ? (r->from_unit[0] ? r->from_unit : NULL) : NULL);
	put(c, r->open ? domain_level_name(r->to_level) : NULL);
	put(c, r->open && r->to_unit[0] ? r->to_unit : NULL);
	put(c, r->open && r->received_unit[0] ? r->received_unit : NULL);
	put(c, r->open && receiving[0] ? receiving : NULL);
	put(c, r->open ? (r->private_unit ? "t" : "f") : NULL);
	put_time(c, r->open ? r->sent_at : 0);
	put_time(c, r->open ? r->received_at : 0);
	put_time(c, r->open ? r->accepted_at : 0);
	put_date(c, r->open && r->has_deadline, r->deadline);
	if (r->open && r->content_covered >= 0)
		put_int(c, r->content_covered);
	else
		put(c, NULL);
	for (int k = 0; k < RULE_COUNT; k++)
		if (k != RULE_LEVEL_REVIEW && p->clocks[k].running &&
		    p->clocks[k].paused) {
			paused = true;
			paused_on = p->clocks[k].paused_on;
		}
	put_int(c, r->open ? clock_paused_days_until(p, 0) : 0);
	put_date(c, r->open && paused, paused_on);
}

static void put_pathway(struct pgarray *cols, const struct pathway *p,
			const char *doc)
{
	struct cursor c = {cols, 0};

	put(&c, p->id);
	put(&c, p->patient_id);
	put(&c, p->model);
	put(&c, p->region);
	put(&c, domain_level_name(p->level));
	put_opt_id(&c, p->unit);
	put(&c, domain_phase_name(p->phase));
	put_int(&c, p->version);
	put_set(&c, p->flags, FLAG_COUNT, flag_name);
	put_time(&c, p->opened_at);
	put_time(&c, p->updated_at);
	put_time(&c, p->closed_at);
	put(&c,
	    p->closed_at ? domain_close_reason_name(p->close_reason) : NULL);
	put_opt_id(&c, p->gp_unit);
	put_date(&c, p->has_pain_onset, p->pain_onset);
	put_date(&c, p->has_birth_date, p->birth_date);
	if (p->age_at_opening >= 0)
		put_int(&c, p->age_at_opening);
	else
		put(&c, NULL);
	put_levels(&c, p);
	put_time(&c, p->last_change_at ? p->last_change_at : p->opened_at);
	if (p->last_content_covered >= 0)
		put_int(&c, p->last_content_covered);
	else
		put(&c, NULL);
	put_referral(&c, p);
	put_clocks(&c, p);
	put_dues(&c, p);
	put(&c, doc);
}

static void put_transition(struct pgarray *cols, const struct store_event *e)
{
	const struct transition *tr = &e->d->tr;
	struct cursor c = {cols, 0};
	char *data = json_dumps(e->ev->data, JSON_COMPACT);

	put(&c, e->d->pathway_id);
	put_int(&c, tr->seq);
	put(&c, e->ev->event_id);
	put(&c, e->source);
	put(&c, domain_event_name(tr->type));
	put(&c, tr->has_from ? domain_phase_name(tr->from_phase) : NULL);
	put(&c, domain_phase_name(tr->to_phase));
	put(&c, domain_level_name(tr->from_level));
	put(&c, domain_level_name(tr->to_level));
	put_opt_id(&c, tr->unit);
	put_time(&c, tr->occurred_at);
	put_time(&c, tr->recorded_at);
	put(&c, data ? data : "{}");
	put(&c, e->event_text);
	put(&c, e->response);
	put_time(&c, tr->waited_since);
	if (tr->type == EV_TREATMENT_STARTED)
		put_int(&c, tr->paused_days);
	else
		put(&c, NULL);
	if (e->corrects > 0)
		put_int(&c, e->corrects);
	else
		put(&c, NULL);
	put(&c, e->transition_doc);
	free(data);
}

static void put_change(struct pgarray *cols, const struct store_event *e)
{
	const struct fhir_change *ch = e->change;
	struct cursor c = {cols, 0};
	struct pgarray units;

	/* Quoted element by element: a unit named NULL stays a unit. */
	pgarray_init(&units);
	for (int i = 0; i < ch->unit_count; i++)
		pgarray_add(&units, ch->units[i]);
	put(&c, e->d->pathway_id);
	put_int(&c, e->d->tr.seq);
	put(&c, e->d->after.patient_id);
	put(&c, e->d->after.region);
	put(&c, ch->episode_status);
	put(&c, pgarray_text(&units) ? pgarray_text(&units) : "{}");
	put(&c, ch->any_unit ? "t" : "f");
	put(&c, ch->decision ? "t" : "f");
	if (units.failed)
		cols[0].failed = true;
	pgarray_free(&units);
}

static bool arrays_ok(const struct pgarray *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].failed)
			return false;
	return true;
}

bool store_group_pathway(struct store_group *g, const struct pathway *p,
			 const char *doc, bool insert, int prior_version)
{
	if (insert) {
		put_pathway(g->pathway_insert, p, doc);
		g->inserts++;
	} else {
		put_pathway(g->pathway_update, p, doc);
		pgarray_addf(&g->pathway_update[PATHWAY_WRITE_COUNT], "%d",
			     prior_version);
		g->updates++;
	}
	return arrays_ok(g->pathway_insert, PATHWAY_WRITE_COUNT) &&
	       arrays_ok(g->pathway_update, PATHWAY_WRITE_COUNT + 1);
}

bool store_group_transition(struct store_group *g, const struct store_event *e)
{
	put_transition(g->transition, e);
	g->transitions++;
	if (e->notification != NULL &&
	    !store_group_notification(g, e->d->pathway_id, e->ev->event_id,
				      e->d->after.region, e->notification))
		return false;
	if (e->change != NULL) {
		put_change(g->outbox, e);
		g->changes++;
	}
	return arrays_ok(g->transition, TRANSITION_WRITE_COUNT) &&
	       arrays_ok(g->outbox, OUTBOX_WRITE_COUNT);
}

bool store_group_notification(struct store_group *g, const char *pathway_id,
			      const char *event_id, const char *region,
			      const char *payload)
{
	struct cursor c = {g->notification, 0};

	put(&c, pathway_id);
	put(&c, event_id);
	put(&c, "referral.decision");
	put(&c, region);
	put(&c, payload);
	g->notifications++;
	return arrays_ok(g->notification, NOTIFICATION_WRITE_COUNT);
}

static void array_params(struct db_query *q, enum store_stmt id,
			 struct pgarray *cols, int n)
{
	*q = (struct db_query){.stmt = id, .nparams = n};
	for (int i = 0; i < n; i++)
		q->params[i] = pgarray_text(&cols[i]);
}

int store_group_queries(struct store_group *g, struct db_query *q)
{
	int n = 0;

	if (g->inserts > 0)
		array_params(&q[n++], STMT_PATHWAY_INSERT, g->pathway_insert,
			     PATHWAY_WRITE_COUNT);
	if (g->updates > 0) {
		array_params(&q[n], STMT_PATHWAY_UPDATE, g->pathway_update,
			     PATHWAY_WRITE_COUNT + 1);
		snprintf(g->updates_text, sizeof(g->updates_text), "%d",
			 g->updates);
		q[n].params[q[n].nparams++] = g->updates_text;
		n++;
	}
	if (g->transitions > 0)
		array_params(&q[n++], STMT_TRANSITION_INSERT, g->transition,
			     TRANSITION_WRITE_COUNT);
	/* After the transitions: in the same transaction as the change. */
	if (g->changes > 0)
		array_params(&q[n++], STMT_OUTBOX_INSERT, g->outbox,
			     OUTBOX_WRITE_COUNT);
	/* Last: the ordering lock is held from here to the commit. */
	if (g->notifications > 0) {
		q[n++] = (struct db_query){.stmt = STMT_NOTIFICATION_ORDER};
		array_params(&q[n++], STMT_NOTIFICATION_INSERT, g->notification,
			     NOTIFICATION_WRITE_COUNT);
	}
	return n;
}

char *store_response(const char *pathway_doc, const char *transition_doc)
{
	char *out = NULL;

	if (asprintf(&out, "{\"pathway\":%s,\"transition\":%s}", pathway_doc,
		     transition_doc) < 0)
		return NULL;
	return out;
}

/* clang-format off */
/* A referral has 13 content items (domain.md). */
#define CONTENT_ITEMS_TEXT "13"

const char store_worklist_sql[] =
	"SELECT doc, (extract(epoch FROM opened_at) * 1000000)::bigint,"
	" pathway_id, patient_id, region FROM pathways WHERE closed_at IS NULL "
	"AND ($1::text IS NULL OR region = $1) "
	"AND ($2::text IS NULL OR model = $2) "
	"AND ($3::text IS NULL OR level = $3) "
	"AND ($4::text IS NULL OR phase = $4) "
	"AND ($5::text IS NULL OR unit = $5) "
	"AND ($6::text IS NULL OR ref_unit = $6) "
	"AND ($7::jsonb IS NULL OR next_due < ($7::jsonb ->> model)::date) "
	"AND ($8::date IS NULL OR next_due < $8) "
	"AND ($9::text IS NULL OR $9 = ANY (flags)) "
	"AND (NOT $10::bool OR content_covered < " CONTENT_ITEMS_TEXT ") "
	"AND ($11::bigint IS NULL OR (opened_at, pathway_id) > "
	"('epoch'::timestamptz + $11::bigint * interval '1 microsecond', "
	"$12::text)) "
	"AND ($14::text[] IS NULL OR region = ANY ($14::text[])) "
	"ORDER BY opened_at, pathway_id LIMIT $13::int";
/* clang-format on */

const char store_verify_history_sql[] =
	"SELECT pathway_id, seq, source, event_id, event, "
	"(extract(epoch FROM recorded_at) * 1000)::bigint FROM transitions "
	"WHERE pathway_id = ANY ($1::text[]) ORDER BY pathway_id, seq";

/* --- audit rows
 * ----------------------------------------------------------------- */

#define COUNT_COLUMN(n, c, t, cast) +1
_Static_assert(0 AUDIT_WRITE(COUNT_COLUMN, ) == STORE_AUDIT_COLUMNS,
	       "store.h's audit column count and AUDIT_WRITE disagree");

void store_audit_init(struct store_audit *a)
{
	memset(a, 0, sizeof(*a));
}

void store_audit_add(struct store_audit *a, const char *token,
		     const char *method, const char *route, const char *uri,
		     const char *patients, const char *remote,
		     const char *status, const char *regions)
{
	const char *row[STORE_AUDIT_COLUMNS] = {
		token, method, route, uri, patients, remote, status, regions};

	for (int c = 0; c < STORE_AUDIT_COLUMNS; c++)
		pgarray_add(&a->columns[c], row[c]);
	a->rows++;
}

bool store_audit_query(struct store_audit *a, struct db_query *q)
{
	array_params(q, STMT_AUDIT_INSERT, a->columns, STORE_AUDIT_COLUMNS);
	return a->rows > 0 && arrays_ok(a->columns, STORE_AUDIT_COLUMNS);
}

void store_audit_free(struct store_audit *a)
{
	free_arrays(a->columns, STORE_AUDIT_COLUMNS);
}

int store_outbox_outcome(const struct store_outbox_outcome *o,
			 struct db_query *q)
{
	int n = 0;

	if (o->status != NULL)
		q[n++] = (struct db_query){.stmt = STMT_SUB_OUTCOME,
					   .nparams = 3,
					   .params = {o->subscription_id,
						      o->status, o->sub_error}};
	if (o->done == NULL)
		q[n++] = (struct db_query){.stmt = STMT_OUTBOX_RETRY,
					   .nparams = 4,
					   .params = {o->outbox_id,
						      o->claimed_by,
						      o->delay_ms, o->error}};
	else
		q[n++] = (struct db_query){
			.stmt = STMT_OUTBOX_DONE,
			.nparams = 3,
			.params = {o->outbox_id, o->claimed_by, o->done}};
	return n;
}
