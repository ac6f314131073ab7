/*
 * replay: a pathway's state as the state machine gives it from its whole
 * history, with every correction applied and every retracted event left
 * out, the standing events taken in occurred_at order (issue 12).  Pure.
 *
 * The same fold serves a correction being decided (its history plus the
 * correction) and `painpath verify` (the stored history against the stored
 * state): for a history without corrections it gives exactly the state the
 * events gave one by one.
 */
#ifndef PAINPATH_REPLAY_H
#define PAINPATH_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"
#include "error.h"
#include "model.h"
#include "pathway.h"

/* One recorded transition's event, as stored. */
struct history_entry {
	int seq;
	const char *source;   /* borrowed */
	const char *event_id; /* borrowed */
	json_t *event;	      /* borrowed: the event as posted */
	cal_millis recorded_at;
};

struct history {
	const struct history_entry *entries; /* in seq order */
	size_t count;
};

struct replay_result {
	struct pathway state;
	/* On failure: the error, and when a standing event became illegal,
	 * the events that depend on the changed one, newest first (owned
	 * array of event ids; NULL otherwise). */
	struct pp_error err;
	json_t *depends_on;
	/* The target of a correction, its type (pathway.opened retracted
	 * ends the pathway as entered in error). */
	int target_index;
	/* On success, for a correction being decided: its target as it now
	 * stands, every correction applied (owned), and whether it is
	 * retracted -- a corrected decision tells the referrer again. */
	json_t *target_event;
	bool target_retracted;
};

/*
 * Replays history with `extra` (a correction being decided, or NULL) as
 * its last entry.  The pathway id is the history's.  now is the server's
 * clock for the events' "not in the future" check.  source names the
 * correcting event's source, which picks the target when two sources used
 * the same event_id.  On success out->state holds the pathway (version =
 * the number of entries, updated_at = the last entry's recorded_at).
 */
bool replay_history(const struct history *h, const struct history_entry *extra,
		    const char *pathway_id, const struct model_set *models,
		    cal_millis now, struct replay_result *out)
	__attribute__((warn_unused_result));
void replay_result_free(struct replay_result *r);

#endif
