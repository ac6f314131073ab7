/*
 * FHIR writes: POST EpisodeOfCare / ServiceRequest, PUT EpisodeOfCare /
 * Task, and POST /fhir with a batch or transaction Bundle.  Every write is
 * one entry of a job, a lone create or update being a job of one:
 *
 *   1. load the pathways the entries need (an update's, a referral's
 *      patient's open one), filtered by the token's regions;
 *   2. translate each entry into one /v1 event (lib/fhir_write,
 *      lib/fhir_update) and prepare it (commit_item_prepare);
 *   3. record them through the one commit path: a batch's entries each
 *      alone (commit_submit), a transaction's all or nothing, in FHIR's
 *      order (commit_submit_atomic);
 *   4. read the pathways back through the audited read machinery and
 *      answer the resources as they now stand (a replay: 200 with the
 *      resource), or the refusals as OperationOutcomes pointing at the
 *      element at fault.
 *
 * What the answer is made of travels to the render function as a JSON
 * context echoed by the read batch (STMT_FHIR_CONTEXT), so the job can be
 * freed as soon as the read is sent, whatever becomes of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "commit.h"
#include "fhir_bundle.h"
#include "fhir_capability.h"
#include "fhir_id.h"
#include "fhir_serve.h"
#include "fhir_update.h"
#include "fhir_write.h"
#include "http.h"
#include "log.h"
#include "pgarray.h"
#include "store.h"

#define REGIONS_LEN 4096
/* commit_submit_atomic's bound. */
#define TRANSACTION_MAX 64

struct entry {
	enum fhir_method method;
	char type[32];
	char id[FHIR_ID_MAX + 1];
	const json_t *resource; /* borrowed from the job's body */
	const char *if_none_exist;
	int if_match; /* -1: none */
	struct fhir_write w;
	int item; /* its commit item, or -1 */
	bool refused;
	struct fhir_error err;
	int status;
	char pathway_id[ID_MAX + 1];
	char event_id[ID_MAX + 1];
};

struct job {
	struct request *r;
	json_t *body;
	bool bundle, transaction;
	struct fhir_bundle_request breq;
	struct entry *entries;
	size_t count;
	size_t *order; /* processing order */
	struct commit_item *items;
	size_t nitems;
	struct fhir_pathway *loaded;
	int nloaded;
	cal_millis now;
};

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct job *job)
{
	for (size_t i = 0; i < job->nitems; i++)
		commit_item_clear(&job->items[i]);
	for (size_t i = 0; i < job->count; i++)
		fhir_write_free(&job->entries[i].w);
	for (int i = 0; i < job->nloaded; i++)
		fhir_pathway_free(&job->loaded[i]);
	fhir_bundle_request_free(&job->breq);
	free(job->loaded);
	free(job->items);
	free(job->order);
	free(job->entries);
	json_decref(job->body);
	free(job);
}

static void refuse(struct entry *e, const struct fhir_error *err)
{
	e->refused = true;
	e->err = *err;
	e->status = error_http_status(err->error.code);
}

/* --- the answer -------------------------------------------------------------
 */

/* The context an answer is rendered from: per entry its status, what to
 * show (type, id, or the event whose referral it created) or its
 * outcome. */
static json_t *context_of(const struct job *job)
{
	json_t *list = json_array();

	for (size_t i = 0; i < job->count; i++) {
		const struct entry *e = &job->entries[i];
		json_t *o = json_pack("{s:i, s:s}", "status", e->status, "type",
				      e->type);
		if (e->refused)
			json_object_set_new(
				o, "outcome",
				fhir_outcome(&job->r->app->fhir, &e->err));
		else
			json_object_set_new(o, "show",
					    json_pack("{s:s, s:s, s:s}", "id",
						      e->id, "pathway_id",
						      e->pathway_id, "event_id",
						      e->event_id));
		json_array_append_new(list, o);
	}
	return json_pack("{s:s, s:o}", "kind",
			 !job->bundle	    ? "single"
			 : job->transaction ? "transaction"
					    : "batch",
			 "entries", list);
}

/* The resource an entry shows, from the pathways read back. */
static json_t *shown(struct request *r, PGresult *views,
		     struct fhir_pathway *loaded, int n, const json_t *show,
		     const char *type, struct answer *a)
{
	const char *pathway =
		json_string_value(json_object_get(show, "pathway_id"));
	const char *id = json_string_value(json_object_get(show, "id"));
	const char *event =
		json_string_value(json_object_get(show, "event_id"));
	char referral[FHIR_ID_MAX + 1];

	(void)r;
	(void)views;
	for (int i = 0; i < n; i++) {
		const struct fhir_view *v = &loaded[i].view;
		if (!loaded[i].loaded || strcmp(v->pathway_id, pathway) != 0)
			continue;
		answer_pathway(a, v->patient_id, v->region);
		if (strcmp(type, "EpisodeOfCare") == 0)
			return fhir_resource_episode(v);
		if (id[0] != '\0')
			return fhir_resource_read(v, type, id);
		/* A created referral: the one its event sent. */
		for (size_t k = 0; k < v->history.referral_count; k++)
			if (strcmp(v->history.referrals[k].event_id, event) ==
			    0) {
				fhir_id_referral(pathway,
						 v->history.referrals[k].seq,
						 referral);
				return fhir_resource_read(v, type, referral);
			}
	}
	return NULL;
}

static void location_of(const struct app *app, const json_t *resource,
			char *out, size_t len)
{
	char path[FHIR_URL_MAX], url[FHIR_URL_MAX];

	snprintf(path, sizeof(path), "%s/%s/_history/%s",
		 json_string_value(json_object_get(resource, "resourceType")),
		 json_string_value(json_object_get(resource, "id")),
		 json_string_value(json_object_get(
			 json_object_get(resource, "meta"), "versionId")));
	fhir_config_url(&app->fhir, path, url);
	/* A Location that does not fit is left out, not cut. */
	if (strlen(url) < len)
		memcpy(out, url, strlen(url) + 1);
}

static void render_single(struct request *r, json_t *entry, json_t *resource,
			  struct answer *a)
{
	int status = (int)json_integer_value(json_object_get(entry, "status"));
	json_t *outcome = json_object_get(entry, "outcome");

	if (outcome != NULL) {
		json_decref(resource);
		a->rep.status = status;
		return answer_json(a, json_incref(outcome));
	}
	if (resource == NULL)
		return answer_error(a, ERR_INTERNAL, NULL,
				    "the resource does not render");
	if (status == 201)
		location_of(r->app, resource, a->rep.location,
			    sizeof(a->rep.location));
	fhir_answer_resource(a, status, resource);
}

static void render_written(struct request *r, PGresult **res, int n,
			   struct answer *a)
{
	json_t *ctx = column_json(res[0], 0, 0);
	json_t *entries = json_object_get(ctx, "entries"), *entry, *bundle;
	const char *kind = json_string_value(json_object_get(ctx, "kind"));
	int rows = n > 1 ? PQntuples(res[1]) : 0;
	struct fhir_pathway *loaded = calloc((size_t)rows + 1, sizeof(*loaded));
	size_t i;

	for (int k = 0; loaded != NULL && k < rows; k++)
		if (!fhir_pathway_load(&loaded[k], r->app, res[1], k))
			log_error(r->context, "pathway %s does not render",
				  PQgetvalue(res[1], k, 2));
	bundle = kind && strcmp(kind, "single") != 0
			 ? fhir_bundle_new(
				   strcmp(kind, "transaction") == 0
					   ? FHIR_BUNDLE_TRANSACTION_RESPONSE
					   : FHIR_BUNDLE_BATCH_RESPONSE)
			 : NULL;
	json_array_foreach(entries, i, entry)
	{
		const char *type =
			json_string_value(json_object_get(entry, "type"));
		json_t *show = json_object_get(entry, "show");
		json_t *res_json = show && loaded ? shown(r, res[1], loaded,
							  rows, show, type, a)
						  : NULL;
		if (bundle == NULL) {
			render_single(r, entry, res_json, a);
			break;
		}
		if (!fhir_bundle_add_response(
			    bundle, &r->app->fhir,
			    (int)json_integer_value(
				    json_object_get(entry, "status")),
			    res_json,
			    json_incref(json_object_get(entry, "outcome"))))
			log_error(r->context, "a response entry is lost");
	}
	if (bundle != NULL)
		answer_json(a, bundle);
	for (int k = 0; loaded != NULL && k < rows; k++)
		fhir_pathway_free(&loaded[k]);
	free(loaded);
	json_decref(ctx);
}

/* Step 4: the pathways written, read back and shown (audited). */
static void answer_job(struct job *job)
{
	struct request *r = job->r;
	struct pgarray ids;
	char regions[REGIONS_LEN], *context;
	bool any = false;
	struct db_query q[2];
	json_t *tree;

	pgarray_init(&ids);
	for (size_t i = 0; i < job->count; i++)
		if (!job->entries[i].refused &&
		    job->entries[i].pathway_id[0] != '\0') {
			pgarray_add(&ids, job->entries[i].pathway_id);
			any = true;
		}
	tree = context_of(job);
	context = tree ? json_dumps(tree, JSON_COMPACT) : NULL;
	json_decref(tree);
	q[0] = (struct db_query){
		.stmt = STMT_FHIR_CONTEXT, .nparams = 1, .params = {context}};
	q[1] = (struct db_query){
		.stmt = STMT_FHIR_VIEWS,
		.nparams = 4,
		.params = {pgarray_text(&ids), NULL,
			   request_regions(r, regions, sizeof(regions)), NULL}};
	if (context == NULL || ids.failed) {
		struct reply rep;
		reply_init(&rep);
		reply_error(&rep, ERR_INTERNAL, NULL, "out of memory");
		request_finish(r, &rep);
	} else {
		read_batch(r, q, any ? 2 : 1, render_written);
	}
	free(context);
	pgarray_free(&ids);
	job_free(job);
}

/* --- step 3: the commit
 * -------------------------------------------------------
 */

/* A transaction's own refusal: the entry refused for itself, not one
 * refused "because of it". */
static const struct entry *cause_of(const struct job *job)
{
	const struct entry *first = NULL;

	for (size_t k = 0; k < job->count; k++) {
		const struct entry *e = &job->entries[job->order[k]];
		if (!e->refused)
			continue;
		if (first == NULL)
			first = e;
		if (strncmp(e->err.error.message, "not recorded", 12) != 0)
			return e;
	}
	return first;
}

/* A refused transaction answers one OperationOutcome, the entry at fault
 * named in its expression. */
static void answer_transaction_refused(struct job *job)
{
	struct reply rep;
	const struct entry *e = cause_of(job);

	reply_init(&rep);
	fhir_reply_error(&rep, job->r->app, &e->err);
	request_finish(job->r, &rep);
	job_free(job);
}

static void on_committed(void *arg)
{
	struct job *job = arg;
	const struct fhir_config *cfg = &job->r->app->fhir;

	for (size_t i = 0; i < job->count; i++) {
		struct entry *e = &job->entries[i];
		struct commit_item *it;
		if (e->item < 0)
			continue;
		it = &job->items[e->item];
		if (it->err.code != ERR_NONE) {
			struct fhir_error fe;
			fhir_write_error(cfg, &e->w, &it->err, &fe);
			if (job->bundle) {
				char prefix[64];
				snprintf(prefix, sizeof(prefix),
					 "Bundle.entry[%zu].resource", i);
				fhir_error_within(&fe, prefix);
			}
			refuse(e, &fe);
			continue;
		}
		/* An update answers 200; only a create 201. */
		e->status = it->replayed || e->method == FHIR_METHOD_PUT
				    ? 200
				    : it->status;
		snprintf(e->pathway_id, sizeof(e->pathway_id), "%s",
			 it->pathway_id);
	}
	if (job->transaction && cause_of(job) != NULL)
		return answer_transaction_refused(job);
	answer_job(job);
}

static void submit(struct job *job)
{
	struct app *app = job->r->app;

	if (job->transaction && cause_of(job) != NULL)
		return answer_transaction_refused(job);
	if (job->nitems == 0)
		return answer_job(job);
	if (job->transaction)
		commit_submit_atomic(app, job->items, job->nitems, on_committed,
				     job);
	else
		commit_submit(app, job->items, job->nitems, on_committed, job);
}

/* --- step 2: translation
 * --------------------------------------------------------
 */

static struct fhir_pathway *loaded_by_id(struct job *job, const char *fhir_id)
{
	struct fhir_id_parts parts;
	char hash[FHIR_ID_HASH_HEX + 1];

	if (!fhir_id_parse(fhir_id, &parts))
		return NULL;
	for (int i = 0; i < job->nloaded; i++) {
		const char *id = job->loaded[i].view.pathway_id;
		if (!job->loaded[i].loaded)
			continue;
		if (!parts.hashed && strcmp(id, parts.pathway_id) == 0)
			return &job->loaded[i];
		fhir_id_pathway_hash(id, hash);
		if (parts.hashed && strcmp(hash, parts.hash) == 0)
			return &job->loaded[i];
	}
	return NULL;
}

static const json_t *open_pathway_of(struct job *job, const char *patient)
{
	for (int i = 0; patient != NULL && i < job->nloaded; i++) {
		const json_t *p = job->loaded[i].pathway;
		if (job->loaded[i].loaded &&
		    strcmp(job->loaded[i].view.patient_id, patient) == 0 &&
		    !json_is_string(json_object_get(p, "closed_at")))
			return p;
	}
	return NULL;
}

static bool translate_entry(struct job *job, struct entry *e,
			    struct fhir_error *err)
{
	struct app *app = job->r->app;
	struct fhir_pathway *p;
	const char *system, *patient;
	char expr[FHIR_EXPRESSION_MAX];

	if (e->method == FHIR_METHOD_POST &&
	    strcmp(e->type, "EpisodeOfCare") == 0)
		return fhir_write_episode(&app->fhir, &app->models, e->resource,
					  e->if_none_exist, job->now, &e->w,
					  err);
	if (e->method == FHIR_METHOD_POST &&
	    strcmp(e->type, "ServiceRequest") == 0) {
		if (!fhir_write_patient(e->resource, &system, &patient, expr))
			patient = NULL;
		return fhir_write_request(
			&app->fhir, &app->models, open_pathway_of(job, patient),
			e->resource, e->if_none_exist, job->now, &e->w, err);
	}
	if (e->method != FHIR_METHOD_PUT ||
	    (strcmp(e->type, "Task") != 0 &&
	     strcmp(e->type, "EpisodeOfCare") != 0))
		return fhir_error_typed(
			err, ERR_INVALID_REQUEST, "not-supported", NULL,
			"%s %s is not served in a Bundle",
			e->method == FHIR_METHOD_GET ? "GET" : "this", e->type);
	p = loaded_by_id(job, e->id);
	if (p == NULL)
		return fhir_error_set(err, ERR_NOT_FOUND, NULL, "no such %s",
				      e->type);
	if (strcmp(e->type, "Task") == 0)
		return fhir_update_task(&p->view, e->id, e->resource,
					e->if_match, job->now, &e->w, err);
	return fhir_update_episode(&p->view, e->id, e->resource, e->if_match,
				   job->now, &e->w, err);
}

/* The pathway an update or a no-op concerns, for the answer. */
static void note_pathway(struct job *job, struct entry *e)
{
	struct fhir_pathway *p =
		e->method == FHIR_METHOD_PUT ? loaded_by_id(job, e->id) : NULL;

	if (p != NULL)
		snprintf(e->pathway_id, sizeof(e->pathway_id), "%s",
			 p->view.pathway_id);
}

static void prepare_entry(struct job *job, size_t i)
{
	struct entry *e = &job->entries[i];
	struct commit_item *it = &job->items[job->nitems];
	struct fhir_error err;
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "Bundle.entry[%zu].resource", i);
	if (!translate_entry(job, e, &err)) {
		if (job->bundle)
			fhir_error_within(&err, prefix);
		return refuse(e, &err);
	}
	note_pathway(job, e);
	e->status = 200;
	if (e->w.kind == FHIR_WRITE_NOOP)
		return;
	if (!commit_item_prepare(it, e->w.event, job->r->token, job->now)) {
		fhir_write_error(&job->r->app->fhir, &e->w, &it->err, &err);
		commit_item_clear(it);
		if (job->bundle)
			fhir_error_within(&err, prefix);
		return refuse(e, &err);
	}
	it->if_match = e->if_match > 0 ? e->if_match : 0;
	snprintf(e->event_id, sizeof(e->event_id), "%s", it->ev.event_id);
	e->item = (int)job->nitems++;
}

static void translate(struct job *job)
{
	for (size_t k = 0; k < job->count; k++)
		prepare_entry(job, job->order[k]);
	submit(job);
}

/* --- step 1: the pathways the entries need
 * ---------------------------------------
 */

struct load {
	struct job *job;
	struct pgarray ids, patients, hashes;
	char regions[REGIONS_LEN];
};

static void load_free(struct load *l)
{
	pgarray_free(&l->ids);
	pgarray_free(&l->patients);
	pgarray_free(&l->hashes);
	free(l);
}

static void unavailable(struct job *job)
{
	struct reply rep;

	reply_init(&rep);
	reply_error(&rep, ERR_UNAVAILABLE, NULL,
		    "the database cannot be reached; retry");
	request_finish(job->r, &rep);
	job_free(job);
}

static void on_loaded(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct load *l = arg;
	struct job *job = l->job;
	int rows;

	load_free(l);
	if (n == 0 || !db_result_ok(res[0])) {
		db_release(conn);
		return unavailable(job);
	}
	rows = PQntuples(res[0]);
	job->loaded = calloc((size_t)rows + 1, sizeof(*job->loaded));
	for (int i = 0; job->loaded != NULL && i < rows; i++)
		if (!fhir_pathway_load(&job->loaded[job->nloaded++],
				       job->r->app, res[0], i))
			log_error(job->r->context, "pathway %s does not render",
				  PQgetvalue(res[0], i, 2));
	db_release(conn);
	translate(job);
}

static void on_load_lease(struct db_conn *conn, void *arg)
{
	struct load *l = arg;
	struct job *job = l->job;
	struct db_query q = {.stmt = STMT_FHIR_VIEWS,
			     .nparams = 4,
			     .params = {pgarray_text(&l->ids),
					pgarray_text(&l->patients),
					l->regions[0] ? l->regions : NULL,
					pgarray_text(&l->hashes)}};

	if (conn == NULL || !db_send(conn, &q, 1, on_loaded, l)) {
		if (conn != NULL)
			db_release(conn);
		load_free(l);
		unavailable(job);
	}
}

static void load(struct job *job)
{
	struct load *l = calloc(1, sizeof(*l));
	struct fhir_id_parts parts;
	const char *system, *patient;
	char expr[FHIR_EXPRESSION_MAX];
	bool needed = false;

	if (l == NULL)
		return unavailable(job);
	l->job = job;
	for (size_t i = 0; i < job->count; i++) {
		struct entry *e = &job->entries[i];
		if (e->refused)
			continue;
		if (e->id[0] != '\0' && fhir_id_parse(e->id, &parts)) {
			pgarray_add(parts.hashed ? &l->hashes : &l->ids,
				    parts.hashed ? parts.hash
						 : parts.pathway_id);
			needed = true;
		}
		if (e->method == FHIR_METHOD_POST &&
		    strcmp(e->type, "ServiceRequest") == 0 &&
		    fhir_write_patient(e->resource, &system, &patient, expr) &&
		    patient != NULL) {
			pgarray_add(&l->patients, patient);
			needed = true;
		}
	}
	if (!needed) {
		load_free(l);
		return translate(job);
	}
	if (request_regions(job->r, l->regions, sizeof(l->regions)) == NULL)
		l->regions[0] = '\0';
	db_acquire(job->r->app->pool, on_load_lease, l);
}

/* --- the handlers
 * -------------------------------------------------------------
 */

static struct job *job_new(struct request *r, size_t count, struct reply *out)
{
	struct job *job = calloc(1, sizeof(*job));

	if (job != NULL) {
		job->r = r;
		job->now = now_millis();
		job->count = count;
		job->entries = calloc(count + 1, sizeof(*job->entries));
		job->items = calloc(count + 1, sizeof(*job->items));
		job->order = calloc(count + 1, sizeof(*job->order));
	}
	if (job == NULL || job->entries == NULL || job->items == NULL ||
	    job->order == NULL) {
		if (job != NULL)
			job_free(job);
		reply_error(out, ERR_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		job->entries[i].item = -1;
		job->entries[i].if_match = -1;
		job->order[i] = i;
	}
	return job;
}

/* The body as a JSON object, or a 400 OperationOutcome. */
static json_t *read_body(struct request *r, struct reply *out)
{
	json_error_t jerr;
	json_t *body =
		json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	struct fhir_error err;

	if (json_is_object(body))
		return body;
	json_decref(body);
	fhir_error_set(&err, ERR_INVALID_JSON, NULL,
		       "the body must be a FHIR resource in JSON: %s",
		       jerr.text);
	fhir_reply_error(out, r->app, &err);
	return NULL;
}

enum handled fhir_create_post(struct request *r, struct reply *out)
{
	json_t *body = read_body(r, out);
	struct job *job;

	if (body == NULL)
		return HANDLED_NOW;
	job = job_new(r, 1, out);
	if (job == NULL) {
		json_decref(body);
		return HANDLED_NOW;
	}
	job->body = body;
	job->entries[0].method = FHIR_METHOD_POST;
	fhir_route_type(r, job->entries[0].type);
	job->entries[0].resource = body;
	job->entries[0].if_none_exist = request_header(r, "If-None-Exist");
	load(job);
	return HANDLED_LATER;
}

enum handled fhir_update_put(struct request *r, struct reply *out)
{
	const char *if_match = request_header(r, "If-Match");
	json_t *body;
	struct job *job;
	struct fhir_error err;

	if (if_match != NULL && fhir_bundle_etag_version(if_match) < 1) {
		fhir_error_set(&err, ERR_INVALID_REQUEST, NULL,
			       "If-Match must be an ETag: W/\"<version>\"");
		return fhir_reply_error(out, r->app, &err);
	}
	body = read_body(r, out);
	if (body == NULL)
		return HANDLED_NOW;
	job = job_new(r, 1, out);
	if (job == NULL) {
		json_decref(body);
		return HANDLED_NOW;
	}
	job->body = body;
	job->entries[0].method = FHIR_METHOD_PUT;
	fhir_route_type(r, job->entries[0].type);
	snprintf(job->entries[0].id, sizeof(job->entries[0].id), "%s",
		 fhir_id_valid(r->params[0]) ? r->params[0] : "-");
	job->entries[0].resource = body;
	if (if_match != NULL)
		job->entries[0].if_match = fhir_bundle_etag_version(if_match);
	load(job);
	return HANDLED_LATER;
}

static void entry_from_bundle(struct entry *e, const struct fhir_entry *in)
{
	e->method = in->method;
	snprintf(e->type, sizeof(e->type), "%s", in->type);
	snprintf(e->id, sizeof(e->id), "%s", in->id);
	e->resource = in->resource;
	e->if_none_exist = in->if_none_exist;
	e->if_match = in->if_match_version;
}

enum handled fhir_bundle_post(struct request *r, struct reply *out)
{
	json_t *body = read_body(r, out);
	struct fhir_bundle_request breq = {0};
	struct fhir_error err;
	struct job *job;

	if (body == NULL)
		return HANDLED_NOW;
	if (!fhir_bundle_parse(body, (size_t)r->app->cfg.max_batch,
			       &r->app->fhir, &breq, &err)) {
		json_decref(body);
		return fhir_reply_error(out, r->app, &err);
	}
	if (breq.transaction && breq.count > TRANSACTION_MAX) {
		fhir_bundle_request_free(&breq);
		json_decref(body);
		fhir_error_set(&err, ERR_INVALID_REQUEST, "Bundle.entry",
			       "a transaction holds at most %d entries; send "
			       "more as a batch",
			       TRANSACTION_MAX);
		return fhir_reply_error(out, r->app, &err);
	}
	job = job_new(r, breq.count, out);
	if (job == NULL) {
		fhir_bundle_request_free(&breq);
		json_decref(body);
		return HANDLED_NOW;
	}
	job->body = body;
	job->bundle = true;
	job->transaction = breq.transaction;
	job->breq = breq;
	for (size_t i = 0; i < breq.count; i++)
		entry_from_bundle(&job->entries[i], &breq.entries[i]);
	fhir_bundle_order(&job->breq, job->order);
	load(job);
	return HANDLED_LATER;
}
