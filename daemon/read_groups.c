/*
 * Reads by key gathered (read_by_key): while a group waits for its
 * connection, every read of its kind bound for the same pool joins it, and
 * one statement over arrays answers them all.  Idle, a group is one read
 * and waits for nothing more; under load, the reads queued for a
 * connection share one round trip and one execution instead of one each,
 * as the writes' groups do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pgarray.h"
#include "reads_int.h"
#include "store.h"

#define READ_GROUP_MAX 128

struct read_group {
	const struct read_group_kind *kind;
	struct db_pool *pool;
	struct db_conn *conn;
	struct read_group *next_gathering;
	bool audited; /* its statement wrote the audit rows too */
	int result;   /* which result of the batch holds the rows */
	int n;
	double began; /* its phase's start, metrics_clock() */
	struct read_job *jobs[READ_GROUP_MAX];
};

static struct read_group *gathering;
static struct read_stats totals;

static void unlink_gathering(struct read_group *g)
{
	for (struct read_group **p = &gathering; *p; p = &(*p)->next_gathering)
		if (*p == g) {
			*p = g->next_gathering;
			return;
		}
}

static void group_fail(struct read_group *g, enum err_code code,
		       const char *msg)
{
	if (g->conn != NULL)
		db_release(g->conn);
	for (int i = 0; i < g->n; i++)
		read_fail(g->jobs[i], code, msg);
	free(g);
}

/* Each read's rows (column 0 its place in the group, from 1, in order)
 * rendered as its own answer. */
static void group_answer(struct read_group *g, const PGresult *res)
{
	int rows = PQntuples(res), row = 0;

	for (int i = 0; i < g->n; i++) {
		struct read_job *job = g->jobs[i];
		int first = row;

		while (row < rows && atoi(PQgetvalue(res, row, 0)) == i + 1)
			row++;
		g->kind->render(job->req, res, first, row - first, &job->a);
		if (g->audited)
			read_finish(job);
		else
			read_answered(job);
	}
}

static void on_group_read(struct db_conn *conn, PGresult **res, int n,
			  void *arg)
{
	struct read_group *g = arg;

	(void)conn;
	totals.statement_seconds += metrics_clock() - g->began;
	totals.answered++;
	if (n <= g->result)
		return group_fail(g, ERR_UNAVAILABLE,
				  "the database cannot be reached");
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error("reads", "%s: %s", g->kind->name,
				  DB_WHY(res[i]));
			return group_fail(g, ERR_INTERNAL,
					  g->audited ? "the read could not be "
						       "audited, so it is not "
						       "answered"
						     : "the query failed");
		}
	db_release(g->conn);
	g->conn = NULL;
	group_answer(g, res[g->result]);
	free(g);
}

/* The columns of the audited statement after the keys and regions. */
enum {
	GROUP_TOKEN,
	GROUP_METHOD,
	GROUP_ROUTE,
	GROUP_URI,
	GROUP_REMOTE,
	GROUP_AUDIT_COLUMNS
};

/* One read's audit columns, as the audit writer's rows have them. */
static bool add_audit_columns(struct pgarray *cols, struct read_job *job)
{
	struct request *r = job->req;

	if (!read_audit_origin(job))
		return false;
	pgarray_add(&cols[GROUP_TOKEN], read_audit_token(r));
	pgarray_add(&cols[GROUP_METHOD], request_method_name(r));
	pgarray_add(&cols[GROUP_ROUTE], r->route->pattern);
	pgarray_add(&cols[GROUP_URI], job->audit_uri);
	pgarray_add(&cols[GROUP_REMOTE], job->audit_remote);
	return true;
}

/* The group's statement (and its transaction's settings) into q; the
 * parameters point into cols.  Returns how many queries, 0 if out of
 * memory. */
static int group_queries(struct read_group *g, struct pgarray *cols,
			 struct db_query *q)
{
	struct pgarray *audit = cols + 2;
	struct app *app = g->jobs[0]->req->app;
	int ncols = g->audited ? 2 + GROUP_AUDIT_COLUMNS : 2, nq = 0;

	for (int i = 0; i < g->n; i++) {
		pgarray_add(&cols[0], g->jobs[i]->q[0].params[0]);
		pgarray_add(&cols[1], g->jobs[i]->q[0].params[1]);
		if (g->audited && !add_audit_columns(audit, g->jobs[i]))
			return 0;
	}
	/* An audit as durable as the reads' own (audit_batch's rule). */
	if (g->audited && !app->cfg.audit_durable) {
		q[nq++] = (struct db_query){.sql = "BEGIN"};
		q[nq++] = (struct db_query){
			.sql = "SET LOCAL synchronous_commit TO off"};
	}
	g->result = nq;
	q[nq] = (struct db_query){.stmt = g->audited ? g->kind->stmt_audited
						     : g->kind->stmt,
				  .nparams = ncols};
	for (int c = 0; c < ncols; c++)
		if ((q[nq].params[c] = pgarray_text(&cols[c])) == NULL)
			return 0;
	nq++;
	if (nq > 1)
		q[nq++] = (struct db_query){.sql = "COMMIT"};
	return nq;
}

static void on_group_lease(struct db_conn *conn, void *arg)
{
	struct read_group *g = arg;
	struct pgarray cols[2 + GROUP_AUDIT_COLUMNS];
	struct db_query q[4];
	int nq;
	bool sent;

	unlink_gathering(g);
	g->conn = conn;
	if (conn == NULL)
		return group_fail(g, ERR_UNAVAILABLE,
				  "the database cannot be reached");
	/* A replica cannot write: there the audit rows follow as any read's
	 * do. */
	g->audited = g->kind->stmt_audited != 0 &&
		     g->pool == g->jobs[0]->req->app->pool;
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		pgarray_init(&cols[c]);
	nq = group_queries(g, cols, q);
	/* libpq copies the parameters. */
	sent = nq > 0 && db_send(conn, q, nq, on_group_read, g);
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		pgarray_free(&cols[c]);
	if (!sent)
		return group_fail(g, ERR_UNAVAILABLE,
				  "the database cannot be reached");
	totals.groups++;
	totals.reads += (unsigned long long)g->n;
	totals.gather_seconds += metrics_clock() - g->began;
	g->began = metrics_clock();
}

/* The group of kind gathering for pool, with room; a new one if none. */
static struct read_group *group_to_join(const struct read_group_kind *kind,
					struct db_pool *pool)
{
	struct read_group *g;

	for (g = gathering; g != NULL; g = g->next_gathering)
		if (g->kind == kind && g->pool == pool && g->n < READ_GROUP_MAX)
			return g;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->kind = kind;
	g->pool = pool;
	g->began = metrics_clock();
	g->next_gathering = gathering;
	gathering = g;
	/* Never granted before this returns (db.h): the read joins first. */
	db_acquire(pool, on_group_lease, g);
	return g;
}

enum handled read_by_key(struct request *r, const struct read_group_kind *kind,
			 const char *key)
{
	char regions[REGIONS_LEN];
	struct db_query q = {
		.nparams = 2,
		.params = {key, request_regions(r, regions, sizeof(regions))}};
	struct read_job *job = read_job_new(r, &q, 1);
	struct read_group *g;

	if (job == NULL)
		return HANDLED_LATER;
	g = group_to_join(kind, read_pool_for(r));
	if (g == NULL) {
		read_fail(job, ERR_INTERNAL, "out of memory");
		return HANDLED_LATER;
	}
	g->jobs[g->n++] = job;
	return HANDLED_LATER;
}

void read_stats(struct read_stats *out)
{
	*out = totals;
}
