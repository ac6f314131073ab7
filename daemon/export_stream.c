/*
 * The export engine (export_stream.h).  A job's life:
 *
 *   OPEN     lease A; BEGIN REPEATABLE READ READ ONLY, export the
 *            snapshot, the check, DECLARE the cursor
 *   AUDIT    lease B; import the snapshot, INSERT the audit row, COMMIT
 *   FETCH    FETCH n on A; the rows go out as one piece
 *   DRAIN    wait until the socket took them; then FETCH again
 *
 * A fetch of fewer than n rows was the last: the answer ends and A is
 * released (rolled back: it only read).  A client that leaves ends the
 * job at its next step.
 */
#include "export_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "long_pool.h"
#include "store_export.h"

/* EX_DONE: being freed, so that it leaves every count. */
enum export_state { EX_OPEN, EX_AUDIT, EX_FETCH, EX_DRAIN, EX_DONE };

struct export_job {
	struct request *req;
	struct export_spec spec;
	char *copies[EXPORT_MAX_PARAMS + 8];
	int ncopies;
	enum export_state state;
	struct db_conn *a, *b;
	char *declare, *audit, *set_snapshot;
	char fetch[64];
	char remote[80];
	bool streaming, gone, wrote_first;
};

static int running, waiting;
static unsigned long long rows_fetched;

void export_stream_stats(struct export_stats *st)
{
	st->running = running;
	st->waiting = waiting;
	st->rows = rows_fetched;
}

/* Every change of state goes through here, so that /metrics can tell
 * how many exports wait for their clients. */
static void job_state(struct export_job *job, enum export_state s)
{
	waiting += (s == EX_DRAIN) - (job->state == EX_DRAIN);
	job->state = s;
}

bool export_wants_csv(struct request *r)
{
	const char *accept = request_header(r, "Accept");
	const char *format = request_query(r, "format");

	return (accept != NULL && strstr(accept, "text/csv") != NULL) ||
	       (format != NULL && strcmp(format, "csv") == 0);
}

static void job_free(struct export_job *job)
{
	if (job->a != NULL)
		db_release(job->a);
	if (job->b != NULL)
		db_release(job->b);
	if (job->spec.ctx_free != NULL)
		job->spec.ctx_free(job->spec.ctx);
	for (int i = 0; i < job->ncopies; i++)
		free(job->copies[i]);
	free(job->declare);
	free(job->audit);
	free(job->set_snapshot);
	job_state(job, EX_DONE);
	free(job);
	running--;
}

/* Ends the job: before the stream began with an error answer, after it
 * by ending it (ok) or cutting it. */
static void job_end(struct export_job *job, bool ok, enum err_code code,
		    const char *why)
{
	if (!job->streaming) {
		struct reply rep;
		reply_init(&rep);
		reply_error(&rep, code, NULL, "%s", why);
		request_finish(job->req, &rep);
	} else if (ok) {
		request_stream_end(job->req);
	} else {
		log_error(job->req->context, "export cut short: %s", why);
		request_stream_abort(job->req);
	}
	job_free(job);
}

static bool results_ok(struct export_job *job, PGresult **res, int n)
{
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error(job->req->context, "export: %s",
				  PQresultErrorMessage(res[i]));
			return false;
		}
	return n > 0;
}

/* --- fetching ------------------------------------------------------------ */

static void send_fetch(struct export_job *job);

static void on_fetched(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct export_job *job = arg;
	struct textbuf t;
	size_t written;
	int rows;

	(void)conn;
	if (job->gone)
		return job_end(job, true, ERR_NONE, NULL);
	if (!results_ok(job, res, n))
		return job_end(job, false, ERR_UNAVAILABLE,
			       "the database failed");
	rows = PQntuples(res[0]);
	rows_fetched += (unsigned long long)rows;
	textbuf_init(&t);
	job->spec.format(&t, res[0], !job->wrote_first, job->spec.ctx);
	job->wrote_first = true;
	if (t.failed) {
		textbuf_free(&t);
		return job_end(job, false, ERR_INTERNAL, "out of memory");
	}
	written = t.len;
	if (written > 0)
		request_stream_write(job->req, t.buf, written);
	textbuf_free(&t);
	if (rows < job->spec.fetch_rows)
		return job_end(job, true, ERR_NONE, NULL);
	/* The next rows only once the socket has taken these (nothing
	 * written: at once, no drain will come).  The length is the one
	 * written: textbuf_free zeroes t, and reading t.len after it made
	 * every fetch follow at once, the whole export piling up in the
	 * daemon behind a slow client (420 MB at a million pathways). */
	if (written == 0)
		return send_fetch(job);
	job_state(job, EX_DRAIN);
}

static void send_fetch(struct export_job *job)
{
	struct db_query q = {.sql = job->fetch};

	job_state(job, EX_FETCH);
	if (!db_send(job->a, &q, 1, on_fetched, job))
		job_end(job, false, ERR_UNAVAILABLE,
			"the database cannot be reached");
}

static void on_drained(struct request *r, void *arg)
{
	struct export_job *job = arg;

	(void)r;
	if (job->state == EX_DRAIN)
		send_fetch(job);
}

static void on_gone(struct request *r, void *arg)
{
	struct export_job *job = arg;

	(void)r;
	job->gone = true;
	/* A fetch in flight ends the job when it returns. */
	if (job->state == EX_DRAIN)
		job_end(job, true, ERR_NONE, NULL);
}

static void start_stream(struct export_job *job)
{
	job->streaming = true;
	if (!request_stream_begin(job->req, job->spec.content_type,
				  job->spec.filename, on_drained, on_gone, job))
		return job_end(job, true, ERR_NONE, NULL);
	send_fetch(job);
}

/* --- the audit row, in the cursor's snapshot ----------------------------- */

static void on_audited(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct export_job *job = arg;

	(void)conn;
	db_release(job->b);
	job->b = NULL;
	if (!results_ok(job, res, n))
		return job_end(job, false, ERR_UNAVAILABLE,
			       "the export could not be audited, so it is not "
			       "sent");
	start_stream(job);
}

static void on_audit_lease(struct db_conn *conn, void *arg)
{
	struct export_job *job = arg;
	struct request *r = job->req;
	struct db_query q[5];
	int nq = 0, n = job->spec.nparams;

	job->b = conn;
	if (conn == NULL)
		return job_end(job, false, ERR_UNAVAILABLE,
			       "the database cannot be reached");
	q[nq++] = (struct db_query){.sql = export_begin_audit_sql};
	q[nq++] = (struct db_query){.sql = job->set_snapshot};
	if (!r->app->cfg.audit_durable)
		q[nq++] = (struct db_query){
			.sql = "SET LOCAL synchronous_commit TO off"};
	q[nq] = (struct db_query){.sql = job->audit, .nparams = n + 5};
	memcpy(q[nq].params, job->spec.params, sizeof(char *) * (size_t)n);
	q[nq].params[n] = r->token ? r->token->id : "-";
	q[nq].params[n + 1] = request_method_name(r);
	q[nq].params[n + 2] = r->route->pattern;
	q[nq].params[n + 3] = request_uri(r);
	q[nq++].params[n + 4] = job->remote;
	q[nq++] = (struct db_query){.sql = "COMMIT"};
	if (!db_send(conn, q, nq, on_audited, job))
		job_end(job, false, ERR_UNAVAILABLE,
			"the database cannot be reached");
}

/* --- opening the cursor -------------------------------------------------- */

/* res: BEGIN, snapshot, [check], DECLARE. */
static void on_opened(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct export_job *job = arg;

	(void)conn;
	if (!results_ok(job, res, n))
		return job_end(job, false, ERR_UNAVAILABLE,
			       "the export could not be started");
	if (job->spec.check_sql != NULL && PQntuples(res[2]) == 0)
		return job_end(job, false, ERR_NOT_FOUND, job->spec.not_found);
	if (job->spec.audit_selection == NULL)
		return start_stream(job);
	job->set_snapshot = export_set_snapshot_sql(PQgetvalue(res[1], 0, 0));
	if (job->set_snapshot == NULL)
		return job_end(job, false, ERR_INTERNAL,
			       "the snapshot has no usable name");
	job_state(job, EX_AUDIT);
	db_acquire(long_pool(job->req->app), on_audit_lease, job);
}

static void on_open_lease(struct db_conn *conn, void *arg)
{
	struct export_job *job = arg;
	struct db_query q[4];
	int nq = 0;

	job->a = conn;
	if (conn == NULL)
		return job_end(job, false, ERR_UNAVAILABLE,
			       "the database cannot be reached");
	q[nq++] = (struct db_query){.sql = export_begin_sql};
	q[nq++] = (struct db_query){.sql = export_snapshot_sql};
	if (job->spec.check_sql != NULL) {
		q[nq] = (struct db_query){.sql = job->spec.check_sql,
					  .nparams = job->spec.check_nparams};
		memcpy(q[nq++].params, job->spec.check_params,
		       sizeof(job->spec.check_params));
	}
	q[nq] = (struct db_query){.sql = job->declare,
				  .nparams = job->spec.nparams};
	memcpy(q[nq++].params, job->spec.params,
	       sizeof(char *) * (size_t)job->spec.nparams);
	if (!db_send(conn, q, nq, on_opened, job))
		job_end(job, false, ERR_UNAVAILABLE,
			"the database cannot be reached");
}

/* --- taking a request over ----------------------------------------------- */

static const char *copy(struct export_job *job, const char *s)
{
	if (s == NULL || job->ncopies == EXPORT_MAX_PARAMS + 8)
		return NULL;
	return job->copies[job->ncopies++] = strdup(s);
}

static bool job_init(struct export_job *job, struct request *r,
		     const struct export_spec *spec)
{
	job->req = r;
	job->spec = *spec;
	for (int i = 0; i < spec->nparams; i++)
		job->spec.params[i] = copy(job, spec->params[i]);
	for (int i = 0; i < spec->check_nparams; i++)
		job->spec.check_params[i] = copy(job, spec->check_params[i]);
	job->spec.filename = copy(job, spec->filename);
	export_fetch_sql(spec->fetch_rows, job->fetch, sizeof(job->fetch));
	if (request_remote(r, job->remote, sizeof(job->remote)) == NULL)
		snprintf(job->remote, sizeof(job->remote), "-");
	job->declare = export_declare_sql(spec->rows_sql);
	job->audit =
		spec->audit_selection
			? export_audit_sql(spec->audit_selection, spec->nparams)
			: NULL;
	return job->declare != NULL &&
	       (spec->audit_selection == NULL || job->audit != NULL);
}

enum handled export_stream(struct request *r, const struct export_spec *spec,
			   struct reply *out)
{
	struct export_job *job;
	struct db_pool *pool = long_pool(r->app);

	if (running >= EXPORT_MAX_RUNNING) {
		if (spec->ctx_free != NULL)
			spec->ctx_free(spec->ctx);
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "%d exports are running; try again later",
				   running);
	}
	job = calloc(1, sizeof(*job));
	running++;
	if (pool == NULL || job == NULL || !job_init(job, r, spec)) {
		if (job != NULL)
			job_free(job);
		else if (spec->ctx_free != NULL)
			spec->ctx_free(spec->ctx), running--;
		else
			running--;
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	}
	db_acquire(pool, on_open_lease, job);
	return HANDLED_LATER;
}
