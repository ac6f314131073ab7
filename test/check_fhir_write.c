/*
 * Unit tests for lib/fhir_write.c, lib/fhir_update.c and lib/fhir_read.c:
 * FHIR writes as a stock client sends them, translated into /v1 events
 * and then posted through the real parser and state machine
 * (test/fhir_fixture.h), so each test shows the event is the one /v1
 * would take.  Refusals name the FHIRPath of the element at fault, both
 * those of the translation and those the state machine gives back.
 */
#include <check.h>
#include <string.h>

#include "fhir_fixture.h"
#include "fhir_resource.h"
#include "fhir_update.h"
#include "fhir_write.h"
#include "suites.h"

/* 2030-01-01T00:00:00Z: the server clock where a write gives no time. */
#define NOW INT64_C(1893456000000)

static const char *at(const json_t *obj, const char *path)
{
	char buf[256], *save = NULL;
	const json_t *v = obj;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && v != NULL;
	     k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k))
				     : json_object_get(v, k);
	return json_string_value(v);
}

static void add_ext(json_t *r, const char *name, const char *key, json_t *value)
{
	char url[FHIR_URL_MAX];
	json_t *exts = json_object_get(r, "extension");

	if (exts == NULL) {
		exts = json_array();
		json_object_set_new(r, "extension", exts);
	}
	fhir_config_extension_url(fx_config(), name, url);
	json_array_append_new(exts,
			      json_pack("{s:s, s:o}", "url", url, key, value));
}

static json_t *coding(const char *cs, const char *code)
{
	char system[FHIR_URL_MAX];

	fhir_config_code_system(fx_config(), cs, system);
	return json_pack("{s:s, s:s}", "system", system, "code", code);
}

/* An EpisodeOfCare as an EHR would POST it to open a pathway. */
static json_t *episode_for(const char *key, const char *patient)
{
	const struct model *m = fx_model(key);
	json_t *r = json_pack(
		"{s:s, s:s, s:[{s:s, s:s}], s:[{s:[o]}], s:{s:{s:s, s:s}}, "
		"s:{s:{s:s, s:s}}, s:{s:s}}",
		"resourceType", "EpisodeOfCare", "status", "active",
		"identifier", "system", "urn:ehr:x", "value", "open-1", "type",
		"coding", coding("model", key), "patient", "identifier",
		"system", m->fhir.patient_system, "value", patient,
		"managingOrganization", "identifier", "system",
		m->fhir.unit_system, "value", "gp-1", "period", "start",
		"2025-03-03T09:15:00+01:00");

	add_ext(r, "region", "valueCode", json_string("region-1"));
	add_ext(r, "level", "valueCoding", coding("level", "gp"));
	add_ext(r, "age", "valueInteger",
		json_integer(m->max_age >= 0 ? 12 : 40));
	add_ext(r, "pain-onset", "valueDate", json_string("2024-09-01"));
	add_ext(r, "flag", "valueCoding", coding("flag", "trauma"));
	add_ext(r, "flag", "valueCode", json_string("interpreter_needed"));
	return r;
}

/* A referral to clinic-1 as an EHR would POST it. */
static json_t *request_for(const struct model *m, const char *patient)
{
	json_t *r = json_pack(
		"{s:s, s:s, s:s, s:[{s:s, s:s}], s:{s:[o]}, s:{s:{s:s, s:s}}, "
		"s:s, s:{s:{s:s, s:s}}, s:[{s:{s:s, s:s}}]}",
		"resourceType", "ServiceRequest", "status", "active", "intent",
		"order", "identifier", "system", "urn:ehr:x", "value", "ref-1",
		"code", "coding", coding("level", "clinic"), "subject",
		"identifier", "system", m->fhir.patient_system, "value",
		patient, "authoredOn", "2025-03-04T10:00:00+01:00", "requester",
		"identifier", "system", m->fhir.unit_system, "value", "gp-1",
		"performer", "identifier", "system", m->fhir.unit_system,
		"value", "clinic-1");
	json_t *parts =
		json_pack("[{s:s, s:b}, {s:s, s:s}]", "url", "considered",
			  "valueBoolean", 1, "url", "justification",
			  "valueString", "no effect at level 1 and 2");

	add_ext(r, "earlier-levels", "extension", parts);
	add_ext(r, "referral-content", "extension",
		json_pack("[{s:s, s:b}, {s:s, s:s}]", "url", "patient_view",
			  "valueBoolean", 1, "url", "medicines", "valueString",
			  "paracetamol"));
	return r;
}

static void post_ok(struct fx *fx, const struct fhir_write *w)
{
	struct pp_error err;

	ck_assert_int_eq(w->kind, FHIR_WRITE_EVENT);
	ck_assert_msg(fx_post(fx, w->event, &err), "%s: %s %s",
		      at(w->event, "type"), error_code_name(err.code),
		      err.message);
}

/* Opens a pathway and sends a referral through FHIR. */
static void open_and_refer(struct fx *fx, const char *key)
{
	struct fhir_write w;
	struct fhir_error err;
	json_t *r = episode_for(key, "p-1");

	fx_init(fx, key);
	ck_assert_msg(fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW,
					 &w, &err),
		      "%s", err.error.message);
	post_ok(fx, &w);
	fhir_write_free(&w);
	json_decref(r);
	r = request_for(fx->model, "p-1");
	ck_assert_msg(fhir_write_request(fx_config(), fx_models(), fx->pathway,
					 r, NULL, NOW, &w, &err),
		      "%s", err.error.message);
	post_ok(fx, &w);
	fhir_write_free(&w);
	json_decref(r);
}

/* --- POST EpisodeOfCare ----------------------------------------------------
 */

START_TEST(test_episode_create)
{
	struct fx fx;
	struct fhir_write w;
	struct fhir_error err;
	json_t *r = episode_for("no", "p-9");
	json_t *ev, *all;

	fx_init(&fx, "no");
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW, &w,
				     &err));
	ev = w.event;
	ck_assert_str_eq(at(ev, "type"), "pathway.opened");
	ck_assert_str_eq(at(ev, "event_id"), "open-1");
	ck_assert_str_eq(at(ev, "patient_id"), "p-9");
	ck_assert_str_eq(at(ev, "model"), "no");
	ck_assert_str_eq(at(ev, "region"), "region-1");
	ck_assert_str_eq(at(ev, "unit"), "gp-1");
	ck_assert_str_eq(at(ev, "occurred_at"), "2025-03-03T09:15:00+01:00");
	ck_assert(!w.occurred_at_assumed);
	ck_assert_str_eq(at(ev, "data.level"), "gp");
	ck_assert_str_eq(at(ev, "data.pain_onset"), "2024-09-01");
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(ev, "data"), "age")),
			 40);
	ck_assert_str_eq(at(ev, "data.flags.1"), "interpreter_needed");
	ck_assert_str_eq(at(ev, "data.fhir.identifier_system"), "urn:ehr:x");
	post_ok(&fx, &w);
	ck_assert_str_eq(at(fx.pathway, "phase"), "active");
	ck_assert_str_eq(at(fx.pathway, "flags.0"), "trauma");
	/* Read back: the client's identifier as it sent it. */
	all = NULL;
	{
		struct fhir_view v;
		ck_assert(fhir_view_load(&v, fx_config(), fx.model, fx.pathway,
					 fx.transitions));
		all = fhir_resource_all(&v);
		fhir_view_free(&v);
	}
	ck_assert_str_eq(at(all, "0.identifier.1.system"), "urn:ehr:x");
	ck_assert_str_eq(at(all, "0.identifier.1.value"), "open-1");
	json_decref(all);
	fhir_write_free(&w);
	json_decref(r);
	fx_free(&fx);
}
END_TEST

START_TEST(test_business_identifier)
{
	struct fhir_write a, b;
	struct fhir_error err;
	json_t *r = episode_for("dk", "p-2");

	/* If-None-Exist agrees with the resource. */
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r,
				     "identifier=urn:ehr:x%7Copen-1", NOW, &a,
				     &err));
	ck_assert_str_eq(at(a.event, "event_id"), "open-1");
	fhir_write_free(&a);
	/* ... or names one it does not carry. */
	ck_assert(!fhir_write_episode(fx_config(), fx_models(), r,
				      "identifier=urn:ehr:x|open-2", NOW, &a,
				      &err));
	ck_assert_str_eq(err.expression, "If-None-Exist");
	/* The same value in another system is another identifier. */
	ck_assert(!fhir_write_episode(fx_config(), fx_models(), r,
				      "identifier=urn:ehr:other|open-1", NOW,
				      &a, &err));
	ck_assert_str_eq(err.expression, "If-None-Exist");
	/* A value alone matches in any system. */
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r,
				     "identifier=open-1", NOW, &a, &err));
	ck_assert_str_eq(at(a.event, "event_id"), "open-1");
	fhir_write_free(&a);
	ck_assert(!fhir_write_episode(fx_config(), fx_models(), r,
				      "patient=p-2", NOW, &a, &err));
	ck_assert_str_eq(err.issue_type, "not-supported");
	/* No identifier at all: If-None-Exist gives it. */
	json_object_del(r, "identifier");
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r,
				     "identifier=urn:ehr:y|open-3", NOW, &a,
				     &err));
	ck_assert_str_eq(at(a.event, "event_id"), "open-3");
	ck_assert_str_eq(at(a.event, "data.fhir.identifier_system"),
			 "urn:ehr:y");
	fhir_write_free(&a);
	/* Neither: a hash of the body, the same for the same body. */
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW, &a,
				     &err));
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW, &b,
				     &err));
	ck_assert_str_eq(at(a.event, "event_id"), at(b.event, "event_id"));
	ck_assert(strncmp(at(a.event, "event_id"),
			  "fhir:EpisodeOfCare:sha256:", 26) == 0);
	fhir_write_free(&a);
	fhir_write_free(&b);
	/* A value outside our id alphabet cannot be an event id. */
	json_object_set_new(
		r, "identifier",
		json_pack("[{s:s, s:s}]", "system", "urn:x", "value", "a/b"));
	ck_assert(!fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW,
				      &a, &err));
	ck_assert_str_eq(err.expression, "EpisodeOfCare.identifier[0].value");
	/* Our pathway-id system chooses the pathway id. */
	json_object_set_new(r, "identifier",
			    json_pack("[{s:s, s:s}, {s:s, s:s}]", "system",
				      fx_config()->pathway_id_system, "value",
				      "pw-chosen", "system", "urn:x", "value",
				      "open-4"));
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW, &a,
				     &err));
	ck_assert_str_eq(at(a.event, "pathway_id"), "pw-chosen");
	ck_assert_str_eq(at(a.event, "event_id"), "open-4");
	fhir_write_free(&a);
	json_decref(r);
}
END_TEST

/* Translation refusals: a change to the resource, and the element the
 * refusal names. */
static const struct {
	const char *key;  /* top-level key to set */
	const char *json; /* its new value; NULL deletes it */
	const char *expression;
} episode_refusals[] = {
	{"resourceType", "\"Patient\"", "EpisodeOfCare"},
	{"status", "\"planned\"", "EpisodeOfCare.status"},
	{"type", NULL, "EpisodeOfCare.type"},
	{"type", "[{\"coding\":[{\"system\":\"urn:x\",\"code\":\"no\"}]}]",
	 "EpisodeOfCare.type"},
	{"patient",
	 "{\"identifier\":{\"system\":\"urn:oid:1.2.3\","
	 "\"value\":\"p\"}}",
	 "EpisodeOfCare.patient.identifier.system"},
	{"patient", "{\"reference\":\"Patient/7\"}",
	 "EpisodeOfCare.patient.reference"},
	{"patient", "{\"identifier\":{\"value\":7}}",
	 "EpisodeOfCare.patient.identifier.value"},
	{"managingOrganization",
	 "{\"identifier\":{\"system\":\"urn:oid:1.2.3\",\"value\":\"u\"}}",
	 "EpisodeOfCare.managingOrganization.identifier.system"},
	{"period", "{\"start\":\"2025-03-03\"}", "EpisodeOfCare.period.start"},
	{"modifierExtension", "[{\"url\":\"urn:x\",\"valueBoolean\":true}]",
	 "EpisodeOfCare.modifierExtension"},
	{"implicitRules", "\"urn:x\"", "EpisodeOfCare.implicitRules"},
	{"identifier", "{\"value\":\"x\"}", "EpisodeOfCare.identifier"},
};

START_TEST(test_episode_refusals)
{
	json_t *r = episode_for("no", "p-3");
	struct fhir_write w;
	struct fhir_error err;

	if (episode_refusals[_i].json != NULL)
		json_object_set_new(r, episode_refusals[_i].key,
				    json_loads(episode_refusals[_i].json,
					       JSON_DECODE_ANY, NULL));
	else
		json_object_del(r, episode_refusals[_i].key);
	ck_assert_msg(!fhir_write_episode(fx_config(), fx_models(), r, NULL,
					  NOW, &w, &err),
		      "%s accepted", episode_refusals[_i].key);
	ck_assert_msg(strcmp(err.expression, episode_refusals[_i].expression) ==
			      0,
		      "%s: %s", episode_refusals[_i].key, err.expression);
	ck_assert_int_eq(error_http_status(err.error.code), 400);
	ck_assert(w.event == NULL);
	json_decref(r);
}
END_TEST

START_TEST(test_unknown_painpath_extension)
{
	json_t *r = episode_for("dk", "p-3");
	struct fhir_write w;
	struct fhir_error err;
	char ext_url[FHIR_URL_MAX];

	add_ext(r, "colour", "valueCode", json_string("blue"));
	ck_assert(!fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW,
				      &w, &err));
	ck_assert_str_eq(err.expression, "EpisodeOfCare.extension[6]");
	ck_assert_str_eq(err.issue_type, "extension");
	/* Someone else's extension is left alone. */
	json_array_remove(json_object_get(r, "extension"), 6);
	json_array_append_new(json_object_get(r, "extension"),
			      json_pack("{s:s, s:s}", "url", "http://hl7.no/x",
					"valueString", "y"));
	ck_assert(fhir_write_episode(fx_config(), fx_models(), r, NULL, NOW, &w,
				     &err));
	fhir_write_free(&w);
	fhir_config_extension_url(fx_config(), "level", ext_url);
	(void)ext_url;
	json_decref(r);
}
END_TEST

/* Refusals of the translated event by the parser or the state machine,
 * pointed back at the element (fhir_write_error). */
START_TEST(test_episode_refused_by_the_state_machine)
{
	static const struct {
		const char *ext;
		const char *value_key;
		const char *value;
		const char *expression_ext; /* NULL: expression below */
		const char *expression;
		const char *model;
	} cases[] = {
		{"region", NULL, NULL, "region", NULL, "no"},
		{"pain-onset", "valueDate", "2025-13-01", "pain-onset", NULL,
		 "no"},
		{"flag", "valueCode", "vip", "flag", NULL, "dk"},
		{"age", "valueInteger", "12", NULL, "EpisodeOfCare.type", "no"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = episode_for(cases[i].model, "p-4");
		json_t *exts = json_object_get(r, "extension");
		struct fhir_write w;
		struct fhir_error err, mapped;
		struct pp_error refusal;
		char url[FHIR_URL_MAX], want[FHIR_EXPRESSION_MAX];
		struct fx fx;
		const json_t *e;
		size_t k;

		fhir_config_extension_url(fx_config(), cases[i].ext, url);
		json_array_foreach(exts, k,
				   e) if (!strcmp(at(e, "url"), url)) break;
		if (cases[i].value_key == NULL)
			json_array_remove(exts, k);
		else if (!strcmp(cases[i].value_key, "valueInteger"))
			add_ext(r, cases[i].ext, cases[i].value_key,
				json_integer(atoi(cases[i].value)));
		else
			add_ext(r, cases[i].ext, cases[i].value_key,
				json_string(cases[i].value));
		if (cases[i].value_key != NULL &&
		    strcmp(cases[i].ext, "flag") != 0)
			json_array_remove(exts, k);
		ck_assert(fhir_write_episode(fx_config(), fx_models(), r, NULL,
					     NOW, &w, &err));
		fx_init(&fx, cases[i].model);
		ck_assert_msg(!fx_post(&fx, w.event, &refusal), "case %zu", i);
		fhir_write_error(fx_config(), &w, &refusal, &mapped);
		if (cases[i].expression_ext != NULL)
			snprintf(want, sizeof(want),
				 "EpisodeOfCare.extension('%s')", url);
		else
			snprintf(want, sizeof(want), "%s", cases[i].expression);
		ck_assert_msg(!strcmp(mapped.expression, want),
			      "case %zu (%s): %s", i, refusal.field,
			      mapped.expression);
		ck_assert_int_eq(mapped.error.code, refusal.code);
		fhir_write_free(&w);
		fx_free(&fx);
		json_decref(r);
	}
}
END_TEST

/* --- POST ServiceRequest ---------------------------------------------------
 */

START_TEST(test_request_create)
{
	struct fx fx;
	struct fhir_view v;
	json_t *sr;

	open_and_refer(&fx, "se-adult");
	ck_assert_str_eq(at(fx.pathway, "phase"), "referred");
	ck_assert_str_eq(at(fx.pathway, "referral.to_unit"), "clinic-1");
	ck_assert_str_eq(at(fx.transitions, "1.event_id"), "ref-1");
	ck_assert(json_is_true(json_object_get(
		json_object_get(json_array_get(fx.transitions, 1), "data"),
		"earlier_levels_considered")));
	ck_assert_str_eq(at(fx.transitions, "1.data.content.medicines"),
			 "paracetamol");
	/* Read back as the client wrote it. */
	ck_assert(fhir_view_load(&v, fx_config(), fx.model, fx.pathway,
				 fx.transitions));
	sr = fhir_resource_read(&v, "ServiceRequest", "pw-fixture.r2") ?: NULL;
	if (sr == NULL) {
		char id[FHIR_ID_MAX + 1];
		fhir_id_referral(at(fx.pathway, "pathway_id"), 2, id);
		sr = fhir_resource_read(&v, "ServiceRequest", id);
	}
	ck_assert(sr != NULL);
	ck_assert_str_eq(at(sr, "identifier.0.system"), "urn:ehr:x");
	ck_assert_str_eq(at(sr, "identifier.0.value"), "ref-1");
	ck_assert_str_eq(at(sr, "authoredOn"), "2025-03-04T09:00:00.000Z");
	ck_assert_str_eq(at(sr, "extension.0.extension.1.valueString"),
			 "no effect at level 1 and 2");
	ck_assert_str_eq(at(sr, "extension.1.extension.1.url"), "medicines");
	json_decref(sr);
	fhir_view_free(&v);
	fx_free(&fx);
}
END_TEST

static const struct {
	const char *key;
	const char *json;
	const char *expression;
} request_refusals[] = {
	{"intent", "\"plan\"", "ServiceRequest.intent"},
	{"status", "\"draft\"", "ServiceRequest.status"},
	{"performer",
	 "[{\"identifier\":{\"value\":\"a\"}},{\"identifier\":{\"value\":"
	 "\"b\"}}]",
	 "ServiceRequest.performer"},
	{"performer",
	 "[{\"identifier\":{\"system\":\"urn:x\",\"value\":\"a\"}}]",
	 "ServiceRequest.performer[0].identifier.system"},
	{"subject", "{\"identifier\":{\"system\":\"urn:x\",\"value\":\"p-1\"}}",
	 "ServiceRequest.subject.identifier.system"},
	{"authoredOn", "\"2025-03\"", "ServiceRequest.authoredOn"},
	{"code", "[1]", "ServiceRequest.code"},
};

START_TEST(test_request_refusals)
{
	struct fx fx;
	struct fhir_write w;
	struct fhir_error err;
	json_t *r;

	fx_open(&fx, "no", "pw-r", NULL);
	r = request_for(fx.model, "p-pw-r");
	json_object_set_new(
		r, request_refusals[_i].key,
		json_loads(request_refusals[_i].json, JSON_DECODE_ANY, NULL));
	ck_assert_msg(!fhir_write_request(fx_config(), fx_models(), fx.pathway,
					  r, NULL, NOW, &w, &err),
		      "%s accepted", request_refusals[_i].key);
	ck_assert_msg(!strcmp(err.expression, request_refusals[_i].expression),
		      "%s: %s", request_refusals[_i].key, err.expression);
	json_decref(r);
	fx_free(&fx);
}
END_TEST

START_TEST(test_request_refused_by_the_state_machine)
{
	struct fx fx;
	struct fhir_write w;
	struct fhir_error err, mapped;
	struct pp_error refusal;
	char url[FHIR_URL_MAX], want[FHIR_EXPRESSION_MAX];
	json_t *r;

	/* Sweden: a pain centre only after the clinic, or with earlier
	 * levels considered (the guard names the extension). */
	fx_open(&fx, "se-adult", "pw-guard", NULL);
	r = request_for(fx.model, "p-pw-guard");
	json_object_set_new(
		r, "code",
		json_pack("{s:[o]}", "coding", coding("level", "centre")));
	json_object_del(r, "extension");
	ck_assert(fhir_write_request(fx_config(), fx_models(), fx.pathway, r,
				     NULL, NOW, &w, &err));
	ck_assert(!fx_post(&fx, w.event, &refusal));
	ck_assert_int_eq(refusal.code, ERR_GUARD_FAILED);
	fhir_write_error(fx_config(), &w, &refusal, &mapped);
	fhir_config_extension_url(fx_config(), "earlier-levels", url);
	snprintf(want, sizeof(want), "ServiceRequest.extension('%s')", url);
	ck_assert_str_eq(mapped.expression, want);
	fhir_write_free(&w);
	/* No level asked for: the parser's refusal names the code. */
	json_object_del(r, "code");
	ck_assert(fhir_write_request(fx_config(), fx_models(), fx.pathway, r,
				     NULL, NOW, &w, &err));
	ck_assert(!fx_post(&fx, w.event, &refusal));
	fhir_write_error(fx_config(), &w, &refusal, &mapped);
	ck_assert_str_eq(mapped.expression, "ServiceRequest.code");
	fhir_write_free(&w);
	/* Another patient's pathway is never joined. */
	json_object_set_new(
		json_object_get(json_object_get(r, "subject"), "identifier"),
		"value", json_string("p-somebody-else"));
	ck_assert(!fhir_write_request(fx_config(), fx_models(), fx.pathway, r,
				      NULL, NOW, &w, &err));
	ck_assert_str_eq(err.expression,
			 "ServiceRequest.subject.identifier.value");
	/* No open pathway: the event names none; the commit path answers
	 * not_found. */
	ck_assert(fhir_write_request(fx_config(), fx_models(), NULL, r, NULL,
				     NOW, &w, &err));
	ck_assert(json_object_get(w.event, "pathway_id") == NULL);
	fhir_write_free(&w);
	json_decref(r);
	fx_free(&fx);
}
END_TEST

/* --- PUT Task --------------------------------------------------------------
 */

/* The Task of the pathway's referral sent at seq, as a client reads it. */
static json_t *read_task(struct fx *fx, int seq, char id[FHIR_ID_MAX + 1])
{
	struct fhir_view v;
	json_t *t;

	fhir_id_referral(at(fx->pathway, "pathway_id"), seq, id);
	ck_assert(fhir_view_load(&v, fx_config(), fx->model, fx->pathway,
				 fx->transitions));
	t = fhir_resource_read(&v, "Task", id);
	fhir_view_free(&v);
	ck_assert(t != NULL);
	return t;
}

/* PUT Task/id with the resource t (borrowed) at the pathway's version;
 * returns the translation's success, w and err filled. */
static bool put_task(struct fx *fx, const char *id, const json_t *t,
		     struct fhir_write *w, struct fhir_error *err)
{
	struct fhir_view v;
	bool ok;

	ck_assert(fhir_view_load(&v, fx_config(), fx->model, fx->pathway,
				 fx->transitions));
	ok = fhir_update_task(&v, id, t, v.version, NOW, w, err);
	fhir_view_free(&v);
	return ok;
}

static void move_task(struct fx *fx, const char *status, const char *when,
		      json_t *changes)
{
	char id[FHIR_ID_MAX + 1];
	json_t *t = read_task(fx, 2, id);
	struct fhir_write w;
	struct fhir_error err;

	json_object_set_new(t, "status", json_string(status));
	json_object_set_new(t, "lastModified", json_string(when));
	if (changes != NULL)
		json_object_update(t, changes);
	ck_assert_msg(put_task(fx, id, t, &w, &err), "%s: %s", status,
		      err.error.message);
	post_ok(fx, &w);
	fhir_write_free(&w);
	json_decref(changes);
	json_decref(t);
	t = read_task(fx, 2, id);
	ck_assert_str_eq(at(t, "status"), status);
	json_decref(t);
}

START_TEST(test_task_walk_every_model)
{
	const struct model_set *set = fx_models();

	for (size_t i = 0; i < set->count; i++) {
		struct fx fx;
		open_and_refer(&fx, set->models[i].key);
		move_task(&fx, "received", "2025-03-06T08:00:00+01:00", NULL);
		ck_assert_str_eq(at(fx.pathway, "phase"), "assessing");
		move_task(&fx, "accepted", "2025-03-12T08:00:00+01:00",
			  json_pack("{s:{s:{s:s}}}", "restriction", "period",
				    "end", "2025-05-01"));
		ck_assert_str_eq(at(fx.pathway, "phase"), "waiting");
		ck_assert_str_eq(at(fx.pathway, "referral.deadline"),
				 "2025-05-01");
		move_task(&fx, "in-progress", "2025-04-10T08:00:00+02:00",
			  NULL);
		ck_assert_str_eq(at(fx.pathway, "level"), "clinic");
		ck_assert_str_eq(at(fx.pathway, "unit"), "clinic-1");
		ck_assert_str_eq(at(fx.transitions, "4.occurred_at"),
				 "2025-04-10T06:00:00.000Z");
		fx_free(&fx);
	}
}
END_TEST

START_TEST(test_task_retry_and_event_ids)
{
	struct fx fx;
	char id[FHIR_ID_MAX + 1];
	json_t *t;
	struct fhir_write a, b;
	struct fhir_error err;

	open_and_refer(&fx, "dk");
	t = read_task(&fx, 2, id);
	json_object_set_new(t, "status", json_string("received"));
	ck_assert(put_task(&fx, id, t, &a, &err));
	ck_assert(put_task(&fx, id, t, &b, &err));
	/* The same PUT twice before it commits: one event id. */
	ck_assert_str_eq(at(a.event, "event_id"), at(b.event, "event_id"));
	ck_assert_str_eq(at(a.event, "event_id"),
			 "fhir:Task:pw-fixture.r2:2:received");
	/* No time in the resource: the server's now, and it says so. */
	ck_assert(a.occurred_at_assumed);
	ck_assert_str_eq(at(a.event, "occurred_at"),
			 "2030-01-01T00:00:00.000Z");
	ck_assert_str_eq(at(a.event, "unit"), "clinic-1");
	post_ok(&fx, &a);
	fhir_write_free(&a);
	fhir_write_free(&b);
	/* Retried after it committed, with the If-Match it had: the Task
	 * already says received; nothing to record. */
	{
		struct fhir_view v;
		ck_assert(fhir_view_load(&v, fx_config(), fx.model, fx.pathway,
					 fx.transitions));
		ck_assert(fhir_update_task(&v, id, t, 2, NOW, &a, &err));
		ck_assert_int_eq(a.kind, FHIR_WRITE_NOOP);
		ck_assert(a.event == NULL);
		fhir_view_free(&v);
	}
	json_decref(t);
	fx_free(&fx);
}
END_TEST

START_TEST(test_task_reject)
{
	struct fx fx;
	char id[FHIR_ID_MAX + 1];
	json_t *t;

	open_and_refer(&fx, "no");
	move_task(&fx, "received", "2025-03-06T08:00:00+01:00", NULL);
	move_task(&fx, "rejected", "2025-03-10T08:00:00+01:00",
		  json_pack("{s:{s:s}, s:[{s:s}]}", "statusReason", "text",
			    "not long-lasting enough", "note", "text",
			    "physiotherapy first"));
	ck_assert_str_eq(at(fx.pathway, "phase"), "active");
	ck_assert_str_eq(at(fx.transitions, "3.data.reason"),
			 "not long-lasting enough");
	ck_assert_str_eq(at(fx.transitions, "3.data.advice"),
			 "physiotherapy first");
	t = read_task(&fx, 2, id);
	ck_assert_str_eq(at(t, "note.0.text"), "physiotherapy first");
	json_decref(t);
	fx_free(&fx);
}
END_TEST

START_TEST(test_task_norway_needs_a_deadline)
{
	struct fx fx;
	char id[FHIR_ID_MAX + 1];
	json_t *t;
	struct fhir_write w;
	struct fhir_error err, mapped;
	struct pp_error refusal;

	open_and_refer(&fx, "no");
	move_task(&fx, "received", "2025-03-06T08:00:00+01:00", NULL);
	/* The client echoes the assessment deadline it read: that is not
	 * the clinic's deadline for treatment. */
	t = read_task(&fx, 2, id);
	ck_assert_str_eq(at(t, "restriction.period.end"), "2025-03-20");
	json_object_set_new(t, "status", json_string("accepted"));
	ck_assert(put_task(&fx, id, t, &w, &err));
	ck_assert(json_object_get(json_object_get(w.event, "data"),
				  "deadline") == NULL);
	ck_assert(!fx_post(&fx, w.event, &refusal));
	ck_assert_int_eq(refusal.code, ERR_GUARD_FAILED);
	fhir_write_error(fx_config(), &w, &refusal, &mapped);
	ck_assert_str_eq(mapped.expression, "Task.restriction.period.end");
	fhir_write_free(&w);
	/* A dateTime deadline is the local date in Oslo. */
	json_object_set_new(t, "restriction",
			    json_pack("{s:{s:s}}", "period", "end",
				      "2025-04-30T23:30:00Z"));
	json_object_set_new(t, "lastModified",
			    json_string("2025-03-12T08:00:00+01:00"));
	ck_assert(put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(at(w.event, "data.deadline"), "2025-05-01");
	post_ok(&fx, &w);
	fhir_write_free(&w);
	json_decref(t);
	fx_free(&fx);
}
END_TEST

START_TEST(test_task_refusals)
{
	struct fx fx;
	char id[FHIR_ID_MAX + 1];
	json_t *t;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "dk");
	t = read_task(&fx, 2, id);
	/* No event completes a Task. */
	json_object_set_new(t, "status", json_string("completed"));
	ck_assert(!put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(err.expression, "Task.status");
	ck_assert_str_eq(err.issue_type, "business-rule");
	json_object_set_new(t, "status", json_string("done"));
	ck_assert(!put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(err.expression, "Task.status");
	/* Who it is for, and what it fulfils, do not change. */
	json_object_set_new(t, "status", json_string("received"));
	json_object_set_new(
		t, "for",
		json_pack("{s:{s:s}}", "identifier", "value", "someone-else"));
	ck_assert(!put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(err.expression, "Task.for.identifier.value");
	json_decref(t);
	t = read_task(&fx, 2, id);
	json_object_set_new(
		t, "focus",
		json_pack("{s:s}", "reference", "ServiceRequest/other"));
	ck_assert(!put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(err.expression, "Task.focus");
	/* The body's id is the URL's. */
	json_object_set_new(t, "id", json_string("pw-fixture.r3"));
	ck_assert(!put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(err.expression, "Task.id");
	ck_assert(!put_task(&fx, "pw-fixture.r3", t, &w, &err));
	ck_assert_int_eq(err.error.code, ERR_NOT_FOUND);
	json_decref(t);
	fx_free(&fx);
}
END_TEST

START_TEST(test_task_over)
{
	struct fx fx;
	char id[FHIR_ID_MAX + 1];
	json_t *t;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "se-child");
	move_task(&fx, "cancelled", "2025-03-05T08:00:00+01:00",
		  json_pack("{s:{s:s}}", "statusReason", "text",
			    "the family moved"));
	ck_assert_str_eq(at(fx.transitions, "2.type"), "referral.withdrawn");
	ck_assert_str_eq(at(fx.transitions, "2.data.reason"),
			 "the family moved");
	/* The workflow is over: receiving it now is refused, with the
	 * phase and what it allows, as /v1 says illegal_transition. */
	t = read_task(&fx, 2, id);
	json_object_set_new(t, "status", json_string("received"));
	ck_assert(!put_task(&fx, id, t, &w, &err));
	ck_assert_int_eq(err.error.code, ERR_ILLEGAL_TRANSITION);
	ck_assert_int_eq(err.error.phase, PHASE_ACTIVE);
	ck_assert(err.error.allowed & (1u << EV_REFERRAL_SENT));
	ck_assert_str_eq(err.expression, "Task.status");
	json_decref(t);
	fx_free(&fx);
}
END_TEST

START_TEST(test_task_entered_in_error)
{
	struct fx fx;
	char id[FHIR_ID_MAX + 1];
	json_t *t;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "no");
	t = read_task(&fx, 2, id);
	json_object_set_new(t, "status", json_string("entered-in-error"));
	json_object_set_new(t, "statusReason",
			    json_pack("{s:s}", "text", "wrong patient"));
	ck_assert(put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(at(w.event, "type"), "event.retracted");
	ck_assert_str_eq(at(w.event, "data.event_id"), "ref-1");
	ck_assert_str_eq(at(w.event, "data.reason"), "wrong patient");
	ck_assert_str_eq(at(w.event, "event_id"),
			 "fhir:Task:pw-fixture.r2:2:entered-in-error");
	ck_assert(json_object_get(w.event, "unit") == NULL);
	fhir_write_free(&w);
	json_decref(t);
	fx_free(&fx);
}
END_TEST

START_TEST(test_task_free_choice)
{
	struct fx fx;
	char id[FHIR_ID_MAX + 1];
	json_t *t;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "dk");
	move_task(&fx, "received", "2025-03-06T08:00:00+01:00", NULL);
	move_task(&fx, "accepted", "2025-03-12T08:00:00+01:00", NULL);
	t = read_task(&fx, 2, id);
	/* The same status with nothing new: nothing to do. */
	ck_assert(put_task(&fx, id, t, &w, &err));
	ck_assert_int_eq(w.kind, FHIR_WRITE_NOOP);
	/* The patient chose a private clinic. */
	json_object_set_new(t, "owner",
			    json_pack("{s:{s:s, s:s}}", "identifier", "system",
				      fx.model->fhir.unit_system, "value",
				      "private-9"));
	json_object_set_new(t, "lastModified",
			    json_string("2025-04-07T10:00:00+02:00"));
	ck_assert(put_task(&fx, id, t, &w, &err));
	ck_assert_str_eq(at(w.event, "type"), "free_choice.chosen");
	ck_assert_str_eq(at(w.event, "data.to_unit"), "private-9");
	ck_assert_str_eq(at(w.event, "occurred_at"),
			 "2025-04-07T10:00:00+02:00");
	post_ok(&fx, &w);
	fhir_write_free(&w);
	json_decref(t);
	t = read_task(&fx, 2, id);
	ck_assert_str_eq(at(t, "owner.identifier.value"), "private-9");
	json_decref(t);
	fx_free(&fx);
}
END_TEST

/* --- PUT EpisodeOfCare ---------------------------------------------------- */

static json_t *read_episode(struct fx *fx)
{
	struct fhir_view v;
	json_t *e;

	ck_assert(fhir_view_load(&v, fx_config(), fx->model, fx->pathway,
				 fx->transitions));
	e = fhir_resource_episode(&v);
	fhir_view_free(&v);
	return e;
}

static bool put_episode(struct fx *fx, const json_t *e, struct fhir_write *w,
			struct fhir_error *err)
{
	struct fhir_view v;
	bool ok;

	ck_assert(fhir_view_load(&v, fx_config(), fx->model, fx->pathway,
				 fx->transitions));
	ok = fhir_update_episode(&v, v.episode_id, e, -1, NOW, w, err);
	fhir_view_free(&v);
	return ok;
}

/* Removes our extensions named name from a resource. */
static void drop_ext(json_t *r, const char *name)
{
	char url[FHIR_URL_MAX];
	json_t *exts = json_object_get(r, "extension");

	fhir_config_extension_url(fx_config(), name, url);
	for (size_t i = json_array_size(exts); i-- > 0;)
		if (!strcmp(at(json_array_get(exts, i), "url"), url))
			json_array_remove(exts, i);
}

START_TEST(test_episode_close_and_reopen)
{
	struct fx fx;
	json_t *e;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "no");
	e = read_episode(&fx);
	/* Nothing changed: nothing to do. */
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_int_eq(w.kind, FHIR_WRITE_NOOP);
	json_object_set_new(e, "status", json_string("finished"));
	json_object_set_new(json_object_get(e, "period"), "end",
			    json_string("2025-03-20T12:00:00+01:00"));
	add_ext(e, "close-reason", "valueCoding",
		coding("close-reason", "moved"));
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(at(w.event, "type"), "pathway.closed");
	ck_assert_str_eq(at(w.event, "data.reason"), "moved");
	ck_assert_str_eq(at(w.event, "occurred_at"),
			 "2025-03-20T12:00:00+01:00");
	ck_assert_str_eq(at(w.event, "event_id"),
			 "fhir:EpisodeOfCare:pw-fixture:2:finished");
	post_ok(&fx, &w);
	fhir_write_free(&w);
	json_decref(e);
	e = read_episode(&fx);
	ck_assert_str_eq(at(e, "status"), "finished");
	/* Reopening a finished episode asks for pathway.reopened. */
	json_object_set_new(e, "status", json_string("active"));
	add_ext(e, "status-reason", "valueString",
		json_string("the patient came back"));
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(at(w.event, "type"), "pathway.reopened");
	ck_assert_str_eq(at(w.event, "data.reason"), "the patient came back");
	fhir_write_free(&w);
	json_decref(e);
	fx_free(&fx);
}
END_TEST

START_TEST(test_episode_status_refusals)
{
	struct fx fx;
	json_t *e;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "dk");
	e = read_episode(&fx);
	json_object_set_new(e, "status", json_string("waitlist"));
	ck_assert(!put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(err.expression, "EpisodeOfCare.status");
	ck_assert_str_eq(err.issue_type, "business-rule");
	json_object_set_new(e, "status", json_string("closed"));
	ck_assert(!put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(err.expression, "EpisodeOfCare.status");
	/* Closing and adding a flag at once. */
	json_object_set_new(e, "status", json_string("finished"));
	add_ext(e, "flag", "valueCode", json_string("elderly"));
	ck_assert(!put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(err.expression, "EpisodeOfCare");
	json_decref(e);
	e = read_episode(&fx);
	json_object_set_new(
		e, "patient",
		json_pack("{s:{s:s}}", "identifier", "value", "p-other"));
	ck_assert(!put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(err.expression,
			 "EpisodeOfCare.patient.identifier.value");
	json_decref(e);
	fx_free(&fx);
}
END_TEST

START_TEST(test_episode_retract_opening)
{
	struct fx fx;
	json_t *e;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "se-adult");
	e = read_episode(&fx);
	json_object_set_new(e, "status", json_string("entered-in-error"));
	add_ext(e, "status-reason", "valueString",
		json_string("wrong patient"));
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(at(w.event, "type"), "event.retracted");
	ck_assert_str_eq(at(w.event, "data.event_id"), "open-1");
	ck_assert_str_eq(at(w.event, "data.reason"), "wrong patient");
	fhir_write_free(&w);
	json_decref(e);
	fx_free(&fx);
}
END_TEST

START_TEST(test_episode_facts)
{
	struct fx fx;
	json_t *e;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "no");
	e = read_episode(&fx);
	/* trauma and interpreter_needed now; drop one, add another. */
	drop_ext(e, "flag");
	add_ext(e, "flag", "valueCode", json_string("trauma"));
	add_ext(e, "flag", "valueCoding", coding("flag", "dependence"));
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(at(w.event, "type"), "pathway.updated");
	ck_assert_str_eq(at(w.event, "data.flags_add.0"), "dependence");
	ck_assert_str_eq(at(w.event, "data.flags_remove.0"),
			 "interpreter_needed");
	ck_assert_str_eq(at(w.event, "event_id"),
			 "fhir:EpisodeOfCare:pw-fixture:2:updated");
	fhir_write_free(&w);
	json_decref(e);
	/* A birth date that gives the age already known says nothing new;
	 * another one does. */
	e = read_episode(&fx);
	add_ext(e, "birth-date", "valueDate", json_string("1984-06-01"));
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_int_eq(w.kind, FHIR_WRITE_NOOP);
	drop_ext(e, "birth-date");
	add_ext(e, "birth-date", "valueDate", json_string("1960-01-01"));
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(at(w.event, "data.birth_date"), "1960-01-01");
	fhir_write_free(&w);
	json_decref(e);
	fx_free(&fx);
}
END_TEST

START_TEST(test_episode_transfer)
{
	struct fx fx;
	json_t *e;
	struct fhir_write w;
	struct fhir_error err;

	open_and_refer(&fx, "no");
	move_task(&fx, "received", "2025-03-06T08:00:00+01:00", NULL);
	move_task(&fx, "accepted", "2025-03-12T08:00:00+01:00",
		  json_pack("{s:{s:{s:s}}}", "restriction", "period", "end",
			    "2025-05-01"));
	move_task(&fx, "in-progress", "2025-04-10T08:00:00+02:00", NULL);
	/* Back to a GP, another one: a transfer. */
	e = read_episode(&fx);
	drop_ext(e, "level");
	add_ext(e, "level", "valueCoding", coding("level", "gp"));
	json_object_set_new(e, "managingOrganization",
			    json_pack("{s:{s:s, s:s}}", "identifier", "system",
				      fx.model->fhir.unit_system, "value",
				      "gp-2"));
	ck_assert(put_episode(&fx, e, &w, &err));
	ck_assert_str_eq(at(w.event, "type"), "patient.transferred");
	ck_assert_str_eq(at(w.event, "data.to_level"), "gp");
	ck_assert_str_eq(at(w.event, "data.to_unit"), "gp-2");
	post_ok(&fx, &w);
	fhir_write_free(&w);
	json_decref(e);
	ck_assert_str_eq(at(fx.pathway, "unit"), "gp-2");
	e = read_episode(&fx);
	ck_assert_str_eq(at(e, "managingOrganization.identifier.value"),
			 "gp-2");
	json_decref(e);
	fx_free(&fx);
}
END_TEST

START_TEST(test_patient_of)
{
	const char *system, *value;
	char expr[FHIR_EXPRESSION_MAX];
	json_t *r = json_pack("{s:s, s:{s:{s:s, s:s}}}", "resourceType", "Task",
			      "for", "identifier", "system", "urn:x", "value",
			      "p-7");

	ck_assert(fhir_write_patient(r, &system, &value, expr));
	ck_assert_str_eq(value, "p-7");
	ck_assert_str_eq(system, "urn:x");
	ck_assert_str_eq(expr, "Task.for.identifier.value");
	json_object_set_new(r, "resourceType", json_string("ServiceRequest"));
	ck_assert(!fhir_write_patient(r, &system, &value, expr));
	ck_assert_str_eq(expr, "ServiceRequest.subject.identifier.value");
	json_decref(r);
}
END_TEST

Suite *fhir_write_suite(void)
{
	Suite *s = suite_create("fhir_write");
	TCase *tc = tcase_create("episode");

	tcase_add_test(tc, test_episode_create);
	tcase_add_test(tc, test_business_identifier);
	tcase_add_loop_test(
		tc, test_episode_refusals, 0,
		(int)(sizeof(episode_refusals) / sizeof(episode_refusals[0])));
	tcase_add_test(tc, test_unknown_painpath_extension);
	tcase_add_test(tc, test_episode_refused_by_the_state_machine);
	suite_add_tcase(s, tc);
	tc = tcase_create("request");
	tcase_add_test(tc, test_request_create);
	tcase_add_loop_test(
		tc, test_request_refusals, 0,
		(int)(sizeof(request_refusals) / sizeof(request_refusals[0])));
	tcase_add_test(tc, test_request_refused_by_the_state_machine);
	suite_add_tcase(s, tc);
	tc = tcase_create("task");
	tcase_add_test(tc, test_task_walk_every_model);
	tcase_add_test(tc, test_task_retry_and_event_ids);
	tcase_add_test(tc, test_task_reject);
	tcase_add_test(tc, test_task_norway_needs_a_deadline);
	tcase_add_test(tc, test_task_refusals);
	tcase_add_test(tc, test_task_over);
	tcase_add_test(tc, test_task_entered_in_error);
	tcase_add_test(tc, test_task_free_choice);
	suite_add_tcase(s, tc);
	tc = tcase_create("episode_update");
	tcase_add_test(tc, test_episode_close_and_reopen);
	tcase_add_test(tc, test_episode_status_refusals);
	tcase_add_test(tc, test_episode_retract_opening);
	tcase_add_test(tc, test_episode_facts);
	tcase_add_test(tc, test_episode_transfer);
	tcase_add_test(tc, test_patient_of);
	suite_add_tcase(s, tc);
	return s;
}
