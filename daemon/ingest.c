/*
 * POST /v1/events: one event or a batch.
 *
 * Every event that passes parsing joins one queue, shared by all requests.
 * Groups of events for different patients are taken from it and each group
 * is one transaction in two pipelined round trips:
 *   1. BEGIN; per event: lock the pathway row (FOR UPDATE), look the
 *      event_id up;
 *   2. per event the state machine accepted: write the pathway, its
 *      transition (and a notification); then COMMIT.
 * The state machine runs in C between them.  One commit then covers the
 * whole group (group commit), and no event is acknowledged before it.
 *
 * Events the state machine refuses leave the group without writing.  If a
 * group's writes fail (a race lost on a unique index, a deadlock), the
 * group is rolled back and its events go back to the head of the queue to
 * run one by one, so one bad event never fails its neighbours; alone, a
 * lost race is retried and then sees the winner's commit (a replay, or a
 * refusal).  Events of one patient keep their order: a group takes at most
 * one event per patient, and never one behind an earlier waiting one.
 * Row locks are taken in patient order, so groups do not deadlock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "event.h"
#include "fsm.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "writes.h"

#define MAX_ATTEMPTS 4
/* Two queries per event in step 1, at most three in step 2. */
#define GROUP_MAX ((DB_MAX_BATCH - 2) / WRITE_MAX_QUERIES)

enum item_state { ITEM_QUEUED, ITEM_RUNNING, ITEM_DONE };

struct ingest_job;

struct item {
	struct ingest_job *job;
	json_t *json; /* the event (borrowed from the job's document) */
	char *canonical;
	struct event ev;
	enum item_state state;
	bool solo; /* runs in a group of its own (after a failed group) */
	int attempts;
	int status;
	json_t *response; /* owned: the answer body */
	struct pp_error err;
	bool replayed;
	char pathway_id[ID_MAX + 1];
	TAILQ_ENTRY(item) queue;
	/* while its group runs; the write's parameters point into after */
	struct pathway after;
	struct transition tr;
	struct pathway_write write;
	bool writes;
};

struct ingest_job {
	struct request *req;
	struct app *app;
	json_t *doc;
	bool batch;
	struct item *items;
	size_t count;
	size_t unanswered;
	size_t held; /* events of it that a group still points to */
	bool finishing;
	struct ingest_job *next_finished;
};

struct group {
	struct app *app;
	struct db_conn *conn;
	struct item *items[GROUP_MAX]; /* NULL once requeued */
	/* The patients it holds back until it ends (copies: a requeued
	 * item may be answered and freed before). */
	char patients[GROUP_MAX][ID_MAX + 1];
	int n;
};

static TAILQ_HEAD(item_queue, item) queue = TAILQ_HEAD_INITIALIZER(queue);
static int groups_running;
/* Patients with an event in a running group: their next events wait, so
 * that each patient's events apply one after the other, in order. */
static json_t *patients_running;
/* Requests whose every event has its answer.  They are answered (and
 * freed) only by flush_replies, once no group holds their events. */
static struct ingest_job *finished;

static void kick(struct app *app);

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct ingest_job *job)
{
	for (size_t i = 0; i < job->count; i++) {
		free(job->items[i].canonical);
		json_decref(job->items[i].response);
	}
	free(job->items);
	json_decref(job->doc);
	free(job);
}

static json_t *batch_result(const struct item *it)
{
	const char *id = it->ev.event_id[0] ? it->ev.event_id : NULL;
	json_t *error = json_null();
	json_t *res;

	if (it->err.code != ERR_NONE) {
		json_t *wrapper = error_to_json(&it->err);
		error = json_incref(json_object_get(wrapper, "error"));
		json_decref(wrapper);
	}
	res = json_pack("{s:o, s:i, s:o, s:o}", "event_id",
			id ? json_string(id) : json_null(), "status",
			it->status, "pathway_id",
			it->pathway_id[0] ? json_string(it->pathway_id)
					  : json_null(),
			"error", error);
	if (it->replayed)
		json_object_set_new(res, "replayed", json_true());
	return res;
}
static void job_reply(struct ingest_job *job)
{
	struct request *r = job->req;

	for (size_t i = 0; i < job->count; i++)
		metrics_event(job->items[i].ev.type,
			      job->items[i].canonical != NULL,
			      job->items[i].status);
	struct reply rep;

	reply_init(&rep);
	if (!job->batch) {
		struct item *it = &job->items[0];
		if (it->err.code != ERR_NONE) {
			reply_pp_error(&rep, &it->err);
		} else {
			reply_json(&rep, it->status, json_incref(it->response));
			if (it->replayed)
				rep.flags |= REPLY_REPLAY;
		}
	} else {
		json_t *results = json_array();
		for (size_t i = 0; i < job->count; i++)
			json_array_append_new(results,
					      batch_result(&job->items[i]));
		reply_json(&rep, 200, json_pack("{s:o}", "results", results));
	}
	request_finish(r, &rep);
	job_free(job);
}

/* A request is answered once every event has its answer and no group
 * points to any of them any more. */
static void maybe_finish(struct ingest_job *job)
{
	if (job->unanswered > 0 || job->held > 0 || job->finishing)
		return;
	job->finishing = true;
	job->next_finished = finished;
	finished = job;
}

static void item_done(struct item *it, int status)
{
	it->state = ITEM_DONE;
	it->status = status;
	it->job->unanswered--;
	maybe_finish(it->job);
}

static void flush_replies(void)
{
	while (finished != NULL) {
		struct ingest_job *job = finished;
		finished = job->next_finished;
		job_reply(job);
	}
}

static void item_refuse(struct item *it, const struct pp_error *err)
{
	it->err = *err;
	item_done(it, error_http_status(err->code));
}

static void item_fail(struct item *it, enum err_code code, const char *msg)
{
	struct pp_error err;

	error_set(&err, code, NULL, "%s", msg);
	item_refuse(it, &err);
}

static void new_pathway_id(char out[ID_MAX + 1])
{
	unsigned char raw[12];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		/* getrandom on Linux does not fail for 12 bytes once the
		 * pool is initialised; fall back to time anyway. */
		cal_millis t = now_millis();
		memcpy(raw, &t, sizeof(t));
	}
	strcpy(out, "pw-");
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(out + 3 + 2 * i, "%02x", raw[i]);
}
static bool answer_from_history(struct item *it, const PGresult *found)
{
	json_error_t jerr;

	if (PQntuples(found) != 1)
		return false;
	/* Another region's event: say no more than that the id is taken. */
	if (!auth_covers_region(it->job->req->token, PQgetvalue(found, 0, 3))) {
		struct pp_error err;
		error_set(&err, ERR_EVENT_ID_CONFLICT, "event_id",
			  "event_id %s is already used", it->ev.event_id);
		item_refuse(it, &err);
		return true;
	}
	snprintf(it->pathway_id, sizeof(it->pathway_id), "%s",
		 PQgetvalue(found, 0, 0));
	if (strcmp(PQgetvalue(found, 0, 1), "t") != 0) {
		struct pp_error err;
		error_set(&err, ERR_EVENT_ID_CONFLICT, "event_id",
			  "event_id %s was already used for a different event",
			  it->ev.event_id);
		item_refuse(it, &err);
		return true;
	}
	it->replayed = true;
	it->response = json_loads(PQgetvalue(found, 0, 2), 0, &jerr);
	item_done(it, 200);
	return true;
}
static const struct model *model_for(const struct app *app,
				     const struct item *it,
				     const struct pathway *before,
				     struct pp_error *err)
{
	const char *key = before ? before->model : it->ev.model;
	const struct model *m = model_set_find(&app->models, key);

	if (m == NULL && before == NULL)
		error_set(err, ERR_INVALID_EVENT, "model",
			  "model must be one of the loaded models (GET "
			  "/v1/models)");
	else if (m == NULL)
		error_set(err, ERR_INTERNAL, NULL,
			  "the pathway's model %s is no longer loaded", key);
	return m;
}
static bool load_before(const struct request *r, struct item *it,
			const PGresult *locked, struct pathway *before,
			bool *has_before, struct pp_error *err)
{
	json_error_t jerr;
	json_t *state;
	bool ok;

	*has_before = PQntuples(locked) == 1;
	if (!*has_before) {
		if (it->ev.type != EV_PATHWAY_OPENED)
			return error_set(err, ERR_NOT_FOUND, "pathway_id",
					 it->ev.pathway_id[0]
						 ? "no such pathway"
						 : "the patient has no open "
						   "pathway");
		return true;
	}
	state = json_loads(PQgetvalue(locked, 0, 0), 0, &jerr);
	ok = pathway_from_json(state, before);
	json_decref(state);
	if (!ok)
		return error_set(err, ERR_INTERNAL, NULL,
				 "the stored pathway could not be read");
	/* Another patient's pathway, or another region's, is none of this
	 * event's business: it answers as if it did not exist. */
	if (strcmp(before->patient_id, it->ev.patient_id) != 0 ||
	    !auth_covers_region(r->token, before->region))
		return error_set(err, ERR_NOT_FOUND, "pathway_id",
				 "no such pathway for this patient");
	if (it->ev.type == EV_PATHWAY_OPENED)
		return error_set(err, ERR_PATHWAY_EXISTS, NULL,
				 "the patient already has an open pathway "
				 "(%s)",
				 before->id);
	return true;
}
static bool split_batch(struct ingest_job *job, struct reply *out)
{
	json_t *events = json_object_get(job->doc, "events");
	size_t n;

	job->batch =
		events != NULL && json_object_get(job->doc, "type") == NULL;
	if (!job->batch) {
		job->count = 1;
		job->items = calloc(1, sizeof(*job->items));
		if (job->items == NULL)
			reply_error(out, ERR_INTERNAL, NULL, "out of memory");
		return job->items != NULL;
	}
	if (!json_is_array(events) || json_array_size(events) == 0) {
		reply_error(out, ERR_INVALID_EVENT, "events",
			    "events must be a non-empty array");
		return false;
	}
	n = json_array_size(events);
	if (n > (size_t)job->app->cfg.max_batch) {
		reply_error(out, ERR_TOO_LARGE, "events",
			    "a batch holds at most %d events",
			    job->app->cfg.max_batch);
		return false;
	}
	job->count = n;
	job->items = calloc(n, sizeof(*job->items));
	if (job->items == NULL)
		reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	return job->items != NULL;
}

static bool constraint_is(const PGresult *res, const char *name)
{
	const char *c = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

	return c != NULL && strcmp(c, name) == 0;
}

static bool retryable(const PGresult *res)
{
	const char *state = db_result_sqlstate(res);
	const char *constraint =
		PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return true;
	return strcmp(state, "23505") == 0 &&
	       (constraint == NULL || strcmp(constraint, "pathways_pkey") != 0);
}

/* --- the queue and its groups ------------------------------------------- */

/* Back to the head of the queue, in their order, to run one by one. */
static void requeue_solo(struct group *g, int from)
{
	for (int i = g->n - 1; i >= from; i--) {
		struct item *it = g->items[i];
		if (it == NULL || it->state != ITEM_RUNNING)
			continue;
		pathway_write_free(&it->write);
		json_decref(it->response);
		it->response = NULL;
		it->writes = false;
		it->solo = true;
		it->state = ITEM_QUEUED;
		TAILQ_INSERT_HEAD(&queue, it, queue);
		g->items[i] = NULL;
		it->job->held--;
	}
}

static void group_end(struct group *g)
{
	struct app *app = g->app;

	for (int i = 0; i < g->n; i++) {
		struct item *it = g->items[i];
		json_object_del(patients_running, g->patients[i]);
		if (it == NULL)
			continue;
		pathway_write_free(&it->write);
		it->job->held--;
		maybe_finish(it->job);
	}
	if (g->conn != NULL)
		db_release(g->conn);
	groups_running--;
	free(g);
	flush_replies();
	kick(app);
}

/* The connection broke: whether a COMMIT in flight happened is unknown, so
 * the client retries with the same event_id and gets one transition. */
static void group_unavailable(struct group *g)
{
	for (int i = 0; i < g->n; i++)
		if (g->items[i] != NULL && g->items[i]->state == ITEM_RUNNING)
			item_fail(g->items[i], ERR_UNAVAILABLE,
				  "the database cannot be reached; retry "
				  "with the same event_id");
	group_end(g);
}

static void on_rolled_back(struct db_conn *conn, PGresult **res, int n,
			   void *arg)
{
	(void)conn;
	(void)res;
	(void)n;
	group_end(arg);
}

static void rollback_and_end(struct group *g)
{
	struct db_query q = {.sql = "ROLLBACK"};

	if (!db_send(g->conn, &q, 1, on_rolled_back, g))
		group_end(g);
}

/* A lone event's write failed: retry a lost race, else answer. */
static void solo_write_failed(struct group *g, struct item *it,
			      const PGresult *failed, bool stale)
{
	struct pp_error err;

	if ((stale || retryable(failed)) && ++it->attempts < MAX_ATTEMPTS)
		return requeue_solo(g, 0);
	if (!stale && strcmp(db_result_sqlstate(failed), "23505") == 0 &&
	    constraint_is(failed, "pathways_pkey")) {
		error_set(&err, ERR_PATHWAY_EXISTS, "pathway_id",
			  "a pathway with this pathway_id exists");
		return item_refuse(it, &err);
	}
	log_error(it->job->req->context, "event %s: write failed (%s %s): %s",
		  it->ev.event_id, stale ? "-" : db_result_sqlstate(failed),
		  stale ? "-"
			: (PQresultErrorField(failed, PG_DIAG_CONSTRAINT_NAME)
				   ?: "-"),
		  stale ? "version moved" : PQresultErrorMessage(failed));
	item_fail(it, ERR_INTERNAL, "the event could not be recorded");
}

/* The first failed result of a write batch, or NULL.  An UPDATE that
 * matched no row counts as failed: the version moved under us. */
static const PGresult *first_failure(PGresult **res, int n, bool *stale)
{
	*stale = false;
	for (int i = 0; i < n; i++) {
		if (PQresultStatus(res[i]) == PGRES_PIPELINE_ABORTED)
			continue;
		if (!db_result_ok(res[i]))
			return res[i];
		if (strncmp(PQcmdStatus(res[i]), "UPDATE", 6) == 0 &&
		    strcmp(PQcmdTuples(res[i]), "0") == 0) {
			*stale = true;
			return res[i];
		}
	}
	return NULL;
}

static struct item *only_writer(const struct group *g, int *count)
{
	struct item *last = NULL;

	*count = 0;
	for (int i = 0; i < g->n; i++)
		if (g->items[i]->writes) {
			last = g->items[i];
			(*count)++;
		}
	return last;
}

static void on_written(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct group *g = arg;
	const PGresult *failed;
	struct item *writer;
	int count;
	bool stale;

	(void)conn;
	if (n == 0)
		return group_unavailable(g);
	failed = first_failure(res, n, &stale);
	if (failed == NULL) {
		for (int i = 0; i < g->n; i++)
			if (g->items[i]->writes)
				item_done(g->items[i], 201);
		return group_end(g);
	}
	writer = only_writer(g, &count);
	if (count > 1)
		requeue_solo(g, 0);
	else
		solo_write_failed(g, writer, failed, stale);
	rollback_and_end(g);
}

static void send_writes(struct group *g)
{
	struct db_query q[DB_MAX_BATCH];
	int nq = 0;

	for (int i = 0; i < g->n; i++) {
		struct item *it = g->items[i];
		if (!it->writes)
			continue;
		for (int k = 0; k < it->write.nq; k++)
			q[nq++] = it->write.q[k];
	}
	if (nq == 0)
		return rollback_and_end(g);
	q[nq++] = (struct db_query){.sql = "COMMIT"};
	if (!db_send(g->conn, q, nq, on_written, g))
		group_unavailable(g);
}

/* Step 1's answer for one event: done (replay, refusal) or a write. */
static void decide(struct group *g, struct item *it, const PGresult *locked,
		   const PGresult *found)
{
	struct pathway before;
	struct fsm_effects fx;
	struct pp_error err;
	const struct model *m;
	bool has_before;
	char new_id[ID_MAX + 1];

	if (answer_from_history(it, found))
		return;
	new_pathway_id(new_id);
	if (!load_before(it->job->req, it, locked, &before, &has_before,
			 &err) ||
	    (m = model_for(g->app, it, has_before ? &before : NULL, &err)) ==
		    NULL ||
	    !fsm_apply(has_before ? &before : NULL, &it->ev, m, new_id,
		       now_millis(), &it->after, &it->tr, &fx, &err))
		return item_refuse(it, &err);
	snprintf(it->pathway_id, sizeof(it->pathway_id), "%s", it->after.id);
	it->writes = pathway_write_prepare(&it->write, &it->after, &it->tr, &fx,
					   &it->ev, it->canonical, !has_before,
					   &it->response);
	if (!it->writes)
		item_fail(it, ERR_INTERNAL, "out of memory");
}

static void on_checked(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct group *g = arg;

	(void)conn;
	if (n == 0)
		return group_unavailable(g);
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			/* A lock wait past the statement timeout, say: run
			 * them alone, and give up after a few tries. */
			log_warning(g->items[0]->job->req->context,
				    "group of %d: %s", g->n,
				    PQresultErrorMessage(res[i]));
			for (int k = 0; k < g->n; k++)
				if (++g->items[k]->attempts >= MAX_ATTEMPTS)
					item_fail(g->items[k], ERR_INTERNAL,
						  "the event could not be "
						  "checked");
			requeue_solo(g, 0);
			return rollback_and_end(g);
		}
	for (int i = 0; i < g->n; i++)
		decide(g, g->items[i], res[1 + 2 * i], res[2 + 2 * i]);
	send_writes(g);
}

static int by_patient(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a;
	const struct item *y = *(struct item *const *)b;

	return strcmp(x->ev.patient_id, y->ev.patient_id);
}

static void on_group_lease(struct db_conn *conn, void *arg)
{
	struct group *g = arg;
	struct db_query q[DB_MAX_BATCH];
	int nq = 0;

	g->conn = conn;
	if (conn == NULL)
		return group_unavailable(g);
	/* One lock order for every group of every daemon: no deadlock. */
	qsort(g->items, (size_t)g->n, sizeof(g->items[0]), by_patient);
	q[nq++] = (struct db_query){.sql = "BEGIN"};
	for (int i = 0; i < g->n; i++) {
		struct event *ev = &g->items[i]->ev;
		bool by_id = ev->pathway_id[0] != '\0' &&
			     ev->type != EV_PATHWAY_OPENED;
		q[nq++] = (struct db_query){
			.stmt = by_id ? "lock_by_id" : "lock_open",
			.nparams = 1,
			.params = {by_id ? ev->pathway_id : ev->patient_id}};
		q[nq++] = (struct db_query){
			.stmt = "event_lookup",
			.nparams = 2,
			.params = {ev->event_id, g->items[i]->canonical}};
	}
	if (!db_send(conn, q, nq, on_checked, g))
		group_unavailable(g);
}

/* Takes the next group: events for distinct patients from the head on,
 * holding back every later event of a patient already taken or passed
 * over, so each patient's events keep their order. */
static struct group *take_group(struct app *app)
{
	struct group *g = calloc(1, sizeof(*g));
	json_t *seen = json_object();
	struct item *it, *next;

	if (g == NULL || seen == NULL) {
		free(g);
		json_decref(seen);
		return NULL;
	}
	g->app = app;
	if (patients_running == NULL)
		patients_running = json_object();
	for (it = TAILQ_FIRST(&queue); it != NULL && g->n < GROUP_MAX;
	     it = next) {
		const char *patient = it->ev.patient_id;
		next = TAILQ_NEXT(it, queue);
		if (json_object_get(seen, patient) != NULL ||
		    json_object_get(patients_running, patient) != NULL)
			continue;
		json_object_set_new(seen, patient, json_true());
		if (it->solo && g->n > 0)
			continue;
		TAILQ_REMOVE(&queue, it, queue);
		it->state = ITEM_RUNNING;
		json_object_set_new(patients_running, patient, json_true());
		snprintf(g->patients[g->n], sizeof(g->patients[0]), "%s",
			 patient);
		it->job->held++;
		g->items[g->n++] = it;
		if (it->solo)
			break;
	}
	json_decref(seen);
	return g;
}

static void kick(struct app *app)
{
	while (!TAILQ_EMPTY(&queue) &&
	       groups_running < app->cfg.ingest_groups) {
		struct group *g = take_group(app);
		if (g == NULL)
			return;
		if (g->n == 0) {
			free(g); /* everyone queued waits for a running group */
			return;
		}
		groups_running++;
		db_acquire(app->pool, on_group_lease, g);
	}
}

/* --- request parsing ----------------------------------------------------- */

/* Parses one event; true when it joins the queue. */
static bool prepare_item(struct ingest_job *job, struct item *it, json_t *json,
			 cal_millis now)
{
	struct pp_error err;

	it->job = job;
	it->json = json;
	it->state = ITEM_RUNNING;
	if (!event_parse(json, now, &it->ev, &err)) {
		if (json_is_object(json)) {
			json_t *id = json_object_get(json, "event_id");
			if (json_is_string(id) &&
			    domain_valid_id(json_string_value(id)))
				snprintf(it->ev.event_id,
					 sizeof(it->ev.event_id), "%s",
					 json_string_value(id));
		}
		item_refuse(it, &err);
		return false;
	}
	if (it->ev.type == EV_PATHWAY_OPENED &&
	    !auth_covers_region(job->req->token, it->ev.region)) {
		error_set(&err, ERR_FORBIDDEN, "region",
			  "this token does not cover region %s", it->ev.region);
		item_refuse(it, &err);
		return false;
	}
	it->canonical = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
	if (it->canonical == NULL) {
		item_fail(it, ERR_INTERNAL, "out of memory");
		return false;
	}
	return true;
}

enum handled events_post(struct request *r, struct reply *out)
{
	struct ingest_job *job = calloc(1, sizeof(*job));
	json_error_t jerr;
	cal_millis now = now_millis();

	if (job == NULL)
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	job->req = r;
	job->app = r->app;
	job->doc =
		json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (job->doc == NULL) {
		job_free(job);
		return reply_error(out, ERR_INVALID_JSON, NULL,
				   "the body is not valid JSON: %s (line %d, "
				   "column %d)",
				   jerr.text, jerr.line, jerr.column);
	}
	if (!split_batch(job, out)) {
		job_free(job);
		return HANDLED_NOW;
	}
	/* Counted up front, so no refusal below can answer the request
	 * before every event has been looked at. */
	job->unanswered = job->count + 1;
	for (size_t i = 0; i < job->count; i++) {
		json_t *ev = job->batch
				     ? json_array_get(json_object_get(job->doc,
								      "events"),
						      i)
				     : job->doc;
		if (prepare_item(job, &job->items[i], ev, now)) {
			job->items[i].state = ITEM_QUEUED;
			TAILQ_INSERT_TAIL(&queue, &job->items[i], queue);
		}
	}
	job->unanswered--;
	maybe_finish(job);
	/* The answer may free r: keep what is needed after it. */
	struct app *app = r->app;
	flush_replies();
	kick(app);
	return HANDLED_LATER;
}
