/*
 * Unit tests for lib/fhir_resource.c and lib/fhir_history.c: the
 * resources of pathways built through the real state machine
 * (test/fhir_fixture.h), a referral at every stage under every model
 * (test/data/fhir_referrals.tsv), later events (transfers, closing, a
 * second referral, the Danish free choice), issue 12's corrections,
 * retractions and reopening as transitions, ids and reads.
 */
#include <check.h>
#include <string.h>

#include "fhir_fixture.h"
#include "fhir_resource.h"
#include "suites.h"

#define REFERRALS "test/data/fhir_referrals.tsv"

/* The string at a dotted path of obj ("a.b.0.c": array index 0). */
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

static void str_eq(const char *got, const char *want, const char *what)
{
	ck_assert_msg(want == NULL ? got == NULL
				   : got != NULL && strcmp(got, want) == 0,
		      "%s: %s, want %s", what, got ? got : "(none)",
		      want ? want : "(none)");
}

static void load(struct fhir_view *v, struct fx *fx)
{
	ck_assert(fhir_view_load(v, fx_config(), fx->model, fx->pathway,
				 fx->transitions));
}

/* The resources of the pathway: [0] EpisodeOfCare, then SR, Task, ... */
static json_t *render(struct fx *fx)
{
	struct fhir_view v;
	json_t *all;

	load(&v, fx);
	all = fhir_resource_all(&v);
	fhir_view_free(&v);
	ck_assert(all != NULL);
	return all;
}

/* The value of our extension painpath-<name> (first), by value key. */
static const json_t *ext(const json_t *r, const char *name)
{
	char url[FHIR_URL_MAX];
	const json_t *e;
	size_t i;

	fhir_config_extension_url(fx_config(), name, url);
	json_array_foreach(
		json_object_get(r, "extension"), i,
		e) if (strcmp(json_string_value(json_object_get(e, "url")),
			      url) == 0) return e;
	return NULL;
}

static size_t ext_count(const json_t *r, const char *name)
{
	char url[FHIR_URL_MAX];
	const json_t *e;
	size_t i, n = 0;

	fhir_config_extension_url(fx_config(), name, url);
	json_array_foreach(json_object_get(r, "extension"), i, e) n +=
		strcmp(json_string_value(json_object_get(e, "url")), url) == 0;
	return n;
}

START_TEST(test_referral_stages)
{
	struct fx_row rows[64];
	size_t n = fx_tsv(REFERRALS, rows, 64);

	ck_assert_uint_eq(n, 24);
	for (size_t i = 0; i < n; i++) {
		struct fx fx;
		json_t *all;
		const json_t *episode, *request, *task;
		char what[128];

		fx_open(&fx, rows[i].field[0], "pw-stage", NULL);
		fx_referral(&fx, rows[i].field[1]);
		all = render(&fx);
		ck_assert_uint_eq(json_array_size(all), 3);
		episode = json_array_get(all, 0);
		request = json_array_get(all, 1);
		task = json_array_get(all, 2);
		snprintf(what, sizeof(what), "line %d (%.40s %.40s)",
			 rows[i].line, rows[i].field[0], rows[i].field[1]);
		str_eq(at(task, "status"), rows[i].field[2], what);
		str_eq(at(task, "businessStatus.coding.0.code"),
		       rows[i].field[3], what);
		str_eq(at(request, "status"), rows[i].field[4], what);
		str_eq(at(episode, "status"), rows[i].field[5], what);
		str_eq(at(task, "restriction.period.end"),
		       fx_field(&rows[i], 6), what);
		str_eq(at(task, "owner.identifier.value"), "clinic-1", what);
		str_eq(at(task, "requester.identifier.value"), "gp-1", what);
		str_eq(at(request, "performer.0.identifier.value"), "clinic-1",
		       what);
		str_eq(at(task, "focus.reference"),
		       "ServiceRequest/pw-stage.r2", what);
		json_decref(all);
		fx_free(&fx);
	}
}
END_TEST

START_TEST(test_rejection_reason_and_advice)
{
	struct fx fx;
	json_t *all;
	const json_t *task;

	fx_open(&fx, "no", "pw-rej", NULL);
	fx_referral(&fx, "rejected");
	all = render(&fx);
	task = json_array_get(all, 2);
	str_eq(at(task, "statusReason.text"), "not long-lasting enough",
	       "reason");
	str_eq(at(task, "note.0.text"), "physiotherapy first", "advice");
	str_eq(at(task, "lastModified"), "2025-03-10T07:00:00.000Z",
	       "lastModified");
	ck_assert(json_object_get(task, "restriction") == NULL);
	ck_assert(ext(task, "deadline") == NULL);
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_episode)
{
	struct fx fx;
	json_t *all;
	const json_t *e, *history;

	fx_open(&fx, "no", "pw-ep",
		json_pack("{s:[s, s], s:s}", "flags", "trauma",
			  "young_adult_at_risk", "pain_onset", "2024-06-01"));
	fx_referral(&fx, "waiting");
	all = render(&fx);
	e = json_array_get(all, 0);
	str_eq(at(e, "resourceType"), "EpisodeOfCare", "type");
	str_eq(at(e, "id"), "pw-ep", "id");
	str_eq(at(e, "meta.versionId"), "4", "version");
	str_eq(at(e, "patient.identifier.system"),
	       "urn:oid:2.16.578.1.12.4.1.4.1", "fødselsnummer");
	str_eq(at(e, "patient.identifier.value"), "p-pw-ep", "patient");
	str_eq(at(e, "managingOrganization.identifier.system"),
	       "urn:oid:2.16.578.1.12.4.1.4.101", "unit system");
	str_eq(at(e, "type.0.coding.0.code"), "no", "model");
	str_eq(at(e, "period.start"), "2025-03-03T08:15:00.000Z", "opened");
	str_eq(at(e, "referralRequest.0.reference"), "ServiceRequest/pw-ep.r2",
	       "referral");
	ck_assert_uint_eq(ext_count(e, "flag"), 2);
	ck_assert_uint_eq(ext_count(e, "level-visited"), 1);
	str_eq(at(ext(e, "level"), "valueCoding.code"), "gp", "level");
	str_eq(at(ext(e, "level"), "valueCoding.display"), "regular GP",
	       "level name");
	str_eq(at(ext(e, "region"), "valueCode"), "region-1", "region");
	str_eq(at(ext(e, "pain-onset"), "valueDate"), "2024-06-01", "onset");
	ck_assert_int_eq(json_integer_value(json_object_get(ext(e, "age"),
							    "valueInteger")),
			 40);
	/* Running deadlines: the clinic's (treatment); the level review
	 * stopped when the referral was sent. */
	ck_assert_uint_eq(ext_count(e, "deadline"), 1);
	str_eq(at(ext(e, "deadline"), "extension.1.valueDate"), "2025-05-01",
	       "deadline");
	history = json_object_get(e, "statusHistory");
	ck_assert_uint_eq(json_array_size(history), 2);
	str_eq(at(history, "0.status"), "active", "history 0");
	str_eq(at(history, "0.period.end"), "2025-03-12T07:00:00.000Z",
	       "history 0 end");
	str_eq(at(history, "1.status"), "waitlist", "history 1");
	ck_assert(json_object_get(
			  json_object_get(json_array_get(history, 1), "period"),
			  "end") == NULL);
	json_decref(all);
	fx_free(&fx);
}
END_TEST

/* Found by the R4 validator: a pathway without a pain onset showed the
 * extension with a null value. */
START_TEST(test_absent_facts_stay_absent)
{
	struct fx fx;
	json_t *all;

	fx_open(&fx, "dk", "pw-bare", NULL);
	all = render(&fx);
	ck_assert(ext(json_array_get(all, 0), "pain-onset") == NULL);
	ck_assert(ext(json_array_get(all, 0), "close-reason") == NULL);
	ck_assert(ext(json_array_get(all, 0), "flag") == NULL);
	ck_assert(json_object_get(json_array_get(all, 0), "referralRequest") ==
		  NULL);
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_treatment_then_transfer_completes)
{
	struct fx fx;
	json_t *all;
	const json_t *task;

	fx_open(&fx, "dk", "pw-done", NULL);
	fx_referral(&fx, "treated");
	fx_event(&fx, "patient.transferred", "2025-09-01T10:00:00+02:00", NULL,
		 json_pack("{s:s, s:s}", "to_level", "gp", "to_unit", "gp-1"));
	all = render(&fx);
	task = json_array_get(all, 2);
	str_eq(at(task, "status"), "completed", "task");
	str_eq(at(json_array_get(all, 1), "status"), "completed", "request");
	str_eq(at(task, "executionPeriod.start"), "2025-04-10T06:00:00.000Z",
	       "started");
	str_eq(at(task, "executionPeriod.end"), "2025-09-01T08:00:00.000Z",
	       "ended");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_closing)
{
	struct fx fx;
	json_t *all;
	const json_t *e;

	fx_open(&fx, "se-adult", "pw-close", NULL);
	fx_referral(&fx, "waiting");
	fx_event(&fx, "pathway.closed", "2025-04-01T10:00:00+02:00", NULL,
		 json_pack("{s:s}", "reason", "moved"));
	all = render(&fx);
	e = json_array_get(all, 0);
	str_eq(at(e, "status"), "finished", "episode");
	str_eq(at(e, "period.end"), "2025-04-01T08:00:00.000Z", "closed");
	str_eq(at(ext(e, "close-reason"), "valueCoding.code"), "moved",
	       "reason");
	ck_assert(ext(e, "deadline") == NULL);
	/* The referral never reached treatment: cancelled, revoked. */
	str_eq(at(json_array_get(all, 2), "status"), "cancelled", "task");
	str_eq(at(json_array_get(all, 1), "status"), "revoked", "request");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "statusHistory")),
			  3);
	str_eq(at(e, "statusHistory.2.status"), "finished", "history");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_second_referral)
{
	struct fx fx;
	json_t *all;

	fx_open(&fx, "no", "pw-two", NULL);
	fx_referral(&fx, "treated");
	fx_event(&fx, "referral.sent", "2025-05-02T10:00:00+02:00", NULL,
		 json_pack("{s:s, s:s}", "to_level", "centre", "to_unit",
			   "centre-1"));
	fx_event(&fx, "referral.received", "2025-05-05T10:00:00+02:00",
		 "centre-1", NULL);
	fx_event(&fx, "referral.accepted", "2025-05-06T10:00:00+02:00",
		 "centre-1", json_pack("{s:s}", "deadline", "2025-06-30"));
	fx_event(&fx, "treatment.started", "2025-06-02T10:00:00+02:00",
		 "centre-1", NULL);
	all = render(&fx);
	ck_assert_uint_eq(json_array_size(all), 5);
	/* The clinic's care ended when the centre's began. */
	str_eq(at(json_array_get(all, 2), "status"), "completed", "first");
	str_eq(at(json_array_get(all, 2), "executionPeriod.end"),
	       "2025-06-02T08:00:00.000Z", "first ended");
	str_eq(at(json_array_get(all, 4), "status"), "in-progress", "second");
	str_eq(at(json_array_get(all, 4), "id"), "pw-two.r6", "second id");
	/* Sent by the clinic, where the patient then was. */
	str_eq(at(json_array_get(all, 4), "requester.identifier.value"),
	       "clinic-1", "second requester");
	str_eq(at(json_array_get(all, 3), "code.coding.0.code"), "centre",
	       "to level");
	ck_assert_uint_eq(json_array_size(json_object_get(
				  json_array_get(all, 0), "referralRequest")),
			  2);
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_free_choice_owner)
{
	struct fx fx;
	json_t *all;

	fx_open(&fx, "dk", "pw-free", NULL);
	fx_referral(&fx, "waiting");
	fx_event(&fx, "free_choice.chosen", "2025-04-07T10:00:00+02:00", NULL,
		 json_pack("{s:s}", "to_unit", "private-clinic-9"));
	all = render(&fx);
	str_eq(at(json_array_get(all, 2), "owner.identifier.value"),
	       "private-clinic-9", "owner");
	str_eq(at(json_array_get(all, 2), "status"), "accepted", "status");
	/* Choosing stopped the free-choice clock; nothing else runs. */
	ck_assert(json_object_get(json_array_get(all, 2), "restriction") ==
		  NULL);
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_retracted_referral)
{
	struct fx fx;
	json_t *all;

	fx_open(&fx, "no", "pw-retract", NULL);
	fx_referral(&fx, "referred");
	fx_meta(&fx, "event.retracted", "ev-2",
		json_pack("{s:s}", "reason", "wrong patient"), "active");
	json_object_set_new(fx.pathway, "deadlines", json_array());
	json_object_set_new(fx.pathway, "referral", json_null());
	all = render(&fx);
	str_eq(at(json_array_get(all, 2), "status"), "entered-in-error",
	       "task");
	str_eq(at(json_array_get(all, 2), "statusReason.text"), "wrong patient",
	       "reason");
	str_eq(at(json_array_get(all, 1), "status"), "entered-in-error",
	       "request");
	/* The retracted referral leaves no trace in the status history. */
	ck_assert_uint_eq(json_array_size(json_object_get(
				  json_array_get(all, 0), "statusHistory")),
			  1);
	str_eq(at(json_array_get(all, 0), "status"), "active", "episode");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_retracted_opening)
{
	struct fx fx;
	json_t *all;

	fx_open(&fx, "dk", "pw-void", NULL);
	fx_referral(&fx, "referred");
	fx_meta(&fx, "event.retracted", "ev-2",
		json_pack("{s:s}", "reason", "wrong patient"), NULL);
	fx_meta(&fx, "event.retracted", "ev-1",
		json_pack("{s:s}", "reason", "wrong patient"),
		"entered_in_error");
	all = render(&fx);
	str_eq(at(json_array_get(all, 0), "status"), "entered-in-error",
	       "episode");
	ck_assert(json_object_get(json_array_get(all, 0), "statusHistory") ==
		  NULL);
	str_eq(at(json_array_get(all, 2), "status"), "entered-in-error",
	       "task");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_corrected_time)
{
	struct fx fx;
	json_t *all;

	fx_open(&fx, "no", "pw-corr", NULL);
	fx_referral(&fx, "assessing");
	/* The receipt was on the 5th, not the 6th (ev-3). */
	fx_meta(&fx, "event.corrected", "ev-3",
		json_pack("{s:s, s:s}", "reason", "typo", "occurred_at",
			  "2025-03-05T08:00:00+01:00"),
		NULL);
	all = render(&fx);
	str_eq(at(json_array_get(all, 2), "lastModified"),
	       "2025-03-05T07:00:00.000Z", "corrected");
	str_eq(at(json_array_get(all, 0), "statusHistory.0.status"), "active",
	       "history");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_reopened)
{
	struct fx fx;
	json_t *all;

	fx_open(&fx, "no", "pw-reopen", NULL);
	fx_referral(&fx, "treated");
	fx_event(&fx, "pathway.closed", "2025-05-01T10:00:00+02:00", NULL,
		 json_pack("{s:s}", "reason", "completed"));
	all = render(&fx);
	str_eq(at(json_array_get(all, 2), "status"), "completed", "closed");
	json_decref(all);
	fx_raw(&fx, "pathway.reopened", "2025-05-20T08:00:00.000Z",
	       json_pack("{s:s}", "reason", "pain returned"), "active");
	all = render(&fx);
	str_eq(at(json_array_get(all, 2), "status"), "in-progress", "reopened");
	ck_assert(json_object_get(json_object_get(json_array_get(all, 2),
						  "executionPeriod"),
				  "end") == NULL);
	str_eq(at(json_array_get(all, 0), "statusHistory.2.status"), "active",
	       "history");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_read_by_id)
{
	struct fx fx;
	struct fhir_view v;
	json_t *r;

	fx_open(&fx, "se-child", "ehr:pw_1", NULL);
	fx_referral(&fx, "assessing");
	load(&v, &fx);
	r = fhir_resource_read(&v, "EpisodeOfCare", "ehr.cpw.u1");
	str_eq(at(r, "id"), "ehr.cpw.u1", "episode");
	json_decref(r);
	r = fhir_resource_read(&v, "Task", "ehr.cpw.u1.r2");
	str_eq(at(r, "status"), "received", "task");
	json_decref(r);
	r = fhir_resource_read(&v, "ServiceRequest", "ehr.cpw.u1.r2");
	str_eq(at(r, "intent"), "order", "request");
	json_decref(r);
	ck_assert(fhir_resource_read(&v, "Task", "ehr.cpw.u1.r3") == NULL);
	ck_assert(fhir_resource_read(&v, "Task", "ehr.cpw.u1") == NULL);
	ck_assert(fhir_resource_read(&v, "Task", "other.r2") == NULL);
	ck_assert(fhir_resource_read(&v, "Patient", "ehr.cpw.u1") == NULL);
	ck_assert(fhir_resource_read(&v, "EpisodeOfCare", "ehr.cpw.u2") ==
		  NULL);
	fhir_view_free(&v);
	fx_free(&fx);
}
END_TEST

START_TEST(test_long_pathway_id)
{
	struct fx fx;
	json_t *all;
	char id[ID_MAX + 1], hash[FHIR_ID_HASH_HEX + 1], want[80];

	memset(id, 'p', ID_MAX);
	id[ID_MAX] = '\0';
	fx_open(&fx, "dk", id, NULL);
	fx_referral(&fx, "referred");
	all = render(&fx);
	fhir_id_pathway_hash(id, hash);
	snprintf(want, sizeof(want), "pw.h%s", hash);
	str_eq(at(json_array_get(all, 0), "id"), want, "episode id");
	snprintf(want, sizeof(want), "pw.h%s.r2", hash);
	str_eq(at(json_array_get(all, 2), "id"), want, "task id");
	/* The pathway id itself stays findable as an identifier. */
	str_eq(at(json_array_get(all, 0), "identifier.0.value"), id,
	       "identifier");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_same_version_everywhere)
{
	struct fx fx;
	json_t *all;
	const json_t *r;
	size_t i;
	char etag[24];

	fx_open(&fx, "se-adult", "pw-ver", NULL);
	fx_referral(&fx, "waiting");
	all = render(&fx);
	json_array_foreach(all, i, r)
	{
		str_eq(at(r, "meta.versionId"), "4", "versionId");
		str_eq(at(r, "meta.lastUpdated"), at(fx.pathway, "updated_at"),
		       "lastUpdated");
	}
	fhir_resource_etag(4, etag);
	ck_assert_str_eq(etag, "W/\"4\"");
	json_decref(all);
	fx_free(&fx);
}
END_TEST

START_TEST(test_region_unit_system)
{
	json_t *doc = json_load_file("config/models/no.json", 0, NULL);
	struct model m;
	struct fhir_view v;
	struct fx fx;
	char err[512] = "";
	json_t *task;

	json_object_set_new(doc, "fhir",
			    json_pack("{s:{s:{s:s}}}", "regions", "region-1",
				      "unit_system",
				      "urn:oid:2.16.578.1.12.4.1.4.102"));
	ck_assert_msg(model_load_json(doc, "inline", &m, err, sizeof(err)),
		      "%s", err);
	fx_open(&fx, "no", "pw-resh", NULL);
	fx_referral(&fx, "assessing");
	ck_assert(fhir_view_load(&v, fx_config(), &m, fx.pathway,
				 fx.transitions));
	task = fhir_resource_read(&v, "Task", "pw-resh.r2");
	/* The region's register; the country's patients as before. */
	str_eq(at(task, "owner.identifier.system"),
	       "urn:oid:2.16.578.1.12.4.1.4.102", "region's units");
	str_eq(at(task, "for.identifier.system"),
	       "urn:oid:2.16.578.1.12.4.1.4.1", "patients");
	json_decref(task);
	fhir_view_free(&v);
	fx_free(&fx);
	model_free(&m);
	json_decref(doc);
}
END_TEST

START_TEST(test_not_a_pathway)
{
	struct fx fx;
	struct fhir_view v;
	json_t *bad;

	fx_open(&fx, "no", "pw-bad", NULL);
	/* Another model than the pathway's. */
	ck_assert(!fhir_view_load(&v, fx_config(), fx_model("dk"), fx.pathway,
				  fx.transitions));
	bad = json_deep_copy(fx.pathway);
	json_object_set_new(bad, "phase", json_string("floating"));
	ck_assert(!fhir_view_load(&v, fx_config(), fx.model, bad,
				  fx.transitions));
	json_decref(bad);
	bad = json_pack("[{s:s}]", "type", "pathway.opened");
	ck_assert(!fhir_view_load(&v, fx_config(), fx.model, fx.pathway, bad));
	json_decref(bad);
	ck_assert(!fhir_view_load(&v, fx_config(), fx.model, fx.pathway, NULL));
	fx_free(&fx);
}
END_TEST

Suite *fhir_resource_suite(void)
{
	Suite *s = suite_create("fhir_resource");
	TCase *tc = tcase_create("referrals");

	tcase_add_test(tc, test_referral_stages);
	tcase_add_test(tc, test_rejection_reason_and_advice);
	tcase_add_test(tc, test_treatment_then_transfer_completes);
	tcase_add_test(tc, test_closing);
	tcase_add_test(tc, test_second_referral);
	tcase_add_test(tc, test_free_choice_owner);
	suite_add_tcase(s, tc);
	tc = tcase_create("episode");
	tcase_add_test(tc, test_episode);
	tcase_add_test(tc, test_same_version_everywhere);
	tcase_add_test(tc, test_absent_facts_stay_absent);
	tcase_add_test(tc, test_region_unit_system);
	suite_add_tcase(s, tc);
	tc = tcase_create("corrections");
	tcase_add_test(tc, test_retracted_referral);
	tcase_add_test(tc, test_retracted_opening);
	tcase_add_test(tc, test_corrected_time);
	tcase_add_test(tc, test_reopened);
	suite_add_tcase(s, tc);
	tc = tcase_create("ids");
	tcase_add_test(tc, test_read_by_id);
	tcase_add_test(tc, test_long_pathway_id);
	tcase_add_test(tc, test_not_a_pathway);
	suite_add_tcase(s, tc);
	return s;
}
