/*
 * fuzz_fhir: untrusted FHIR input, the way /fhir will take it.
 *
 * The bytes go through json_loadb with JSON_REJECT_DUPLICATES, then by
 * what they are:
 *
 *  - a resource (an object with resourceType), or [resource, ifNoneExist,
 *    ifMatch]:
 *      EpisodeOfCare   fhir_write_episode, and fhir_update_episode against
 *                      fixture pathways in every phase under every model;
 *      ServiceRequest  fhir_write_request on every fixture pathway;
 *      Task            fhir_update_task against every fixture's Task (the
 *                      resource's id is set to it, to reach the mapping);
 *      Subscription    fhir_subscription_parse, then matching every fixture
 *                      resource, rendering and signing;
 *      Bundle          fhir_bundle_parse, then each entry as above;
 *  - a string: fhir_id_parse, If-None-Exist, endpoint and ETag parsing.
 *
 * Every event a translation produces is posted through event_parse and
 * fsm_apply, as /v1 would; an accepted one is rendered again.
 *
 * Invariants (abort() when broken):
 *  - a refused translation sets an error and leaves no event; an event has
 *    a valid event_id and a type;
 *  - every rendered resource has a valid FHIR id that parses back and
 *    reads back equal (fhir_resource_read), meta.versionId is the
 *    pathway's version, and it holds no null, empty string, empty array or
 *    empty object (FHIR JSON);
 *  - a refusal of a posted event maps to an expression of the resource
 *    written (fhir_write_error);
 *  - an accepted subscription's endpoint passes the endpoint check, and its
 *    rendering is clean FHIR JSON.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "event.h"
#include "fhir_bundle.h"
#include "fhir_config.h"
#include "fhir_id.h"
#include "fhir_read.h"
#include "fhir_resource.h"
#include "fhir_subscription.h"
#include "fhir_update.h"
#include "fhir_write.h"
#include "fsm.h"
#include "model.h"
#include "pathway.h"

#include "fuzz_common.h"

/* The server clock: 2030-01-01T00:00:00Z, later than every seed event. */
#define FUZZ_NOW   INT64_C(1893456000000)
#define MAX_MODELS 8
#define MAX_BUNDLE 16

/* A pathway in its JSON forms, as the store keeps it. */
struct fixture {
	const struct model *model;
	struct pathway state;
	json_t *pathway;
	json_t *transitions;
};

/* Phases: active, referred, assessing, waiting, treated at the clinic. */
#define PHASES 5

static struct model_set models;
static struct fhir_config config;
static struct fixture fixtures[MAX_MODELS][PHASES];
static size_t fixture_count;

/* --- invariants ----------------------------------------------------------- */

/* FHIR JSON: no null, "", [] or {} anywhere. */
static void check_fhir_json(const json_t *j, const json_t *whole)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_null(j) ||
	    (json_is_string(j) && json_string_length(j) == 0) ||
	    (json_is_array(j) && json_array_size(j) == 0) ||
	    (json_is_object(j) && json_object_size(j) == 0))
		fuzz_fail("a rendered resource holds null or an empty value",
			  whole, NULL);
	if (json_is_object(j))
		json_object_foreach((json_t *)j, key, v)
			check_fhir_json(v, whole);
	if (json_is_array(j))
		json_array_foreach(j, i, v) check_fhir_json(v, whole);
}

static void check_rendered(const struct fhir_view *v, const json_t *all)
{
	const json_t *r;
	size_t i;
	char version[16];

	snprintf(version, sizeof(version), "%d", v->version);
	json_array_foreach(all, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *type =
			json_string_value(json_object_get(r, "resourceType"));
		struct fhir_id_parts parts;
		json_t *again;

		check_fhir_json(r, r);
		if (!fhir_id_valid(id) || !fhir_id_parse(id, &parts))
			fuzz_fail("a rendered id is not one of ours", r, NULL);
		if (strcmp(json_string_value(json_object_get(
				   json_object_get(r, "meta"), "versionId")),
			   version) != 0)
			fuzz_fail("versionId is not the pathway's version", r,
				  NULL);
		again = fhir_resource_read(v, type, id);
		if (again == NULL || !json_equal(again, r))
			fuzz_fail("a resource reads back differently", r,
				  again);
		json_decref(again);
	}
}

static void render(const struct fixture *f)
{
	struct fhir_view v;
	json_t *all;

	if (!fhir_view_load(&v, &config, f->model, f->pathway, f->transitions))
		fuzz_fail("a pathway the state machine wrote does not load",
			  f->pathway, f->transitions);
	all = fhir_resource_all(&v);
	if (all == NULL)
		fuzz_fail("fhir_resource_all returned NULL", NULL, NULL);
	check_rendered(&v, all);
	json_decref(all);
	fhir_view_free(&v);
}

/* --- posting events ------------------------------------------------------- */

/* event_parse + fsm_apply on f (or a new pathway when f->pathway is NULL);
 * on success f moves on. */
static bool post(struct fixture *f, const json_t *event, struct pp_error *err)
{
	struct event ev;
	struct pathway after;
	struct transition tr;
	struct fsm_effects fx;
	const struct model *m = f->model;
	bool opening = f->pathway == NULL;

	memset(err, 0, sizeof(*err));
	if (!event_parse(event, FUZZ_NOW, &ev, err))
		return false;
	if (opening && ev.type == EV_PATHWAY_OPENED)
		m = model_set_find(&models, ev.model);
	if (m == NULL)
		return error_set(err, ERR_INVALID_EVENT, "model", "no model");
	if (!fsm_apply(opening ? NULL : &f->state, &ev, &models, "pw-fuzz",
		       FUZZ_NOW, &after, &tr, &fx, err))
		return false;
	/* pathway.updated may move the pathway to another model: the daemon
	 * looks the model up by the stored key, and so must this. */
	f->model = model_set_find(&models, after.model);
	if (f->model == NULL)
		fuzz_fail("the state machine wrote an unknown model", event,
			  NULL);
	f->state = after;
	json_decref(f->pathway);
	f->pathway = pathway_to_json(&after);
	json_array_append_new(
		f->transitions,
		fsm_transition_to_json(&tr, ev.event_id, ev.data));
	return true;
}

static void free_fixture(struct fixture *f)
{
	json_decref(f->pathway);
	json_decref(f->transitions);
}

static struct fixture copy_fixture(const struct fixture *f)
{
	struct fixture c = *f;

	c.pathway = f->pathway ? json_deep_copy(f->pathway) : NULL;
	c.transitions = json_deep_copy(f->transitions);
	return c;
}

/* A translation's outcome: its contract, then the event posted on f. */
static void settle(struct fixture *f, bool ok, struct fhir_write *w,
		   const struct fhir_error *err)
{
	struct pp_error refusal;
	struct fhir_error mapped;
	const char *id, *type;

	if (!ok) {
		if (err->error.code == ERR_NONE || w->event != NULL)
			fuzz_fail("a refused write without an error, or with "
				  "an event",
				  w->event, NULL);
		json_decref(fhir_outcome(&config, err));
		return;
	}
	if (w->kind == FHIR_WRITE_NOOP) {
		if (w->event != NULL)
			fuzz_fail("a no-op with an event", w->event, NULL);
		return;
	}
	id = json_string_value(json_object_get(w->event, "event_id"));
	type = json_string_value(json_object_get(w->event, "type"));
	if (!domain_valid_id(id) || type == NULL)
		fuzz_fail("a write's event has no valid event_id or type",
			  w->event, NULL);
	if (post(f, w->event, &refusal)) {
		render(f);
	} else {
		fhir_write_error(&config, w, &refusal, &mapped);
		if (mapped.expression[0] == '\0' ||
		    mapped.error.code != refusal.code)
			fuzz_fail("a refusal maps to no expression", w->event,
				  NULL);
	}
	fhir_write_free(w);
}

/* --- by resource type ----------------------------------------------------- */

static void episode_create(const json_t *r, const char *ine)
{
	struct fixture f = {&models.models[0], {0}, NULL, json_array()};
	struct fhir_write w;
	struct fhir_error err;
	bool ok = fhir_write_episode(&config, &models, r, ine, FUZZ_NOW, &w,
				     &err);

	settle(&f, ok, &w, &err);
	free_fixture(&f);
}

static void episode_update(const json_t *r, int if_match)
{
	for (size_t m = 0; m < fixture_count; m++)
		for (int p = 0; p < PHASES; p++) {
			struct fixture f = copy_fixture(&fixtures[m][p]);
			struct fhir_view v;
			struct fhir_write w;
			struct fhir_error err;
			json_t *mine = json_deep_copy(r);
			bool ok;
			if (!fhir_view_load(&v, &config, f.model, f.pathway,
					    f.transitions))
				fuzz_fail("fixture does not load", NULL, NULL);
			/* Aim at this pathway, as the URL would. */
			json_object_set_new(mine, "id",
					    json_string(v.episode_id));
			ok = fhir_update_episode(&v, v.episode_id, mine,
						 if_match, FUZZ_NOW, &w, &err);
			fhir_view_free(&v);
			settle(&f, ok, &w, &err);
			json_decref(mine);
			free_fixture(&f);
		}
}

static void request_create(const json_t *r, const char *ine)
{
	for (size_t m = 0; m < fixture_count; m++) {
		struct fixture f = copy_fixture(&fixtures[m][0]);
		struct fhir_write w;
		struct fhir_error err;
		bool ok = fhir_write_request(&config, &models, f.pathway, r,
					     ine, FUZZ_NOW, &w, &err);
		settle(&f, ok, &w, &err);
		free_fixture(&f);
	}
}

static void task_update(const json_t *r, int if_match)
{
	char id[FHIR_ID_MAX + 1];

	for (size_t m = 0; m < fixture_count; m++)
		for (int p = 1; p < PHASES; p++) {
			struct fixture f = copy_fixture(&fixtures[m][p]);
			struct fhir_view v;
			struct fhir_write w;
			struct fhir_error err;
			json_t *mine = json_deep_copy(r);
			bool ok;
			if (!fhir_view_load(&v, &config, f.model, f.pathway,
					    f.transitions))
				fuzz_fail("fixture does not load", NULL, NULL);
			fhir_id_referral(v.pathway_id, 2, id);
			json_object_set_new(mine, "id", json_string(id));
			ok = fhir_update_task(&v, id, mine, if_match, FUZZ_NOW,
					      &w, &err);
			fhir_view_free(&v);
			settle(&f, ok, &w, &err);
			json_decref(mine);
			free_fixture(&f);
		}
}

static void subscription(const json_t *r)
{
	struct fhir_subscription sub;
	struct fhir_error err;
	char why[160], sig[FHIR_SIGNATURE_LEN];
	json_t *back;

	if (!fhir_subscription_parse(&config, r, &sub, &err)) {
		if (err.error.code == ERR_NONE)
			fuzz_fail("a refused subscription without an error", r,
				  NULL);
		return;
	}
	if (!fhir_subscription_endpoint_ok(sub.endpoint, why, sizeof(why)))
		fuzz_fail("an accepted subscription has a bad endpoint", r,
			  NULL);
	back = fhir_subscription_to_json(&sub, "sub-1", sub.status, NULL);
	check_fhir_json(back, back);
	for (size_t m = 0; m < fixture_count; m++)
		for (int p = 0; p < PHASES; p++) {
			struct fhir_view v;
			json_t *all;
			const json_t *res;
			size_t i;
			if (!fhir_view_load(&v, &config, fixtures[m][p].model,
					    fixtures[m][p].pathway,
					    fixtures[m][p].transitions))
				fuzz_fail("fixture does not load", NULL, NULL);
			all = fhir_resource_all(&v);
			json_array_foreach(all, i, res)(void)
				fhir_subscription_matches(&sub, res);
			json_decref(all);
			fhir_view_free(&v);
		}
	if (!fhir_subscription_sign(sub.secret[0] ? sub.secret : "s",
				    sub.reason, strlen(sub.reason), sig) ||
	    !fhir_subscription_verify(sub.secret[0] ? sub.secret : "s",
				      sub.reason, strlen(sub.reason), sig))
		fuzz_fail("a signature does not verify", back, NULL);
	json_decref(back);
}

static void resource(const json_t *r, const char *ine, int if_match,
		     bool update);

static void bundle(const json_t *b)
{
	struct fhir_bundle_request req;
	struct fhir_error err;
	size_t order[MAX_BUNDLE];

	if (!fhir_bundle_parse(b, MAX_BUNDLE, &config, &req, &err)) {
		if (err.error.code == ERR_NONE)
			fuzz_fail("a refused Bundle without an error", b, NULL);
		json_decref(fhir_outcome(&config, &err));
		return;
	}
	fhir_bundle_order(&req, order);
	for (size_t i = 0; i < req.count; i++) {
		const struct fhir_entry *e = &req.entries[order[i]];
		if (order[i] >= req.count)
			fuzz_fail("fhir_bundle_order lost an entry", b, NULL);
		if (e->resource != NULL)
			resource(e->resource, e->if_none_exist,
				 e->if_match_version,
				 e->method == FHIR_METHOD_PUT);
	}
	fhir_bundle_request_free(&req);
}

static void resource(const json_t *r, const char *ine, int if_match,
		     bool update)
{
	const char *type =
		json_string_value(json_object_get(r, "resourceType"));

	if (type == NULL)
		return;
	if (strcmp(type, "EpisodeOfCare") == 0) {
		if (!update)
			episode_create(r, ine);
		episode_update(r, if_match);
	} else if (strcmp(type, "ServiceRequest") == 0) {
		request_create(r, ine);
	} else if (strcmp(type, "Task") == 0) {
		task_update(r, if_match);
	} else if (strcmp(type, "Subscription") == 0) {
		subscription(r);
	}
}

static void text(const char *s)
{
	struct fhir_id_parts parts;
	struct fhir_error err;
	char sys[FHIR_URL_MAX], value[ID_MAX + 2], why[160];
	char again[FHIR_ID_MAX + 1];

	if (fhir_id_parse(s, &parts) && !parts.hashed) {
		if (parts.seq > 0)
			fhir_id_referral(parts.pathway_id, parts.seq, again);
		else
			fhir_id_pathway(parts.pathway_id, again);
		if (strcmp(again, s) != 0)
			fuzz_fail("an id parses but encodes differently", NULL,
				  NULL);
	}
	(void)fhir_read_if_none_exist(s, sys, sizeof(sys), value, sizeof(value),
				      &err);
	(void)fhir_subscription_endpoint_ok(s, why, sizeof(why));
	(void)fhir_bundle_etag_version(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *doc =
		json_loadb((const char *)data, size,
			   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	const json_t *r = doc;
	const char *ine = NULL;
	int if_match = -1;

	if (doc == NULL)
		return 0;
	if (json_is_string(doc) &&
	    strlen(json_string_value(doc)) == json_string_length(doc))
		text(json_string_value(doc));
	if (json_is_array(doc)) {
		r = json_array_get(doc, 0);
		ine = json_string_value(json_array_get(doc, 1));
		if (json_is_integer(json_array_get(doc, 2)))
			if_match =
				(int)json_integer_value(json_array_get(doc, 2));
	}
	if (json_is_object(r) &&
	    json_is_string(json_object_get(r, "resourceType")) &&
	    strcmp(json_string_value(json_object_get(r, "resourceType")),
		   "Bundle") == 0)
		bundle(r);
	else if (json_is_object(r))
		resource(r, ine, if_match, false);
	json_decref(doc);
	return 0;
}

/* --- fixtures ------------------------------------------------------------- */

static void must_post(struct fixture *f, json_t *event)
{
	struct pp_error err;

	if (event == NULL || !post(f, event, &err)) {
		fprintf(stderr, "fuzz_fhir: fixture: %s\n", err.message);
		exit(2);
	}
	json_decref(event);
}

static json_t *event(const char *id, const char *type, const char *at,
		     const char *unit, json_t *data)
{
	json_t *ev =
		json_pack("{s:s, s:s, s:s, s:s, s:o}", "event_id", id, "type",
			  type, "patient_id", "p-fuzz", "occurred_at", at,
			  "data", data ? data : json_object());

	if (unit != NULL)
		json_object_set_new(ev, "unit", json_string(unit));
	return ev;
}

static void make_fixtures(const struct model *m, struct fixture out[])
{
	struct fixture f = {m, {0}, NULL, json_array()};
	json_t *open = event(
		"fx-1", "pathway.opened", "2025-05-05T08:00:00+02:00", "gp-1",
		json_pack("{s:i, s:s, s:[s]}", "age",
			  m->max_age >= 0 ? m->max_age : 40, "pain_onset",
			  "2024-10-01", "flags", "trauma"));

	json_object_set_new(open, "model", json_string(m->key));
	json_object_set_new(open, "region", json_string("region-1"));
	must_post(&f, open);
	out[0] = copy_fixture(&f);
	must_post(&f, event("fx-2", "referral.sent",
			    "2025-05-06T09:00:00+02:00", NULL,
			    json_pack("{s:s, s:s, s:b, s:s}", "to_level",
				      "clinic", "to_unit", "clinic-1",
				      "earlier_levels_considered", 1,
				      "justification", "fixture")));
	out[1] = copy_fixture(&f);
	must_post(&f, event("fx-3", "referral.received",
			    "2025-05-09T10:00:00+02:00", "clinic-1", NULL));
	out[2] = copy_fixture(&f);
	must_post(&f, event("fx-4", "referral.accepted",
			    "2025-05-16T11:00:00+02:00", "clinic-1",
			    json_pack("{s:s}", "deadline", "2025-08-01")));
	out[3] = copy_fixture(&f);
	must_post(&f, event("fx-5", "treatment.started",
			    "2025-06-02T11:00:00+02:00", "clinic-1", NULL));
	out[4] = f;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char why[128];

	(void)argc;
	(void)argv;
	fuzz_load_models(&models);
	if (!fhir_config_init(&config, "https://painpath.example.org/fhir", why,
			      sizeof(why))) {
		fprintf(stderr, "fuzz_fhir: %s\n", why);
		exit(2);
	}
	for (size_t i = 0; i < models.count && i < MAX_MODELS; i++)
		make_fixtures(&models.models[i], fixtures[fixture_count++]);
	return 0;
}
