/*
 * The commit path's insides, shared by its three files: commit.c (the
 * queue and its groups: which items go together), commit_tx.c (a group's
 * transaction: statements sent, results read, COMMIT) and
 * commit_resolve.c (step 1's rows into decisions and writes).
 */
#ifndef PAINPATHD_COMMIT_INT_H
#define PAINPATHD_COMMIT_INT_H

#include <stdbool.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "commit.h"
#include "db.h"
#include "pgarray.h"
#include "store.h"

#define COMMIT_MAX_ATTEMPTS 4
/* Items per group: enough to share a commit, few enough that a group's
 * locks are short. */
#define GROUP_MAX 64

enum item_state { ITEM_REFUSED, ITEM_QUEUED, ITEM_RUNNING, ITEM_DONE };

struct commit_batch {
	struct app *app;
	commit_done_fn done;
	void *arg;
	size_t unanswered;
	size_t held; /* items a running group still points to */
	bool atomic; /* all or nothing, in one transaction */
	bool finishing;
	struct commit_batch *next_finished;
};

struct group {
	struct app *app;
	struct db_conn *conn;
	bool atomic; /* one atomic batch, in its order */
	struct commit_item *items[GROUP_MAX]; /* NULL once requeued */
	/* The patients it holds back until it ends (copies: a requeued
	 * item may be answered and freed before). */
	char patients[GROUP_MAX][ID_MAX + 1];
	int n;
	/* Step 1's parameters, alive until its answer. */
	struct pgarray ids, open_patients, latest_patients, sources, events,
		history_ids, history_patients;
	bool wants_history;
	struct store_group *writes;
	/* Texts the writes point to, freed with the group: per item its
	 * pathway, transition and answer. */
	char *docs[GROUP_MAX][3];
	/* Recorded events of the pathways a correction replays. */
	json_t *history_events;
	double phase_began; /* monotonic seconds */
	bool unchecked;	    /* step 1 skipped: see commit_tx.c */
};

/* commit.c */
/* The phase that began at g->phase_began ends now; the next begins. */
void commit_phase_end(struct group *g, enum commit_phase phase);
void commit_count_unchecked(void);
void commit_item_done(struct commit_item *it, int status);
void commit_item_refuse(struct commit_item *it, const struct pp_error *err,
			json_t *detail);
void commit_item_fail(struct commit_item *it, enum err_code code,
		      const char *msg);
/* Back to the head of the queue, to run one by one. */
void commit_requeue_solo(struct group *g);
/* The same, to run in groups again, each through step 1. */
void commit_requeue_checked(struct group *g);
/* The group is over: its patients go free, answered batches are called
 * back, the next groups start. */
void commit_group_end(struct group *g);
void commit_count_retry(void);

/* commit_tx.c: runs a group from its lease to its end. */
void commit_tx_start(struct db_conn *conn, void *group);

/* Step 1's queries and results, by position; the history only when a
 * correction needs it. */
enum step1 { STEP1_BEGIN, STEP1_LOCK, STEP1_LOOKUP, STEP1_HISTORY };

/* commit_resolve.c: decides every running item from step 1's results
 * and adds the writes to g->writes.  False when the writes
 * could not be built (out of memory) or the rows not read. */
bool commit_resolve(struct group *g, PGresult **res, cal_millis now)
	__attribute__((warn_unused_result));

#endif
