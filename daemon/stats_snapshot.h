/*
 * stats_snapshot: the whole country's statistics computed ahead (schema
 * 008).  Every few seconds a daemon checks whether the pathways are many
 * enough (stats_snapshot_pathways) and, if so, recomputes the snapshots
 * of today that are older than half a minute, with the reads' own
 * statements; one daemon at a time (an advisory lock).  A read that
 * qualifies (stats_snapshot_read) answers from a fresh snapshot or, when
 * none is, counts live as any other read.
 */
#ifndef PAINPATHD_STATS_SNAPSHOT_H
#define PAINPATHD_STATS_SNAPSHOT_H

#include <stdbool.h>

#include "store_stats.h"

struct app;
struct request;

bool stats_snapshot_start(struct app *app, int every_s)
	__attribute__((warn_unused_result));
void stats_snapshot_stop(void);

/* The statement a read of live statement id runs: its snapshot read when
 * the read covers every region, today, without a filter (def_only: the
 * route's own parameter is absent or its default), else id itself. */
enum stats_stmt stats_snapshot_read(struct request *r, enum stats_stmt id,
				    bool def_only);

#endif
