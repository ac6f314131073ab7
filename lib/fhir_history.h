/*
 * fhir_history: a pathway's transitions (api.md, oldest first) read as FHIR
 * needs them: the events that stand once corrections and retractions are
 * applied (issue 12), the workflow of each referral (its Task), and the
 * EpisodeOfCare's status periods.
 *
 * This is a view, not a decision: the state machine has already accepted
 * every transition; the history only labels them in FHIR's words, through
 * the tables in fhir_map.  Events are replayed in seq order, the order the
 * state machine applied them.
 *
 * Ownership: every pointer in the structs borrows from the transitions
 * JSON passed to fhir_history_load; keep it alive while using the history.
 * The arrays are owned by the history (fhir_history_free).
 */
#ifndef PAINPATH_FHIR_HISTORY_H
#define PAINPATH_FHIR_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "calendar.h"

/* One domain event of the history (corrections and retractions are not
 * steps: they change the steps they name). */
struct fhir_step {
	int seq;
	const char *event_id;
	const char *type;
	const char *unit; /* NULL when null */
	const json_t
		*data; /* the corrected data when corrected; NULL if none */
	cal_millis occurred_at; /* the corrected time when corrected */
	cal_millis recorded_at;
	bool corrected;
	bool retracted;
	const char *retraction_reason; /* NULL if not given */
	cal_millis retracted_at;       /* occurred_at of the retraction */
};

/* One referral (a referral.sent step) and its workflow. */
struct fhir_referral {
	int seq; /* of its referral.sent transition */
	const char *event_id;
	const json_t *sent_data;
	const char *status;    /* R4 task-status */
	const char *phase;     /* our phase after the last step that moved it */
	const char *requester; /* the unit that sent it; NULL if unknown */
	const char *owner;     /* the unit that has it; NULL if unknown */
	const char *to_level;  /* NULL if the data has none */
	cal_millis sent_at;
	cal_millis
		last_modified; /* occurred_at of the last step that moved it */
	cal_millis started_at; /* treatment.started; 0: not (yet) */
	cal_millis ended_at;   /* rejected, cancelled, completed; 0: not */
	const char *reason;    /* rejection, withdrawal or retraction */
	const char *advice;    /* rejection */
	bool open;	       /* the pathway's open referral (not started) */
	bool ended_by_close;   /* ended because the pathway closed */
};

/* One EpisodeOfCare.statusHistory entry. */
struct fhir_period {
	const char *status; /* R4 episode-of-care-status */
	cal_millis start;
	cal_millis end; /* 0: still so */
};

struct fhir_history {
	struct fhir_step *steps;
	size_t step_count;
	struct fhir_referral *referrals; /* in seq order */
	size_t referral_count;
	struct fhir_period *periods;
	size_t period_count;
	const char
		*opened_event_id; /* the pathway.opened event; NULL if none */
	bool opening_retracted;
	cal_millis last_occurred_at; /* of the last standing step */
};

/* False if transitions is not an array of transitions as api.md shows
 * them (each with seq, event_id, type, occurred_at), or memory runs out;
 * out is then empty. */
bool fhir_history_load(const json_t *transitions, struct fhir_history *out)
	__attribute__((warn_unused_result));
void fhir_history_free(struct fhir_history *h);

/* The referral sent at transition seq, or NULL. */
const struct fhir_referral *fhir_history_referral(const struct fhir_history *h,
						  int seq);
/* The pathway's open referral (requested, received or accepted), or NULL. */
const struct fhir_referral *
fhir_history_open_referral(const struct fhir_history *h);

#endif
