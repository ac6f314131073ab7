/*
 * Unit tests for the "fhir" part of lib/model.c: the identifier systems of
 * the shipped models, the country defaults, per-region unit systems, and
 * strict loading (unknown keys and bad systems refused with the JSON path).
 */
#include <check.h>
#include <string.h>

#include "fhir_fixture.h"
#include "model.h"
#include "suites.h"

static const struct {
	const char *key;
	const char *patient_system;
	const char *unit_system;
} shipped[] = {
	{"no", "urn:oid:2.16.578.1.12.4.1.4.1",
	 "urn:oid:2.16.578.1.12.4.1.4.101"},
	{"dk", "urn:oid:1.2.208.176.1.2", "urn:oid:1.2.208.176.1.1"},
	{"se-adult", "urn:oid:1.2.752.129.2.1.3.1", "urn:oid:1.2.752.29.4.19"},
	{"se-child", "urn:oid:1.2.752.129.2.1.3.1", "urn:oid:1.2.752.29.4.19"},
};

START_TEST(test_shipped)
{
	const struct model *m = fx_model(shipped[_i].key);

	ck_assert_str_eq(m->fhir.patient_system, shipped[_i].patient_system);
	ck_assert_str_eq(m->fhir.unit_system, shipped[_i].unit_system);
	ck_assert_str_eq(model_fhir_unit_system(m, "any-region"),
			 shipped[_i].unit_system);
	ck_assert_str_eq(model_fhir_unit_system(m, NULL),
			 shipped[_i].unit_system);
}
END_TEST

/* The model file key.json with "fhir" replaced (NULL: removed). */
static bool load_with(const char *key, const char *fhir, struct model *m,
		      char *err, size_t len)
{
	char path[128];
	json_t *doc;
	bool ok;

	snprintf(path, sizeof(path), "config/models/%s.json", key);
	doc = json_load_file(path, 0, NULL);
	ck_assert(doc != NULL);
	if (fhir == NULL)
		json_object_del(doc, "fhir");
	else
		json_object_set_new(doc, "fhir",
				    json_loads(fhir, JSON_DECODE_ANY, NULL));
	ok = model_load_json(doc, "inline", m, err, len);
	json_decref(doc);
	return ok;
}

START_TEST(test_country_defaults)
{
	struct model m;
	char err[512] = "";

	/* Without "fhir", each country's national registers. */
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
		ck_assert_msg(
			load_with(shipped[i].key, NULL, &m, err, sizeof(err)),
			"%s", err);
		ck_assert_str_eq(m.fhir.patient_system,
				 shipped[i].patient_system);
		ck_assert_str_eq(m.fhir.unit_system, shipped[i].unit_system);
		model_free(&m);
	}
	/* One key given, the other from the country. */
	ck_assert(load_with("dk", "{\"unit_system\": \"https://sor.example\"}",
			    &m, err, sizeof(err)));
	ck_assert_str_eq(m.fhir.patient_system, "urn:oid:1.2.208.176.1.2");
	ck_assert_str_eq(m.fhir.unit_system, "https://sor.example");
	model_free(&m);
}
END_TEST

START_TEST(test_region_systems)
{
	struct model m;
	char err[512] = "";

	ck_assert_msg(
		load_with("no",
			  "{\"regions\": {\"helse-vest\": {\"unit_system\": "
			  "\"urn:oid:2.16.578.1.12.4.1.4.102\"}, "
			  "\"helse-nord\": {\"unit_system\": "
			  "\"urn:uuid:0f8fad5b-d9cb-469f-a165-"
			  "70867728950e\"}}}",
			  &m, err, sizeof(err)),
		"%s", err);
	ck_assert_uint_eq(m.fhir.region_count, 2);
	ck_assert_str_eq(model_fhir_unit_system(&m, "helse-vest"),
			 "urn:oid:2.16.578.1.12.4.1.4.102");
	ck_assert_str_eq(model_fhir_unit_system(&m, "helse-nord"),
			 "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e");
	ck_assert_str_eq(model_fhir_unit_system(&m, "helse-sor-ost"),
			 "urn:oid:2.16.578.1.12.4.1.4.101");
	model_free(&m);
}
END_TEST

/* "fhir" values refused, the JSON path and a word of the message. */
static const struct {
	const char *fhir;
	const char *path;
	const char *what;
} bad[] = {
	{"[]", "$.fhir", "object"},
	{"{\"colour\": \"blue\"}", "$.fhir", "colour"},
	{"{\"patient_system\": 7}", "$.fhir", "patient_system"},
	{"{\"patient_system\": \"\"}", "$.fhir", "patient_system"},
	{"{\"patient_system\": \"urn:oid:1..2\"}", "$.fhir.patient_system",
	 "identifier system"},
	{"{\"patient_system\": \"urn:oid:3.1\"}", "$.fhir.patient_system",
	 "identifier system"},
	{"{\"patient_system\": \"urn:oid:1.02\"}", "$.fhir.patient_system",
	 "identifier system"},
	{"{\"unit_system\": \"https://x.example/a|b\"}", "$.fhir.unit_system",
	 "identifier system"},
	{"{\"unit_system\": \"https://x.example/a b\"}", "$.fhir.unit_system",
	 "identifier system"},
	{"{\"unit_system\": \"urn:uuid:0F8FAD5B-D9CB-469F-A165-"
	 "70867728950E\"}",
	 "$.fhir.unit_system", "identifier system"},
	{"{\"unit_system\": \"ftp://x.example\"}", "$.fhir.unit_system",
	 "identifier system"},
	{"{\"unit_system\": \"https://\"}", "$.fhir.unit_system",
	 "identifier system"},
	{"{\"regions\": []}", "$.fhir.regions", "object"},
	{"{\"regions\": {\"r 1\": {\"unit_system\": \"urn:oid:1.2\"}}}",
	 "$.fhir.regions", "r 1"},
	{"{\"regions\": {\"r1\": 7}}", "$.fhir.regions.r1", "object"},
	{"{\"regions\": {\"r1\": {}}}", "$.fhir.regions.r1", "unit_system"},
	{"{\"regions\": {\"r1\": {\"unit_sytem\": \"urn:oid:1.2\"}}}",
	 "$.fhir.regions.r1", "unit_sytem"},
	{"{\"regions\": {\"r1\": {\"unit_system\": \"urn:x\"}}}",
	 "$.fhir.regions.r1.unit_system", "identifier system"},
};

START_TEST(test_refused)
{
	struct model m;
	char err[512] = "", want[64];

	ck_assert_msg(
		!load_with("se-adult", bad[_i].fhir, &m, err, sizeof(err)),
		"%s accepted", bad[_i].fhir);
	snprintf(want, sizeof(want), "inline: %s: ", bad[_i].path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: %s",
		      bad[_i].fhir, err);
	ck_assert_msg(strstr(err, bad[_i].what) != NULL, "%s: %s", bad[_i].fhir,
		      err);
	/* A refused model is left empty. */
	ck_assert(m.fhir.regions == NULL && m.name == NULL);
}
END_TEST

Suite *fhir_model_suite(void)
{
	Suite *s = suite_create("fhir_model");
	TCase *tc = tcase_create("systems");

	tcase_add_loop_test(tc, test_shipped, 0,
			    (int)(sizeof(shipped) / sizeof(shipped[0])));
	tcase_add_test(tc, test_country_defaults);
	tcase_add_test(tc, test_region_systems);
	tcase_add_loop_test(tc, test_refused, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	suite_add_tcase(s, tc);
	return s;
}
