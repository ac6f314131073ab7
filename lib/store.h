/*
 * store: every SQL statement the daemon prepares, by id, and the one place
 * that knows a pathway row's columns and a transition row's columns: how
 * a struct pathway becomes parameters and how a result row becomes a
 * struct pathway.  No I/O: it builds queries and reads results; db.c runs
 * them.  Parameters are always $n; array parameters are built element by
 * element with pgarray (quoted), never pasted.
 *
 * Recording a group of events takes two round trips:
 *   1. BEGIN; STMT_LOCK (the group's pathways, FOR UPDATE, in patient order);
 *      STMT_EVENT_LOOKUP (the events already recorded under the same source
 *      and event_id); STMT_HISTORY when a correction needs it.
 *   2. the writes of a struct store_group (set-based: one INSERT or UPDATE
 *      for all the group's rows of a table); COMMIT.
 */
#ifndef PAINPATH_STORE_H
#define PAINPATH_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "decide.h"
#include "fhir_change.h"
#include "pgarray.h"

enum store_stmt {
	STMT_NONE,
	/* $1 pathway ids, $2 patients whose open pathway, $3 patients whose
	 * latest pathway (each NULL when none): those rows, locked,
	 * STORE_PATHWAY_COLUMNS. */
	STMT_LOCK,
	/* $1 sources, $2 event_ids: k (1-based), source, pathway_id, event,
	 * response, region of each one recorded. */
	STMT_EVENT_LOOKUP,
	/* The same three arrays: the recorded events of those pathways:
	 * pathway_id, seq, source, event_id, event, recorded_at (ms), in seq
	 * order. */
	STMT_HISTORY,
	STMT_PATHWAY_INSERT,
	STMT_PATHWAY_UPDATE,
	STMT_TRANSITION_INSERT,
	/* Notifications are read by a cursor on notification_id, so ids
	 * must become visible in order: a group takes this transaction lock
	 * before it draws ids and holds it to its commit (otherwise a group
	 * that drew a lower id and commits later is skipped by every reader
	 * already past a higher one). */
	STMT_NOTIFICATION_ORDER,
	STMT_NOTIFICATION_INSERT,
	/* The group's transaction id: a group that writes nothing still
	 * takes one, so that its answers wait for a durable commit. */
	STMT_XACT_ID,
	/* Reads: $2 (or the last) the token's regions, NULL for all. */
	/* Many reads by id at once (daemon/query.c gathers them): $1 the
	 * pathway ids, $2 for each the regions of its reader's token as a
	 * text[] literal, NULL for all; rows i (the element's place, from 1),
	 * doc, patient_id, region, in order of i.  A pathway outside its
	 * reader's regions has no row. */
	STMT_PATHWAYS_GET,
	/* The same on the primary, with the audit row of each pathway shown
	 * written by the same statement (one round trip, one commit): $3
	 * token ids, $4 methods, $5 routes, $6 URIs, $7 remote addresses, as
	 * struct store_audit takes them; status 200. */
	STMT_PATHWAYS_GET_AUDITED,
	STMT_PATHWAY_TRANSITIONS, /* $1 id: seq, doc, corrected_by (json
				     array of event ids), retracted_by,
				     patient_id */
	/* Many patients' pathways at once, as STMT_PATHWAYS_GET: $1 the
	 * patient ids, $2 the regions of each; rows i, doc, region, each
	 * patient's open pathways first, then the newest. */
	STMT_PATIENTS_PATHWAYS,
	STMT_NOTIFICATIONS_AFTER, /* $1 after, $2 limit, $3 regions */
	/* $1 patient, $2 limit, $3 regions: the audit rows about pathways
	 * the regions cover (or about no pathway at all) */
	STMT_AUDIT_OF_PATIENT,
	/* Rows of audit_log, set-based: built by struct store_audit. */
	STMT_AUDIT_INSERT,
	/* painpath verify: $1 the last pathway_id of the previous page (""
	 * for the first), $2 the page size: STORE_PATHWAY_COLUMNS, then
	 * due_transit .. due_level_review, next_due, doc, the number of
	 * transitions. */
	STMT_VERIFY_PAGE,
	/* $1 pathway ids: patient_id, region of each (what painpath verify
	 * audits before it names them). */
	STMT_PATIENTS_OF_PATHWAYS,
	/* /metrics, refreshed now and then: open pathways by region, phase
	 * and level; */
	STMT_METRICS_PATHWAYS,
	/* $1 model keys, $2 each model's today: running (reported) and
	 * overdue clocks by region and rule, and paused waits by region. */
	STMT_METRICS_CLOCKS,
	/* The outbox: rows not yet delivered, and the age in seconds of the
	 * oldest of them (0 when none). */
	STMT_METRICS_OUTBOX,
	/* --- FHIR (issue 13) ---------------------------------------------
	 * A pathway as FHIR renders it: doc, transitions (json array, seq
	 * order), patient_id, region, model, and $3 echoed back (the render
	 * function's context).  $2 the token's regions or NULL.  By $1: the
	 * pathway id; the hash of a "pw.h" id. */
	STMT_FHIR_VIEW,
	STMT_FHIR_VIEW_HASH,
	/* $1 pathway ids, $2 patients whose open pathway, $3 regions, $4
	 * hashes of "pw.h" ids (text[] each, NULL for none): the same
	 * columns, a row per pathway. */
	STMT_FHIR_VIEWS,
	/* $1 echoed back: what a FHIR write's answer is made of, handed to
	 * its render function beside the pathways it shows. */
	STMT_FHIR_CONTEXT,
	/* Subscriptions: $1 id, $2 type, $3 criteria, $4 patients, $5
	 * units, $6 statuses (text[] or NULL), $7 endpoint, $8 full payload,
	 * $9 headers, $10 secret, $11 status, $12 reason, $13 end, $14
	 * token, $15 source, $16 regions, $17 doc. */
	STMT_SUB_INSERT,
	/* $1 id or NULL, $2 status or NULL, $3 source or NULL (admin: all):
	 * doc, status, error. */
	STMT_SUB_LIST,
	/* $1 id, $2 source or NULL: the ids deleted. */
	STMT_SUB_DELETE,
	/* The outbox (daemon/outbox.c).  $1 the claimer, $2 how many, $3
	 * the lease in seconds: the heads of due streams, leased:
	 * outbox_id, kind, subscription_id, pathway_id, seq, region,
	 * report_date, attempts. */
	STMT_OUTBOX_CLAIM,
	/* $1 subscription: type, criteria, endpoint, full_payload, headers,
	 * secret, status, token_id, doc. */
	STMT_OUTBOX_SUBSCRIPTION,
	/* $1 pathway, $2 seq: per seq <= $2: seq, the transition (doc),
	 * the pathway doc after it; and the model (of the pathway). */
	STMT_OUTBOX_HISTORY,
	/* $1 outbox id, $2 claimer, $3 outcome: delivered (or dropped). */
	STMT_OUTBOX_DONE,
	/* $1 outbox id, $2 claimer, $3 delay ms, $4 error text. */
	STMT_OUTBOX_RETRY,
	/* $1 subscription, $2 its new status (fhir_subscription_next),
	 * $3 the error text or NULL.  A subscription turned off stays off. */
	STMT_SUB_OUTCOME,
	/* $1 regions, $2 formats (text[]): the report endpoints the config
	 * names, replacing the table's rows. */
	STMT_REPORT_ENDPOINTS,
	/* Keeps the outbox small: delivered rows older than a day. */
	STMT_OUTBOX_PRUNE,
	/* The subscriptions' outbox rows of a group (store_group_*). */
	STMT_OUTBOX_INSERT,
	STMT_COUNT
};

/* The table a pool prepares (db_pool_config.statements): entry id-1 is
 * statement id; NULL-terminated. */
extern const struct db_statement store_statements[];

/* Sent unprepared on purpose: planned with the actual values, a NULL
 * filter ("$1::text IS NULL OR region = $1") folds away and the worklist
 * indexes match.  GET /v1/pathways: $1 region, $2 model, $3 level, $4
 * phase, $5 unit, $6 waiting unit, $7 overdue: {"<model>": "<date>"} (jsonb),
 * due before each model's date, $8 due before, $9 flag, $10 incomplete only,
 * $11/$12 the cursor (opened_at in microseconds, pathway_id), $13 rows, $14 the
 * token's regions: doc, opened_at (microseconds), pathway_id, patient_id,
 * region. */
extern const char store_worklist_sql[];
/* painpath verify: $1 pathway ids: their recorded events in order
 * (pathway_id, seq, source, event_id, event, recorded_at ms). */
extern const char store_verify_history_sql[];

/* The columns STMT_LOCK returns, in order; a reader starts at column 0. */
#define STORE_PATHWAY_COLUMNS 32

/* Reads one STMT_LOCK row into out; false if a column is not what this
 * module wrote (corruption). */
bool store_pathway_from_row(const PGresult *res, int row, struct pathway *out)
	__attribute__((warn_unused_result));

/* One event's transition (and notification), as the writes need it. */
struct store_event {
	const struct decision *d; /* DECIDE_WRITE */
	const struct event *ev;
	const char *source;
	const char *event_text;	    /* the event as posted (canonical) */
	const char *pathway_doc;    /* the new pathway's JSON text */
	const char *transition_doc; /* the transition's JSON text */
	const char *response;	    /* the answer, replayed later */
	const char *notification;   /* its payload, or NULL */
	int corrects;		    /* the corrected event's seq, or 0 */
	/* What it changed in FHIR's terms, for the Subscriptions' outbox
	 * (issue 13); NULL: nothing to notify. */
	const struct fhir_change *change;
};

/* A group's writes: each column of each table one array parameter. */
struct store_group;

struct store_group *store_group_new(void);
/* Forgets every write added so far. */
void store_group_reset(struct store_group *g);
void store_group_free(struct store_group *g);
/* A pathway's row as it stands after the group: a new row, or an update
 * of the row that had prior_version.  Once per pathway per group.  False
 * when out of memory. */
bool store_group_pathway(struct store_group *g, const struct pathway *p,
			 const char *doc, bool insert, int prior_version)
	__attribute__((warn_unused_result));
/* One recorded event's transition. */
bool store_group_transition(struct store_group *g, const struct store_event *e)
	__attribute__((warn_unused_result));
/* A notification to the referrer (its payload JSON text); added by
 * store_group_transition for an event that carries one. */
bool store_group_notification(struct store_group *g, const char *pathway_id,
			      const char *event_id, const char *region,
			      const char *payload)
	__attribute__((warn_unused_result));
/* The group's write statements into q (at most STORE_GROUP_QUERIES),
 * pointing into g: it must outlive the send.  Returns how many. */
#define STORE_GROUP_QUERIES 6
int store_group_queries(struct store_group *g, struct db_query *q);

/* FHIR searches (daemon/fhir_search.c), sent unprepared like the
 * worklist's, so PostgreSQL plans each with its values and folds the
 * absent filters away.  Columns: those of STMT_FHIR_VIEW ($3 is not
 * echoed: NULL), then opened_at in microseconds.  Parameters (text[]
 * unless said, each NULL when absent): $1 pathway ids, $2 id hashes, $3
 * patients, $4 phases, $5 the pathway's units, $6 units that are the
 * open referral's receiving unit or the pathway's unit, $7 updated_at >= and $8
 * updated_at < (timestamptz), $9 business identifiers (event ids) of events of
 * type $10 (text), $11 next_due <= (date), $12 regions; store_fhir_search_sql
 * also $13 and $14, the keyset (opened_at micros, pathway id: rows from it on),
 * and $15 the limit.  store_fhir_count_sql: one row, the count of matches of
 * $1..$12. */
#define STORE_FHIR_FILTERS 12
extern const char store_fhir_search_sql[];
extern const char store_fhir_count_sql[];

/* The JSON answer to one event: {"pathway": <doc>, "transition": <doc>},
 * composed from the texts (malloc'd). */
char *store_response(const char *pathway_doc, const char *transition_doc);

/*
 * Audit rows, one INSERT for them all: each column one array parameter
 * (unnest), as a group's writes.  A batch of reads waiting for their
 * commit costs the database one statement, not one per read.
 */
#define STORE_AUDIT_COLUMNS 8
struct store_audit {
	struct pgarray columns[STORE_AUDIT_COLUMNS];
	int rows;
};

void store_audit_init(struct store_audit *a);
/* patients and regions are text[] literals (regions NULL: every
 * region); uri as the audit keeps it (escaped). */
void store_audit_add(struct store_audit *a, const char *token,
		     const char *method, const char *route, const char *uri,
		     const char *patients, const char *remote,
		     const char *status, const char *regions);
/* The INSERT of every row added; false when building failed (out of
 * memory).  q's parameters point into a until store_audit_free. */
bool store_audit_query(struct store_audit *a, struct db_query *q);
void store_audit_free(struct store_audit *a);

/* What one try of an outbox row leaves, recorded in one transaction: the
 * row delivered or dropped (done), or tried again after delay_ms with
 * error; and, when status is not NULL, its subscription's status (and
 * sub_error).  The subscription's row is locked before the outbox row, in
 * the order a Subscription's DELETE takes them (its outbox rows cascade):
 * the other order deadlocked with it. */
struct store_outbox_outcome {
	const char *outbox_id, *claimed_by;
	const char *done; /* "delivered", "dropped", or NULL: a retry */
	const char *delay_ms, *error;
	const char *subscription_id, *status, *sub_error;
};
#define STORE_OUTBOX_OUTCOME_QUERIES 2
/* Fills q (STORE_OUTBOX_OUTCOME_QUERIES at most): the number used. */
int store_outbox_outcome(const struct store_outbox_outcome *o,
			 struct db_query *q);

#endif
