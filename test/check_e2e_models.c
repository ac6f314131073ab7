/*
 * Models and clocks end to end (issue 3): due dates across Easter, the
 * Danish free choice, the Swedish level-4 guard, Norwegian feedback, the
 * loaded models, and a broken model file stopping the daemon at start.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

static const char *deadline_due(json_t *pathway, const char *rule)
{
	json_t *list = e2e_at(pathway, "deadlines");
	size_t i;
	json_t *d;

	json_array_foreach(list, i, d)
	{
		const char *r = json_string_value(json_object_get(d, "rule"));
		if (r != NULL && strcmp(r, rule) == 0)
			return json_string_value(json_object_get(d, "due"));
	}
	return NULL;
}

static void refer_and_receive(const char *patient, const char *to_level,
			      const char *sent_at, const char *received_at,
			      struct http_response *received)
{
	char data[128];

	snprintf(data, sizeof(data), "{\"to_level\":\"%s\"}", to_level);
	ck_assert_int_eq(
		e2e_event(PORT, patient, "referral.sent", sent_at, data, NULL),
		201);
	ck_assert_int_eq(e2e_event(PORT, patient, "referral.received",
				   received_at, NULL, received),
			 201);
}

START_TEST(norwegian_assessment_across_easter)
{
	struct http_response r;
	char p[64], pw[160];

	/* Received Thursday 17 April 2025 (Maundy Thursday): Good Friday,
	 * Easter Monday and 1 May are not working days in Norway. */
	e2e_id(p, sizeof(p), "no-easter");
	e2e_open(PORT, p, "no", NULL, pw, sizeof(pw));
	refer_and_receive(p, "clinic", "2025-04-14T09:00:00+02:00",
			  "2025-04-17T10:00:00+02:00", &r);
	ck_assert_str_eq(
		deadline_due(e2e_at(&*r.json, "pathway"), "assessment"),
		"2025-05-06");
	ck_assert_ptr_null(deadline_due(e2e_at(r.json, "pathway"), "transit"));
	http_response_free(&r);

	/* Thursday before Easter 2026 is 2 April. */
	e2e_id(p, sizeof(p), "no-easter26");
	e2e_open(PORT, p, "no", NULL, pw, sizeof(pw));
	refer_and_receive(p, "clinic", "2026-03-30T09:00:00+02:00",
			  "2026-04-02T10:00:00+02:00", &r);
	ck_assert_str_eq(deadline_due(e2e_at(r.json, "pathway"), "assessment"),
			 "2026-04-20");
	http_response_free(&r);
}
END_TEST

START_TEST(norwegian_young_adult_gets_a_shorter_assessment)
{
	struct http_response r;
	char p[64], pw[160];

	e2e_id(p, sizeof(p), "no-young");
	e2e_open(PORT, p, "no", "\"flags\":[\"young_adult_at_risk\"]", pw,
		 sizeof(pw));
	/* Monday 3 March 2025 + 5 working days = Monday 10 March. */
	refer_and_receive(p, "clinic", "2025-03-03T08:00:00+01:00",
			  "2025-03-03T10:00:00+01:00", &r);
	ck_assert_str_eq(deadline_due(e2e_at(r.json, "pathway"), "assessment"),
			 "2025-03-10");
	http_response_free(&r);
}
END_TEST

START_TEST(danish_free_choice_after_thirty_days)
{
	struct http_response r;
	char p[64], pw[160];

	e2e_id(p, sizeof(p), "dk-wait");
	e2e_open(PORT, p, "dk", NULL, pw, sizeof(pw));
	refer_and_receive(p, "clinic", "2025-03-03T09:00:00+01:00",
			  "2025-03-10T10:00:00+01:00", &r);
	ck_assert_str_eq(deadline_due(e2e_at(r.json, "pathway"), "free_choice"),
			 "2025-04-09");
	ck_assert_str_eq(deadline_due(e2e_at(r.json, "pathway"), "assessment"),
			 "2025-04-09");
	http_response_free(&r);
	ck_assert_int_eq(e2e_event(PORT, p, "referral.accepted",
				   "2025-03-20T10:00:00+01:00", NULL, &r),
			 201);
	/* Accepted: the assessment clock stops, the free choice runs on. */
	ck_assert_ptr_null(
		deadline_due(e2e_at(r.json, "pathway"), "assessment"));
	ck_assert_str_eq(deadline_due(e2e_at(r.json, "pathway"), "free_choice"),
			 "2025-04-09");
	http_response_free(&r);
	ck_assert_int_eq(e2e_event(PORT, p, "free_choice.offered",
				   "2025-04-08T10:00:00+02:00", NULL, NULL),
			 201);
}
END_TEST

START_TEST(local_date_decides_the_start_day)
{
	struct http_response r;
	char p[64], pw[160];

	/* 23:30 UTC on 31 January is 1 February in Copenhagen. */
	e2e_id(p, sizeof(p), "dk-tz");
	e2e_open(PORT, p, "dk", NULL, pw, sizeof(pw));
	refer_and_receive(p, "clinic", "2025-01-20T09:00:00Z",
			  "2025-01-31T23:30:00Z", &r);
	ck_assert_str_eq(deadline_due(e2e_at(r.json, "pathway"), "free_choice"),
			 "2025-03-03");
	http_response_free(&r);
}
END_TEST

START_TEST(swedish_centre_needs_earlier_levels)
{
	struct http_response r;
	char p[64], pw[160];

	e2e_id(p, sizeof(p), "se-centre");
	e2e_open(PORT, p, "se-adult", NULL, pw, sizeof(pw));
	e2e_event(PORT, p, "referral.sent", "2025-03-03T09:00:00+01:00",
		  "{\"to_level\":\"centre\"}", &r);
	ck_assert_int_eq(r.status, 422);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "guard_failed");
	ck_assert_ptr_nonnull(e2e_str(r.json, "error.field"));
	http_response_free(&r);
	e2e_event(
		PORT, p, "referral.sent", "2025-03-03T09:00:00+01:00",
		"{\"to_level\":\"centre\",\"earlier_levels_considered\":true}",
		&r);
	ck_assert_int_eq(r.status, 422);
	http_response_free(&r);
	ck_assert_int_eq(
		e2e_event(PORT, p, "referral.sent", "2025-03-03T09:00:00+01:00",
			  "{\"to_level\":\"centre\",\"earlier_levels_"
			  "considered\":true,\"justification\":\"tried "
			  "primary care team and clinic consultation\"}",
			  &r),
		201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.phase"), "referred");
	http_response_free(&r);
	/* Received at the centre: the Swedish care guarantee, 90 days. */
	ck_assert_int_eq(e2e_event(PORT, p, "referral.received",
				   "2025-03-05T09:00:00+01:00", NULL, &r),
			 201);
	ck_assert_str_eq(deadline_due(e2e_at(r.json, "pathway"), "treatment"),
			 "2025-06-03");
	http_response_free(&r);
}
END_TEST

START_TEST(age_guards_pick_the_model)
{
	struct http_response r;
	char p[64];

	e2e_id(p, sizeof(p), "se-child");
	e2e_post(PORT, &r,
		 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-06T09:00:"
		 "00Z\","
		 "\"model\":\"se-child\",\"region\":\"r1\","
		 "\"data\":{\"birth_date\":\"2007-01-06\"}}",
		 p, p);
	ck_assert_int_eq(r.status, 422);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "guard_failed");
	http_response_free(&r);
	e2e_post(PORT, &r,
		 "{\"event_id\":\"%s-b\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-06T09:00:"
		 "00Z\","
		 "\"model\":\"se-child\",\"region\":\"r1\","
		 "\"data\":{\"birth_date\":\"2007-01-07\"}}",
		 p, p);
	ck_assert_int_eq(r.status, 201);
	http_response_free(&r);
	e2e_id(p, sizeof(p), "no-noage");
	e2e_post(PORT, &r,
		 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-06T09:00:"
		 "00Z\","
		 "\"model\":\"no\",\"region\":\"r1\"}",
		 p, p);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "invalid_event");
	http_response_free(&r);
}
END_TEST

START_TEST(norwegian_decisions_notify_the_referrer)
{
	struct http_response r;
	char p[64], pw[160], cursor[32];
	json_t *items, *mine = NULL;
	size_t i;
	json_t *it;

	e2e_get(PORT, &r, "/v1/notifications?limit=1000");
	ck_assert_int_eq(r.status, 200);
	snprintf(cursor, sizeof(cursor), "%s", e2e_str(r.json, "next_cursor"));
	http_response_free(&r);

	e2e_id(p, sizeof(p), "no-notify");
	e2e_open(PORT, p, "no", NULL, pw, sizeof(pw));
	refer_and_receive(p, "clinic", "2025-03-03T09:00:00+01:00",
			  "2025-03-04T09:00:00+01:00", NULL);
	ck_assert_int_eq(e2e_event(PORT, p, "referral.rejected",
				   "2025-03-05T09:00:00+01:00",
				   "{\"reason\":\"not yet\"}", NULL),
			 422);
	ck_assert_int_eq(e2e_event(PORT, p, "referral.rejected",
				   "2025-03-05T09:00:00+01:00",
				   "{\"reason\":\"treatable at gp\","
				   "\"advice\":\"graded activity\"}",
				   NULL),
			 201);
	e2e_get(PORT, &r, "/v1/notifications?after=%s&limit=1000", cursor);
	ck_assert_int_eq(r.status, 200);
	items = e2e_at(r.json, "items");
	json_array_foreach(items, i, it)
	{
		const char *who =
			json_string_value(json_object_get(it, "patient_id"));
		if (who && strcmp(who, p) == 0)
			mine = it;
	}
	ck_assert_ptr_nonnull(mine);
	ck_assert_str_eq(e2e_str(mine, "decision.decision"), "rejected");
	ck_assert_str_eq(e2e_str(mine, "decision.advice"), "graded activity");
	ck_assert_str_eq(e2e_str(mine, "to.role"), "referrer");
	ck_assert_str_eq(e2e_str(mine, "to.unit"), "gp-1");
	ck_assert_str_eq(e2e_str(mine, "copies.0.role"), "patient");
	ck_assert_str_eq(e2e_str(mine, "copies.1.role"), "gp");
	http_response_free(&r);
}
END_TEST

START_TEST(models_are_listed)
{
	struct http_response r;
	static const char *const keys[] = {"dk", "no", "se-adult", "se-child"};

	ck_assert_int_eq(e2e_get(PORT, &r, "/v1/models"), 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "models")), 4);
	for (int i = 0; i < 4; i++) {
		char path[32];
		snprintf(path, sizeof(path), "models.%d.key", i);
		ck_assert_str_eq(e2e_str(r.json, path), keys[i]);
	}
	http_response_free(&r);
}
END_TEST

/* Runs the daemon on a broken models dir; returns its stderr. */
static char *start_with_models(const char *dir, int *status)
{
	char cmd[2048], *out = calloc(1, 65536);
	const char *bin =
		getenv("PAINPATHD") ? getenv("PAINPATHD") : "build/painpathd";
	size_t used = 0, n;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "%s --port 0 --models %s --db 'host=/nonexistent' 2>&1", bin,
		 dir);
	f = popen(cmd, "r");
	while (f && (n = fread(out + used, 1, 65535 - used, f)) > 0)
		used += n;
	*status = f ? pclose(f) : -1;
	return out;
}

START_TEST(broken_model_stops_the_daemon)
{
	char dir[] = "/tmp/painpath-models-XXXXXX", path[128], *out;
	int status;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/no.json", dir);
	f = fopen(path, "w");
	fputs("{\"key\":\"no\",\"name\":\"n\",\"country\":\"NO\","
	      "\"time_zone\":\"Europe/Oslo\",\"levels\":{"
	      "\"gp\":{\"name\":\"a\",\"name_en\":\"a\"},"
	      "\"team\":{\"name\":\"a\",\"name_en\":\"a\"},"
	      "\"clinic\":{\"name\":\"a\",\"name_en\":\"a\"},"
	      "\"centre\":{\"name\":\"a\",\"name_en\":\"a\"}},"
	      "\"clocks\":{\"assessment\":{\"working_days\":10,"
	      "\"flags\":{\"young_adult\":{\"working_days\":5}}}}}",
	      f);
	fclose(f);
	out = start_with_models(dir, &status);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		      "status %d", status);
	ck_assert_msg(strstr(out, path) != NULL, "no file named: %s", out);
	ck_assert_msg(strstr(out, "$.clocks.assessment.flags") != NULL,
		      "no JSON path: %s", out);
	ck_assert_msg(strstr(out, "young_adult") != NULL, "no culprit: %s",
		      out);
	free(out);
	unlink(path);
	rmdir(dir);
}
END_TEST

void e2e_add_model_tests(Suite *s)
{
	TCase *tc = e2e_tcase("models");

	tcase_add_test(tc, norwegian_assessment_across_easter);
	tcase_add_test(tc, norwegian_young_adult_gets_a_shorter_assessment);
	tcase_add_test(tc, danish_free_choice_after_thirty_days);
	tcase_add_test(tc, local_date_decides_the_start_day);
	tcase_add_test(tc, swedish_centre_needs_earlier_levels);
	tcase_add_test(tc, age_guards_pick_the_model);
	tcase_add_test(tc, norwegian_decisions_notify_the_referrer);
	tcase_add_test(tc, models_are_listed);
	tcase_add_test(tc, broken_model_stops_the_daemon);
	suite_add_tcase(s, tc);
}
