/*
 * Subscriptions (R4 rest-hook): POST /fhir/Subscription registers one,
 * GET reads and searches, DELETE removes one (and what it had not yet
 * been sent).  A subscription belongs to its registrant's source (the
 * tokens of one EHR system share it; an admin sees all) and delivers only
 * pathways in the regions its registrant's token covers.  The criteria
 * are stored as given and as the columns the commit path's outbox write
 * joins on (schema/006_fhir.sql); delivery is daemon/outbox.c's.
 *
 * The signing secret is the client's (extension painpath-signing-secret)
 * or one the daemon makes; it is shown in the answer to the registration
 * only, never on reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "app.h"
#include "fhir_bundle.h"
#include "fhir_subscription.h"
#include "fhir_serve.h"
#include "http.h"
#include "pgarray.h"
#include "store.h"

#define REGIONS_LEN 4096

static bool random_hex(char *out, size_t bytes)
{
	unsigned char raw[64];

	if (bytes > sizeof(raw) || getrandom(raw, bytes, 0) != (ssize_t)bytes)
		return false;
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	return true;
}

/* The source whose subscriptions a token sees; NULL: all (admin). */
static const char *source_of(const struct request *r)
{
	return r->token->role == ROLE_ADMIN ? NULL : r->token->source;
}

/* --- the criteria columns
 * -----------------------------------------------------
 */

/* The bare values (no system) of the criteria's terms named in names;
 * false when one term does not narrow (a value naming a whole system), or
 * none is there. */
static bool column_of(const struct fhir_subscription *sub,
		      const char *const *names, struct pgarray *out)
{
	bool any = false;

	for (size_t t = 0; t < sub->term_count; t++) {
		const struct fhir_criterion *c = &sub->terms[t];
		bool named = false;
		for (const char *const *n = names; *n != NULL; n++)
			named = named || strcmp(c->name, *n) == 0;
		if (!named)
			continue;
		for (size_t v = 0; v < c->value_count; v++) {
			const char *bar = strchr(c->values[v], '|');
			const char *value = bar ? bar + 1 : c->values[v];
			if (value[0] == '\0')
				return false;
			pgarray_add(out, value);
		}
		any = true;
	}
	return any;
}

struct columns {
	struct pgarray patients, units, statuses, headers;
	bool has_patients, has_units, has_statuses;
};

static void columns_build(const struct fhir_subscription *sub,
			  struct columns *c)
{
	static const char *const patient[] = {"patient", NULL};
	static const char *const units[] = {"owner", "requester",
					    "organization", NULL};
	static const char *const status[] = {"status", NULL};

	memset(c, 0, sizeof(*c));
	c->has_patients = column_of(sub, patient, &c->patients);
	c->has_units = column_of(sub, units, &c->units);
	c->has_statuses = strcmp(sub->resource_type, "EpisodeOfCare") == 0 &&
			  column_of(sub, status, &c->statuses);
	for (size_t i = 0; i < sub->header_count; i++)
		pgarray_add(&c->headers, sub->headers[i]);
}

static void columns_free(struct columns *c)
{
	pgarray_free(&c->patients);
	pgarray_free(&c->units);
	pgarray_free(&c->statuses);
	pgarray_free(&c->headers);
}

/* --- register ---------------------------------------------------------------
 */

/* res[0] the insert, res[1] the answer (echoed). */
static void render_created(struct request *r, PGresult **res, int n,
			   struct answer *a)
{
	json_t *doc = n > 1 ? column_json(res[1], 0, 0) : NULL;
	char path[128], url[FHIR_URL_MAX];

	(void)n;
	if (doc == NULL)
		return answer_error(a, ERR_INTERNAL, NULL, "no answer");
	snprintf(path, sizeof(path), "Subscription/%s",
		 json_string_value(json_object_get(doc, "id")));
	fhir_config_url(&r->app->fhir, path, url);
	if (strlen(url) < sizeof(a->rep.location))
		memcpy(a->rep.location, url, strlen(url) + 1);
	a->rep.status = 201;
	answer_json(a, doc);
}

/* The registration's answer shows the secret, once: the client needs it
 * to check every delivery. */
static char *created_doc(const struct request *r,
			 const struct fhir_subscription *sub, const char *id,
			 const char *secret, bool generated)
{
	json_t *doc = fhir_subscription_to_json(sub, id, sub->status, NULL);
	char url[FHIR_URL_MAX], *text;

	if (doc != NULL && generated) {
		fhir_config_extension_url(&r->app->fhir, "signing-secret", url);
		json_object_set_new(doc, "extension",
				    json_pack("[{s:s, s:s}]", "url", url,
					      "valueString", secret));
	}
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

static enum handled insert(struct request *r,
			   const struct fhir_subscription *sub,
			   struct reply *out)
{
	char id[40] = "sub-", secret[FHIR_SUB_SECRET_MAX + 1], end[40];
	char regions[REGIONS_LEN], *doc, *answer;
	bool generated = sub->secret[0] == '\0';
	struct columns c;
	enum handled h;

	if (!random_hex(id + 4, 12) || (generated && !random_hex(secret, 32)))
		return reply_error(out, ERR_INTERNAL, NULL, "no randomness");
	if (!generated)
		snprintf(secret, sizeof(secret), "%s", sub->secret);
	calendar_format_timestamp(sub->end, end);
	columns_build(sub, &c);
	doc = created_doc(r, sub, id, NULL, false);
	answer = created_doc(r, sub, id, secret, generated);
	struct db_query q[2] = {
		{.stmt = STMT_SUB_INSERT,
		 .nparams = 17,
		 .params = {id, sub->resource_type, sub->criteria,
			    c.has_patients ? pgarray_text(&c.patients) : NULL,
			    c.has_units ? pgarray_text(&c.units) : NULL,
			    c.has_statuses ? pgarray_text(&c.statuses) : NULL,
			    sub->endpoint, sub->full_payload ? "t" : "f",
			    pgarray_text(&c.headers), secret,
			    fhir_subscription_status_name(sub->status),
			    sub->reason, sub->end ? end : NULL, r->token->id,
			    r->token->source,
			    request_regions(r, regions, sizeof(regions)), doc}},
		{.stmt = STMT_FHIR_CONTEXT, .nparams = 1, .params = {answer}},
	};
	if (doc == NULL || answer == NULL)
		h = reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	else
		h = read_batch(r, q, 2, render_created);
	free(doc);
	free(answer);
	columns_free(&c);
	return h;
}

enum handled fhir_subscription_post(struct request *r, struct reply *out)
{
	json_error_t jerr;
	json_t *body =
		json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	struct fhir_subscription *sub = calloc(1, sizeof(*sub));
	struct fhir_error err;
	enum handled h;

	if (sub == NULL) {
		json_decref(body);
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	}
	if (!json_is_object(body)) {
		fhir_error_set(&err, ERR_INVALID_JSON, NULL,
			       "the body must be a Subscription in JSON");
		h = fhir_reply_error(out, r->app, &err);
	} else if (!fhir_subscription_parse(&r->app->fhir, body, sub, &err)) {
		h = fhir_reply_error(out, r->app, &err);
	} else {
		h = insert(r, sub, out);
	}
	json_decref(body);
	free(sub);
	return h;
}

/* --- read, search, delete ---------------------------------------------------
 */

/* A subscription as stored, with its status and error now; the patients
 * its criteria name are shown, so audited. */
static json_t *stored(const struct request *r, const PGresult *res, int row,
		      struct answer *a)
{
	json_t *doc = column_json(res, row, 0);
	struct fhir_subscription *sub = calloc(1, sizeof(*sub));
	struct fhir_error err;

	if (doc == NULL || sub == NULL) {
		free(sub);
		return doc;
	}
	json_object_set_new(doc, "status",
			    json_string(PQgetvalue(res, row, 1)));
	json_object_del(doc, "error");
	if (!PQgetisnull(res, row, 2))
		json_object_set_new(doc, "error",
				    json_string(PQgetvalue(res, row, 2)));
	if (fhir_subscription_parse(&r->app->fhir, doc, sub, &err))
		for (size_t t = 0; t < sub->term_count; t++)
			for (size_t v = 0;
			     strcmp(sub->terms[t].name, "patient") == 0 &&
			     v < sub->terms[t].value_count;
			     v++) {
				const char *value = sub->terms[t].values[v];
				const char *bar = strchr(value, '|');
				answer_patient(a, bar ? bar + 1 : value);
			}
	free(sub);
	return doc;
}

static void render_one(struct request *r, PGresult **res, int n,
		       struct answer *a)
{
	struct fhir_error err;

	(void)n;
	if (PQntuples(res[0]) == 0) {
		fhir_error_set(&err, ERR_NOT_FOUND, NULL,
			       "no such Subscription");
		return fhir_answer_error(a, r->app, &err);
	}
	answer_json(a, stored(r, res[0], 0, a));
}

enum handled fhir_subscription_get(struct request *r, struct reply *out)
{
	struct db_query q = {.stmt = STMT_SUB_LIST,
			     .nparams = 3,
			     .params = {r->params[0], NULL, source_of(r)}};

	(void)out;
	return read_query(r, &q, render_one);
}

static void render_list(struct request *r, PGresult **res, int n,
			struct answer *a)
{
	json_t *bundle = fhir_bundle_new(FHIR_BUNDLE_SEARCHSET);
	int rows = PQntuples(res[0]);

	(void)n;
	fhir_bundle_set_total(bundle, rows);
	for (int i = 0; i < rows; i++)
		if (!fhir_bundle_add_match(bundle, &r->app->fhir,
					   stored(r, res[0], i, a), false))
			break;
	if (!fhir_bundle_set_links(bundle, &r->app->fhir, "Subscription", NULL,
				   0, NULL)) {
		json_decref(bundle);
		return answer_error(a, ERR_INTERNAL, NULL, "no links");
	}
	answer_json(a, bundle);
}

enum handled fhir_subscription_search(struct request *r, struct reply *out)
{
	const char *status = request_query(r, "status");
	const char *id = request_query(r, "_id");
	struct fhir_error err;

	if (request_query(r, "cursor") != NULL ||
	    (status != NULL && strcmp(status, "requested") != 0 &&
	     strcmp(status, "active") != 0 && strcmp(status, "error") != 0 &&
	     strcmp(status, "off") != 0)) {
		fhir_error_set(&err, ERR_INVALID_REQUEST, NULL,
			       "status is requested, active, error or off; "
			       "one page holds every subscription");
		return fhir_reply_error(out, r->app, &err);
	}
	struct db_query q = {.stmt = STMT_SUB_LIST,
			     .nparams = 3,
			     .params = {id, status, source_of(r)}};
	return read_query(r, &q, render_list);
}

static void render_deleted(struct request *r, PGresult **res, int n,
			   struct answer *a)
{
	struct fhir_error err;

	(void)n;
	if (PQntuples(res[0]) == 0) {
		fhir_error_set(&err, ERR_NOT_FOUND, NULL,
			       "no such Subscription");
		return fhir_answer_error(a, r->app, &err);
	}
	answer_json(a, json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType",
				 "OperationOutcome", "issue", "severity",
				 "information", "code", "informational",
				 "diagnostics",
				 "the subscription is deleted, with what it "
				 "had not yet delivered"));
}

enum handled fhir_subscription_delete(struct request *r, struct reply *out)
{
	struct db_query q = {.stmt = STMT_SUB_DELETE,
			     .nparams = 2,
			     .params = {r->params[0], source_of(r)}};

	(void)out;
	return read_query(r, &q, render_deleted);
}
