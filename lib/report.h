/*
 * report: the nightly escalation report (domain.md "Escalation"), shared by
 * the daemon (non-blocking, in the loop) and the CLI (blocking): its SQL,
 * the per-model warning windows it is run with, and its JSON and CSV forms
 * (its SQL is the store's: store_report.h).
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
