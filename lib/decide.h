/*
 * decide: what to do with one event, given what the store found for it --
 * the pure decision every way in (/v1, FHIR, corrections) shares.  It
 * answers replay (the first answer again), refuse (an error, nothing
 * recorded) or write (the new pathway, its transition and effects).  All
 * the rules live here or below (fsm, evtype, replay): who may see which
 * pathway, idempotency, one open pathway per patient, event order,
 * corrections.  No I/O, no clock: "now" is an argument.
 */
#ifndef PAINPATH_DECIDE_H
#define PAINPATH_DECIDE_H

#include <stdbool.h>

#include <jansson.h>

#include "auth.h"
#include "error.h"
#include "event.h"
#include "fsm.h"
#include "model.h"
#include "pathway.h"
#include "replay.h"

/* An event already recorded under the same source and event_id. */
struct decide_stored {
	const char *pathway_id;
	const char *region;   /* its pathway's region */
	const json_t *event;  /* the event as it was posted */
	const char *response; /* the answer it got (replayed byte for byte) */
};

struct decide_in {
	const struct event *ev;
	const struct token *token; /* its regions scope everything */
	const struct model_set *models;
	cal_millis now;
	const char *new_id; /* names a pathway this event opens */
	/* What the store found, locked: */
	const struct pathway *target; /* the pathway the event addresses
					 (its pathway_id, or the patient's
					 open one; for pathway.reopened the
					 patient's latest), or NULL */
	const struct pathway *open;   /* the patient's open pathway when it
					 is not target, or NULL */
	const struct decide_stored *stored; /* or NULL */
	/* The target's recorded history: needed for corrections only. */
	const struct history *history;
	const char *source; /* the sender's source (corrections) */
	/* The version the sender last saw (FHIR If-Match), or 0: a fresh
	 * event on a pathway that moved since is refused with
	 * precondition_failed; a retry still replays. */
	int expected_version;
};

enum decide_kind { DECIDE_REFUSE, DECIDE_REPLAY, DECIDE_WRITE };

struct decision {
	enum decide_kind kind;
	/* REFUSE */
	struct pp_error err;
	json_t *detail; /* owned: extra members of the error, or NULL */
	/* REPLAY */
	const char *response; /* borrowed from stored */
	/* REPLAY, WRITE: the pathway */
	char pathway_id[ID_MAX + 1];
	/* WRITE */
	bool insert; /* a new pathway row */
	struct pathway after;
	struct transition tr;
	struct fsm_effects fx;
	int corrects_seq; /* a correction: the seq of the event it corrects */
	/* The referrer's notification of a decision (models with
	 * notify_decisions), a corrected or retracted one's too; owned, or
	 * NULL. */
	json_t *notification;
};

/* Fills out (always); returns its kind. */
enum decide_kind decide(const struct decide_in *in, struct decision *out);
/* The fresh answer of a WRITE: {"pathway", "transition"} (new ref). */
json_t *decide_response(const struct decision *d, const struct event *ev);
void decision_free(struct decision *d);

/* What the store must find for an event: its pathway by id, the
 * patient's open one, or the patient's latest (for a reopening), and
 * whether the history is needed. */
enum decide_lookup {
	LOOKUP_BY_ID,
	LOOKUP_OPEN,
	LOOKUP_LATEST,
};
enum decide_lookup decide_lookup_of(const struct event *ev);
bool decide_needs_history(const struct event *ev);

#endif
