/*
 * POST /v1/events: one event or a batch, each applied in its own
 * transaction on one leased connection, one after the other.
 *
 * Per event, two round trips, each a pipelined batch:
 *   1. BEGIN; lock the pathway row (FOR UPDATE); look the event_id up.
 *   2. write the pathway, the transition (and a notification); COMMIT.
 * The state machine runs in C between them.  The lock serialises events for
 * one pathway across every daemon on the database; the unique index on
 * event_id and the one-open-pathway index catch the races the lock cannot
 * (two pathway.opened at once), and such an event is simply retried: the
 * retry then sees the winner's commit and answers a replay or a refusal.
 * An event is acknowledged only after its COMMIT succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define MAX_ATTEMPTS 4

enum item_state { ITEM_PENDING, ITEM_DONE };

struct item {
	json_t *json; /* the event (borrowed from the job's document) */
	char *canonical;
	struct event ev;
	enum item_state state;
	int status;
	json_t *response; /* owned: the answer body (single) or NULL */
	struct pp_error err;
	bool replayed;
	char pathway_id[ID_MAX + 1];
	int attempts;
};

struct ingest_job {
	struct request *req;
	struct app *app;
	struct db_conn *conn;
	json_t *doc;
	bool batch;
	struct item *items;
	size_t count;
	size_t current;
};

static void process_next(struct ingest_job *job);
static void send_step1(struct ingest_job *job);

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void item_refuse(struct item *it, const struct pp_error *err)
{
	it->state = ITEM_DONE;
	it->err = *err;
	it->status = error_http_status(err->code);
}

static void item_fail(struct item *it, enum err_code code, const char *msg)
{
	struct pp_error err;

	error_set(&err, code, NULL, "%s", msg);
	item_refuse(it, &err);
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

	if (!job->batch) {
		struct item *it = &job->items[0];
		if (it->err.code != ERR_NONE)
			reply_error(r, &it->err);
		else if (it->replayed)
			reply_json_replay(r, json_incref(it->response));
		else
			reply_json(r, it->status, json_incref(it->response));
	} else {
		json_t *results = json_array();
		for (size_t i = 0; i < job->count; i++)
			json_array_append_new(results,
					      batch_result(&job->items[i]));
		reply_json(r, 200, json_pack("{s:o}", "results", results));
	}
	job_free(job);
}

static void job_finish(struct ingest_job *job)
{
	if (job->conn != NULL)
		db_release(job->conn);
	job->conn = NULL;
	job_reply(job);
}

/* The connection broke: everything not yet answered is unavailable. */
static void fail_remaining(struct ingest_job *job)
{
	for (size_t i = 0; i < job->count; i++)
		if (job->items[i].state == ITEM_PENDING)
			item_fail(&job->items[i], ERR_UNAVAILABLE,
				  "the database cannot be reached; retry with "
				  "the same event_id");
	job_finish(job);
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

static void on_rolled_back(struct db_conn *conn, PGresult **res, int n,
			   void *arg)
{
	struct ingest_job *job = arg;

	(void)conn;
	(void)res;
	if (n == 0)
		return fail_remaining(job);
	if (job->items[job->current].state == ITEM_PENDING)
		send_step1(job);
	else
		process_next(job);
}

/* Ends the open transaction, then retries the current item or moves on. */
static void rollback_then_continue(struct ingest_job *job)
{
	struct db_query q = {.sql = "ROLLBACK"};

	if (!db_send(job->conn, &q, 1, on_rolled_back, job))
		fail_remaining(job);
}

/* --- step 2: write ------------------------------------------------------ */

struct write_params {
	char version[16], seq[16], flags[512], occurred[CAL_TIMESTAMP_LEN],
		recorded[CAL_TIMESTAMP_LEN], opened[CAL_TIMESTAMP_LEN],
		updated[CAL_TIMESTAMP_LEN], closed[CAL_TIMESTAMP_LEN],
		due[RULE_COUNT][CAL_DATE_LEN], next_due[CAL_DATE_LEN],
		received[CAL_TIMESTAMP_LEN], waited_since[CAL_TIMESTAMP_LEN],
		covered[16];
	char *state, *data, *response, *notification;
};

static void format_flags(unsigned flags, char *out, size_t len)
{
	size_t used = (size_t)snprintf(out, len, "{");

	for (int f = 0; f < FLAG_COUNT; f++)
		if (flags & (1u << f))
			used += (size_t)snprintf(out + used, len - used, "%s%s",
						 used > 1 ? "," : "",
						 domain_flag_name(f));
	snprintf(out + used, len - used, "}");
}

static const char *opt(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static void fill_write_params(struct write_params *w, const struct pathway *p,
			      const struct transition *tr)
{
	cal_date next;

	snprintf(w->version, sizeof(w->version), "%d", p->version);
	snprintf(w->seq, sizeof(w->seq), "%d", tr->seq);
	format_flags(p->flags, w->flags, sizeof(w->flags));
	calendar_format_timestamp(tr->occurred_at, w->occurred);
	calendar_format_timestamp(tr->recorded_at, w->recorded);
	calendar_format_timestamp(p->opened_at, w->opened);
	calendar_format_timestamp(p->updated_at, w->updated);
	calendar_format_timestamp(p->closed_at, w->closed);
	for (int r = 0; r < RULE_COUNT; r++)
		calendar_format_date(p->clocks[r].due, w->due[r]);
	if (pathway_next_due(p, &next))
		calendar_format_date(next, w->next_due);
	else
		w->next_due[0] = '\0';
	calendar_format_timestamp(p->referral.received_at, w->received);
	calendar_format_timestamp(tr->waited_since, w->waited_since);
	snprintf(w->covered, sizeof(w->covered), "%d", p->last_content_covered);
}

/* The open referral's columns: NULL when there is none (or, for the unit
 * and receipt, before it was received). */
static void referral_columns(const struct write_params *w,
			     const struct pathway *p, const char **to_level,
			     const char **unit, const char **received,
			     const char **covered)
{
	const struct pathway_referral *r = &p->referral;
	bool received_open = r->open && r->received_at != 0;

	*to_level = r->open ? domain_level_name(r->to_level) : NULL;
	*unit = received_open ? opt(r->received_unit) : NULL;
	*received = received_open ? w->received : NULL;
	*covered = p->last_content_covered >= 0 ? w->covered : NULL;
}

static void add_pathway_query(struct db_query *q, const struct write_params *w,
			      const struct pathway *p, bool insert)
{
	const char *due[RULE_COUNT], *to_level, *unit, *received, *covered;

	for (int r = 0; r < RULE_COUNT; r++)
		due[r] = p->clocks[r].running ? w->due[r] : NULL;
	referral_columns(w, p, &to_level, &unit, &received, &covered);
	if (insert) {
		*q = (struct db_query){
			.stmt = "pathway_insert",
			.nparams = 23,
			.params = {p->id,
				   p->patient_id,
				   p->model,
				   p->region,
				   domain_level_name(p->level),
				   opt(p->unit),
				   domain_phase_name(p->phase),
				   w->version,
				   w->flags,
				   w->state,
				   w->opened,
				   w->updated,
				   p->closed_at ? w->closed : NULL,
				   due[RULE_TRANSIT],
				   due[RULE_ASSESSMENT],
				   due[RULE_TREATMENT],
				   due[RULE_FREE_CHOICE],
				   due[RULE_LEVEL_REVIEW],
				   opt(w->next_due),
				   to_level,
				   unit,
				   received,
				   covered}};
		return;
	}
	*q = (struct db_query){
		.stmt = "pathway_update",
		.nparams = 19,
		.params = {p->id, domain_level_name(p->level), opt(p->unit),
			   domain_phase_name(p->phase), w->version, w->flags,
			   w->state, w->updated,
			   p->closed_at ? w->closed : NULL, due[RULE_TRANSIT],
			   due[RULE_ASSESSMENT], due[RULE_TREATMENT],
			   due[RULE_FREE_CHOICE], due[RULE_LEVEL_REVIEW],
			   opt(w->next_due), to_level, unit, received,
			   covered}};
}

static void add_transition_query(struct db_query *q,
				 const struct write_params *w,
				 const struct pathway *p,
				 const struct transition *tr,
				 const char *event_id, const char *canonical)
{
	*q = (struct db_query){
		.stmt = "transition_insert",
		.nparams = 15,
		.params = {p->id, w->seq, event_id, domain_event_name(tr->type),
			   tr->has_from ? domain_phase_name(tr->from_phase)
					: NULL,
			   domain_phase_name(tr->to_phase),
			   domain_level_name(tr->from_level),
			   domain_level_name(tr->to_level), opt(tr->unit),
			   w->occurred, w->recorded, w->data, canonical,
			   w->response,
			   tr->waited_since ? w->waited_since : NULL}};
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
		if (i == 0 && strcmp(PQcmdTuples(res[i]), "0") == 0) {
			*stale = true;
			return res[i];
		}
	}
	return NULL;
}

static void on_step2(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct ingest_job *job = arg;
	struct item *it = &job->items[job->current];
	const PGresult *failed;
	bool stale;

	(void)conn;
	if (n == 0)
		return fail_remaining(job);
	failed = first_failure(res, n, &stale);
	if (failed == NULL) {
		it->state = ITEM_DONE;
		it->status = 201;
		job->current++;
		return process_next(job);
	}
	json_decref(it->response);
	it->response = NULL;
	if ((stale || retryable(failed)) && ++it->attempts < MAX_ATTEMPTS)
		/* Lost a race: the retry sees the winner's commit. */
		return rollback_then_continue(job);
	if (!stale && strcmp(db_result_sqlstate(failed), "23505") == 0) {
		struct pp_error err;
		error_set(&err, ERR_PATHWAY_EXISTS, "pathway_id",
			  "a pathway with this pathway_id exists");
		item_refuse(it, &err);
		return rollback_then_continue(job);
	}
	log_error(job->req->context, "event %s: write failed: %s",
		  it->ev.event_id,
		  stale ? "version moved" : PQresultErrorMessage(failed));
	item_fail(it, ERR_INTERNAL, "the event could not be recorded");
	rollback_then_continue(job);
}

static bool send_step2(struct ingest_job *job, const struct pathway *after,
		       const struct transition *tr,
		       const struct fsm_effects *fx, bool insert)
{
	struct item *it = &job->items[job->current];
	struct write_params w;
	struct db_query q[4];
	int nq = 0;
	bool ok;
	json_t *pw = pathway_to_json(after);
	json_t *trj = fsm_transition_to_json(tr, it->ev.event_id, it->ev.data);
	json_t *note = fx->notify_decision
			       ? fsm_decision_notification(after, &it->ev)
			       : NULL;

	memset(&w, 0, sizeof(w));
	fill_write_params(&w, after, tr);
	it->response =
		json_pack("{s:O, s:O}", "pathway", pw, "transition", trj);
	w.state = json_dumps(pw, JSON_COMPACT);
	w.data = json_dumps(it->ev.data, JSON_COMPACT);
	w.response = json_dumps(it->response, JSON_COMPACT);
	w.notification = note ? json_dumps(note, JSON_COMPACT) : NULL;
	snprintf(it->pathway_id, sizeof(it->pathway_id), "%s", after->id);
	add_pathway_query(&q[nq++], &w, after, insert);
	add_transition_query(&q[nq++], &w, after, tr, it->ev.event_id,
			     it->canonical);
	if (note != NULL)
		q[nq++] = (struct db_query){
			.stmt = "notification_insert",
			.nparams = 5,
			.params = {after->id, it->ev.event_id,
				   "referral.decision", after->region,
				   w.notification}};
	q[nq++] = (struct db_query){.sql = "COMMIT"};
	ok = w.state && w.data && w.response && (!note || w.notification) &&
	     db_send(job->conn, q, nq, on_step2, job);
	free(w.state);
	free(w.data);
	free(w.response);
	free(w.notification);
	json_decref(pw);
	json_decref(trj);
	json_decref(note);
	return ok;
}

/* --- step 1: lock and check ---------------------------------------------- */

static bool answer_from_history(struct ingest_job *job, struct item *it,
				const PGresult *found)
{
	json_error_t jerr;

	if (PQntuples(found) != 1)
		return false;
	/* Another region's event: say no more than that the id is taken. */
	if (!auth_covers_region(job->req->token, PQgetvalue(found, 0, 3))) {
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
	it->state = ITEM_DONE;
	it->status = 200;
	it->replayed = true;
	it->response = json_loads(PQgetvalue(found, 0, 2), 0, &jerr);
	return true;
}

static const struct model *model_for(struct ingest_job *job,
				     const struct item *it,
				     const struct pathway *before,
				     struct pp_error *err)
{
	const char *key = before ? before->model : it->ev.model;
	const struct model *m = model_set_find(&job->app->models, key);

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

static void on_step1(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct ingest_job *job = arg;
	struct item *it = &job->items[job->current];
	struct pathway before, after;
	struct transition tr;
	struct fsm_effects fx;
	struct pp_error err;
	const struct model *m;
	bool has_before;
	char new_id[ID_MAX + 1];

	(void)conn;
	if (n == 0)
		return fail_remaining(job);
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			log_error(job->req->context, "event %s: lookup: %s",
				  it->ev.event_id,
				  PQresultErrorMessage(res[i]));
			item_fail(it, ERR_INTERNAL,
				  "the event could not be checked");
			return rollback_then_continue(job);
		}
	if (answer_from_history(job, it, res[2]))
		return rollback_then_continue(job);
	new_pathway_id(new_id);
	if (!load_before(job->req, it, res[1], &before, &has_before, &err) ||
	    (m = model_for(job, it, has_before ? &before : NULL, &err)) ==
		    NULL ||
	    !fsm_apply(has_before ? &before : NULL, &it->ev, m, new_id,
		       now_millis(), &after, &tr, &fx, &err)) {
		item_refuse(it, &err);
		return rollback_then_continue(job);
	}
	if (!send_step2(job, &after, &tr, &fx, !has_before))
		fail_remaining(job);
}

static void send_step1(struct ingest_job *job)
{
	struct item *it = &job->items[job->current];
	bool by_id = it->ev.pathway_id[0] != '\0' &&
		     it->ev.type != EV_PATHWAY_OPENED;
	struct db_query q[3] = {
		{.sql = "BEGIN"},
		{.stmt = by_id ? "lock_by_id" : "lock_open",
		 .nparams = 1,
		 .params = {by_id ? it->ev.pathway_id : it->ev.patient_id}},
		{.stmt = "event_lookup",
		 .nparams = 2,
		 .params = {it->ev.event_id, it->canonical}},
	};

	if (!db_send(job->conn, q, 3, on_step1, job))
		fail_remaining(job);
}

static void process_next(struct ingest_job *job)
{
	while (job->current < job->count &&
	       job->items[job->current].state != ITEM_PENDING)
		job->current++;
	if (job->current == job->count)
		return job_finish(job);
	send_step1(job);
}

static void on_lease(struct db_conn *conn, void *arg)
{
	struct ingest_job *job = arg;

	job->conn = conn;
	if (conn == NULL)
		return fail_remaining(job);
	job->current = 0;
	process_next(job);
}

/* --- request parsing ----------------------------------------------------- */

static void prepare_item(struct ingest_job *job, struct item *it, json_t *json,
			 cal_millis now)
{
	struct pp_error err;

	it->json = json;
	it->state = ITEM_PENDING;
	if (!event_parse(json, now, &it->ev, &err)) {
		if (json_is_object(json)) {
			json_t *id = json_object_get(json, "event_id");
			if (json_is_string(id) &&
			    domain_valid_id(json_string_value(id)))
				snprintf(it->ev.event_id,
					 sizeof(it->ev.event_id), "%s",
					 json_string_value(id));
		}
		return item_refuse(it, &err);
	}
	if (it->ev.type == EV_PATHWAY_OPENED &&
	    !auth_covers_region(job->req->token, it->ev.region)) {
		error_set(&err, ERR_FORBIDDEN, "region",
			  "this token does not cover region %s", it->ev.region);
		return item_refuse(it, &err);
	}
	it->canonical = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
	if (it->canonical == NULL)
		item_fail(it, ERR_INTERNAL, "out of memory");
}

static bool split_batch(struct ingest_job *job, struct request *r)
{
	json_t *events = json_object_get(job->doc, "events");
	size_t n;

	job->batch =
		events != NULL && json_object_get(job->doc, "type") == NULL;
	if (!job->batch) {
		job->count = 1;
		job->items = calloc(1, sizeof(*job->items));
		if (job->items == NULL)
			reply_error_code(r, ERR_INTERNAL, NULL,
					 "out of memory");
		return job->items != NULL;
	}
	if (!json_is_array(events) || json_array_size(events) == 0) {
		reply_error_code(r, ERR_INVALID_EVENT, "events",
				 "events must be a non-empty array");
		return false;
	}
	n = json_array_size(events);
	if (n > (size_t)job->app->cfg.max_batch) {
		reply_error_code(r, ERR_TOO_LARGE, "events",
				 "a batch holds at most %d events",
				 job->app->cfg.max_batch);
		return false;
	}
	job->count = n;
	job->items = calloc(n, sizeof(*job->items));
	if (job->items == NULL)
		reply_error_code(r, ERR_INTERNAL, NULL, "out of memory");
	return job->items != NULL;
}

void events_post(struct request *r)
{
	struct ingest_job *job = calloc(1, sizeof(*job));
	json_error_t jerr;
	bool pending = false;
	cal_millis now = now_millis();

	if (job == NULL)
		return reply_error_code(r, ERR_INTERNAL, NULL, "out of memory");
	job->req = r;
	job->app = r->app;
	job->doc =
		json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (job->doc == NULL) {
		job_free(job);
		return reply_error_code(r, ERR_INVALID_JSON, NULL,
					"the body is not valid JSON: %s "
					"(line %d, column %d)",
					jerr.text, jerr.line, jerr.column);
	}
	if (!split_batch(job, r))
		return job_free(job);
	for (size_t i = 0; i < job->count; i++) {
		json_t *ev = job->batch
				     ? json_array_get(json_object_get(job->doc,
								      "events"),
						      i)
				     : job->doc;
		prepare_item(job, &job->items[i], ev, now);
		pending = pending || job->items[i].state == ITEM_PENDING;
	}
	if (!pending)
		return job_reply(job);
	db_acquire(r->app->pool, on_lease, job);
}
