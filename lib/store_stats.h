/*
 * store_stats: the statistics' SQL (part of the store module: every
 * statement is here by id, none is pasted together at run time).
 *
 * The reads are sent unprepared on purpose, like the worklist: PostgreSQL
 * plans each with the actual values, so a NULL filter ("$2::text IS NULL
 * OR region = $2") folds away and the partial covering indexes of schema
 * 007 answer from their entries alone.
 *
 * Days are local days in each pathway's model's time zone: the models'
 * keys and zones travel as parameters (struct stats_models) and are
 * joined, never written into the SQL.  Waits are whole days from the local
 * day a referral was received to the day in question (or to the local day
 * treatment started), less the days the wait was paused; paused time is
 * reported beside.  Percentiles are PostgreSQL's percentile_cont (linear
 * between the two nearest ranks: the median of 2, 4, 6, 8 is 5).
 *
 * The history is summarised each night (stats_days, stats_months) and
 * added to every few minutes: the reads take the events recorded before
 * the summary's watermark from it and those recorded since from the
 * transitions themselves, through the same derivation, so a figure is the
 * same before and after a build.
 */
#ifndef PAINPATH_STORE_STATS_H
#define PAINPATH_STORE_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "model.h"
#include <libpq-fe.h>

#include "pgarray.h"

/* A paused clock in the clocks text (its fourth field a date where a
 * running one has "-"): the predicate of the partial index
 * pathways_stats_paused, written alike wherever a query means to use it. */
#define STATS_PAUSED_ANY "'[a-z] \\S+ -?\\d+ \\d'"

enum stats_stmt {
	/* $1 as_of, $2 region, $3 level, $4 unit, $5 model, $6 the token's
	 * regions: model, rule, running, overdue, paused, the share of the
	 * running not overdue (NULL when none runs); one row per model and
	 * rule with a clock running or paused. */
	STATS_CLOCKS,
	/* $1..$6 as above, $7..$11 the models (stats_models): one JSON text,
	 * the array of units (GET /v1/stats/waiting). */
	STATS_WAITING,
	/* The same, one row a unit: the keys of the JSON as columns, in
	 * its order (the CSV form). */
	STATS_WAITING_ROWS,
	/* $1..$11, $12 rule or NULL: waiting, paused, median, p90, then the
	 * bands as a JSON text [{"from_days", "to_days", "count"}, ...], every
	 * 7-day band from 0 on. */
	STATS_HISTOGRAM,
	/* $1..$11, $12 months: one JSON text, the months oldest first. */
	STATS_TREND,
	/* $1..$11, $12 weeks: one JSON text, the ISO weeks oldest first. */
	STATS_FLOW,
	/* $1 as_of, $2 region, $3 level, $4 the unit that must act, $5
	 * rule, $6 the token's regions, $7 within_days, $8 limit: the
	 * clocks due from as_of to as_of + within_days (columns in
	 * stats_deadline_json's order). */
	STATS_DEADLINES,
	/* Empties the summary, in the build's transaction. */
	STATS_BUILD_CLEAR,
	/* $1 cutoff (the first local day not summarised), $2..$6 the
	 * models, $7 built_by: writes the summary and records the build;
	 * returns its days rows and month rows. */
	STATS_BUILD,
	/* $1..$5 the models: adds the events recorded since the summary's
	 * watermark; returns day rows, month rows touched, and 1 when a
	 * summary was there to add to. */
	STATS_BUILD_ADD,
	/* The build's longer statement timeout, inside its transaction. */
	STATS_BUILD_TIMEOUT,
	/* Sent before each read, on its connection: no JIT (compiling a
	 * plan takes longer than these statements run, and estimates over
	 * their CTEs can cross jit_above_cost), and work_mem for hashing a
	 * million pathways' waits in memory. */
	STATS_NO_JIT,
	/* One row: cutoff, built_at (UTC text), or none. */
	STATS_BUILD_STATE,
	/* The whole country's reads (schema 008): the parameters and rows
	 * of STATS_CLOCKS, WAITING, HISTOGRAM and TREND, from the
	 * snapshot of $1 when a fresh one is there, each row with a last
	 * column snapshot_at (UTC text; NULL when counted live). */
	STATS_CLOCKS_SNAPSHOT,
	STATS_WAITING_SNAPSHOT,
	STATS_HISTOGRAM_SNAPSHOT,
	STATS_TREND_SNAPSHOT,
	/* Their refreshes, with the same parameters (all regions, no
	 * filter): write the snapshot of $1 unless it is recent or another
	 * daemon writes it now. */
	STATS_CLOCKS_REFRESH,
	STATS_WAITING_REFRESH,
	STATS_HISTOGRAM_REFRESH,
	STATS_TREND_REFRESH,
	/* One row: the pathways as the planner's statistics count them
	 * (-1 before the table was first analysed). */
	STATS_PATHWAYS_ESTIMATE,
	STATS_STMT_COUNT
};

extern const char *const store_stats_sql[STATS_STMT_COUNT];

/* The loaded models as the statements' array parameters: keys, time
 * zones, and the limit a started treatment is measured against (see
 * stats_wait_limit). */
struct stats_models {
	struct pgarray keys, zones, limit_kinds, limit_days, limit_levels;
};

/* Fills m from the set (stats_models_free after, also on failure). */
bool stats_models_init(struct stats_models *m, const struct model_set *set)
	__attribute__((warn_unused_result));
void stats_models_free(struct stats_models *m);
/* The five texts in parameter order ($7..$11 of the reads, $2..$4 of the
 * build use the first... see each statement). */
void stats_models_params(const struct stats_models *m, const char **out5);

/* The limit a model's started treatments are measured against: its
 * treatment clock, or else its free-choice clock (Denmark: 30 days of
 * waiting).  kind is "days" (working days and months counted as calendar
 * days: 7 to 5, 30 a month), "deadline" (the date set on acceptance) or
 * NULL (no limit); *days the limit in days; levels the levels it applies
 * to as "clinic,centre", "" for all. */
void stats_wait_limit(const struct model *m, const char **kind, int *days,
		      char *levels, size_t levels_len);

/* A rule's limit for the tiles: {"unit": "working_days", "n": 10}, or
 * JSON null when the model sets no fixed length (a deadline). */
json_t *stats_rule_limit_json(const struct model *m, enum rule r);
/* The same in calendar days for the histogram's mark, or -1. */
int stats_rule_limit_days(const struct model *m, enum rule r);

/* Blocking, at start (before the loop): the loaded models' time zones
 * into stats_zones, and the receipt day of every pathway whose day is not
 * set or whose model's zone changed.  *updated receives how many. */
bool stats_zones_sync(PGconn *conn, const struct model_set *set, long *updated,
		      char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* One row of STATS_DEADLINES as the contract's item (new reference). */
json_t *stats_deadline_json(const PGresult *res, int row);

#endif
