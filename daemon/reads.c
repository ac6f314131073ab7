/*
 * The read routes: each is one prepared statement on a leased connection
 * and a function that turns its result into the answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reads.h"

struct read_job {
	struct request *req;
	struct db_query q;
	char *copies[DB_MAX_PARAMS];
	render_fn render;
};

static void read_job_free(struct read_job *job)
{
	for (int i = 0; i < job->q.nparams; i++)
		free(job->copies[i]);
	free(job);
}

static void on_read(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct read_job *job = arg;

	if (n == 0) {
		reply_error_code(job->req, ERR_UNAVAILABLE, NULL,
				 "the database cannot be reached");
	} else if (!db_result_ok(res[0])) {
		log_error(job->req->context, "%s: %s",
			  job->q.stmt ? job->q.stmt : "query",
			  PQresultErrorMessage(res[0]));
		reply_error_code(job->req, ERR_INTERNAL, NULL,
				 "the query failed");
	} else {
		job->render(job->req, res[0]);
	}
	db_release(conn);
	read_job_free(job);
}

static void on_read_lease(struct db_conn *conn, void *arg)
{
	struct read_job *job = arg;

	if (conn == NULL) {
		reply_error_code(job->req, ERR_UNAVAILABLE, NULL,
				 "the database cannot be reached");
		read_job_free(job);
		return;
	}
	if (!db_send(conn, &job->q, 1, on_read, job)) {
		db_release(conn);
		reply_error_code(job->req, ERR_UNAVAILABLE, NULL,
				 "the database cannot be reached");
		read_job_free(job);
	}
}

void read_query(struct request *r, const struct db_query *q, render_fn render)
{
	struct read_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		return reply_error_code(r, ERR_INTERNAL, NULL, "out of memory");
	job->req = r;
	job->q = *q;
	job->render = render;
	for (int i = 0; i < q->nparams; i++) {
		job->copies[i] = q->params[i] ? strdup(q->params[i]) : NULL;
		job->q.params[i] = job->copies[i];
	}
	db_acquire(r->app->pool, on_read_lease, job);
}

static void run_read(struct request *r, const char *stmt, render_fn render,
		     int nparams, const char *const *params)
{
	struct db_query q = {.stmt = stmt, .nparams = nparams};

	for (int i = 0; i < nparams; i++)
		q.params[i] = params[i];
	read_query(r, &q, render);
}

json_t *column_json(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return json_loads(PQgetvalue(res, row, col), 0, NULL);
}

static bool reject_bad_id(struct request *r, const char *id)
{
	/* An id outside the identifier alphabet names nothing. */
	if (domain_valid_id(id))
		return false;
	reply_error_code(r, ERR_NOT_FOUND, NULL, "no such pathway");
	return true;
}

static void render_pathway(struct request *r, const PGresult *res)
{
	if (PQntuples(res) == 0)
		return reply_error_code(r, ERR_NOT_FOUND, NULL,
					"no such pathway");
	reply_json(r, 200, column_json(res, 0, 0));
}

void pathway_get(struct request *r)
{
	if (!reject_bad_id(r, r->params[0]))
		run_read(r, "pathway_get", render_pathway, 1, r->params);
}

static void render_transitions(struct request *r, const PGresult *res)
{
	json_t *list = column_json(res, 0, 0);

	/* A pathway has at least its opening transition. */
	if (json_array_size(list) == 0) {
		json_decref(list);
		return reply_error_code(r, ERR_NOT_FOUND, NULL,
					"no such pathway");
	}
	reply_json(r, 200,
		   json_pack("{s:s, s:o}", "pathway_id", r->params[0],
			     "transitions", list));
}

void pathway_transitions_get(struct request *r)
{
	if (!reject_bad_id(r, r->params[0]))
		run_read(r, "pathway_transitions", render_transitions, 1,
			 r->params);
}

static void render_patient(struct request *r, const PGresult *res)
{
	json_t *list = column_json(res, 0, 0);

	reply_json(r, 200,
		   json_pack("{s:s, s:o}", "patient_id", r->params[0],
			     "pathways", list ? list : json_array()));
}

void patient_pathways_get(struct request *r)
{
	if (domain_valid_id(r->params[0]))
		run_read(r, "patient_pathways", render_patient, 1, r->params);
	else
		reply_error_code(r, ERR_NOT_FOUND, NULL, "no such patient");
}

static void render_notifications(struct request *r, const PGresult *res)
{
	json_t *items = column_json(res, 0, 0);
	const char *last = PQgetisnull(res, 0, 1) ? request_query(r, "after")
						  : PQgetvalue(res, 0, 1);

	reply_json(r, 200,
		   json_pack("{s:o, s:s}", "items",
			     items ? items : json_array(), "next_cursor",
			     last && last[0] ? last : "0"));
}

bool parse_count(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || s[0] == '\0' || strlen(s) > 18)
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

void notifications_get(struct request *r)
{
	const char *after = request_query(r, "after");
	const char *limit = request_query(r, "limit");
	char after_text[24], limit_text[24];
	long after_v = 0, limit_v = 100;

	if (after != NULL && !parse_count(after, 999999999999999999L, &after_v))
		return reply_error_code(r, ERR_INVALID_REQUEST, "after",
					"after must be a cursor from "
					"next_cursor");
	if (limit != NULL &&
	    (!parse_count(limit, 1000, &limit_v) || limit_v == 0))
		return reply_error_code(r, ERR_INVALID_REQUEST, "limit",
					"limit must be 1-1000");
	snprintf(after_text, sizeof(after_text), "%ld", after_v);
	snprintf(limit_text, sizeof(limit_text), "%ld", limit_v);
	const char *params[2] = {after_text, limit_text};
	run_read(r, "notifications_after", render_notifications, 2, params);
}

void models_get(struct request *r)
{
	json_t *list = json_array();

	for (size_t i = 0; i < r->app->models.count; i++)
		json_array_append_new(list,
				      model_to_json(&r->app->models.models[i]));
	reply_json(r, 200, json_pack("{s:o}", "models", list));
}

void healthz_get(struct request *r)
{
	reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void readyz_get(struct request *r)
{
	if (!db_pool_ready(r->app->pool))
		return reply_error_code(r, ERR_UNAVAILABLE, NULL,
					"the database cannot be reached");
	reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}
