/*
 * The SQL the daemon runs, prepared once per pooled connection.  Parameters
 * are always $n: no SQL is ever built by pasting strings.
 */
#include "app.h"
#include "db.h"

#define PATHWAY_COLUMNS                                                        \
	"pathway_id, patient_id, model, region, level, unit, phase, version, " \
	"flags, state, opened_at, updated_at, closed_at, due_transit, "        \
	"due_assessment, due_treatment, due_free_choice, due_level_review, "   \
	"next_due, ref_to_level, ref_unit, ref_received_at, content_covered"

const struct db_statement app_statements[] = {
	{"lock_by_id", "SELECT state::text FROM pathways WHERE pathway_id = $1 "
		       "FOR UPDATE"},
	{"lock_open", "SELECT state::text FROM pathways WHERE patient_id = $1 "
		      "AND closed_at IS NULL FOR UPDATE"},
	/* Runs after the lock in the same pipeline, so a concurrent post of
	 * the same event that committed while we waited is seen here. */
	{"event_lookup", "SELECT pathway_id, event = $2::jsonb, response::text "
			 "FROM transitions WHERE event_id = $1"},
	{"pathway_insert",
	 "INSERT INTO pathways (" PATHWAY_COLUMNS ") VALUES ($1, $2, $3, $4, "
	 "$5, $6, $7, $8, $9::text[], $10::json, $11, $12, $13, $14, $15, "
	 "$16, $17, $18, $19, $20, $21, $22, $23)"},
	/* Aborts the transaction (40001) unless exactly one row had the
	 * version the state machine started from. */
	{"pathway_update",
	 "WITH u AS (UPDATE pathways SET level = $2, unit = $3, phase = $4, "
	 "version = $5, "
	 "flags = $6::text[], state = $7::json, updated_at = $8, "
	 "closed_at = $9, due_transit = $10, due_assessment = $11, "
	 "due_treatment = $12, due_free_choice = $13, due_level_review = $14, "
	 "next_due = $15, ref_to_level = $16, ref_unit = $17, "
	 "ref_received_at = $18, content_covered = $19 "
	 "WHERE pathway_id = $1 AND version = $5::int - 1 RETURNING 1) "
	 "SELECT painpath_expect_one(count(*)) FROM u"},
	{"transition_insert",
	 "INSERT INTO transitions (pathway_id, seq, event_id, type, "
	 "from_phase, to_phase, from_level, to_level, unit, occurred_at, "
	 "recorded_at, data, event, response, waited_since) VALUES ($1, $2, "
	 "$3, "
	 "$4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::json, "
	 "$15)"},
	{"notification_insert",
	 "INSERT INTO notifications (pathway_id, event_id, kind, region, "
	 "payload) VALUES ($1, $2, $3, $4, $5::jsonb)"},
	/* $2: the token's regions (NULL: all); another region's pathway
	 * answers as if it did not exist. */
	{"pathway_get",
	 "SELECT state::text, patient_id FROM pathways WHERE pathway_id = $1 "
	 "AND ($2::text[] IS NULL OR region = ANY ($2::text[]))"},
	{"pathway_transitions",
	 "SELECT coalesce(json_agg(t.response->'transition' ORDER BY t.seq), "
	 "'[]')::text, max(p.patient_id) FROM transitions t JOIN pathways p "
	 "USING (pathway_id) WHERE t.pathway_id = $1 AND ($2::text[] IS NULL "
	 "OR p.region = ANY ($2::text[]))"},
	{"patient_pathways",
	 "SELECT coalesce(json_agg(state ORDER BY closed_at IS NOT NULL, "
	 "opened_at DESC), '[]')::text FROM pathways WHERE patient_id = $1 "
	 "AND ($2::text[] IS NULL OR region = ANY ($2::text[]))"},
	{"notifications_after",
	 "SELECT coalesce(json_agg(jsonb_build_object('notification_id', "
	 "notification_id::text, 'created_at', created_at, 'event_id', "
	 "event_id, 'kind', kind) || payload ORDER BY notification_id), "
	 "'[]')::text, max(notification_id)::text FROM (SELECT * FROM "
	 "notifications WHERE notification_id > $1::bigint AND ($3::text[] IS "
	 "NULL OR region = ANY ($3::text[])) ORDER BY notification_id LIMIT "
	 "$2::int) n"},
	{"audit_of_patient",
	 "SELECT coalesce(json_agg(json_build_object('audit_id', "
	 "audit_id::text,"
	 " 'at', at, 'token_id', token_id, 'method', method, 'route', route, "
	 "'uri', uri, 'remote', remote, 'status', status) ORDER BY audit_id), "
	 "'[]')::text FROM (SELECT * FROM audit_log WHERE patient_ids @> "
	 "ARRAY[$1::text] ORDER BY audit_id DESC LIMIT $2::int) a"},
	{NULL, NULL},
};
