/*
 * evtype: every event type is one row -- the phases it is allowed in, how
 * its data is read, the model's guards on it and its effect on the pathway
 * -- in the spirit of tmux's cmd_entry.  The parser (event.c) and the state
 * machine (fsm.c) walk this table; neither switches over the type.
 */
#ifndef PAINPATH_EVTYPE_H
#define PAINPATH_EVTYPE_H

#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"
#include "error.h"
#include "model.h"
#include "pathway.h"

struct event;

/* Allowed with no pathway at all: only pathway.opened. */
#define EVT_PHASE_NONE (1u << PHASE_COUNT)
#define EVT_PHASES_OPEN                                                        \
	((1u << PHASE_ACTIVE) | (1u << PHASE_REFERRED) |                       \
	 (1u << PHASE_ASSESSING) | (1u << PHASE_WAITING))

/* It changes the pathway's state: it may not predate the last event that
 * did (issue 10, out_of_order), and a replay applies it in order. */
#define EVT_CHANGES_STATE (1u << 0)
/* Danish only: the model must have the free_choice guard. */
#define EVT_FREE_CHOICE (1u << 1)
/* A correction of another event (event.corrected, event.retracted): its
 * effect is a replay of the history, not a step. */
#define EVT_CORRECTION (1u << 2)
/* A referral decision: models with notify_decisions tell the referrer. */
#define EVT_DECISION (1u << 3)

/* What a step knows besides the pathway and the event. */
struct evstep {
	const struct model *m;	       /* the pathway's model */
	const struct model *new_model; /* pathway.updated: the model it moves
					  to, or NULL */
	cal_date today;		       /* the event's local date */
};

struct evtype {
	enum event_type type;
	unsigned phases; /* bit per enum phase (EVT_PHASE_NONE: no pathway) */
	unsigned flags;	 /* EVT_* */
	/* Reads data into ev; NULL: no data members of its own. */
	bool (*parse)(const json_t *data, struct event *ev,
		      struct pp_error *err);
	/* A model's rule on it, given the pathway before (NULL when it opens
	 * one); NULL: none. */
	bool (*guard)(const struct pathway *p, const struct event *ev,
		      const struct evstep *st, struct pp_error *err);
	/* Its effect; NULL: history only. */
	void (*apply)(struct pathway *p, const struct event *ev,
		      const struct evstep *st);
};

/* The row of a type (never NULL for t < EV_COUNT). */
const struct evtype *evtype_of(enum event_type t);

/* Whole years from birth to the day on. */
int evtype_age_on(cal_date birth, cal_date on);

#endif
