/*
 * fuzz_event: untrusted event JSON, the way POST /v1/events takes it.
 *
 * The bytes go through json_loadb with JSON_REJECT_DUPLICATES, as the daemon
 * reads a body, then:
 *
 *  - one event (an object): event_parse with a fixed server clock; if it
 *    parses, fsm_apply with the loaded models, either opening a pathway
 *    (pathway.opened) or applied to fixture pathways in every open phase
 *    under every model (any other type);
 *  - a batch ({"events": [...]} or a bare array): the events in order on
 *    one pathway, its state stored as JSON between events as the daemon
 *    stores it in pathways.state.
 *
 * Invariants (abort() when broken):
 *  - pathway_from_json reads back everything pathway_to_json wrote, and
 *    encoding the result again gives equal JSON;
 *  - a pathway read back from its JSON answers the next event exactly as the
 *    pathway it was written from;
 *  - a refused event leaves the output pathway untouched and sets an error;
 *  - opened_at is never null, and closed_at is null exactly when the
 *    pathway is not closed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The server clock: 2030-01-01T00:00:00Z, later than every seed event. */
#define FUZZ_NOW   INT64_C(1893456000000)
#define MAX_BATCH  64
#define MAX_MODELS 16

/* Fixture pathways: index 0 active, 1 referred, 2 assessing, 3 waiting. */
#define FIXTURE_PHASES 4

static struct model_set models;
static const struct model *fallback_model;
static struct pathway fixtures[MAX_MODELS][FIXTURE_PHASES];
static size_t fixture_count;

static const struct model *model_for(const char *key)
{
	const struct model *m = model_set_find(&models, key);

	return m != NULL ? m : fallback_model;
}

/* The JSON form says "not yet" with null: an opened pathway must show when
 * it was opened, and closed_at must say whether it is closed (the close
 * reason is only written when it does). */
static void check_times(const struct pathway *p)
{
	json_t *j;

	if (p->opened_at != 0 &&
	    (p->phase == PHASE_CLOSED) == (p->closed_at != 0))
		return;
	j = pathway_to_json(p);
	fuzz_fail(p->opened_at == 0 ? "an opened pathway has opened_at null"
				    : "closed_at null on a closed pathway",
		  j, NULL);
}

/* fsm_apply, checking the refusal contract, and the JSON the daemon builds
 * from its answer. */
static bool apply(const struct pathway *before, const struct event *ev,
		  const struct model *m, const char *new_id,
		  struct pathway *after, struct pp_error *err)
{
	static struct pathway untouched;
	struct transition tr;
	struct fsm_effects fx;
	json_t *j;

	memset(&untouched, 0xa5, sizeof(untouched));
	memcpy(after, &untouched, sizeof(*after));
	memset(err, 0, sizeof(*err));
	struct model_set one = {(struct model *)m, 1};

	if (!fsm_apply(before, ev, &one, new_id, FUZZ_NOW, after, &tr, &fx,
		       err)) {
		if (memcmp(after, &untouched, sizeof(*after)) != 0)
			fuzz_fail("fsm_apply refused but changed the pathway",
				  NULL, NULL);
		if (err->code == ERR_NONE)
			fuzz_fail("fsm_apply refused without an error", NULL,
				  NULL);
		json_decref(error_to_json(err));
		return false;
	}
	check_times(after);
	j = fsm_transition_to_json(&tr, ev->event_id, ev->data);
	if (j == NULL)
		fuzz_fail("fsm_transition_to_json returned NULL", NULL, NULL);
	json_decref(j);
	if (fx.notify_decision) {
		j = fsm_decision_notification(after, ev);
		if (j == NULL)
			fuzz_fail("fsm_decision_notification returned NULL",
				  NULL, NULL);
		json_decref(j);
	}
	return true;
}

/* Applies ev to p as it is and to p read back from its JSON: both must
 * answer the same.  On success *p becomes the stored (read back) result. */
static bool apply_both(struct pathway *p, const struct event *ev,
		       const struct model *m)
{
	struct pathway stored, direct_after, stored_after;
	struct pp_error direct_err, stored_err;
	bool direct_ok, stored_ok;
	json_t *a, *b;

	fuzz_round_trip(p, &stored);
	direct_ok = apply(p, ev, m, NULL, &direct_after, &direct_err);
	stored_ok = apply(&stored, ev, m, NULL, &stored_after, &stored_err);
	if (direct_ok != stored_ok ||
	    (!direct_ok && direct_err.code != stored_err.code)) {
		a = error_to_json(direct_ok ? &stored_err : &direct_err);
		fuzz_fail("a pathway read back from JSON answers an event "
			  "differently",
			  a, NULL);
	}
	if (!direct_ok)
		return false;
	a = pathway_to_json(&direct_after);
	b = pathway_to_json(&stored_after);
	if (!json_equal(a, b))
		fuzz_fail("a pathway read back from JSON moves differently", a,
			  b);
	json_decref(a);
	json_decref(b);
	fuzz_round_trip(&stored_after, p);
	return true;
}

static void one_event(const json_t *obj)
{
	struct event ev;
	struct pp_error err;
	struct pathway after, stored;

	memset(&err, 0, sizeof(err));
	if (!event_parse(obj, FUZZ_NOW, &ev, &err)) {
		json_decref(error_to_json(&err));
		return;
	}
	if (ev.type == EV_PATHWAY_OPENED) {
		if (apply(NULL, &ev, model_for(ev.model), "pw-fuzz", &after,
			  &err))
			fuzz_round_trip(&after, &stored);
		return;
	}
	for (size_t i = 0; i < fixture_count; i++) {
		for (int phase = 0; phase < FIXTURE_PHASES; phase++) {
			struct pathway p = fixtures[i][phase];
			apply_both(&p, &ev, model_for(p.model));
		}
	}
}

static void batch(const json_t *events)
{
	struct pathway p;
	bool open = false;
	size_t i;
	const json_t *obj;

	memset(&p, 0, sizeof(p));
	json_array_foreach(events, i, obj)
	{
		struct event ev;
		struct pp_error err;
		struct pathway after;
		char id[32];

		if (i >= MAX_BATCH)
			break;
		memset(&err, 0, sizeof(err));
		if (!event_parse(obj, FUZZ_NOW, &ev, &err)) {
			json_decref(error_to_json(&err));
			continue;
		}
		if (!open && ev.type != EV_PATHWAY_OPENED) {
			/* No pathway yet: not_found. */
			if (apply(NULL, &ev, fallback_model, NULL, &after,
				  &err))
				fuzz_fail("an event other than pathway.opened "
					  "opened a pathway",
					  NULL, NULL);
			continue;
		}
		if (ev.type == EV_PATHWAY_OPENED &&
		    (!open || p.phase == PHASE_CLOSED)) {
			snprintf(id, sizeof(id), "pw-fuzz-%zu", i);
			if (apply(NULL, &ev, model_for(ev.model), id, &after,
				  &err)) {
				fuzz_round_trip(&after, &p);
				open = true;
			}
			continue;
		}
		/* Later events, and pathway.opened on an open pathway
		 * (pathway_exists). */
		apply_both(&p, &ev, model_for(p.model));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)data, size,
				 JSON_REJECT_DUPLICATES, &jerr);
	json_t *events;

	if (doc == NULL)
		return 0;
	events = json_object_get(doc, "events");
	if (json_is_array(doc))
		batch(doc);
	else if (json_is_array(events))
		batch(events);
	else if (json_is_object(doc))
		one_event(doc);
	json_decref(doc);
	return 0;
}

/* --- fixtures ------------------------------------------------------------ */

static void must_step(struct pathway *p, bool open, const struct model *m,
		      json_t *obj)
{
	struct event ev;
	struct pp_error err;
	struct pathway after;

	memset(&err, 0, sizeof(err));
	if (obj == NULL || !event_parse(obj, FUZZ_NOW, &ev, &err) ||
	    !apply(open ? p : NULL, &ev, m, "pw-fixture", &after, &err)) {
		fprintf(stderr, "fuzz_event: fixture for %s: %s\n", m->key,
			err.message);
		exit(2);
	}
	*p = after;
	json_decref(obj);
}

/* active, referred, assessing and waiting pathways under model m. */
static void make_fixtures(const struct model *m, struct pathway out[])
{
	struct pathway p;
	int age = m->max_age >= 0 ? m->max_age : 40;

	memset(&p, 0, sizeof(p));
	must_step(&p, false, m,
		  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:i, s:s, "
			    "s:[s]}}",
			    "event_id", "fx-1", "type", "pathway.opened",
			    "patient_id", "p-fixture", "occurred_at",
			    "2025-05-05T08:00:00+02:00", "model", m->key,
			    "region", "region-1", "unit", "gp-unit-1", "data",
			    "age", age, "pain_onset", "2024-10-01", "flags",
			    "young_adult_at_risk"));
	out[0] = p;
	must_step(&p, true, m,
		  json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:b, s:s, "
			    "s:{s:b, s:s}}}",
			    "event_id", "fx-2", "type", "referral.sent",
			    "patient_id", "p-fixture", "occurred_at",
			    "2025-05-06T09:00:00+02:00", "data", "to_level",
			    "clinic", "to_unit", "clinic-1",
			    "earlier_levels_considered", 1, "justification",
			    "fixture", "content", "patient_view", 1,
			    "medicines", "paracetamol"));
	out[1] = p;
	must_step(&p, true, m,
		  json_pack("{s:s, s:s, s:s, s:s, s:s}", "event_id", "fx-3",
			    "type", "referral.received", "patient_id",
			    "p-fixture", "occurred_at",
			    "2025-05-09T10:00:00+02:00", "unit", "clinic-1"));
	out[2] = p;
	must_step(&p, true, m,
		  json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "event_id", "fx-4",
			    "type", "referral.accepted", "patient_id",
			    "p-fixture", "occurred_at",
			    "2025-05-16T11:00:00+02:00", "data", "deadline",
			    "2025-08-01"));
	out[3] = p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_load_models(&models);
	fallback_model = model_set_find(&models, "dk");
	if (fallback_model == NULL)
		fallback_model = &models.models[0];
	for (size_t i = 0; i < models.count && i < MAX_MODELS; i++)
		make_fixtures(&models.models[i], fixtures[fixture_count++]);
	return 0;
}
