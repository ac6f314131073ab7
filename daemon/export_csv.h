/*
 * export_csv: the CSV forms of the worklist, the waiting statistics and
 * the night's escalations, streamed (export_stream.h).
 */
#ifndef PAINPATHD_EXPORT_CSV_H
#define PAINPATHD_EXPORT_CSV_H

#include "calendar.h"
#include "reply.h"

struct request;

/* filters: the worklist statement's $1..$10 (checked by the caller);
 * regions: the token's, or NULL. */
enum handled worklist_csv(struct request *r, struct reply *out,
			  const char *const *filters, const char *regions);
enum handled stats_waiting_csv(struct request *r, struct reply *out);
/* params: report_items_sql's $1..$7 ($1 the night's date). */
enum handled escalations_csv(struct request *r, struct reply *out,
			     cal_date night, const char *const params[7]);

#endif
