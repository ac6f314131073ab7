/*
 * stats_build: the statistics' nightly summary, built by the schedule (at
 * report_time, and at start when missing or older) or on demand (POST
 * /v1/stats/build, admin; ?cutoff=YYYY-MM-DD).
 */
#ifndef PAINPATHD_STATS_BUILD_H
#define PAINPATHD_STATS_BUILD_H

#include <stdbool.h>

struct app;

/* Starts the schedule (nothing when report_enabled is off). */
bool stats_build_schedule_start(struct app *app)
	__attribute__((warn_unused_result));
void stats_build_schedule_stop(void);
/* Blocking, at start before the loop: the models' zones for the receipt
 * days (store_stats.h stats_zones_sync).  False (logged) when the
 * database refused: the reads then convert those days themselves. */
bool stats_zones_at_start(struct app *app);
/* At exit, after the loop: frees a build still running. */
void stats_build_free(void);

#endif
