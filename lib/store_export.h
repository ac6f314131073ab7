/*
 * store_export: the exports' SQL (part of the store module).
 *
 * An export reads through a server-side cursor in a REPEATABLE READ
 * transaction that exports its snapshot; the audit row naming every
 * patient it holds is written by a second transaction that imports the
 * same snapshot, and committed before the first byte leaves.  Both
 * transactions see the same rows, so the audit names exactly the patients
 * exported.  Every rows statement yields the columns patient_id and
 * region (an aggregate export, which names no patient, has no audit).
 *
 * The statements composed here (the cursor's DECLARE around a rows
 * statement, the audit around its selection, the snapshot's import) join
 * constant texts of this module; the one value from outside them, the
 * snapshot's name, comes from PostgreSQL and is checked character by
 * character first.
 */
#ifndef PAINPATH_STORE_EXPORT_H
#define PAINPATH_STORE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

enum export_stmt {
	/* $1 from, $2 to (dates), $3 region or NULL, $4 the token's regions
	 * or NULL, $5 model keys, $6 their zones: every pathway with a
	 * transition that happened or was recorded in [from, to] (local
	 * days of its model): patient_id, region, and its NDJSON line
	 * {"pathway": ..., "transitions": [... with corrected_by and
	 * retracted_by]}, in pathway_id order. */
	EXPORT_REGISTRY,
	/* The same selection without the lines, for the audit. */
	EXPORT_REGISTRY_PATIENTS,
	/* The worklist's filters without its paging ($1..$10 as daemon/
	 * worklist.c's, $11 the token's regions): the CSV columns
	 * (export_worklist_header), oldest first. */
	EXPORT_WORKLIST,
	EXPORT_STMT_COUNT
};

extern const char *const store_export_sql[EXPORT_STMT_COUNT];

/* The worklist CSV's header line (CRLF-terminated). */
extern const char export_worklist_header[];
/* Its columns; patient_id and region among them. */
#define EXPORT_WORKLIST_COLUMNS 17

/* Begins the cursor's transaction; then EXPORT_SNAPSHOT_SQL names the
 * snapshot (one row). */
extern const char export_begin_sql[];
extern const char export_snapshot_sql[];
extern const char export_begin_audit_sql[];
extern const char export_close_sql[];

/* "DECLARE painpath_export NO SCROLL CURSOR FOR <rows>" (malloc'd). */
char *export_declare_sql(const char *rows_sql);
/* "FETCH <n> FROM painpath_export" into buf. */
void export_fetch_sql(int rows, char *buf, size_t len);
/* "SET TRANSACTION SNAPSHOT '<name>'" (malloc'd), or NULL when name is
 * not a snapshot's name (hex digits and dashes). */
char *export_set_snapshot_sql(const char *name);
/* The audit row of an export: INSERT INTO audit_log the patients and
 * regions of every row of selection_sql (whose parameters are $1..$n),
 * with $n+1 token, $n+2 method, $n+3 route, $n+4 uri, $n+5 remote
 * (malloc'd). */
char *export_audit_sql(const char *selection_sql, int n);

#endif
