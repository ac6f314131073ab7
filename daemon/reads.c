/*
 * The read routes: each a batch of prepared statements filtered by the
 * token's regions, and a render function that names the patients shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "http.h"
#include "reads.h"

#define REGIONS_LEN 4096

static enum handled by_id(struct request *r, struct reply *out,
			  const char *stmt, const char *what, render_fn render)
{
	char regions[REGIONS_LEN];
	struct db_query q = {
		.stmt = stmt,
		.nparams = 2,
		.params = {r->params[0],
			   request_regions(r, regions, sizeof(regions))}};

	/* An id outside the identifier alphabet names nothing. */
	if (!domain_valid_id(r->params[0]))
		return reply_error(out, ERR_NOT_FOUND, NULL, "no such %s",
				   what);
	return read_query(r, &q, render);
}

static void render_pathway(struct request *r, PGresult **res, int n,
			   struct answer *a)
{
	(void)r;
	(void)n;
	if (PQntuples(res[0]) == 0)
		return answer_error(a, ERR_NOT_FOUND, NULL, "no such pathway");
	answer_json(a, column_json(res[0], 0, 0));
	answer_patient(a, PQgetvalue(res[0], 0, 1));
}

enum handled pathway_get(struct request *r, struct reply *out)
{
	return by_id(r, out, "pathway_get", "pathway", render_pathway);
}

static void render_transitions(struct request *r, PGresult **res, int n,
			       struct answer *a)
{
	json_t *list = column_json(res[0], 0, 0);

	(void)n;
	/* A pathway has at least its opening transition. */
	if (json_array_size(list) == 0) {
		json_decref(list);
		return answer_error(a, ERR_NOT_FOUND, NULL, "no such pathway");
	}
	answer_json(a, json_pack("{s:s, s:o}", "pathway_id", r->params[0],
				 "transitions", list));
	answer_patient(a, PQgetvalue(res[0], 0, 1));
}

enum handled pathway_transitions_get(struct request *r, struct reply *out)
{
	return by_id(r, out, "pathway_transitions", "pathway",
		     render_transitions);
}

static void render_patient(struct request *r, PGresult **res, int n,
			   struct answer *a)
{
	json_t *list = column_json(res[0], 0, 0);

	(void)n;
	if (list == NULL)
		list = json_array();
	answer_patients_of(a, list);
	answer_json(a, json_pack("{s:s, s:o}", "patient_id", r->params[0],
				 "pathways", list));
}

enum handled patient_pathways_get(struct request *r, struct reply *out)
{
	return by_id(r, out, "patient_pathways", "patient", render_patient);
}

static void render_notifications(struct request *r, PGresult **res, int n,
				 struct answer *a)
{
	json_t *items = column_json(res[0], 0, 0);
	const char *last = PQgetisnull(res[0], 0, 1) ? request_query(r, "after")
						     : PQgetvalue(res[0], 0, 1);

	(void)n;
	if (items == NULL)
		items = json_array();
	answer_patients_of(a, items);
	answer_json(a, json_pack("{s:o, s:s}", "items", items, "next_cursor",
				 last && last[0] ? last : "0"));
}

enum handled notifications_get(struct request *r, struct reply *out)
{
	const char *after = request_query(r, "after");
	const char *limit = request_query(r, "limit");
	char after_text[24], limit_text[24], regions[REGIONS_LEN];
	long after_v = 0, limit_v = 100;

	if (after != NULL && !parse_count(after, 999999999999999999L, &after_v))
		return reply_error(out, ERR_INVALID_REQUEST, "after",
				   "after must be a cursor from next_cursor");
	if (limit != NULL &&
	    (!parse_count(limit, 1000, &limit_v) || limit_v == 0))
		return reply_error(out, ERR_INVALID_REQUEST, "limit",
				   "limit must be 1-1000");
	snprintf(after_text, sizeof(after_text), "%ld", after_v);
	snprintf(limit_text, sizeof(limit_text), "%ld", limit_v);
	struct db_query q = {
		.stmt = "notifications_after",
		.nparams = 3,
		.params = {after_text, limit_text,
			   request_regions(r, regions, sizeof(regions))}};
	return read_query(r, &q, render_notifications);
}

static void render_audit(struct request *r, PGresult **res, int n,
			 struct answer *a)
{
	json_t *items = column_json(res[0], 0, 0);

	(void)n;
	answer_patient(a, request_query(r, "patient_id"));
	answer_json(a, json_pack("{s:s, s:o}", "patient_id",
				 request_query(r, "patient_id"), "items",
				 items ? items : json_array()));
}

enum handled audit_get(struct request *r, struct reply *out)
{
	const char *patient = request_query(r, "patient_id");
	const char *limit = request_query(r, "limit");
	char limit_text[24];
	long limit_v = 1000;

	if (patient == NULL || !domain_valid_id(patient))
		return reply_error(out, ERR_INVALID_REQUEST, "patient_id",
				   "patient_id is required");
	if (limit != NULL &&
	    (!parse_count(limit, 10000, &limit_v) || limit_v == 0))
		return reply_error(out, ERR_INVALID_REQUEST, "limit",
				   "limit must be 1-10000");
	snprintf(limit_text, sizeof(limit_text), "%ld", limit_v);
	struct db_query q = {.stmt = "audit_of_patient",
			     .nparams = 2,
			     .params = {patient, limit_text}};
	return read_query(r, &q, render_audit);
}

enum handled models_get(struct request *r, struct reply *out)
{
	json_t *list = json_array();

	for (size_t i = 0; i < r->app->models.count; i++)
		json_array_append_new(list,
				      model_to_json(&r->app->models.models[i]));
	return reply_json(out, 200, json_pack("{s:o}", "models", list));
}

enum handled healthz_get(struct request *r, struct reply *out)
{
	(void)r;
	return reply_json(out, 200, json_pack("{s:s}", "status", "ok"));
}

enum handled readyz_get(struct request *r, struct reply *out)
{
	if (!db_pool_ready(r->app->pool))
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "the database cannot be reached");
	return reply_json(out, 200, json_pack("{s:s}", "status", "ready"));
}
