/*
 * fuzz_model: untrusted model files (config/models/NAME.json).
 *
 * The bytes go through json_loadb with JSON_REJECT_DUPLICATES, as
 * model_load_file reads a file, then model_load_json.  A model that loads
 * computes every clock's due date from a few start dates, and carries a
 * fixed pathway (opened, referred, received, accepted, free choice,
 * treatment, referral to the centre, rejection, transfer, closing) through
 * the state machine, each state round-tripped through its JSON form.
 *
 * Invariants (abort() when broken):
 *  - a refused model leaves an error message and an empty struct model;
 *  - no clock is due before it starts, and a flag never lengthens a clock;
 *  - pathway_from_json reads back what pathway_to_json wrote.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"
#include "error.h"
#include "event.h"
#include "fsm.h"
#include "model.h"
#include "pathway.h"

#include "fuzz_common.h"

/* The server clock: 2030-01-01T00:00:00Z, later than every scenario event. */
#define FUZZ_NOW  INT64_C(1893456000000)
#define ALL_FLAGS ((1u << FLAG_COUNT) - 1)

/* The scenario after pathway.opened (whose age depends on the model). */
static const char *const scenario[] = {
	"{\"event_id\": \"s-2\", \"type\": \"referral.sent\", \"patient_id\": "
	"\"p-1\", \"occurred_at\": \"2025-03-28T16:00:00+01:00\", \"data\": "
	"{\"to_level\": \"clinic\", \"to_unit\": \"clinic-1\", \"content\": "
	"{\"patient_view\": true}}}",
	"{\"event_id\": \"s-3\", \"type\": \"referral.received\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2025-04-05T10:00:00+02:00\"}",
	"{\"event_id\": \"s-4\", \"type\": \"referral.accepted\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2025-04-17T10:00:00+02:00\", \"data\": {\"deadline\": "
	"\"2025-06-30\"}}",
	"{\"event_id\": \"s-5\", \"type\": \"free_choice.offered\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2025-05-10T10:00:00+02:00\"}",
	"{\"event_id\": \"s-6\", \"type\": \"treatment.started\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2025-06-02T10:00:00+02:00\"}",
	"{\"event_id\": \"s-7\", \"type\": \"referral.sent\", \"patient_id\": "
	"\"p-1\", \"occurred_at\": \"2025-10-24T23:30:00Z\", \"data\": "
	"{\"to_level\": \"centre\", \"earlier_levels_considered\": true, "
	"\"justification\": \"j\"}}",
	"{\"event_id\": \"s-8\", \"type\": \"referral.received\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2025-12-23T10:00:00+01:00\", \"unit\": \"centre-1\"}",
	"{\"event_id\": \"s-9\", \"type\": \"referral.rejected\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2025-12-31T10:00:00+01:00\", \"data\": {\"reason\": \"r\", "
	"\"advice\": \"a\"}}",
	"{\"event_id\": \"s-10\", \"type\": \"patient.transferred\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2026-01-05T10:00:00+01:00\", \"data\": {\"to_level\": \"gp\", "
	"\"to_unit\": \"gp-2\"}}",
	"{\"event_id\": \"s-11\", \"type\": \"pathway.closed\", "
	"\"patient_id\": \"p-1\", \"occurred_at\": "
	"\"2026-02-01T10:00:00+01:00\", \"data\": {\"reason\": "
	"\"completed\"}}",
};

#define SCENARIO_LEN (sizeof(scenario) / sizeof(scenario[0]))

static json_t *scenario_json[SCENARIO_LEN];
static cal_date starts[6];

static void check_clocks(const struct model *m)
{
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		for (int r = 0; r < RULE_COUNT; r++) {
			cal_date base, flagged;

			if (!m->clocks[r].enabled)
				continue;
			base = model_clock_due(m, r, starts[s], 0);
			flagged = model_clock_due(m, r, starts[s], ALL_FLAGS);
			if (base < starts[s] || flagged < starts[s])
				fuzz_fail("a clock is due before it starts",
					  m->json, NULL);
			if (flagged > base)
				fuzz_fail("a flag lengthens a clock", m->json,
					  NULL);
		}
		if (model_add_duration(m, starts[s], m->warning) < starts[s])
			fuzz_fail("the warning window ends before it starts",
				  m->json, NULL);
	}
}

static bool step(struct pathway *p, bool open, const json_t *obj,
		 const struct model *m)
{
	struct event ev;
	struct pp_error err;
	struct pathway after;
	struct transition tr;
	struct fsm_effects fx;

	memset(&err, 0, sizeof(err));
	if (!event_parse(obj, FUZZ_NOW, &ev, &err)) {
		fuzz_fail("a scenario event does not parse", obj, NULL);
	}
	struct model_set one = {(struct model *)m, 1};

	if (!fsm_apply(open ? p : NULL, &ev, &one, "pw-1", FUZZ_NOW, &after,
		       &tr, &fx, &err))
		return false;
	if (fx.notify_decision)
		json_decref(fsm_decision_notification(&after, &ev));
	json_decref(fsm_transition_to_json(&tr, ev.event_id, ev.data));
	fuzz_round_trip(&after, p);
	return true;
}

static void run_scenario(const struct model *m)
{
	int age = m->min_age >= 0   ? m->min_age
		  : m->max_age >= 0 ? m->max_age
				    : 40;
	json_t *opened = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:i, s:s, s:[s]}}",
		"event_id", "s-1", "type", "pathway.opened", "patient_id",
		"p-1", "occurred_at", "2025-03-27T09:00:00+01:00", "model",
		m->key, "region", "r-1", "unit", "gp-1", "data", "age", age,
		"pain_onset", "2024-08-31", "flags", "young_adult_at_risk");
	struct pathway p;

	memset(&p, 0, sizeof(p));
	if (opened == NULL)
		return;
	if (step(&p, false, opened, m)) {
		for (size_t i = 0; i < SCENARIO_LEN; i++)
			(void)step(&p, true, scenario_json[i], m);
	}
	json_decref(opened);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct model empty;
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)data, size,
				 JSON_REJECT_DUPLICATES, &jerr);
	struct model m;
	char err[512];

	if (doc == NULL)
		return 0;
	err[0] = '\0';
	if (!model_load_json(doc, "fuzz.json", &m, err, sizeof(err))) {
		if (err[0] == '\0')
			fuzz_fail("a model is refused without a message", doc,
				  NULL);
		if (memcmp(&m, &empty, sizeof(m)) != 0)
			fuzz_fail("a refused model is not left empty", doc,
				  NULL);
		json_decref(doc);
		return 0;
	}
	check_clocks(&m);
	run_scenario(&m);
	json_decref(model_to_json(&m));
	model_free(&m);
	json_decref(doc);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const dates[] = {"1900-01-01", "2023-04-07",
					    "2025-03-29", "2025-12-24",
					    "2028-02-29", "2999-12-31"};
	json_error_t jerr;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < SCENARIO_LEN; i++) {
		scenario_json[i] = json_loads(scenario[i], 0, &jerr);
		if (scenario_json[i] == NULL) {
			fprintf(stderr, "fuzz_model: scenario %zu: %s\n", i,
				jerr.text);
			exit(2);
		}
	}
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		if (!calendar_parse_date(dates[i], &starts[i])) {
			fprintf(stderr, "fuzz_model: bad date %s\n", dates[i]);
			exit(2);
		}
	}
	return 0;
}
