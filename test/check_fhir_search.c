/*
 * FHIR searches (lib/fhir_search), the outbox's change descriptions
 * (lib/fhir_change) and notifications (lib/fhir_notify), over pathways the
 * real parser and state machine built (fhir_fixture).
 */
#include <check.h>
#include <string.h>

#include "fhir_capability.h"
#include "fhir_change.h"
#include "fhir_fixture.h"
#include "fhir_notify.h"
#include "fhir_resource.h"
#include "fhir_search.h"
#include "suites.h"

static bool parse1(const char *type, const char *name, const char *value,
		   struct fhir_search *s)
{
	struct fhir_query_param q = {name, value};
	struct fhir_error err;

	return fhir_search_parse(type, &q, 1, s, &err);
}

/* Does a resource of a pathway walked to stage match name=value? */
static bool matches(const char *type, const char *stage, const char *name,
		    const char *value)
{
	struct fx fx;
	struct fhir_view v;
	struct fhir_search s;
	json_t *r;
	bool m;

	fx_open(&fx, "no", "pw-s", NULL);
	fx_referral(&fx, stage);
	ck_assert(fhir_view_load(&v, fx_config(), fx.model, fx.pathway,
				 fx.transitions));
	r = strcmp(type, "EpisodeOfCare") == 0 ? fhir_resource_episode(&v)
	    : strcmp(type, "Task") == 0
		    ? fhir_resource_task(&v, &v.history.referrals[0])
		    : fhir_resource_service_request(&v,
						    &v.history.referrals[0]);
	ck_assert_msg(parse1(type, name, value, &s), "%s=%s", name, value);
	m = fhir_search_matches(&s, r);
	json_decref(r);
	fhir_view_free(&v);
	fx_free(&fx);
	return m;
}

START_TEST(test_tokens_and_references)
{
	ck_assert(matches("Task", "assessing", "status", "received"));
	ck_assert(matches("Task", "assessing", "status", "accepted,received"));
	ck_assert(!matches("Task", "assessing", "status", "accepted"));
	ck_assert(matches("Task", "assessing", "owner", "clinic-1"));
	ck_assert(matches("Task", "assessing", "owner:identifier",
			  "urn:oid:2.16.578.1.12.4.1.4.101|clinic-1"));
	ck_assert(!matches("Task", "assessing", "owner", "urn:other|clinic-1"));
	ck_assert(matches("Task", "assessing", "patient", "p-pw-s"));
	ck_assert(matches("Task", "assessing", "focus",
			  "ServiceRequest/pw-s.r2"));
	ck_assert(matches("Task", "assessing", "business-status", "assessing"));
	ck_assert(matches("EpisodeOfCare", "waiting", "status", "waitlist"));
	ck_assert(matches("EpisodeOfCare", "waiting", "_id", "pw-s"));
	ck_assert(matches("ServiceRequest", "rejected", "status", "revoked"));
	ck_assert(
		matches("ServiceRequest", "referred", "performer", "clinic-1"));
}
END_TEST

START_TEST(test_dates)
{
	cal_millis lo, hi;

	ck_assert(fhir_search_date_range("2025", &lo, &hi));
	ck_assert_int_eq(hi - lo, 365LL * 86400000);
	ck_assert(fhir_search_date_range("2025-02", &lo, &hi));
	ck_assert_int_eq(hi - lo, 28LL * 86400000);
	ck_assert(fhir_search_date_range("2025-03-04T10:00", &lo, &hi));
	ck_assert_int_eq(hi - lo, 1000);
	ck_assert(!fhir_search_date_range("2025-02-30", &lo, &hi));
	ck_assert(!fhir_search_date_range("yesterday", &lo, &hi));
	/* The referral was sent 2025-03-04 (fixture). */
	ck_assert(matches("ServiceRequest", "referred", "authored", "2025-03"));
	ck_assert(matches("ServiceRequest", "referred", "authored",
			  "ge2025-03-01"));
	ck_assert(!matches("ServiceRequest", "referred", "authored",
			   "lt2025-03-01"));
	/* The transit deadline runs while referred. */
	ck_assert(matches("Task", "referred", "deadline", "le2026-01-01"));
	ck_assert(!matches("Task", "referred", "deadline", "lt2025-03-01"));
}
END_TEST

START_TEST(test_refusals)
{
	struct fhir_search s;
	struct fhir_query_param q[2] = {{"_count", "2000"}, {"x", "y"}};
	struct fhir_error err;

	ck_assert(!fhir_search_parse("Task", &q[0], 1, &s, &err));
	ck_assert(!fhir_search_parse("Task", &q[1], 1, &s, &err));
	ck_assert(!parse1("Task", "owner:missing", "true", &s));
	ck_assert(!parse1("Task", "status:identifier", "x", &s));
	ck_assert(!parse1("EpisodeOfCare", "_include", "Task:focus", &s));
	ck_assert(parse1("Task", "_include", "Task:focus", &s) &&
		  s.include_focus);
	ck_assert(!parse1("Task", "modified", "gt2025-13-01", &s));
	ck_assert(!parse1("Task", "cursor", "zz", &s));
}
END_TEST

/* Every search parameter of the capability table is one the search reads. */
START_TEST(test_table_covered)
{
	static const char *const types[] = {"EpisodeOfCare", "ServiceRequest",
					    "Task"};
	struct fhir_search s;

	for (size_t t = 0; t < 3; t++) {
		const struct fhir_resource_row *row =
			fhir_capability_find(types[t]);
		for (const struct fhir_search_param *p = row->params;
		     p->name != NULL; p++)
			ck_assert_msg(parse1(types[t], p->name,
					     p->type == FHIR_PARAM_DATE ? "2025"
									: "x",
					     &s),
				      "%s %s", types[t], p->name);
	}
}
END_TEST

START_TEST(test_cursor_round_trip)
{
	char text[256], id[ID_MAX + 1];
	long long micros;
	int seq;

	fhir_search_cursor(1741000000123456LL, "pw:a_b", 7, text, sizeof(text));
	ck_assert(fhir_search_cursor_parse(text, &micros, id, &seq));
	ck_assert_int_eq(micros, 1741000000123456LL);
	ck_assert_str_eq(id, "pw:a_b");
	ck_assert_int_eq(seq, 7);
}
END_TEST

static void hex_of(const char *plain, char *out)
{
	for (; *plain != '\0'; plain++, out += 2)
		sprintf(out, "%02x", (unsigned char)*plain);
	*out = '\0';
}

/* A forged cursor with a time PostgreSQL cannot hold reached the search's
 * statement, which failed: a 500 where the request was at fault. */
START_TEST(regression_forged_fhir_cursor_out_of_range_is_refused)
{
	static const char *const forged[] = {
		"99999999999999999999.1.pw1",	   /* past strtoll */
		"253402300800000000.1.pw1",	   /* year 10000 */
		"-62135596800000001.1.pw1",	   /* before year 1 */
		"1741000000123456.9999999999.pw1", /* seq past int */
		"1741000000123456.-1.pw1",
	};
	char text[256], id[ID_MAX + 1];
	long long micros;
	int seq;

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		hex_of(forged[i], text);
		ck_assert_msg(
			!fhir_search_cursor_parse(text, &micros, id, &seq),
			"%s accepted", forged[i]);
	}
	hex_of("253402300799999999.0.pw1", text);
	ck_assert(fhir_search_cursor_parse(text, &micros, id, &seq));
	ck_assert_int_eq(micros, 253402300799999999LL);
}
END_TEST

/* The outbox's description names every unit a changed resource can be
 * found by, and the decision feedback's GP. */
START_TEST(test_change_units)
{
	struct fx fx;
	struct pathway before;
	struct fhir_change c;
	bool gp = false, clinic = false;

	fx_open(&fx, "no", "pw-c", NULL);
	fx_referral(&fx, "assessing");
	before = fx.state;
	fx_event(&fx, "referral.rejected", "2025-03-10T08:00:00+01:00", NULL,
		 json_pack("{s:s, s:s}", "reason", "r", "advice", "a"));
	fhir_change_describe(&before, &fx.state, "referral.rejected", true, &c);
	for (int i = 0; i < c.unit_count; i++) {
		gp = gp || strcmp(c.units[i], "gp-1") == 0;
		clinic = clinic || strcmp(c.units[i], "clinic-1") == 0;
	}
	ck_assert(gp && clinic && c.decision && !c.any_unit);
	ck_assert_str_eq(c.episode_status, "active");
	fx_free(&fx);
}
END_TEST

/* A notification holds what the event changed: the episode and the Task
 * it moved, not the referral's unchanged ServiceRequest. */
START_TEST(test_notify_changed)
{
	struct fx fx;
	json_t *old_pathway, *old_transitions, *changed, *bundle;
	struct fhir_view before, after;
	struct fhir_subscription sub = {.resource_type = "Task"};

	fx_open(&fx, "no", "pw-n", NULL);
	fx_referral(&fx, "referred");
	old_pathway = json_deep_copy(fx.pathway);
	old_transitions = json_deep_copy(fx.transitions);
	fx_event(&fx, "referral.received", "2025-03-06T08:00:00+01:00", NULL,
		 NULL);
	ck_assert(fhir_view_load(&before, fx_config(), fx.model, old_pathway,
				 old_transitions));
	ck_assert(fhir_view_load(&after, fx_config(), fx.model, fx.pathway,
				 fx.transitions));
	changed = fhir_notify_changed(&after, &before);
	ck_assert_int_eq(json_array_size(changed), 2);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(changed, 1), "resourceType")),
			 "Task");
	ck_assert(fhir_notify_matches(&sub, json_array_get(changed, 1), false,
				      NULL));
	bundle = fhir_notify_bundle(fx_config(), changed, false);
	ck_assert_str_eq(json_string_value(json_object_get(bundle, "type")),
			 "history");
	ck_assert_ptr_null(json_object_get(
		json_array_get(json_object_get(bundle, "entry"), 0),
		"resource"));
	json_decref(bundle);
	fhir_view_free(&before);
	fhir_view_free(&after);
	json_decref(old_pathway);
	json_decref(old_transitions);
	fx_free(&fx);
}
END_TEST

Suite *fhir_search_suite(void)
{
	Suite *s = suite_create("fhir_search");
	TCase *tc = tcase_create("search");

	tcase_add_test(tc, test_tokens_and_references);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_table_covered);
	tcase_add_test(tc, test_cursor_round_trip);
	tcase_add_test(tc,
		       regression_forged_fhir_cursor_out_of_range_is_refused);
	tcase_add_test(tc, test_change_units);
	tcase_add_test(tc, test_notify_changed);
	suite_add_tcase(s, tc);
	return s;
}
