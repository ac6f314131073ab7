#include "fhir_map.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Phases: a pathway followed at its level, referred onwards or being
 * assessed is an active episode; accepted and waiting for treatment at
 * the next level is on the waitlist (so "who is waiting" is a status
 * search); closed is finished.  entered_in_error is issue 12's end of a
 * pathway whose opening was retracted. */
static const struct {
	const char *phase;
	const char *episode_status;
} phases[] = {
	{"active", "active"},	 {"referred", "active"},
	{"assessing", "active"}, {"waiting", "waitlist"},
	{"closed", "finished"},	 {"entered_in_error", "entered-in-error"},
};

/* The phase each standing event leads to, for the EpisodeOfCare's
 * statusHistory after corrections (the transitions' own to_phase was
 * written before any correction).  check_fhir_map holds this table
 * against fsm_apply over every legal event, so it cannot drift. */
static const struct {
	const char *event;
	const char *phase_after;
	enum fhir_task_effect task;
} events[] = {
	{"pathway.opened", "active", FHIR_TASK_NONE},
	{"referral.sent", "referred", FHIR_TASK_SENT},
	{"referral.received", "assessing", FHIR_TASK_RECEIVED},
	{"referral.accepted", "waiting", FHIR_TASK_ACCEPTED},
	{"referral.rejected", "active", FHIR_TASK_REJECTED},
	{"referral.withdrawn", "active", FHIR_TASK_WITHDRAWN},
	{"treatment.started", "active", FHIR_TASK_STARTED},
	{"patient.transferred", "active", FHIR_TASK_LEFT},
	{"pathway.closed", "closed", FHIR_TASK_CLOSED},
	{"pathway.reopened", "active", FHIR_TASK_REOPENED},
	{"free_choice.chosen", NULL, FHIR_TASK_OWNER},
};

/* Task statuses (R4 task-status), the event a PUT to each asks for, and
 * the ServiceRequest's status meanwhile.  The request stays active while
 * the receiving unit treats the patient (the Task in progress), is
 * completed when that care ends, and revoked when refused or withdrawn. */
static const struct {
	const char *task_status;
	const char *event;
	const char *request_status;
} tasks[] = {
	{"draft", NULL, "draft"},
	{"requested", NULL, "active"},
	{"received", "referral.received", "active"},
	{"accepted", "referral.accepted", "active"},
	{"rejected", "referral.rejected", "revoked"},
	{"ready", NULL, "active"},
	{"cancelled", "referral.withdrawn", "revoked"},
	{"in-progress", "treatment.started", "active"},
	{"on-hold", NULL, "on-hold"},
	{"failed", NULL, "revoked"},
	{"completed", NULL, "completed"},
	{"entered-in-error", "event.retracted", "entered-in-error"},
};

/* Errors: api.md's codes as R4 issue types. */
static const struct {
	const char *type;
	const char *severity;
} issues[ERR_COUNT] = {
	[ERR_NONE] = {"informational", "information"},
	[ERR_INVALID_JSON] = {"structure", "error"},
	[ERR_INVALID_EVENT] = {"invalid", "error"},
	[ERR_INVALID_REQUEST] = {"invalid", "error"},
	[ERR_UNAUTHORIZED] = {"login", "error"},
	[ERR_FORBIDDEN] = {"forbidden", "error"},
	[ERR_NOT_FOUND] = {"not-found", "error"},
	[ERR_METHOD_NOT_ALLOWED] = {"not-supported", "error"},
	[ERR_ILLEGAL_TRANSITION] = {"business-rule", "error"},
	[ERR_EVENT_ID_CONFLICT] = {"duplicate", "error"},
	[ERR_PATHWAY_EXISTS] = {"duplicate", "error"},
	[ERR_TOO_LARGE] = {"too-long", "error"},
	[ERR_UNSUPPORTED_MEDIA_TYPE] = {"not-supported", "error"},
	[ERR_GUARD_FAILED] = {"business-rule", "error"},
	[ERR_OUT_OF_ORDER] = {"business-rule", "error"},
	[ERR_CORRECTION_CONFLICT] = {"conflict", "error"},
	[ERR_PRECONDITION_FAILED] = {"conflict", "error"},
	[ERR_UNAVAILABLE] = {"transient", "error"},
	[ERR_INTERNAL] = {"exception", "fatal"},
};

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

const char *fhir_map_episode_status(const char *phase)
{
	for (size_t i = 0; i < COUNT(phases); i++)
		if (same(phases[i].phase, phase))
			return phases[i].episode_status;
	return NULL;
}

size_t fhir_map_phases_of_status(const char *status, const char **out,
				 size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < COUNT(phases) && n < max; i++)
		if (same(phases[i].episode_status, status))
			out[n++] = phases[i].phase;
	return n;
}

const char *fhir_map_open_task_status(const char *phase)
{
	/* The events that lead into these phases are those that give the
	 * open referral's Task its status. */
	static const struct {
		const char *phase;
		const char *task_status;
	} open[] = {{"referred", "requested"},
		    {"assessing", "received"},
		    {"waiting", "accepted"}};

	for (size_t i = 0; i < COUNT(open); i++)
		if (same(open[i].phase, phase))
			return open[i].task_status;
	return NULL;
}

bool fhir_map_episode_status_known(const char *status)
{
	static const char *const codes[] = {
		"planned",  "waitlist",	 "active",	    "onhold",
		"finished", "cancelled", "entered-in-error"};

	for (size_t i = 0; i < COUNT(codes); i++)
		if (same(codes[i], status))
			return true;
	return false;
}

const char *fhir_map_phase_after(const char *event_type)
{
	for (size_t i = 0; i < COUNT(events); i++)
		if (same(events[i].event, event_type))
			return events[i].phase_after;
	return NULL;
}

enum fhir_task_effect fhir_map_task_effect(const char *event_type)
{
	for (size_t i = 0; i < COUNT(events); i++)
		if (same(events[i].event, event_type))
			return events[i].task;
	return FHIR_TASK_NONE;
}

const char *fhir_map_task_event(const char *task_status)
{
	for (size_t i = 0; i < COUNT(tasks); i++)
		if (same(tasks[i].task_status, task_status))
			return tasks[i].event;
	return NULL;
}

const char *fhir_map_request_status(const char *task_status)
{
	for (size_t i = 0; i < COUNT(tasks); i++)
		if (same(tasks[i].task_status, task_status))
			return tasks[i].request_status;
	return NULL;
}

bool fhir_map_task_status_known(const char *task_status)
{
	for (size_t i = 0; i < COUNT(tasks); i++)
		if (same(tasks[i].task_status, task_status))
			return true;
	return false;
}

const char *fhir_map_issue_type(enum err_code code)
{
	return code < ERR_COUNT && issues[code].type != NULL ? issues[code].type
							     : "exception";
}

const char *fhir_map_issue_severity(enum err_code code)
{
	return code < ERR_COUNT && issues[code].severity != NULL
		       ? issues[code].severity
		       : "fatal";
}
