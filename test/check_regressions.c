/*
 * One test per bug fixed, named after it (found by fuzz/ or by review).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "event.h"
#include "fsm.h"
#include "model.h"
#include "report.h"
#include "suites.h"

/* 2030-01-01T00:00:00Z */
#define NOW ((cal_millis)1893456000000)

/* fuzz_timestamp: the year range was checked on the local text, so
 * 1900-01-01T00:00:00+00:01 parsed to an instant in 1899 that the
 * formatter wrote and the parser then refused. */
START_TEST(regression_timestamp_range_is_utc)
{
	cal_millis t;

	ck_assert(!calendar_parse_timestamp("1900-01-01T00:00:00+00:01", &t));
	ck_assert(!calendar_parse_timestamp("2999-12-31T23:59:59-00:01", &t));
	ck_assert(calendar_parse_timestamp("1900-01-01T00:01:00+00:01", &t));
}
END_TEST

static bool parse_and_open(const char *text, struct pp_error *err)
{
	json_t *j = json_loads(text, 0, NULL);
	struct model_set models;
	struct event ev;
	struct pathway after;
	struct transition tr;
	struct fsm_effects fx;
	char why[512];
	bool ok;

	ck_assert_ptr_nonnull(j);
	ck_assert(
		model_set_load_dir("config/models", &models, why, sizeof(why)));
	ok = event_parse(j, NOW, &ev, err) &&
	     fsm_apply(NULL, &ev, &models, "pw-1", NOW, &after, &tr, &fx, err);
	model_set_free(&models);
	json_decref(j);
	return ok;
}

/* fuzz_event: a pain onset in year 2999 put the level_review clock in
 * year 3000, which the stored pathway could not be read back with. */
START_TEST(regression_future_pain_onset_is_refused)
{
	struct pp_error err;

	ck_assert(!parse_and_open(
		"{\"event_id\":\"e\",\"type\":\"pathway.opened\",\"patient_"
		"id\":"
		"\"p\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"model\":"
		"\"dk\","
		"\"region\":\"r\",\"data\":{\"pain_onset\":\"2999-12-31\"}}",
		&err));
	ck_assert_int_eq(err.code, ERR_INVALID_EVENT);
	ck_assert_str_eq(err.field, "data.pain_onset");
	ck_assert(parse_and_open(
		"{\"event_id\":\"e\",\"type\":\"pathway.opened\",\"patient_"
		"id\":"
		"\"p\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"model\":"
		"\"dk\","
		"\"region\":\"r\",\"data\":{\"pain_onset\":\"2025-01-01\"}}",
		&err));
}
END_TEST

/* fuzz_event: 0 means "not yet" in a pathway's timestamps, so an event at
 * the epoch read back as absent (a closed pathway without closed_at). */
START_TEST(regression_epoch_occurred_at_is_refused)
{
	struct pp_error err;

	ck_assert(!parse_and_open("{\"event_id\":\"e\",\"type\":\"pathway."
				  "opened\",\"patient_id\":"
				  "\"p\",\"occurred_at\":\"1970-01-01T00:00:"
				  "00Z\",\"model\":\"dk\","
				  "\"region\":\"r\"}",
				  &err));
	ck_assert_str_eq(err.field, "occurred_at");
}
END_TEST

/* Review: the night's model keys went into a text[] literal unquoted, so
 * a model keyed "null" was an SQL NULL and its items were never found. */
START_TEST(regression_report_model_keys_unquoted)
{
	struct model_set models;
	char keys[REPORT_LIST_LEN], ends[REPORT_LIST_LEN], why[512];

	ck_assert(
		model_set_load_dir("config/models", &models, why, sizeof(why)));
	ck_assert_uint_gt(models.count, 1);
	snprintf(models.models[0].key, sizeof(models.models[0].key), "null");
	ck_assert(
		report_windows(&models, calendar_date(2025, 6, 2), keys, ends));
	ck_assert_msg(strncmp(keys, "{\"null\",\"", 9) == 0, "%s", keys);
	model_set_free(&models);
}
END_TEST

Suite *regressions_suite(void)
{
	Suite *s = suite_create("regressions");
	TCase *tc = tcase_create("bugs");

	tcase_add_test(tc, regression_timestamp_range_is_utc);
	tcase_add_test(tc, regression_future_pain_onset_is_refused);
	tcase_add_test(tc, regression_epoch_occurred_at_is_refused);
	tcase_add_test(tc, regression_report_model_keys_unquoted);
	suite_add_tcase(s, tc);
	return s;
}
