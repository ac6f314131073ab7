/*
 * stats_params: the query parameters the statistics routes share (region,
 * level, unit, model, rule, as_of), checked once, and the statements'
 * parameter list built from them: $1 as_of, $2 region, $3 level, $4 unit,
 * $5 model, $6 the token's regions, $7..$11 the loaded models (their keys,
 * zones and limits), $12.. the route's own.
 *
 * An explicit region outside the token's answers 403; without one the
 * token's regions scope the answer.
 */
#ifndef PAINPATHD_STATS_PARAMS_H
#define PAINPATHD_STATS_PARAMS_H

#include <stdbool.h>
#include <time.h>

#include "calendar.h"
#include "db.h"
#include "reply.h"
#include "store_stats.h"

struct request;

#define STATS_REGIONS_LEN 4096

struct stats_params {
	char as_of[CAL_DATE_LEN];
	char regions[STATS_REGIONS_LEN];
	struct stats_models models;
	bool models_ready;
};

/* Checks the filters the route takes and the region's scope; false with
 * the refusal in out.  *sp must be released with stats_params_free. */
bool stats_params_read(struct request *r, struct stats_params *sp,
		       struct reply *out) __attribute__((warn_unused_result));
void stats_params_free(struct stats_params *sp);

/* $1..$11 into q (q->nparams = 11); the texts borrow from r and sp, and
 * read_batch copies them. */
void stats_params_fill(struct request *r, struct stats_params *sp,
		       struct db_query *q);

struct app;

/* Today in the report's zone (report_zone). */
bool stats_today(const struct app *app, char out[CAL_DATE_LEN])
	__attribute__((warn_unused_result));
/* Milliseconds of CLOCK_MONOTONIC since `since`, for the logs. */
long stats_elapsed_ms(const struct timespec *since);
/* as_of, or today in the report's zone. */
bool stats_as_of(struct request *r, char out[CAL_DATE_LEN])
	__attribute__((warn_unused_result));
/* The route's count parameter (months, weeks, within_days) in 1..max,
 * def when absent; false with the refusal in out. */
bool stats_count_param(struct request *r, const char *key, long def, long max,
		       char out[16], struct reply *rep)
	__attribute__((warn_unused_result));

#endif
