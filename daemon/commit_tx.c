/*
 * A group's transaction, in two pipelined round trips:
 *   1. BEGIN; lock the group's pathways (STMT_LOCK, in patient order: no
 *      deadlock between groups of any daemon); look up the events already
 *      recorded (STMT_EVENT_LOOKUP, after the lock, so a concurrent post of
 *      the same event that committed while we waited is seen); the
 *      histories a correction replays (STMT_HISTORY);
 *   2. the decisions (commit_resolve.c) and the group's set-based writes;
 *      COMMIT.  Every item answers only after that COMMIT.
 * If the writes fail (a race lost on a unique index, a deadlock, a version
 * moved), the group is rolled back and its items run again one by one; a
 * lone item retries a lost race and then sees the winner's commit.
 * A group of openings only is one round trip: see may_skip_check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "commit_int.h"
#include "log.h"

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connection broke: whether a COMMIT in flight happened is unknown, so
 * the client retries with the same event_id and gets one transition. */
static void group_unavailable(struct group *g)
{
	for (int i = 0; i < g->n; i++)
		if (g->items[i] != NULL && g->items[i]->state == ITEM_RUNNING)
			commit_item_fail(g->items[i], ERR_UNAVAILABLE,
					 "the database cannot be reached; "
					 "retry with the same event_id");
	commit_group_end(g);
}

static void on_rolled_back(struct db_conn *conn, PGresult **res, int n,
			   void *arg)
{
	(void)conn;
	(void)res;
	(void)n;
	commit_group_end(arg);
}

static void rollback_and_end(struct group *g)
{
	struct db_query q = {.sql = "ROLLBACK"};

	if (!db_send(g->conn, &q, 1, on_rolled_back, g))
		commit_group_end(g);
}

static bool constraint_is(const PGresult *res, const char *name)
{
	const char *c = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

	return c != NULL && strcmp(c, name) == 0;
}

static bool retryable(const PGresult *res)
{
	const char *state = db_result_sqlstate(res);

	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return true;
	return strcmp(state, "23505") == 0 &&
	       !constraint_is(res, "pathways_pkey");
}

static int writers(const struct group *g, struct commit_item **last)
{
	int count = 0;

	for (int i = 0; i < g->n; i++)
		if (g->items[i] && g->items[i]->state == ITEM_RUNNING &&
		    g->items[i]->decision.kind == DECIDE_WRITE) {
			*last = g->items[i];
			count++;
		}
	return count;
}

/* A lone event's (or an atomic batch's) write failed: retry a lost race,
 * else answer. */
static void alone_write_failed(struct group *g, struct commit_item *it,
			       const PGresult *failed)
{
	struct pp_error err;

	if (retryable(failed) && ++it->attempts < COMMIT_MAX_ATTEMPTS)
		return commit_requeue_solo(g);
	if (strcmp(db_result_sqlstate(failed), "23505") == 0 &&
	    constraint_is(failed, "pathways_pkey"))
		error_set(&err, ERR_PATHWAY_EXISTS, "pathway_id",
			  "a pathway with this pathway_id exists");
	else
		error_set(&err, ERR_INTERNAL, NULL,
			  "the event could not be recorded");
	if (err.code == ERR_INTERNAL)
		log_error("commit", "event %s: write failed (%s %s): %s",
			  it->ev.event_id, db_result_sqlstate(failed),
			  PQresultErrorField(failed, PG_DIAG_CONSTRAINT_NAME)
				  ?: "-",
			  DB_WHY(failed));
	for (int i = 0; i < g->n; i++)
		if (g->items[i] && g->items[i]->state == ITEM_RUNNING)
			commit_item_refuse(g->items[i], &err, NULL);
}

static const PGresult *first_failure(PGresult **res, int n)
{
	for (int i = 0; i < n; i++)
		if (PQresultStatus(res[i]) != PGRES_PIPELINE_ABORTED &&
		    !db_result_ok(res[i]))
			return res[i];
	return NULL;
}

/* Every decided item answers now that its group has committed. */
static void answer_all(struct group *g)
{
	for (int i = 0; i < g->n; i++) {
		struct commit_item *it = g->items[i];
		struct decision *d;
		if (it == NULL || it->state != ITEM_RUNNING)
			continue;
		d = &it->decision;
		snprintf(it->pathway_id, sizeof(it->pathway_id), "%s",
			 d->pathway_id);
		if (d->kind == DECIDE_REFUSE) {
			commit_item_refuse(it, &d->err, d->detail);
			d->detail = NULL;
		} else if (d->kind == DECIDE_REPLAY) {
			it->replayed = true;
			commit_item_done(it, 200);
		} else {
			it->response = g->docs[i][2];
			g->docs[i][2] = NULL;
			it->wrote = true;
			it->after = d->after;
			it->tr = d->tr;
			commit_item_done(it, 201);
		}
	}
}

static void on_committed(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct group *g = arg;
	const PGresult *failed;
	struct commit_item *writer = NULL;

	(void)conn;
	if (n == 0)
		return group_unavailable(g);
	commit_phase_end(g, PHASE_WRITE);
	failed = first_failure(res, n);
	if (failed == NULL) {
		answer_all(g);
		return commit_group_end(g);
	}
	/* Something was stored after all: what, step 1 will tell. */
	if (g->unchecked) {
		commit_requeue_checked(g);
		return rollback_and_end(g);
	}
	if (g->atomic || writers(g, &writer) == 1)
		alone_write_failed(g, writer ? writer : g->items[0], failed);
	else
		commit_requeue_solo(g);
	rollback_and_end(g);
}

/* Step 2: the writes, and COMMIT.  A group that writes nothing still
 * commits with a transaction id of its own: its replays and refusals then
 * wait, like a write, for everything before them to be durable (with a
 * synchronous standby: confirmed there).  An answer never rests on a
 * commit that may not survive a failover (issue 15). */
static void send_writes(struct group *g)
{
	struct db_query q[STORE_GROUP_QUERIES + 3];
	int nq = 0, writes;

	/* Step 1 skipped, no transaction has begun. */
	if (g->unchecked)
		q[nq++] = (struct db_query){.sql = "BEGIN"};
	writes = store_group_queries(g->writes, q + nq);
	nq += writes;
	if (writes == 0)
		q[nq++] = (struct db_query){.stmt = STMT_XACT_ID};
	q[nq++] = (struct db_query){.sql = "COMMIT"};
	if (!db_send(g->conn, q, nq, on_committed, g))
		group_unavailable(g);
}

/* The decisions on what step 1 found (res; NULL when it was skipped), then
 * the writes.  If they cannot be made, the items answer 500 and the group
 * ends, rolled back if its transaction began. */
static void decide_and_write(struct group *g, PGresult **res)
{
	if (!commit_resolve(g, res, now_millis())) {
		for (int k = 0; k < g->n; k++)
			if (g->items[k]->state == ITEM_RUNNING)
				commit_item_fail(g->items[k], ERR_INTERNAL,
						 "the event could not be "
						 "recorded");
		return g->unchecked ? commit_group_end(g) : rollback_and_end(g);
	}
	commit_phase_end(g, PHASE_DECIDE);
	send_writes(g);
}

static void on_checked(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct group *g = arg;

	(void)conn;
	if (n == 0)
		return group_unavailable(g);
	commit_phase_end(g, PHASE_CHECK);
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			/* A lock wait past the statement timeout, say: run
			 * them alone, and give up after a few tries. */
			log_warning("commit", "group of %d: %s", g->n,
				    DB_WHY(res[i]));
			for (int k = 0; k < g->n; k++)
				if (++g->items[k]->attempts >=
				    COMMIT_MAX_ATTEMPTS)
					commit_item_fail(g->items[k],
							 ERR_INTERNAL,
							 "the event could not "
							 "be checked");
			commit_requeue_solo(g);
			return rollback_and_end(g);
		}
	decide_and_write(g, res);
}

static int by_patient(const void *a, const void *b)
{
	const struct commit_item *x = *(struct commit_item *const *)a;
	const struct commit_item *y = *(struct commit_item *const *)b;

	return strcmp(x->ev.patient_id, y->ev.patient_id);
}

/* Step 1's parameters: what each item's decision needs found. */
static void gather_keys(struct group *g)
{
	for (int i = 0; i < g->n; i++) {
		const struct event *ev = &g->items[i]->ev;
		enum decide_lookup how = decide_lookup_of(ev);
		bool history = decide_needs_history(ev);
		if (how == LOOKUP_BY_ID)
			pgarray_add(&g->ids, ev->pathway_id);
		if (how == LOOKUP_LATEST)
			pgarray_add(&g->latest_patients, ev->patient_id);
		pgarray_add(&g->open_patients, ev->patient_id);
		pgarray_add(&g->sources, g->items[i]->token->source);
		pgarray_add(&g->events, ev->event_id);
		if (history && how == LOOKUP_BY_ID)
			pgarray_add(&g->history_ids, ev->pathway_id);
		if (history && how != LOOKUP_BY_ID)
			pgarray_add(&g->history_patients, ev->patient_id);
		g->wants_history = g->wants_history || history;
	}
}

/* An empty array is passed as NULL: its part of the query is then planned
 * away. */
static const char *array_or_null(struct pgarray *a)
{
	return a->count > 0 ? pgarray_text(a) : NULL;
}

static bool keys_built(const struct group *g)
{
	return !g->ids.failed && !g->open_patients.failed &&
	       !g->latest_patients.failed && !g->sources.failed &&
	       !g->events.failed && !g->history_ids.failed &&
	       !g->history_patients.failed;
}

/* An opening's decision depends on three things stored (lib/decide.c
 * decide_open): a pathway of its id, an open one of its patient, its event
 * already recorded -- and each is a unique index the rows must pass
 * (pathways_pkey, pathways_one_open_per_patient,
 * transitions_source_event_id).  So a group of openings skips step 1: it
 * decides as if none were there and sends BEGIN, its writes and COMMIT in
 * one round trip.  If an index refuses a row, the group is rolled back and
 * its items go through step 1, which finds what was there (the event to
 * replay, the pathway open elsewhere) and decides on it. */
static bool may_skip_check(const struct group *g)
{
	if (g->atomic)
		return false;
	for (int i = 0; i < g->n; i++)
		if (g->items[i]->checked ||
		    g->items[i]->ev.type != EV_PATHWAY_OPENED)
			return false;
	return true;
}

void commit_tx_start(struct db_conn *conn, void *arg)
{
	struct group *g = arg;
	struct db_query q[STEP1_HISTORY + 1];
	int nq = STEP1_LOOKUP + 1;

	g->conn = conn;
	if (conn == NULL)
		return group_unavailable(g);
	commit_phase_end(g, PHASE_LEASE);
	/* One lock order for every group of every daemon: no deadlock.  An
	 * atomic batch is one patient's, in its own order. */
	if (!g->atomic)
		qsort(g->items, (size_t)g->n, sizeof(g->items[0]), by_patient);
	if (may_skip_check(g)) {
		g->unchecked = true;
		commit_count_unchecked();
		return decide_and_write(g, NULL);
	}
	gather_keys(g);
	q[STEP1_BEGIN] = (struct db_query){.sql = "BEGIN"};
	q[STEP1_LOCK] = (struct db_query){
		.stmt = STMT_LOCK,
		.nparams = 3,
		.params = {array_or_null(&g->ids),
			   pgarray_text(&g->open_patients),
			   array_or_null(&g->latest_patients)}};
	q[STEP1_LOOKUP] =
		(struct db_query){.stmt = STMT_EVENT_LOOKUP,
				  .nparams = 2,
				  .params = {pgarray_text(&g->sources),
					     pgarray_text(&g->events)}};
	if (g->wants_history)
		q[nq++] = (struct db_query){
			.stmt = STMT_HISTORY,
			.nparams = 3,
			.params = {array_or_null(&g->history_ids), NULL,
				   array_or_null(&g->history_patients)}};
	if (!keys_built(g) || q[STEP1_LOCK].params[1] == NULL ||
	    q[STEP1_LOOKUP].params[0] == NULL ||
	    q[STEP1_LOOKUP].params[1] == NULL)
		return group_unavailable(g);
	if (!db_send(conn, q, nq, on_checked, g))
		group_unavailable(g);
}
