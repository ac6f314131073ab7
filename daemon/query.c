/* The audited read machinery (reads.h): reads of one statement each, and
 * the writer of their audit rows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "pgarray.h"
#include "reads_int.h"
#include "store.h"

static void read_job_free(struct read_job *job)
{
	for (int i = 0; i < job->n; i++)
		for (int p = 0; p < job->q[i].nparams; p++)
			free(job->copies[i][p]);
	reply_clear(&job->a.rep);
	json_decref(job->a.patients);
	json_decref(job->a.regions);
	free(job->audit_patients);
	free(job->audit_uri);
	free(job->audit_regions);
	free(job);
}

void read_finish(struct read_job *job)
{
	request_finish(job->req, &job->a.rep);
	if (job->conn != NULL)
		db_release(job->conn);
	read_job_free(job);
}

void read_fail(struct read_job *job, enum err_code code, const char *msg)
{
	answer_error(&job->a, code, NULL, "%s", msg);
	read_finish(job);
}

/* A text[] literal of a set's keys, every element quoted (issue 10: a
 * patient named NULL was audited as an SQL NULL). */
static char *set_literal(json_t *set)
{
	struct pgarray a;
	const char *key;
	json_t *v;
	char *out;

	pgarray_init(&a);
	json_object_foreach(set, key, v)
	{
		pgarray_add(&a, key);
	}
	out = pgarray_text(&a) ? strdup(pgarray_text(&a)) : NULL;
	pgarray_free(&a);
	return out;
}

/* The URI as the audit keeps it: bytes outside printable ASCII
 * percent-escaped.  One row that PostgreSQL refuses fails every read of
 * its batch, so nothing a client sends may reach the INSERT raw (http.c
 * refuses such URIs already; the audit does not rely on it). */
static char *audit_escaped_uri(const char *uri)
{
	size_t len = strlen(uri), used = 0;
	char *out = malloc(len * 3 + 1);

	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
		used += (size_t)sprintf(
			out + used, *p > 0x20 && *p < 0x7f ? "%c" : "%%%02X",
			*p);
	out[used] = '\0';
	return out;
}

/*
 * Audit rows are written by one writer at a time, on the primary, for
 * every read waiting when it starts: one transaction, one commit for them
 * all (group commit), and no answer leaves before its row has committed.
 * While one batch commits, the next gathers.
 */
/* Rows in one batch's INSERT; the reads beyond wait for the next. */
#define AUDIT_MAX 256

struct audit_batch {
	struct app *app;
	struct db_conn *conn;
	struct read_job *jobs[AUDIT_MAX];
	int n;
};

static struct read_job *audit_head;
static struct read_job **audit_tail = &audit_head;
static bool audit_busy;

static void audit_kick(struct app *app);

static void audit_batch_end(struct audit_batch *b, bool committed)
{
	struct app *app = b->app;

	if (b->conn != NULL)
		db_release(b->conn);
	for (int i = 0; i < b->n; i++) {
		if (committed)
			read_finish(b->jobs[i]);
		else
			read_fail(b->jobs[i], ERR_UNAVAILABLE,
				  "the read could not be audited, so it is not "
				  "answered");
	}
	free(b);
	audit_busy = false;
	audit_kick(app);
}

static void on_audit_committed(struct db_conn *conn, PGresult **res, int n,
			       void *arg)
{
	struct audit_batch *b = arg;
	bool ok = n > 0;

	(void)conn;
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error("audit", "%s", DB_WHY(res[i]));
			ok = false;
			break;
		}
	audit_batch_end(b, ok);
}

/* A write's answer read back (FHIR PUT or POST, a change or none) must not
 * be sent before a commit as durable as the write's own: with a synchronous
 * standby, a state seen before it reached the standby could be lost in a
 * failover, and a retried write answered "nothing to change" with it. */
static bool batch_answers_a_write(const struct audit_batch *b)
{
	for (int i = 0; i < b->n; i++) {
		const char *m = request_method_name(b->jobs[i]->req);
		if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)
			return true;
	}
	return false;
}

static void on_audit_lease(struct db_conn *conn, void *arg)
{
	struct audit_batch *b = arg;
	struct store_audit rows;
	struct db_query q[4];
	int nq = 0;
	bool sent;

	b->conn = conn;
	if (conn == NULL)
		return audit_batch_end(b, false);
	store_audit_init(&rows);
	for (int i = 0; i < b->n; i++) {
		struct read_job *job = b->jobs[i];
		struct request *r = job->req;
		store_audit_add(&rows, read_audit_token(r),
				request_method_name(r), r->route->pattern,
				job->audit_uri, job->audit_patients,
				job->audit_remote, job->audit_status,
				job->audit_regions);
	}
	q[nq++] = (struct db_query){.sql = "BEGIN"};
	if (!b->app->cfg.audit_durable && !batch_answers_a_write(b))
		q[nq++] = (struct db_query){
			.sql = "SET LOCAL synchronous_commit TO off"};
	sent = store_audit_query(&rows, &q[nq++]);
	q[nq++] = (struct db_query){.sql = "COMMIT"};
	/* libpq copied the parameters: the rows can go. */
	sent = sent && db_send(conn, q, nq, on_audit_committed, b);
	store_audit_free(&rows);
	if (!sent)
		audit_batch_end(b, false);
}

static void audit_kick(struct app *app)
{
	struct audit_batch *b;

	if (audit_busy || audit_head == NULL)
		return;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return;
	b->app = app;
	while (audit_head != NULL && b->n < AUDIT_MAX) {
		b->jobs[b->n++] = audit_head;
		audit_head = audit_head->next_audit;
	}
	if (audit_head == NULL)
		audit_tail = &audit_head;
	audit_busy = true;
	db_acquire(app->pool, on_audit_lease, b);
}

bool read_audit_origin(struct read_job *job)
{
	struct request *r = job->req;

	job->audit_uri = audit_escaped_uri(request_uri(r));
	if (request_remote(r, job->audit_remote, sizeof(job->audit_remote)) ==
	    NULL)
		snprintf(job->audit_remote, sizeof(job->audit_remote), "-");
	return job->audit_uri != NULL;
}

const char *read_audit_token(const struct request *r)
{
	return r->token ? r->token->id : "-";
}

/* The read's connection goes back at once; its answer waits for its
 * audit row. */
static void audit_then_finish(struct read_job *job)
{
	struct request *r = job->req;

	if (job->conn != NULL)
		db_release(job->conn);
	job->conn = NULL;
	job->audit_patients = set_literal(job->a.patients);
	job->audit_regions = json_object_size(job->a.regions) > 0
				     ? set_literal(job->a.regions)
				     : NULL;
	if (!read_audit_origin(job) || job->audit_patients == NULL ||
	    (json_object_size(job->a.regions) > 0 &&
	     job->audit_regions == NULL))
		return read_fail(job, ERR_INTERNAL, "out of memory");
	snprintf(job->audit_status, sizeof(job->audit_status), "%d",
		 job->a.rep.status);
	job->next_audit = NULL;
	*audit_tail = job;
	audit_tail = &job->next_audit;
	audit_kick(r->app);
}

void read_answered(struct read_job *job)
{
	if (job->a.rep.err.code == ERR_NONE &&
	    json_object_size(job->a.patients) > 0)
		return audit_then_finish(job);
	read_finish(job);
}

static void on_read(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct read_job *job = arg;

	(void)conn;
	if (n == 0)
		return read_fail(job, ERR_UNAVAILABLE,
				 "the database cannot be reached");
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error(job->req->context, "query %d: %s", i,
				  DB_WHY(res[i]));
			return read_fail(job, ERR_INTERNAL, "the query failed");
		}
	job->render(job->req, res, n, &job->a);
	read_answered(job);
}

static void on_lease(struct db_conn *conn, void *arg)
{
	struct read_job *job = arg;

	job->conn = conn;
	if (conn == NULL)
		return read_fail(job, ERR_UNAVAILABLE,
				 "the database cannot be reached");
	if (!db_send(conn, job->q, job->n, on_read, job))
		read_fail(job, ERR_UNAVAILABLE,
			  "the database cannot be reached");
}

struct db_pool *read_pool_for(const struct request *r)
{
	bool replica = r->method == METHOD_GET && r->app->read_pool != NULL;

	return replica ? r->app->read_pool : r->app->pool;
}

struct read_job *read_job_new(struct request *r, const struct db_query *q,
			      int n)
{
	struct read_job *job = calloc(1, sizeof(*job));
	struct reply rep;

	if (job == NULL || n > READ_MAX_BATCH) {
		free(job);
		reply_init(&rep);
		reply_error(&rep, ERR_INTERNAL, NULL, "out of memory");
		request_finish(r, &rep);
		return NULL;
	}
	job->req = r;
	job->n = n;
	reply_init(&job->a.rep);
	job->a.rep.status = 200;
	job->a.patients = json_object();
	job->a.regions = json_object();
	for (int i = 0; i < n; i++) {
		job->q[i] = q[i];
		for (int p = 0; p < q[i].nparams; p++) {
			job->copies[i][p] =
				q[i].params[p] ? strdup(q[i].params[p]) : NULL;
			job->q[i].params[p] = job->copies[i][p];
		}
	}
	return job;
}

enum handled read_batch(struct request *r, const struct db_query *q, int n,
			render_fn render)
{
	struct read_job *job = read_job_new(r, q, n);

	if (job == NULL)
		return HANDLED_LATER;
	job->render = render;
	db_acquire(read_pool_for(r), on_lease, job);
	return HANDLED_LATER;
}

enum handled read_query(struct request *r, const struct db_query *q,
			render_fn render)
{
	return read_batch(r, q, 1, render);
}

void answer_json(struct answer *a, json_t *body)
{
	int status = a->rep.status;

	reply_json(&a->rep, status, body);
}

void answer_error(struct answer *a, enum err_code code, const char *field,
		  const char *fmt, ...)
{
	struct pp_error err;
	va_list ap;

	error_set(&err, code, field, "%s", "");
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	reply_pp_error(&a->rep, &err);
}

void answer_patient(struct answer *a, const char *patient_id)
{
	if (patient_id != NULL && domain_valid_id(patient_id))
		json_object_set_new(a->patients, patient_id, json_true());
}

void answer_pathway(struct answer *a, const char *patient_id,
		    const char *region)
{
	answer_patient(a, patient_id);
	if (region != NULL && domain_valid_id(region))
		json_object_set_new(a->regions, region, json_true());
}

void answer_patients_of(struct answer *a, json_t *list)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		answer_pathway(
			a, json_string_value(json_object_get(v, "patient_id")),
			json_string_value(json_object_get(v, "region")));
	}
}

void answer_raw_json(struct answer *a, char *text)
{
	reply_text(&a->rep, a->rep.status, "application/json", text,
		   text ? strlen(text) : 0);
}

json_t *column_json(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return json_loads(PQgetvalue(res, row, col), 0, NULL);
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

const char *request_regions(const struct request *r, char *buf, size_t len)
{
	return r->token ? auth_regions_literal(r->token, buf, len) : NULL;
}
