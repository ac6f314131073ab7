/*
 * Unit tests for lib/fhir_map.c: the mapping tables, each against a data
 * table in test/data (fhir_phases.tsv, fhir_issues.tsv,
 * fhir_task_status.tsv), and the phase each event leads to held against
 * the state machine itself over real histories of every model.
 */
#include <check.h>
#include <string.h>

#include "error.h"
#include "fhir_fixture.h"
#include "fhir_map.h"
#include "fhir_resource.h"
#include "suites.h"

START_TEST(test_phases)
{
	struct fx_row rows[32];
	size_t n = fx_tsv("test/data/fhir_phases.tsv", rows, 32);

	ck_assert_uint_ge(n, PHASE_COUNT + 1);
	for (size_t i = 0; i < n; i++) {
		const char *want = fx_field(&rows[i], 1);
		const char *got = fhir_map_episode_status(rows[i].field[0]);
		ck_assert_msg(want == NULL ? got == NULL
					   : got != NULL && !strcmp(got, want),
			      "%s: %s, want %s", rows[i].field[0],
			      got ? got : "-", want ? want : "-");
		ck_assert(want == NULL || fhir_map_episode_status_known(want));
	}
	/* A status search finds every phase that shows it. */
	for (size_t i = 0; i < n; i++) {
		const char *status = fx_field(&rows[i], 1);
		const char *found[PHASE_COUNT + 1];
		size_t k, count;
		bool listed = false;
		if (status == NULL)
			continue;
		count = fhir_map_phases_of_status(status, found,
						  PHASE_COUNT + 1);
		for (k = 0; k < count; k++)
			listed = listed || !strcmp(found[k], rows[i].field[0]);
		ck_assert_msg(listed, "%s does not find %s", status,
			      rows[i].field[0]);
	}
	{
		const char *found[4];
		ck_assert_uint_eq(fhir_map_phases_of_status("active", found, 4),
				  3);
		ck_assert_uint_eq(
			fhir_map_phases_of_status("planned", found, 4), 0);
		ck_assert_uint_eq(fhir_map_phases_of_status("active", found, 1),
				  1);
	}
	/* Every phase the domain knows is in the table. */
	for (int p = 0; p < PHASE_COUNT; p++)
		ck_assert_msg(fhir_map_episode_status(domain_phase_name(p)),
			      "%s unmapped", domain_phase_name(p));
}
END_TEST

START_TEST(test_issues)
{
	struct fx_row rows[32];
	size_t n = fx_tsv("test/data/fhir_issues.tsv", rows, 32);
	bool seen[ERR_COUNT] = {false};

	for (size_t i = 0; i < n; i++) {
		int code = -1;
		for (int c = 0; c < ERR_COUNT; c++)
			if (strcmp(error_code_name(c), rows[i].field[0]) == 0)
				code = c;
		ck_assert_msg(code >= 0, "line %d: no code %s", rows[i].line,
			      rows[i].field[0]);
		seen[code] = true;
		ck_assert_int_eq(error_http_status(code),
				 atoi(rows[i].field[1]));
		ck_assert_str_eq(fhir_map_issue_type(code), rows[i].field[2]);
		ck_assert_str_eq(fhir_map_issue_severity(code),
				 rows[i].field[3]);
	}
	for (int c = 0; c < ERR_COUNT; c++)
		ck_assert_msg(seen[c], "%s is not in fhir_issues.tsv",
			      error_code_name(c));
	ck_assert_str_eq(fhir_map_issue_type(ERR_COUNT), "exception");
}
END_TEST

START_TEST(test_task_statuses)
{
	struct fx_row rows[32];
	size_t n = fx_tsv("test/data/fhir_task_status.tsv", rows, 32);

	/* R4 task-status has twelve codes. */
	ck_assert_uint_eq(n, 12);
	for (size_t i = 0; i < n; i++) {
		const char *status = rows[i].field[0];
		const char *event = fx_field(&rows[i], 1);
		const char *got = fhir_map_task_event(status);
		ck_assert(fhir_map_task_status_known(status));
		ck_assert_msg(event == NULL
				      ? got == NULL
				      : got != NULL && !strcmp(got, event),
			      "%s -> %s", status, got ? got : "-");
		ck_assert_str_eq(fhir_map_request_status(status),
				 rows[i].field[2]);
	}
	ck_assert(!fhir_map_task_status_known("done"));
	ck_assert(fhir_map_task_event("done") == NULL);
}
END_TEST

/* The phase a transition's event leads to, by the table, must be the
 * phase the state machine wrote (to_phase), for every transition of
 * histories that walk every phase under every model. */
static void agree(struct fx *fx)
{
	const json_t *t;
	size_t i;

	json_array_foreach(fx->transitions, i, t)
	{
		const char *type =
			json_string_value(json_object_get(t, "type"));
		const char *from =
			json_string_value(json_object_get(t, "from_phase"));
		const char *to =
			json_string_value(json_object_get(t, "to_phase"));
		const char *after = fhir_map_phase_after(type);
		ck_assert_msg(strcmp(after != NULL ? after : from, to) == 0,
			      "%s %s: table says %s, fsm %s", fx->model->key,
			      type, after ? after : from, to);
	}
}

static const char *const stages[] = {"treated", "rejected", "withdrawn"};

START_TEST(test_phase_after_agrees_with_fsm)
{
	const struct model_set *set = fx_models();

	for (size_t m = 0; m < set->count; m++) {
		for (size_t s = 0; s < 3; s++) {
			struct fx fx;
			const char *key = set->models[m].key;
			fx_open(&fx, key, "pw-agree", NULL);
			fx_event(&fx, "consultation.requested",
				 "2025-03-03T10:00:00+01:00", NULL,
				 json_pack("{s:s}", "partner", "psychiatry"));
			fx_referral(&fx, stages[s]);
			fx_event(&fx, "patient.transferred",
				 "2025-06-01T10:00:00+02:00", NULL,
				 json_pack("{s:s, s:s}", "to_level", "gp",
					   "to_unit", "gp-2"));
			fx_event(&fx, "pathway.closed",
				 "2025-06-02T10:00:00+02:00", NULL,
				 json_pack("{s:s}", "reason", "completed"));
			agree(&fx);
			fx_free(&fx);
		}
	}
}
END_TEST

/* The open referral's Task status by phase is what the replay gives. */
START_TEST(test_open_task_status)
{
	static const char *const open_phases[] = {"referred", "assessing",
						  "waiting"};

	for (size_t i = 0; i < 3; i++) {
		struct fx fx;
		struct fhir_view v;
		fx_open(&fx, "dk", "pw-open", NULL);
		fx_referral(&fx, open_phases[i]);
		ck_assert(fhir_view_load(&v, fx_config(), fx.model, fx.pathway,
					 fx.transitions));
		ck_assert_str_eq(fhir_history_open_referral(&v.history)->status,
				 fhir_map_open_task_status(open_phases[i]));
		fhir_view_free(&v);
		fx_free(&fx);
	}
	ck_assert(fhir_map_open_task_status("active") == NULL);
	ck_assert(fhir_map_open_task_status("closed") == NULL);
}
END_TEST

START_TEST(test_task_effects)
{
	ck_assert_int_eq(fhir_map_task_effect("referral.sent"), FHIR_TASK_SENT);
	ck_assert_int_eq(fhir_map_task_effect("treatment.started"),
			 FHIR_TASK_STARTED);
	ck_assert_int_eq(fhir_map_task_effect("free_choice.chosen"),
			 FHIR_TASK_OWNER);
	ck_assert_int_eq(fhir_map_task_effect("pro.reported"), FHIR_TASK_NONE);
	ck_assert_int_eq(fhir_map_task_effect(NULL), FHIR_TASK_NONE);
	/* Side events leave the phase alone. */
	ck_assert(fhir_map_phase_after("consultation.requested") == NULL);
	ck_assert(fhir_map_phase_after("free_choice.chosen") == NULL);
}
END_TEST

Suite *fhir_map_suite(void)
{
	Suite *s = suite_create("fhir_map");
	TCase *tc = tcase_create("tables");

	tcase_add_test(tc, test_phases);
	tcase_add_test(tc, test_issues);
	tcase_add_test(tc, test_task_statuses);
	tcase_add_test(tc, test_task_effects);
	tcase_add_test(tc, test_open_task_status);
	tcase_add_test(tc, test_phase_after_agrees_with_fsm);
	suite_add_tcase(s, tc);
	return s;
}
