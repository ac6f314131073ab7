/*
 * report: the nightly escalation report (domain.md "Escalation"), shared by
 * the daemon (non-blocking, in the loop) and the CLI (blocking): its SQL,
 * the per-model warning windows it is run with, and its JSON and CSV forms.
 *
 * A night's run stores one escalation per pathway, rule and due date (the
 * unique key), and records which escalations that night's report holds, so
 * running it twice gives the same items and yesterday's items show as
 * already known.  Runs take a transaction-scoped advisory lock, so several
 * daemons on one database run a night once.
 */
#ifndef PAINPATH_REPORT_H
#define PAINPATH_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "calendar.h"
#include "model.h"

/* Inside the run's transaction, before the run: a longer timeout. */
extern const char report_timeout_sql[];
/* pg_try_advisory_xact_lock / pg_advisory_xact_lock on the report's key. */
extern const char report_try_lock_sql[];
extern const char report_wait_lock_sql[];
/* $1 date: one row if that night has run. */
extern const char report_ran_sql[];
/* $1 date, $2 model keys (text[]), $3 their window ends (date[]).
 * Returns one row: items in the night's report. */
extern const char report_run_sql[];
/* $1 date */
extern const char report_record_sql[];
/* $1 date, $2 ran_by, $3 trigger; counts the night's items itself. */
extern const char report_log_sql[];
/* $1 date, $2 region or NULL, $3 rule or NULL, $4 only unacknowledged
 * (bool), $5 the regions a token covers (text[]) or NULL, $6 the unit
 * that must act or NULL, $7 level or NULL.  Columns as report_item_json
 * reads them. */
extern const char report_items_sql[];
/* $1 escalation id, $2 the token's id, $3 regions or NULL, $4 a note or
 * NULL, $5 the name the acknowledger gave or NULL: acknowledges once.
 * report_item_sql: $1 id, $2 regions or NULL. */
extern const char report_ack_sql[];
extern const char report_item_sql[];

#define REPORT_LIST_LEN 4096

/* The model keys and each model's warning-window end for a night, as
 * PostgreSQL array literals for report_run_sql's $2 and $3. */
bool report_windows(const struct model_set *models, cal_date night,
		    char keys[REPORT_LIST_LEN], char ends[REPORT_LIST_LEN])
	__attribute__((warn_unused_result));

/* Blocking, for the CLI and the daemon's start-up (before its loop runs).
 * Runs the night in one transaction.  With wait false the advisory lock is
 * only tried, and a night already run is skipped: *ran is false then.
 * ran_by and trigger go to the run log. */
bool report_run_blocking(PGconn *conn, const struct model_set *models,
			 cal_date night, const char *ran_by,
			 const char *trigger, bool wait, bool *ran, char *err,
			 size_t errlen) __attribute__((warn_unused_result));

/* One row of report_items_sql / report_item_sql as JSON (new reference). */
json_t *report_item_json(const PGresult *res, int row, cal_date night);
/* {"date", "items": [...]} (new reference). */
json_t *report_json(const PGresult *res, cal_date night);
/* The same items as CSV with a header line (malloc'd, NUL-terminated). */
char *report_csv(const PGresult *res, cal_date night);

#endif
