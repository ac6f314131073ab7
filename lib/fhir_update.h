/*
 * fhir_update: FHIR updates translated into one /v1 event each, against
 * the resource as it is now (a struct fhir_view of the pathway):
 *
 *   PUT Task/{id}, status ->  received     referral.received
 *                             accepted     referral.accepted (deadline:
 *                                          restriction.period.end)
 *                             rejected     referral.rejected (statusReason,
 *                                          note)
 *                             cancelled    referral.withdrawn
 *                             in-progress  treatment.started
 *                             entered-in-error  event.retracted of the
 *                                          referral.sent (issue 12)
 *            same status, accepted, another owner: free_choice.chosen
 *   PUT EpisodeOfCare/{id}, status -> finished  pathway.closed
 *                                  entered-in-error  event.retracted of
 *                                                    pathway.opened
 *                                  active (was finished)  pathway.reopened
 *            same status, other level or unit:  patient.transferred
 *            same status, other flags, onset, age or model: pathway.updated
 *
 * A PUT that changes nothing we map is FHIR_WRITE_NOOP.  Whether the event
 * is legal is the state machine's to say; these functions refuse only
 * what no event could mean (a status no event leads to, a Task whose
 * referral is over, changes to the patient or the focus, two kinds of
 * change at once).
 *
 * event_id: "fhir:<type>:<id>:<version>:<status>" (fhir_id_update_event)
 * with the If-Match version (the pathway's current version without one),
 * so the same PUT retried is the same event and replays.
 *
 * Elements are read as changed only where they differ from the resource
 * as rendered now: a client that reads a Task and PUTs it back with a new
 * status sends the old lastModified and restriction, which must not
 * become the event's time or deadline.
 */
#ifndef PAINPATH_FHIR_UPDATE_H
#define PAINPATH_FHIR_UPDATE_H

#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "fhir_outcome.h"
#include "fhir_resource.h"
#include "fhir_write.h"

/* if_match: the version of If-Match, or -1 without one; now: the server
 * clock. */
bool fhir_update_task(const struct fhir_view *v, const char *task_id,
		      const json_t *resource, int if_match, cal_millis now,
		      struct fhir_write *out, struct fhir_error *err)
	__attribute__((warn_unused_result));
bool fhir_update_episode(const struct fhir_view *v, const char *episode_id,
			 const json_t *resource, int if_match, cal_millis now,
			 struct fhir_write *out, struct fhir_error *err)
	__attribute__((warn_unused_result));

#endif
