/*
 * Unit tests for lib/event.c: api.md "Events in".  Table-driven from
 * test/data/events_invalid.tsv (an event and the error code and field it
 * must get) and test/data/events_valid.tsv (an event of every type that must
 * parse), with a fixed server clock so the "5 minutes in the future" rule is
 * deterministic.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"
#include "error.h"
#include "event.h"
#include "suites.h"
#include "tsv.h"

/* The server clock every row is parsed at. */
#define NOW_TEXT "2025-06-01T12:00:00Z"

static cal_millis now_ms(void)
{
	cal_millis t;

	ck_assert(calendar_parse_timestamp(NOW_TEXT, &t));
	return t;
}

static cal_millis stamp(const char *text)
{
	cal_millis t;

	ck_assert_msg(calendar_parse_timestamp(text, &t), "bad stamp %s", text);
	return t;
}

static cal_date date(const char *text)
{
	cal_date d;

	ck_assert_msg(calendar_parse_date(text, &d), "bad date %s", text);
	return d;
}

/* --- tables ------------------------------------------------------------ */

/* Parses like the daemon (duplicate keys refused). */
static json_t *load_row_json(struct tsv *t, const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       &jerr);

	if (j == NULL)
		tsv_fail(t, "row is not JSON: %s", jerr.text);
	return j;
}

START_TEST(test_invalid_table)
{
	struct tsv t;

	tsv_open(&t, "events_invalid.tsv");
	while (tsv_next(&t, 3, 3)) {
		const char *code = t.col[0], *field = t.col[1];
		json_t *j = load_row_json(&t, t.col[2]);
		struct event ev;
		struct pp_error err;

		if (j == NULL)
			continue;
		memset(&err, 0, sizeof(err));
		if (event_parse(j, now_ms(), &ev, &err))
			tsv_fail(&t, "parsed (type %s), want %s on %s",
				 domain_event_name(ev.type), code, field);
		else if (strcmp(error_code_name(err.code), code) != 0)
			tsv_fail(&t, "got %s (%s), want %s",
				 error_code_name(err.code), err.message, code);
		else if (strcmp(field, "-") != 0 &&
			 strcmp(err.field, field) != 0)
			tsv_fail(&t, "field \"%s\" (%s), want \"%s\"",
				 err.field, err.message, field);
		else if (err.message[0] == '\0')
			tsv_fail(&t, "no error message");
		json_decref(j);
	}
	tsv_close(&t, 70);
}
END_TEST

START_TEST(test_valid_table)
{
	struct tsv t;
	unsigned types_seen = 0;

	tsv_open(&t, "events_valid.tsv");
	while (tsv_next(&t, 3, 3)) {
		enum event_type want;
		int covered = atoi(t.col[1]);
		json_t *j = load_row_json(&t, t.col[2]);
		struct event ev;
		struct pp_error err;

		if (j == NULL)
			continue;
		if (!domain_event_parse(t.col[0], &want)) {
			tsv_fail(&t, "unknown type column %s", t.col[0]);
		} else if (!event_parse(j, now_ms(), &ev, &err)) {
			tsv_fail(&t, "refused: %s on %s: %s",
				 error_code_name(err.code), err.field,
				 err.message);
		} else {
			const json_t *id = json_object_get(j, "event_id");
			types_seen |= 1u << ev.type;
			if (ev.type != want)
				tsv_fail(&t, "type %s, want %s",
					 domain_event_name(ev.type), t.col[0]);
			if (ev.content_covered != covered)
				tsv_fail(&t, "content_covered %d, want %d",
					 ev.content_covered, covered);
			if (strcmp(ev.event_id, json_string_value(id)) != 0)
				tsv_fail(&t, "event_id %s", ev.event_id);
			if (ev.data == NULL || !json_is_object(ev.data))
				tsv_fail(&t, "data is not an object");
			if (ev.json != j)
				tsv_fail(&t, "json does not borrow the event");
			if (ev.occurred_at !=
			    stamp(json_string_value(
				    json_object_get(j, "occurred_at"))))
				tsv_fail(&t, "occurred_at differs");
		}
		json_decref(j);
	}
	tsv_close(&t, 30);
	ck_assert_msg(types_seen == (1u << EV_COUNT) - 1,
		      "events_valid.tsv lacks some types: seen %#x",
		      types_seen);
}
END_TEST

/* --- what a parsed event holds --------------------------------------- */

static json_t *parse_ok(const char *text, struct event *ev)
{
	struct pp_error err;
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	ck_assert_msg(j != NULL, "test JSON: %s", jerr.text);
	ck_assert_msg(event_parse(j, now_ms(), ev, &err), "%s: %s", err.field,
		      err.message);
	return j;
}

START_TEST(test_opened_fields)
{
	struct event ev;
	json_t *j = parse_ok(
		"{\"event_id\":\"e-1\",\"type\":\"pathway.opened\","
		"\"patient_id\":\"p-000042\",\"occurred_at\":"
		"\"2025-03-03T09:15:00+01:00\",\"model\":\"no\",\"region\":"
		"\"helse-vest\",\"unit\":\"gp-a\",\"data\":{\"level\":\"team\","
		"\"pain_onset\":\"2024-09-15\",\"birth_date\":\"1980-05-05\","
		"\"flags\":[\"trauma\",\"cancer_survivor\",\"trauma\"]}}",
		&ev);

	ck_assert_int_eq(ev.type, EV_PATHWAY_OPENED);
	ck_assert_str_eq(ev.patient_id, "p-000042");
	ck_assert_str_eq(ev.model, "no");
	ck_assert_str_eq(ev.region, "helse-vest");
	ck_assert_str_eq(ev.unit, "gp-a");
	ck_assert_str_eq(ev.pathway_id, "");
	ck_assert(ev.occurred_at == stamp("2025-03-03T08:15:00Z"));
	ck_assert(ev.has_level);
	ck_assert_int_eq(ev.level, LEVEL_TEAM);
	ck_assert(ev.has_pain_onset);
	ck_assert_int_eq(ev.pain_onset, date("2024-09-15"));
	ck_assert(ev.has_birth_date);
	ck_assert_int_eq(ev.birth_date, date("1980-05-05"));
	ck_assert_int_eq(ev.age, -1);
	ck_assert_uint_eq(ev.flags,
			  1u << FLAG_TRAUMA | 1u << FLAG_CANCER_SURVIVOR);
	json_decref(j);

	j = parse_ok(
		"{\"event_id\":\"e-2\",\"type\":\"pathway.opened\","
		"\"patient_id\":\"p-1\",\"occurred_at\":"
		"\"2025-03-03T09:15:00Z\",\"model\":\"dk\",\"region\":\"r\","
		"\"data\":{\"age\":0}}",
		&ev);
	ck_assert(!ev.has_level);
	ck_assert(!ev.has_pain_onset);
	ck_assert(!ev.has_birth_date);
	ck_assert_int_eq(ev.age, 0);
	ck_assert_uint_eq(ev.flags, 0);
	ck_assert_str_eq(ev.unit, "");
	json_decref(j);
}
END_TEST

START_TEST(test_referral_fields)
{
	struct event ev;
	json_t *j = parse_ok(
		"{\"event_id\":\"e-1\",\"type\":\"referral.sent\","
		"\"patient_id\":\"p-1\",\"occurred_at\":\"2025-03-03T09:15:"
		"00Z\","
		"\"data\":{\"to_level\":\"centre\",\"to_unit\":\"c-1\","
		"\"earlier_levels_considered\":true,\"justification\":\"why\","
		"\"private_unit\":true,\"content\":{\"patient_view\":true,"
		"\"psychosocial\":\"works part time\",\"medicines\":\"\","
		"\"alcohol_drugs\":false,\"motivation\":true}}}",
		&ev);

	ck_assert(ev.has_level);
	ck_assert_int_eq(ev.level, LEVEL_CENTRE);
	ck_assert_str_eq(ev.to_unit, "c-1");
	ck_assert(ev.earlier_levels_considered);
	ck_assert(ev.private_unit);
	ck_assert_str_eq(ev.justification, "why");
	/* covered: true, or a non-empty text; not false, not "" */
	ck_assert_int_eq(ev.content_covered, 3);
	json_decref(j);

	j = parse_ok("{\"event_id\":\"e-2\",\"type\":\"referral.accepted\","
		     "\"patient_id\":\"p-1\",\"occurred_at\":"
		     "\"2025-03-03T09:15:00Z\",\"data\":{\"deadline\":"
		     "\"2025-04-30\"}}",
		     &ev);
	ck_assert(ev.has_deadline);
	ck_assert_int_eq(ev.deadline, date("2025-04-30"));
	json_decref(j);

	j = parse_ok("{\"event_id\":\"e-3\",\"type\":\"referral.rejected\","
		     "\"patient_id\":\"p-1\",\"occurred_at\":"
		     "\"2025-03-03T09:15:00Z\",\"data\":{\"reason\":\"r1\","
		     "\"advice\":\"a1\"}}",
		     &ev);
	ck_assert_str_eq(ev.reason, "r1");
	ck_assert_str_eq(ev.advice, "a1");
	json_decref(j);

	j = parse_ok("{\"event_id\":\"e-4\",\"type\":\"pathway.closed\","
		     "\"patient_id\":\"p-1\",\"occurred_at\":"
		     "\"2025-03-03T09:15:00Z\",\"data\":{\"reason\":"
		     "\"deceased\"}}",
		     &ev);
	ck_assert_int_eq(ev.close_reason, CLOSE_DECEASED);
	json_decref(j);
}
END_TEST

START_TEST(test_future_boundary)
{
	/* Exactly 5 minutes ahead of now is accepted, one millisecond more
	 * is not, whatever now is. */
	static const char *const tpl =
		"{\"event_id\":\"e-1\",\"type\":\"treatment.started\","
		"\"patient_id\":\"p-1\",\"occurred_at\":\"%s\"}";
	char text[256], at[CAL_TIMESTAMP_LEN];
	cal_millis now = stamp("2031-12-31T23:58:00Z");
	struct event ev;
	struct pp_error err;
	json_t *j;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	calendar_format_timestamp(now + 5 * 60 * 1000, at);
	snprintf(text, sizeof(text), tpl, at);
	j = json_loads(text, 0, NULL);
	ck_assert(event_parse(j, now, &ev, &err));
	json_decref(j);
	calendar_format_timestamp(now + 5 * 60 * 1000 + 1, at);
	snprintf(text, sizeof(text), tpl, at);
#pragma GCC diagnostic pop
	j = json_loads(text, 0, NULL);
	ck_assert(!event_parse(j, now, &ev, &err));
	ck_assert_int_eq(err.code, ERR_INVALID_EVENT);
	ck_assert_str_eq(err.field, "occurred_at");
	json_decref(j);
}
END_TEST

START_TEST(test_error_json)
{
	/* api.md "Errors": {"error": {"code", "message", "field"}} with the
	 * HTTP status of the code. */
	struct event ev;
	struct pp_error err;
	json_t *j = json_loads("{\"event_id\":\"e-1\",\"type\":\"referral."
			       "sent\",\"patient_id\":\"p-1\",\"occurred_at\":"
			       "\"2025-03-03T09:15:00Z\",\"data\":{}}",
			       0, NULL);
	json_t *body, *inner;

	ck_assert(!event_parse(j, now_ms(), &ev, &err));
	ck_assert_int_eq(error_http_status(err.code), 400);
	body = error_to_json(&err);
	inner = json_object_get(body, "error");
	ck_assert_str_eq(json_string_value(json_object_get(inner, "code")),
			 "invalid_event");
	ck_assert_str_eq(json_string_value(json_object_get(inner, "field")),
			 "data.to_level");
	ck_assert(json_is_string(json_object_get(inner, "message")));
	ck_assert_ptr_null(json_object_get(inner, "phase"));
	json_decref(body);
	json_decref(j);
}
END_TEST

START_TEST(test_id_with_nul)
{
	/* An identifier is 1-128 of A-Z a-z 0-9 . _ : - (api.md); NUL is
	 * none of them.  A JSON string may hold one (\u0000, decoded with
	 * JSON_ALLOW_NUL or built with json_stringn): it must be refused, not
	 * cut at the NUL nor copied past the 129-byte field. */
	char raw[300];
	struct event ev;
	struct pp_error err;
	json_t *j = json_pack("{s:s, s:s, s:s}", "type", "treatment.started",
			      "patient_id", "p-1", "occurred_at",
			      "2025-03-03T09:15:00Z");

	memset(raw, 'x', sizeof(raw));
	raw[0] = 'a';
	raw[1] = '\0';
	json_object_set_new(j, "event_id", json_stringn(raw, 2));
	ck_assert_msg(!event_parse(j, now_ms(), &ev, &err),
		      "event_id \"a\\0\" accepted as \"%s\"", ev.event_id);
	ck_assert_str_eq(err.field, "event_id");
	json_decref(j);
}
END_TEST

Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc;

	tc = tcase_create("invalid");
	tcase_add_test(tc, test_invalid_table);
	tcase_add_test(tc, test_future_boundary);
	tcase_add_test(tc, test_error_json);
	tcase_add_test(tc, test_id_with_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_add_test(tc, test_valid_table);
	tcase_add_test(tc, test_opened_fields);
	tcase_add_test(tc, test_referral_fields);
	suite_add_tcase(s, tc);
	return s;
}
