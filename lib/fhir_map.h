/*
 * fhir_map: how our vocabulary maps to FHIR R4's, one table per mapping
 * (doc/fhir.md has the same tables in prose).  Lookups take wire names
 * (api.md's strings), not enums, so phases and events added by later work
 * (issue 12: entered_in_error, event.retracted, pathway.reopened, ...) map
 * without a new enum value; an unknown name maps to NULL.
 *
 * Every returned string is static.
 */
#ifndef PAINPATH_FHIR_MAP_H
#define PAINPATH_FHIR_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* What a standing event does to the Task of a referral (fhir_history
 * replays these). */
enum fhir_task_effect {
	FHIR_TASK_NONE,
	FHIR_TASK_SENT,	     /* a new Task, requested */
	FHIR_TASK_RECEIVED,  /* open Task: received */
	FHIR_TASK_ACCEPTED,  /* open Task: accepted */
	FHIR_TASK_REJECTED,  /* open Task: rejected, no longer open */
	FHIR_TASK_WITHDRAWN, /* open Task: cancelled, no longer open */
	FHIR_TASK_STARTED,   /* open Task: in-progress; a treating one ends */
	FHIR_TASK_OWNER,     /* open Task: owner becomes data.to_unit */
	FHIR_TASK_LEFT,	     /* the treating Task: completed */
	FHIR_TASK_CLOSED,    /* open: cancelled; treating: completed */
	FHIR_TASK_REOPENED,  /* Tasks the close completed: in-progress again */
};

/* EpisodeOfCare.status of a phase. */
const char *fhir_map_episode_status(const char *phase);
/* The phases an EpisodeOfCare status search means (for the store's
 * query): writes up to max phase names into out, returns how many (0 for
 * a status no phase shows). */
size_t fhir_map_phases_of_status(const char *status, const char **out,
				 size_t max);
/* The Task status of the pathway's open referral in this phase (referred:
 * requested, assessing: received, waiting: accepted), or NULL when a
 * phase has no open referral. */
const char *fhir_map_open_task_status(const char *phase);
/* True for the codes of R4's episode-of-care-status code system. */
bool fhir_map_episode_status_known(const char *status);
/* The phase a standing event leads to, or NULL when it leaves the phase as
 * it is (consultations, PROs, ...) or is not a domain event. */
const char *fhir_map_phase_after(const char *event_type);
enum fhir_task_effect fhir_map_task_effect(const char *event_type);

/* The event that a Task update to this status asks for (PUT Task), or NULL
 * if no event moves a Task there (requested, completed, draft, ...). */
const char *fhir_map_task_event(const char *task_status);
/* ServiceRequest.status while its Task has this status. */
const char *fhir_map_request_status(const char *task_status);
/* True for the codes of R4's task-status code system. */
bool fhir_map_task_status_known(const char *task_status);

/* OperationOutcome.issue.code (R4 issue-type) and .severity of an error. */
const char *fhir_map_issue_type(enum err_code code);
const char *fhir_map_issue_severity(enum err_code code);

#endif
