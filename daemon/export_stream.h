/*
 * export_stream: an answer of any length streamed from a server-side
 * cursor at constant memory: the next rows are fetched only when the
 * socket has taken the last ones (request_stream_*).  When the rows name
 * patients, one audit row naming all of them, read in the cursor's own
 * snapshot, is committed before the first byte leaves (lib/store_export.h
 * tells how).  Runs on the long-work pool; at most EXPORT_MAX_RUNNING at
 * once (503 beyond).
 */
#ifndef PAINPATHD_EXPORT_STREAM_H
#define PAINPATHD_EXPORT_STREAM_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "reply.h"
#include "textbuf.h"

struct request;

#define EXPORT_MAX_PARAMS  16
#define EXPORT_MAX_RUNNING 2

struct export_spec {
	/* The rows, with nparams parameters (copied). */
	const char *rows_sql;
	int nparams;
	const char *params[EXPORT_MAX_PARAMS];
	/* The rows' patients and regions (same parameters) for the audit
	 * row; NULL when the rows name no patient. */
	const char *audit_selection;
	/* Run first, in the snapshot: no row answers 404 not_found. */
	const char *check_sql;
	int check_nparams;
	const char *check_params[4];
	const char *not_found;
	int fetch_rows;
	const char *content_type;
	const char *filename;
	/* Appends one fetch's rows as text; first for the first fetch
	 * (which may have none), to write a header. */
	void (*format)(struct textbuf *t, const PGresult *res, bool first,
		       void *ctx);
	void *ctx;
	void (*ctx_free)(void *ctx); /* at the end, or NULL */
};

/* Takes the request over (HANDLED_LATER), or refuses in out (and frees
 * the spec's ctx). */
enum handled export_stream(struct request *r, const struct export_spec *spec,
			   struct reply *out);

/* What GET /metrics shows of them. */
struct export_stats {
	int running;
	int waiting;		 /* for the client to take the last rows sent */
	unsigned long long rows; /* fetched, since the daemon started */
};
void export_stream_stats(struct export_stats *st);

/* Whether the request asks for CSV: Accept: text/csv or ?format=csv. */
bool export_wants_csv(struct request *r);

#endif
