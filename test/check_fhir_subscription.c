/*
 * Unit tests for lib/fhir_subscription.c: endpoints
 * (test/data/fhir_endpoints.tsv), parsing and its refusals, matching
 * criteria against rendered resources, signing and the status lifecycle.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_fixture.h"
#include "fhir_resource.h"
#include "fhir_subscription.h"
#include "suites.h"

#define SECRET "0123456789abcdef0123456789abcdef-secret"

static json_t *subscription(const char *criteria, const char *endpoint)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}",
			 "resourceType", "Subscription", "status", "requested",
			 "reason", "the clinic's worklist", "criteria",
			 criteria, "channel", "type", "rest-hook", "endpoint",
			 endpoint, "payload", "application/fhir+json");
}

START_TEST(test_endpoints)
{
	struct fx_row rows[64];
	size_t n = fx_tsv("test/data/fhir_endpoints.tsv", rows, 64);
	char why[160];

	ck_assert_uint_ge(n, 20);
	for (size_t i = 0; i < n; i++) {
		bool want = strcmp(rows[i].field[1], "ok") == 0;
		ck_assert_msg(fhir_subscription_endpoint_ok(rows[i].field[0],
							    why, sizeof(why)) ==
				      want,
			      "line %d: %s", rows[i].line, rows[i].field[0]);
	}
	ck_assert(!fhir_subscription_endpoint_ok("http://10.0.0.1/", why,
						 sizeof(why)));
	ck_assert(strstr(why, "loopback") != NULL);
}
END_TEST

START_TEST(test_parse)
{
	json_t *r = subscription(
		"Task?owner:identifier=urn:oid:1.2.208.176.1.1%7Cclinic-1"
		"&status=requested,received",
		"https://ehr.example.dk/hook");
	struct fhir_subscription sub;
	struct fhir_error err;
	char url[FHIR_URL_MAX], *text;
	json_t *back;

	fhir_config_extension_url(fx_config(), "signing-secret", url);
	json_object_set_new(
		r, "extension",
		json_pack("[{s:s, s:s}]", "url", url, "valueString", SECRET));
	json_object_set_new(json_object_get(r, "channel"), "header",
			    json_pack("[s]", "Authorization: Bearer abc"));
	ck_assert_msg(fhir_subscription_parse(fx_config(), r, &sub, &err), "%s",
		      err.error.message);
	ck_assert_str_eq(sub.resource_type, "Task");
	ck_assert_uint_eq(sub.term_count, 2);
	ck_assert_str_eq(sub.terms[0].name, "owner");
	ck_assert_str_eq(sub.terms[0].values[0],
			 "urn:oid:1.2.208.176.1.1|clinic-1");
	ck_assert_uint_eq(sub.terms[1].value_count, 2);
	ck_assert_str_eq(sub.terms[1].values[1], "received");
	ck_assert(sub.full_payload);
	ck_assert_str_eq(sub.secret, SECRET);
	ck_assert_int_eq(sub.status, FHIR_SUB_REQUESTED);
	ck_assert_str_eq(sub.headers[0], "Authorization: Bearer abc");
	/* Read back: everything but the secret. */
	back = fhir_subscription_to_json(&sub, "sub-1", FHIR_SUB_ACTIVE, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(back, "status")),
			 "active");
	ck_assert_str_eq(json_string_value(json_object_get(back, "criteria")),
			 sub.criteria);
	text = json_dumps(back, 0);
	ck_assert(text != NULL && strstr(text, SECRET) == NULL);
	free(text);
	json_decref(back);
	json_decref(r);
}
END_TEST

/* A Subscription changed at key (a JSON value, or NULL to delete it), and
 * the element the refusal names. */
static const struct {
	const char *key;
	const char *json;
	const char *expression;
} refusals[] = {
	{"criteria", "\"Patient?identifier=x\"", "Subscription.criteria"},
	{"criteria", "\"Task\"", "Subscription.criteria"},
	{"criteria", "\"Task?\"", "Subscription.criteria"},
	{"criteria", "\"Task?colour=red\"", "Subscription.criteria"},
	{"criteria", "\"Task?modified=gt2025-01-01\"", "Subscription.criteria"},
	{"criteria", "\"Task?status:not=requested\"", "Subscription.criteria"},
	{"criteria", "\"Task?status:identifier=x\"", "Subscription.criteria"},
	{"criteria", "\"Task?status=\"", "Subscription.criteria"},
	{"criteria", "\"Task?status=a,,b\"", "Subscription.criteria"},
	{"criteria", "\"Task?status=%zz\"", "Subscription.criteria"},
	{"criteria", "\"EpisodeOfCare?owner=x\"", "Subscription.criteria"},
	{"criteria", NULL, "Subscription.criteria"},
	{"status", "\"error\"", "Subscription.status"},
	{"reason", NULL, "Subscription.reason"},
	{"end", "\"2025-01-01\"", "Subscription.end"},
	{"channel", NULL, "Subscription.channel"},
	{"channel", "{\"type\":\"websocket\"}", "Subscription.channel.type"},
	{"channel",
	 "{\"type\":\"rest-hook\",\"endpoint\":\"http://ehr.example/x\"}",
	 "Subscription.channel.endpoint"},
	{"channel",
	 "{\"type\":\"rest-hook\",\"endpoint\":\"https://ehr.example/x\","
	 "\"payload\":\"application/fhir+xml\"}",
	 "Subscription.channel.payload"},
	{"channel",
	 "{\"type\":\"rest-hook\",\"endpoint\":\"https://ehr.example/x\","
	 "\"header\":[\"X-Painpath-Signature: forged\"]}",
	 "Subscription.channel.header"},
	{"channel",
	 "{\"type\":\"rest-hook\",\"endpoint\":\"https://ehr.example/x\","
	 "\"header\":[\"A: b\\r\\nInjected: yes\"]}",
	 "Subscription.channel.header"},
	{"extension",
	 "[{\"url\":\"" FX_BASE
	 "/StructureDefinition/painpath-signing-secret\","
	 "\"valueString\":\"short\"}]",
	 "Subscription.extension"},
	{"resourceType", "\"Task\"", "Subscription"},
};

START_TEST(test_refusals)
{
	json_t *r = subscription("Task?status=requested",
				 "https://ehr.example.no/hook");
	struct fhir_subscription sub;
	struct fhir_error err;

	if (refusals[_i].json != NULL)
		json_object_set_new(
			r, refusals[_i].key,
			json_loads(refusals[_i].json, JSON_DECODE_ANY, NULL));
	else
		json_object_del(r, refusals[_i].key);
	ck_assert_msg(!fhir_subscription_parse(fx_config(), r, &sub, &err),
		      "case %d accepted", _i);
	ck_assert_msg(!strcmp(err.expression, refusals[_i].expression),
		      "case %d: %s (%s)", _i, err.expression,
		      err.error.message);
	json_decref(r);
}
END_TEST

/* Rendered resources of a Danish pathway with a received referral. */
static json_t *resources(void)
{
	struct fx fx;
	struct fhir_view v;
	json_t *all;

	fx_open(&fx, "dk", "pw-sub", NULL);
	fx_referral(&fx, "assessing");
	ck_assert(fhir_view_load(&v, fx_config(), fx.model, fx.pathway,
				 fx.transitions));
	all = fhir_resource_all(&v);
	fhir_view_free(&v);
	fx_free(&fx);
	return all;
}

/* criteria, and whether the Task (index 2) / the EpisodeOfCare (0)
 * match it. */
static const struct {
	const char *criteria;
	bool matches;
	int resource;
} matches[] = {
	{"Task?status=received", true, 2},
	{"Task?status=requested,received", true, 2},
	{"Task?status=accepted", false, 2},
	{"Task?owner=urn:oid:1.2.208.176.1.1|clinic-1", true, 2},
	{"Task?owner:identifier=urn:oid:1.2.208.176.1.1%7Cclinic-1", true, 2},
	{"Task?owner=clinic-1", true, 2},
	{"Task?owner=urn:oid:9.9|clinic-1", false, 2},
	{"Task?owner=|clinic-1", false, 2},
	{"Task?owner=urn:oid:1.2.208.176.1.1|", true, 2},
	{"Task?owner=clinic-2", false, 2},
	{"Task?patient=urn:oid:1.2.208.176.1.2|p-pw-sub&status=received", true,
	 2},
	{"Task?patient=p-pw-sub&status=accepted", false, 2},
	{"Task?requester=gp-1", true, 2},
	{"Task?business-status=" FX_BASE "/CodeSystem/painpath-phase|assessing",
	 true, 2},
	{"Task?business-status=waiting", false, 2},
	{"Task?focus=ServiceRequest/pw-sub.r2", true, 2},
	{"Task?focus=pw-sub.r2", true, 2},
	{"Task?_id=pw-sub.r2", true, 2},
	{"Task?identifier=ev-2", true, 2},
	{"Task?status=received", false, 0},
	{"EpisodeOfCare?status=active", true, 0},
	{"EpisodeOfCare?status=waitlist", false, 0},
	{"EpisodeOfCare?patient=p-pw-sub", true, 0},
	{"EpisodeOfCare?organization=gp-1&status=active", true, 0},
	{"EpisodeOfCare?organization=clinic-1", false, 0},
	{"EpisodeOfCare?identifier=" FX_BASE "/NamingSystem/pathway-id|pw-sub",
	 true, 0},
};

START_TEST(test_matches)
{
	json_t *all = resources();
	json_t *r = subscription(matches[_i].criteria,
				 "http://127.0.0.1:9000/hook");
	struct fhir_subscription sub;
	struct fhir_error err;

	ck_assert_msg(fhir_subscription_parse(fx_config(), r, &sub, &err),
		      "%s: %s", matches[_i].criteria, err.error.message);
	ck_assert_msg(
		fhir_subscription_matches(
			&sub, json_array_get(all, matches[_i].resource)) ==
			matches[_i].matches,
		"%s", matches[_i].criteria);
	json_decref(r);
	json_decref(all);
}
END_TEST

START_TEST(test_signature)
{
	const char body[] = "{\"resourceType\":\"Task\",\"id\":\"pw-1.r2\"}";
	char sig[FHIR_SIGNATURE_LEN], hex[HMAC_SHA256_HEX_LEN];

	ck_assert(fhir_subscription_sign(SECRET, body, strlen(body), sig));
	ck_assert(hmac_sha256_hex(SECRET, strlen(SECRET), body, strlen(body),
				  hex));
	ck_assert(strncmp(sig, "sha256=", 7) == 0);
	ck_assert_str_eq(sig + 7, hex);
	ck_assert(fhir_subscription_verify(SECRET, body, strlen(body), sig));
	/* Another body, another secret, a truncated or missing header. */
	ck_assert(
		!fhir_subscription_verify(SECRET, body, strlen(body) - 1, sig));
	ck_assert(!fhir_subscription_verify("another secret of enough length!",
					    body, strlen(body), sig));
	sig[20] = '\0';
	ck_assert(!fhir_subscription_verify(SECRET, body, strlen(body), sig));
	ck_assert(!fhir_subscription_verify(SECRET, body, strlen(body), NULL));
}
END_TEST

START_TEST(test_lifecycle)
{
	static const struct {
		enum fhir_sub_status from;
		enum fhir_sub_outcome outcome;
		enum fhir_sub_status to;
	} steps[] = {
		{FHIR_SUB_REQUESTED, FHIR_SUB_DELIVERED, FHIR_SUB_ACTIVE},
		{FHIR_SUB_REQUESTED, FHIR_SUB_FAILED, FHIR_SUB_ERROR},
		{FHIR_SUB_ACTIVE, FHIR_SUB_FAILED, FHIR_SUB_ERROR},
		{FHIR_SUB_ERROR, FHIR_SUB_DELIVERED, FHIR_SUB_ACTIVE},
		{FHIR_SUB_ERROR, FHIR_SUB_FAILED, FHIR_SUB_ERROR},
		{FHIR_SUB_ACTIVE, FHIR_SUB_EXPIRED, FHIR_SUB_OFF},
		{FHIR_SUB_ACTIVE, FHIR_SUB_TURNED_OFF, FHIR_SUB_OFF},
		{FHIR_SUB_OFF, FHIR_SUB_DELIVERED, FHIR_SUB_OFF},
		{FHIR_SUB_OFF, FHIR_SUB_FAILED, FHIR_SUB_OFF},
		{FHIR_SUB_OFF, FHIR_SUB_TURNED_ON, FHIR_SUB_REQUESTED},
		{FHIR_SUB_ACTIVE, FHIR_SUB_TURNED_ON, FHIR_SUB_ACTIVE},
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		ck_assert_msg(fhir_subscription_next(steps[i].from,
						     steps[i].outcome) ==
				      steps[i].to,
			      "step %zu", i);
	ck_assert_str_eq(fhir_subscription_status_name(FHIR_SUB_OFF), "off");
}
END_TEST

Suite *fhir_subscription_suite(void)
{
	Suite *s = suite_create("fhir_subscription");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_endpoints);
	tcase_add_test(tc, test_parse);
	tcase_add_loop_test(tc, test_refusals, 0,
			    (int)(sizeof(refusals) / sizeof(refusals[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("deliver");
	tcase_add_loop_test(tc, test_matches, 0,
			    (int)(sizeof(matches) / sizeof(matches[0])));
	tcase_add_test(tc, test_signature);
	tcase_add_test(tc, test_lifecycle);
	suite_add_tcase(s, tc);
	return s;
}
