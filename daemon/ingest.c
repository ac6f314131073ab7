/*
 * POST /v1/events: one event, or {"events": [...]}.  The /v1 front-end of
 * the commit path: it parses the body, hands the events to commit.c and
 * writes the answer -- the recorded (or replayed) answer for one event, a
 * result per event for a batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "commit.h"
#include "http.h"
#include "metrics.h"

struct ingest_job {
	struct request *req;
	json_t *doc;
	bool batch;
	struct commit_item *items;
	size_t count;
};

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct ingest_job *job)
{
	for (size_t i = 0; i < job->count; i++)
		commit_item_clear(&job->items[i]);
	free(job->items);
	json_decref(job->doc);
	free(job);
}

/* {"code", "message", ...} of an item's refusal. */
static json_t *error_member(const struct commit_item *it)
{
	json_t *wrapper = error_to_json(&it->err);
	json_t *error = json_incref(json_object_get(wrapper, "error"));

	json_decref(wrapper);
	if (error != NULL && it->detail != NULL)
		json_object_update(error, it->detail);
	return error;
}

static json_t *batch_result(const struct commit_item *it)
{
	const char *id = it->ev.event_id[0] ? it->ev.event_id : NULL;
	json_t *res = json_pack(
		"{s:o, s:i, s:o, s:o}", "event_id",
		id ? json_string(id) : json_null(), "status", it->status,
		"pathway_id",
		it->pathway_id[0] ? json_string(it->pathway_id) : json_null(),
		"error",
		it->err.code != ERR_NONE ? error_member(it) : json_null());

	if (it->replayed)
		json_object_set_new(res, "replayed", json_true());
	return res;
}

static void single_answer(struct commit_item *it, struct reply *rep)
{
	if (it->err.code != ERR_NONE) {
		reply_pp_error(rep, &it->err);
		rep->detail = it->detail;
		it->detail = NULL;
		return;
	}
	reply_text(rep, it->status, "application/json", it->response,
		   it->response ? strlen(it->response) : 0);
	it->response = NULL;
	if (it->replayed)
		rep->flags |= REPLY_REPLAY;
}

static void on_recorded(void *arg)
{
	struct ingest_job *job = arg;
	struct reply rep;

	reply_init(&rep);
	for (size_t i = 0; i < job->count; i++)
		metrics_event(job->items[i].ev.type,
			      job->items[i].canonical != NULL,
			      job->items[i].status);
	if (!job->batch) {
		single_answer(&job->items[0], &rep);
	} else {
		json_t *results = json_array();
		for (size_t i = 0; i < job->count; i++)
			json_array_append_new(results,
					      batch_result(&job->items[i]));
		reply_json(&rep, 200, json_pack("{s:o}", "results", results));
	}
	request_finish(job->req, &rep);
	job_free(job);
}

/* The events of the body: one, or a batch of 1..max_batch. */
static bool split_batch(struct ingest_job *job, int max_batch,
			struct reply *out)
{
	json_t *events = json_object_get(job->doc, "events");
	size_t count = 1;

	job->batch =
		events != NULL && json_object_get(job->doc, "type") == NULL;
	if (job->batch) {
		if (!json_is_array(events) || json_array_size(events) == 0)
			return reply_error(out, ERR_INVALID_EVENT, "events",
					   "events must be a non-empty array"),
			       false;
		if (json_array_size(events) > (size_t)max_batch)
			return reply_error(out, ERR_TOO_LARGE, "events",
					   "a batch holds at most %d events",
					   max_batch),
			       false;
		count = json_array_size(events);
	}
	job->items = calloc(count, sizeof(*job->items));
	job->count = job->items ? count : 0;
	if (job->items == NULL)
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory"),
		       false;
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
	job->doc =
		json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (job->doc == NULL) {
		job_free(job);
		return reply_error(out, ERR_INVALID_JSON, NULL,
				   "the body is not valid JSON: %s (line %d, "
				   "column %d)",
				   jerr.text, jerr.line, jerr.column);
	}
	if (!split_batch(job, r->app->cfg.max_batch, out)) {
		job_free(job);
		return HANDLED_NOW;
	}
	for (size_t i = 0; i < job->count; i++) {
		json_t *ev = job->batch
				     ? json_array_get(json_object_get(job->doc,
								      "events"),
						      i)
				     : job->doc;
		const char *id =
			json_string_value(json_object_get(ev, "event_id"));
		if (id != NULL)
			request_log_event(r, id);
		/* A refused one keeps its answer; commit_submit skips it. */
		if (!commit_item_prepare(&job->items[i], ev, r->token, now))
			continue;
	}
	commit_submit(r->app, job->items, job->count, on_recorded, job);
	return HANDLED_LATER;
}
