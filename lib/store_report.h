/*
 * store_report: the nightly escalation report's SQL (part of the store
 * module: every statement the daemon and the command line send is in a
 * store file, by name).  Sent unprepared: a night's run is rare, and its
 * plans should use the night's own values.
 */
#ifndef PAINPATH_STORE_REPORT_H
#define PAINPATH_STORE_REPORT_H

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

#endif
