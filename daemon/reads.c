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
#include "store.h"
#include "textbuf.h"

static enum handled by_id(struct request *r, struct reply *out,
			  enum store_stmt stmt, const char *what,
			  render_fn render)
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

static void render_pathway(struct request *r, const PGresult *res, int first,
			   int nrows, struct answer *a)
{
	(void)r;
	if (nrows == 0)
		return answer_error(a, ERR_NOT_FOUND, NULL, "no such pathway");
	answer_pathway(a, PQgetvalue(res, first, 2), PQgetvalue(res, first, 3));
	answer_raw_json(a, strdup(PQgetvalue(res, first, 1)));
}

static const struct read_group_kind pathway_by_id = {
	.name = "pathway",
	.stmt = STMT_PATHWAYS_GET,
	.stmt_audited = STMT_PATHWAYS_GET_AUDITED,
	.render = render_pathway};

enum handled pathway_get(struct request *r, struct reply *out)
{
	if (!domain_valid_id(r->params[0]))
		return reply_error(out, ERR_NOT_FOUND, NULL, "no such pathway");
	return read_by_key(r, &pathway_by_id, r->params[0]);
}

/* A JSON string of s, or null. */
static void add_json_string(struct textbuf *t, const char *s)
{
	json_t *j = json_string(s);
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	textbuf_printf(t, "%s", text ? text : "null");
	free(text);
	json_decref(j);
}

/* One transition as api.md shows it, with the corrections that changed
 * it (issue 12).  The stored text is spliced, not parsed and dumped again:
 * a long history is a thousand of them. */
static void add_transition(struct textbuf *t, const PGresult *res, int row)
{
	const char *doc = PQgetvalue(res, row, 1);
	size_t len = strlen(doc);
	bool corrected = !PQgetisnull(res, row, 2),
	     retracted = !PQgetisnull(res, row, 3);

	while (len > 0 && doc[len - 1] != '}')
		len--;
	if (len < 2 || doc[0] != '{' || (!corrected && !retracted)) {
		textbuf_add(t, doc, strlen(doc));
		return;
	}
	textbuf_add(t, doc, len - 1);
	if (strspn(doc + 1, " \t\r\n") < len - 2)
		textbuf_add(t, ",", 1);
	if (corrected)
		textbuf_printf(t, "\"corrected_by\":%s%s",
			       PQgetvalue(res, row, 2), retracted ? "," : "");
	if (retracted) {
		textbuf_printf(t, "\"retracted_by\":");
		add_json_string(t, PQgetvalue(res, row, 3));
	}
	textbuf_add(t, "}", 1);
}

static void render_transitions(struct request *r, PGresult **res, int n,
			       struct answer *a)
{
	struct textbuf t;
	int rows = PQntuples(res[0]);

	(void)n;
	/* A pathway has at least its opening transition. */
	if (rows == 0)
		return answer_error(a, ERR_NOT_FOUND, NULL, "no such pathway");
	textbuf_init(&t);
	textbuf_printf(&t, "{\"pathway_id\":");
	add_json_string(&t, r->params[0]);
	textbuf_printf(&t, ",\"transitions\":[");
	for (int i = 0; i < rows; i++) {
		if (i > 0)
			textbuf_add(&t, ",", 1);
		add_transition(&t, res[0], i);
	}
	textbuf_add(&t, "]}", 2);
	answer_pathway(a, PQgetvalue(res[0], 0, 4), PQgetvalue(res[0], 0, 5));
	answer_raw_json(a, textbuf_take(&t));
}

enum handled pathway_transitions_get(struct request *r, struct reply *out)
{
	return by_id(r, out, STMT_PATHWAY_TRANSITIONS, "pathway",
		     render_transitions);
}

static void render_patient(struct request *r, const PGresult *res, int first,
			   int nrows, struct answer *a)
{
	struct textbuf t;

	textbuf_init(&t);
	textbuf_printf(&t, "{\"patient_id\":");
	add_json_string(&t, r->params[0]);
	textbuf_printf(&t, ",\"pathways\":[");
	for (int row = first; row < first + nrows; row++) {
		textbuf_printf(&t, "%s%s", row > first ? "," : "",
			       PQgetvalue(res, row, 1));
		answer_pathway(a, r->params[0], PQgetvalue(res, row, 2));
	}
	textbuf_printf(&t, "]}");
	answer_raw_json(a, textbuf_take(&t));
}

static const struct read_group_kind pathways_of_patient = {
	.name = "patient",
	.stmt = STMT_PATIENTS_PATHWAYS,
	.render = render_patient};

enum handled patient_pathways_get(struct request *r, struct reply *out)
{
	if (!domain_valid_id(r->params[0]))
		return reply_error(out, ERR_NOT_FOUND, NULL, "no such patient");
	return read_by_key(r, &pathways_of_patient, r->params[0]);
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
		.stmt = STMT_NOTIFICATIONS_AFTER,
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
	char regions[REGIONS_LEN];
	struct db_query q = {
		.stmt = STMT_AUDIT_OF_PATIENT,
		.nparams = 3,
		.params = {patient, limit_text,
			   request_regions(r, regions, sizeof(regions))}};
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
