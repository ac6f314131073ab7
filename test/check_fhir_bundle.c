/*
 * Unit tests for lib/fhir_bundle.c, lib/fhir_outcome.c and
 * lib/fhir_capability.c: searchset and response Bundles, batch and
 * transaction Bundles read into entries (one patient per transaction),
 * OperationOutcomes from every error code, and the CapabilityStatement
 * against its table.
 */
#include <check.h>
#include <string.h>

#include "fhir_bundle.h"
#include "fhir_capability.h"
#include "fhir_map.h"
#include "fhir_fixture.h"
#include "fhir_outcome.h"
#include "suites.h"

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

static json_t *task(const char *id, const char *version)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s}", "resourceType",
			 "Task", "id", id, "meta", "versionId", version,
			 "lastUpdated", "2025-03-03T08:00:00.000Z", "status",
			 "requested", "intent", "order");
}

/* --- out -------------------------------------------------------------------
 */

START_TEST(test_searchset)
{
	json_t *b = fhir_bundle_new(FHIR_BUNDLE_SEARCHSET);
	struct fhir_query_param q[] = {{"owner:identifier", "urn:oid:1.2|u 1"},
				       {"status", "requested,received"}};

	fhir_bundle_set_total(b, 2);
	ck_assert(fhir_bundle_add_match(b, fx_config(), task("pw-1.r2", "3"),
					false));
	ck_assert(fhir_bundle_add_match(b, fx_config(),
					json_pack("{s:s, s:s}", "resourceType",
						  "ServiceRequest", "id",
						  "pw-1.r2"),
					true));
	ck_assert(fhir_bundle_set_links(b, fx_config(), "Task", q, 2,
					"c/ur+sor=="));
	ck_assert_str_eq(at(b, "type"), "searchset");
	ck_assert_int_eq(json_integer_value(json_object_get(b, "total")), 2);
	ck_assert_str_eq(at(b, "entry.0.fullUrl"), FX_BASE "/Task/pw-1.r2");
	ck_assert_str_eq(at(b, "entry.0.search.mode"), "match");
	ck_assert_str_eq(at(b, "entry.1.search.mode"), "include");
	ck_assert_str_eq(at(b, "link.0.relation"), "self");
	ck_assert_str_eq(at(b, "link.0.url"),
			 FX_BASE "/Task?owner:identifier=urn:oid:1.2|u%201"
				 "&status=requested,received");
	ck_assert_str_eq(at(b, "link.1.relation"), "next");
	ck_assert_str_eq(at(b, "link.1.url"),
			 FX_BASE "/Task?owner:identifier=urn:oid:1.2|u%201"
				 "&status=requested,received"
				 "&cursor=c%2Fur%2Bsor%3D%3D");
	/* The last page has no next link; no total when unknown. */
	json_decref(b);
	b = fhir_bundle_new(FHIR_BUNDLE_SEARCHSET);
	fhir_bundle_set_total(b, -1);
	ck_assert(fhir_bundle_set_links(b, fx_config(), "Task", NULL, 0, NULL));
	ck_assert(json_object_get(b, "total") == NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(b, "link")), 1);
	ck_assert_str_eq(at(b, "link.0.url"), FX_BASE "/Task");
	/* A resource without an id cannot be an entry. */
	ck_assert(!fhir_bundle_add_match(
		b, fx_config(), json_pack("{s:s}", "resourceType", "Task"),
		false));
	json_decref(b);
}
END_TEST

START_TEST(test_responses)
{
	json_t *b = fhir_bundle_new(FHIR_BUNDLE_TRANSACTION_RESPONSE);
	struct fhir_error e;

	ck_assert(fhir_bundle_add_response(b, fx_config(), 201,
					   task("pw-1.r2", "2"), NULL));
	fhir_error_set(&e, ERR_GUARD_FAILED, "Task.restriction.period.end",
		       "the clinic must set a deadline");
	ck_assert(fhir_bundle_add_response(b, fx_config(), 422, NULL,
					   fhir_outcome(fx_config(), &e)));
	ck_assert_str_eq(at(b, "type"), "transaction-response");
	ck_assert_str_eq(at(b, "entry.0.response.status"), "201 Created");
	ck_assert_str_eq(at(b, "entry.0.response.location"),
			 "Task/pw-1.r2/_history/2");
	ck_assert_str_eq(at(b, "entry.0.response.etag"), "W/\"2\"");
	ck_assert_str_eq(at(b, "entry.0.response.lastModified"),
			 "2025-03-03T08:00:00.000Z");
	ck_assert_str_eq(at(b, "entry.0.fullUrl"), FX_BASE "/Task/pw-1.r2");
	ck_assert_str_eq(at(b, "entry.1.response.status"),
			 "422 Unprocessable Entity");
	ck_assert_str_eq(at(b, "entry.1.response.outcome.issue.0.code"),
			 "business-rule");
	ck_assert(
		json_object_get(json_array_get(json_object_get(b, "entry"), 1),
				"resource") == NULL);
	ck_assert_str_eq(fhir_bundle_status_line(999),
			 "500 Internal Server Error");
	json_decref(b);
}
END_TEST

/* --- OperationOutcome ------------------------------------------------------
 */

START_TEST(test_outcome_every_code)
{
	struct fhir_error e;
	json_t *oo;

	fhir_error_set(&e, (enum err_code)_i, "Task.status", "why: %d", _i);
	oo = fhir_outcome(fx_config(), &e);
	ck_assert_str_eq(at(oo, "resourceType"), "OperationOutcome");
	ck_assert_str_eq(at(oo, "issue.0.code"),
			 fhir_map_issue_type((enum err_code)_i));
	ck_assert_str_eq(at(oo, "issue.0.severity"),
			 fhir_map_issue_severity((enum err_code)_i));
	ck_assert_str_eq(at(oo, "issue.0.details.coding.0.code"),
			 error_code_name((enum err_code)_i));
	ck_assert_str_eq(at(oo, "issue.0.details.coding.0.system"),
			 FX_BASE "/CodeSystem/painpath-error");
	ck_assert_str_eq(at(oo, "issue.0.expression.0"), "Task.status");
	ck_assert(strncmp(at(oo, "issue.0.diagnostics"), "why: ", 5) == 0);
	json_decref(oo);
}
END_TEST

START_TEST(test_outcome_illegal_transition)
{
	struct pp_error pp;
	struct fhir_error e;
	json_t *oo;

	error_set(&pp, ERR_ILLEGAL_TRANSITION, "type",
		  "referral.accepted is not allowed while the pathway is "
		  "referred");
	pp.phase = PHASE_REFERRED;
	pp.allowed = 1u << EV_REFERRAL_RECEIVED | 1u << EV_REFERRAL_WITHDRAWN;
	fhir_error_from_pp(&e, &pp, NULL);
	oo = fhir_outcome(fx_config(), &e);
	ck_assert_str_eq(at(oo, "issue.0.diagnostics"),
			 "referral.accepted is not allowed while the pathway "
			 "is referred (phase referred; allowed: "
			 "referral.received referral.withdrawn)");
	ck_assert(
		json_object_get(json_array_get(json_object_get(oo, "issue"), 0),
				"expression") == NULL);
	json_decref(oo);
	/* A typed refusal keeps its finer issue type. */
	fhir_error_typed(&e, ERR_INVALID_REQUEST, "not-supported", NULL, "x");
	oo = fhir_outcome(fx_config(), &e);
	ck_assert_str_eq(at(oo, "issue.0.code"), "not-supported");
	json_decref(oo);
	/* An entry's error points into the Bundle. */
	fhir_error_set(&e, ERR_INVALID_REQUEST, "Task.owner.identifier", "x");
	fhir_error_within(&e, "Bundle.entry[3].resource");
	ck_assert_str_eq(e.expression,
			 "Bundle.entry[3].resource.owner.identifier");
}
END_TEST

/* --- CapabilityStatement ---------------------------------------------------
 */

START_TEST(test_capability_statement)
{
	json_t *cs = fhir_capability_statement(fx_config(), "1.2.3",
					       INT64_C(1735689600000));
	const json_t *resources = json_object_get(
		json_array_get(json_object_get(cs, "rest"), 0), "resource");
	const json_t *r;
	size_t i;
	bool deadline = false;

	ck_assert_str_eq(at(cs, "fhirVersion"), "4.0.1");
	ck_assert_str_eq(at(cs, "kind"), "instance");
	ck_assert_str_eq(at(cs, "implementation.url"), FX_BASE);
	ck_assert_str_eq(at(cs, "date"), "2025-01-01T00:00:00.000Z");
	ck_assert_str_eq(at(cs, "format.0"), "application/fhir+json");
	ck_assert_str_eq(at(cs, "rest.0.interaction.1.code"), "transaction");
	/* Exactly the table's rows, interactions and parameters. */
	ck_assert_uint_eq(json_array_size(resources),
			  fhir_capability_resource_count);
	json_array_foreach(resources, i, r)
	{
		const struct fhir_resource_row *row =
			&fhir_capability_resources[i];
		const json_t *p;
		size_t k, n = 0;
		ck_assert_str_eq(at(r, "type"), row->type);
		json_array_foreach(json_object_get(r, "interaction"), k, p)
		{
			unsigned bit = 0;
			for (unsigned b = 1; b < 1u << FHIR_INTERACTION_COUNT;
			     b <<= 1)
				if (fhir_capability_interaction_name(b) &&
				    !strcmp(fhir_capability_interaction_name(b),
					    at(p, "code")))
					bit = b;
			ck_assert_msg(row->interactions & bit, "%s %s",
				      row->type, at(p, "code"));
			n++;
		}
		ck_assert_uint_eq(
			n, (size_t)__builtin_popcount(row->interactions));
		json_array_foreach(json_object_get(r, "searchParam"), k, p)
		{
			const struct fhir_search_param *sp =
				fhir_capability_param(row, at(p, "name"));
			ck_assert(sp != NULL);
			ck_assert_str_eq(
				at(p, "type"),
				fhir_capability_param_type_name(sp->type));
			deadline = deadline || !strcmp(sp->name, "deadline");
		}
	}
	ck_assert(deadline);
	ck_assert_str_eq(at(json_array_get(resources, 2), "searchInclude.0"),
			 "Task:focus");
	json_decref(cs);
}
END_TEST

START_TEST(test_capability_table)
{
	const struct fhir_resource_row *task_row = fhir_capability_find("Task");
	const struct fhir_search_param *deadline;
	json_t *sp;

	/* The issue's parameters, by name and type. */
	static const struct {
		const char *type, *name;
		enum fhir_param_type param;
	} wanted[] = {
		{"EpisodeOfCare", "patient", FHIR_PARAM_REFERENCE},
		{"EpisodeOfCare", "status", FHIR_PARAM_TOKEN},
		{"EpisodeOfCare", "organization", FHIR_PARAM_REFERENCE},
		{"EpisodeOfCare", "_lastUpdated", FHIR_PARAM_DATE},
		{"EpisodeOfCare", "identifier", FHIR_PARAM_TOKEN},
		{"ServiceRequest", "patient", FHIR_PARAM_REFERENCE},
		{"ServiceRequest", "status", FHIR_PARAM_TOKEN},
		{"ServiceRequest", "requester", FHIR_PARAM_REFERENCE},
		{"ServiceRequest", "performer", FHIR_PARAM_REFERENCE},
		{"ServiceRequest", "authored", FHIR_PARAM_DATE},
		{"ServiceRequest", "identifier", FHIR_PARAM_TOKEN},
		{"Task", "patient", FHIR_PARAM_REFERENCE},
		{"Task", "status", FHIR_PARAM_TOKEN},
		{"Task", "business-status", FHIR_PARAM_TOKEN},
		{"Task", "owner", FHIR_PARAM_REFERENCE},
		{"Task", "requester", FHIR_PARAM_REFERENCE},
		{"Task", "focus", FHIR_PARAM_REFERENCE},
		{"Task", "modified", FHIR_PARAM_DATE},
		{"Task", "identifier", FHIR_PARAM_TOKEN},
		{"Task", "deadline", FHIR_PARAM_DATE},
	};

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		const struct fhir_search_param *p = fhir_capability_param(
			fhir_capability_find(wanted[i].type), wanted[i].name);
		ck_assert_msg(p != NULL, "%s?%s", wanted[i].type,
			      wanted[i].name);
		ck_assert_int_eq(p->type, wanted[i].param);
	}
	ck_assert(fhir_capability_allows(task_row, FHIR_INTERACTION_UPDATE));
	ck_assert(!fhir_capability_allows(task_row, FHIR_INTERACTION_CREATE));
	ck_assert(fhir_capability_allows(fhir_capability_find("EpisodeOfCare"),
					 FHIR_INTERACTION_CREATE));
	ck_assert(fhir_capability_find("Patient") == NULL);
	ck_assert_str_eq(
		fhir_capability_interaction_name(FHIR_INTERACTION_SEARCH),
		"search-type");
	ck_assert(fhir_capability_interaction_name(3) == NULL);
	/* The custom parameter's definition resolves to a SearchParameter. */
	deadline = fhir_capability_param(task_row, "deadline");
	ck_assert(deadline->custom);
	sp = fhir_capability_search_parameter(fx_config(), "Task", "deadline");
	ck_assert_str_eq(at(sp, "url"),
			 FX_BASE "/SearchParameter/Task-deadline");
	ck_assert_str_eq(at(sp, "expression"), "Task.restriction.period.end");
	ck_assert_str_eq(at(sp, "type"), "date");
	json_decref(sp);
	ck_assert(fhir_capability_search_parameter(fx_config(), "Task",
						   "status") == NULL);
}
END_TEST

/* --- in --------------------------------------------------------------------
 */

static json_t *entry(const char *method, const char *url, json_t *resource)
{
	json_t *e = json_pack("{s:{s:s, s:s}}", "request", "method", method,
			      "url", url);

	if (resource != NULL)
		json_object_set_new(e, "resource", resource);
	return e;
}

static json_t *task_for(const char *id, const char *patient)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}",
			 "resourceType", "Task", "id", id, "status", "received",
			 "intent", "order", "for", "identifier", "system",
			 "urn:oid:1.2.208.176.1.2", "value", patient);
}

static json_t *request_for(const char *patient)
{
	return json_pack("{s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "resourceType",
			 "ServiceRequest", "status", "active", "intent",
			 "order", "subject", "identifier", "system",
			 "urn:oid:1.2.208.176.1.2", "value", patient);
}

START_TEST(test_parse_transaction)
{
	json_t *b = json_pack(
		"{s:s, s:s, s:[o, o]}", "resourceType", "Bundle", "type",
		"transaction", "entry",
		entry("PUT", "Task/pw-1.r2", task_for("pw-1.r2", "p-1")),
		entry("POST", FX_BASE "/ServiceRequest", request_for("p-1")));
	struct fhir_bundle_request req;
	struct fhir_error err;
	size_t order[2];

	json_object_set_new(
		json_object_get(json_array_get(json_object_get(b, "entry"), 0),
				"request"),
		"ifMatch", json_string("W/\"4\""));
	ck_assert_msg(fhir_bundle_parse(b, 10, fx_config(), &req, &err), "%s",
		      err.error.message);
	ck_assert(req.transaction);
	ck_assert_uint_eq(req.count, 2);
	ck_assert_int_eq(req.entries[0].method, FHIR_METHOD_PUT);
	ck_assert_str_eq(req.entries[0].type, "Task");
	ck_assert_str_eq(req.entries[0].id, "pw-1.r2");
	ck_assert_int_eq(req.entries[0].if_match_version, 4);
	ck_assert_str_eq(req.entries[1].type, "ServiceRequest");
	ck_assert_str_eq(req.entries[1].patient_value, "p-1");
	/* FHIR's order: the create before the update. */
	fhir_bundle_order(&req, order);
	ck_assert_uint_eq(order[0], 1);
	ck_assert_uint_eq(order[1], 0);
	fhir_bundle_request_free(&req);
	json_decref(b);
}
END_TEST

START_TEST(test_transaction_one_patient)
{
	json_t *b = json_pack(
		"{s:s, s:s, s:[o, o]}", "resourceType", "Bundle", "type",
		"transaction", "entry",
		entry("POST", "ServiceRequest", request_for("p-1")),
		entry("PUT", "Task/pw-2.r2", task_for("pw-2.r2", "p-2")));
	struct fhir_bundle_request req;
	struct fhir_error err;

	ck_assert(!fhir_bundle_parse(b, 10, fx_config(), &req, &err));
	ck_assert_str_eq(err.expression,
			 "Bundle.entry[1].resource.for.identifier.value");
	ck_assert_str_eq(err.issue_type, "business-rule");
	ck_assert(strstr(err.error.message, "one patient") != NULL);
	ck_assert(req.entries == NULL);
	/* The same two in a batch stand alone. */
	json_object_set_new(b, "type", json_string("batch"));
	ck_assert(fhir_bundle_parse(b, 10, fx_config(), &req, &err));
	ck_assert(!req.transaction);
	fhir_bundle_request_free(&req);
	json_decref(b);
}
END_TEST

/* A one-entry Bundle with this entry, refused at expression. */
static const struct {
	const char *type;
	const char *entry;
	const char *expression;
	enum err_code code;
} bundle_refusals[] = {
	{"collection", "{}", "Bundle.type", ERR_INVALID_REQUEST},
	{"batch", "7", "Bundle.entry[0].request", ERR_INVALID_REQUEST},
	{"batch", "{\"request\":{\"method\":\"PATCH\",\"url\":\"Task/x\"}}",
	 "Bundle.entry[0].request.method", ERR_INVALID_REQUEST},
	{"batch", "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/x\"}}",
	 "Bundle.entry[0].request.url", ERR_INVALID_REQUEST},
	{"batch", "{\"request\":{\"method\":\"GET\",\"url\":\"Task/a_b\"}}",
	 "Bundle.entry[0].request.url", ERR_INVALID_REQUEST},
	{"batch", "{\"request\":{\"method\":\"DELETE\",\"url\":\"Task/x\"}}",
	 "Bundle.entry[0].request.method", ERR_METHOD_NOT_ALLOWED},
	{"batch", "{\"request\":{\"method\":\"POST\",\"url\":\"Task\"}}",
	 "Bundle.entry[0].request.method", ERR_METHOD_NOT_ALLOWED},
	{"batch",
	 "{\"request\":{\"method\":\"PUT\",\"url\":\"ServiceRequest/x\"}}",
	 "Bundle.entry[0].request.method", ERR_METHOD_NOT_ALLOWED},
	{"transaction", "{\"request\":{\"method\":\"GET\",\"url\":\"Task/x\"}}",
	 "Bundle.entry[0].request.method", ERR_METHOD_NOT_ALLOWED},
	{"batch",
	 "{\"request\":{\"method\":\"POST\",\"url\":\"ServiceRequest\"}}",
	 "Bundle.entry[0].resource", ERR_INVALID_REQUEST},
	{"batch",
	 "{\"request\":{\"method\":\"POST\",\"url\":\"ServiceRequest\"},"
	 "\"resource\":{\"resourceType\":\"Task\"}}",
	 "Bundle.entry[0].resource", ERR_INVALID_REQUEST},
	{"batch",
	 "{\"request\":{\"method\":\"PUT\",\"url\":\"Task/x\"},"
	 "\"resource\":{\"resourceType\":\"Task\",\"id\":\"y\"}}",
	 "Bundle.entry[0].resource", ERR_INVALID_REQUEST},
	{"batch",
	 "{\"request\":{\"method\":\"PUT\",\"url\":\"Task/x\",\"ifMatch\":"
	 "\"W/x\"},\"resource\":{\"resourceType\":\"Task\",\"id\":\"x\"}}",
	 "Bundle.entry[0].request.ifMatch", ERR_INVALID_REQUEST},
	{"batch",
	 "{\"request\":{\"method\":\"POST\",\"url\":\"EpisodeOfCare\","
	 "\"ifNoneExist\":7},\"resource\":{\"resourceType\":"
	 "\"EpisodeOfCare\"}}",
	 "Bundle.entry[0].request.ifNoneExist", ERR_INVALID_REQUEST},
	{"transaction",
	 "{\"request\":{\"method\":\"POST\",\"url\":\"ServiceRequest\"},"
	 "\"resource\":{\"resourceType\":\"ServiceRequest\"}}",
	 "Bundle.entry[0].resource.subject.identifier.value",
	 ERR_INVALID_REQUEST},
};

START_TEST(test_bundle_refusals)
{
	char text[1024];
	json_t *b;
	struct fhir_bundle_request req;
	struct fhir_error err;

	snprintf(text, sizeof(text),
		 "{\"resourceType\":\"Bundle\",\"type\":\"%s\",\"entry\":[%s]}",
		 bundle_refusals[_i].type, bundle_refusals[_i].entry);
	b = json_loads(text, 0, NULL);
	ck_assert(b != NULL);
	ck_assert_msg(!fhir_bundle_parse(b, 10, fx_config(), &req, &err),
		      "case %d accepted", _i);
	ck_assert_msg(!strcmp(err.expression, bundle_refusals[_i].expression),
		      "case %d: %s", _i, err.expression);
	ck_assert_int_eq(err.error.code, bundle_refusals[_i].code);
	json_decref(b);
}
END_TEST

START_TEST(test_bundle_limits)
{
	json_t *b = json_pack("{s:s, s:s, s:[{}, {}, {}]}", "resourceType",
			      "Bundle", "type", "batch", "entry");
	struct fhir_bundle_request req;
	struct fhir_error err;

	ck_assert(!fhir_bundle_parse(b, 2, fx_config(), &req, &err));
	ck_assert_int_eq(err.error.code, ERR_TOO_LARGE);
	json_object_set_new(b, "resourceType", json_string("Parameters"));
	ck_assert(!fhir_bundle_parse(b, 2, fx_config(), &req, &err));
	ck_assert_str_eq(err.expression, "Bundle");
	/* An empty batch is a batch. */
	json_object_set_new(b, "resourceType", json_string("Bundle"));
	json_object_del(b, "entry");
	ck_assert(fhir_bundle_parse(b, 2, fx_config(), &req, &err));
	ck_assert_uint_eq(req.count, 0);
	fhir_bundle_request_free(&req);
	json_decref(b);
	ck_assert_int_eq(fhir_bundle_etag_version("W/\"12\""), 12);
	ck_assert_int_eq(fhir_bundle_etag_version("12"), 12);
	ck_assert_int_eq(fhir_bundle_etag_version("\"12\""), 12);
	ck_assert_int_eq(fhir_bundle_etag_version("W/\"\""), -1);
	ck_assert_int_eq(fhir_bundle_etag_version("W/\"1x\""), -1);
	ck_assert_int_eq(fhir_bundle_etag_version("99999999999"), -1);
	ck_assert_int_eq(fhir_bundle_etag_version(NULL), -1);
}
END_TEST

Suite *fhir_bundle_suite(void)
{
	Suite *s = suite_create("fhir_bundle");
	TCase *tc = tcase_create("out");

	tcase_add_test(tc, test_searchset);
	tcase_add_test(tc, test_responses);
	tcase_add_loop_test(tc, test_outcome_every_code, 0, ERR_COUNT);
	tcase_add_test(tc, test_outcome_illegal_transition);
	tcase_add_test(tc, test_capability_statement);
	tcase_add_test(tc, test_capability_table);
	suite_add_tcase(s, tc);
	tc = tcase_create("in");
	tcase_add_test(tc, test_parse_transaction);
	tcase_add_test(tc, test_transaction_one_patient);
	tcase_add_loop_test(
		tc, test_bundle_refusals, 0,
		(int)(sizeof(bundle_refusals) / sizeof(bundle_refusals[0])));
	tcase_add_test(tc, test_bundle_limits);
	suite_add_tcase(s, tc);
	return s;
}
