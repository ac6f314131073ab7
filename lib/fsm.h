/*
 * fsm: the pathway state machine (domain.md "The pathway as a state
 * machine", "Deadlines (clocks)", the guards).  Pure: a pathway, an event
 * and a model in; the new pathway, the transition and its effects out, or a
 * refusal with a reason.  No I/O, no clock: "now" is an argument.
 */
#ifndef PAINPATH_FSM_H
#define PAINPATH_FSM_H

#include <stdbool.h>

#include <jansson.h>

#include "error.h"
#include "event.h"
#include "model.h"
#include "pathway.h"

struct transition {
	int seq;
	enum event_type type;
	bool has_from; /* false for pathway.opened */
	enum phase from_phase;
	enum phase to_phase;
	enum level from_level;
	enum level to_level;
	char unit[ID_MAX + 1];
	cal_millis occurred_at;
	cal_millis recorded_at;
	/* treatment.started: when the referral was received (0: unknown),
	 * and the calendar days its wait was paused, so completed waits need
	 * no search through the history. */
	cal_millis waited_since;
	int paused_days;
};

struct fsm_effects {
	/* Norway (003): tell the referrer of the decision, with copies to
	 * the patient and the GP. */
	bool notify_decision;
};

/* The events a phase allows under a model (bit per enum event_type).  With
 * no pathway at all only pathway.opened is allowed. */
unsigned fsm_allowed(enum phase phase, const struct model *m);

/* The model a pathway (or, opening one, the event) names; NULL with err
 * set when it is not loaded. */
const struct model *fsm_model(const struct model_set *models,
			      const struct pathway *before,
			      const struct event *ev, struct pp_error *err);

/* One step: applies ev to before (NULL when ev opens a pathway; new_id
 * then names the new pathway unless the event names one).  The models
 * resolve the pathway's model (and a pathway.updated's new one).  now
 * becomes the pathway's updated_at and the transition's recorded_at.  On
 * refusal returns false with err set (illegal_transition, guard_failed,
 * invalid_event, out_of_order, not_found) and leaves after untouched.
 * A correction (event.corrected, .retracted) is history here: its effect
 * is a replay (replay.h). */
bool fsm_apply(const struct pathway *before, const struct event *ev,
	       const struct model_set *models, const char *new_id,
	       cal_millis now, struct pathway *after, struct transition *tr,
	       struct fsm_effects *fx, struct pp_error *err)
	__attribute__((warn_unused_result));

/* The transition as api.md shows it; data and event_id come from the event
 * (new reference). */
json_t *fsm_transition_to_json(const struct transition *tr,
			       const char *event_id, const json_t *data);

/* The Norwegian decision notification for a transition (new reference). */
json_t *fsm_decision_notification(const struct pathway *after,
				  const struct event *ev);

#endif
