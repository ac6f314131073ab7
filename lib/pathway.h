/*
 * pathway: one patient's pathway through the levels, as the state machine
 * sees it, and its JSON form (api.md "A pathway").  The JSON form is also
 * what the database keeps in pathways.state, so pathway_from_json must read
 * back everything pathway_to_json writes.
 */
#ifndef PAINPATH_PATHWAY_H
#define PAINPATH_PATHWAY_H

#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"

struct pathway_clock {
	bool running;
	cal_date due; /* the base due date moved by the days paused */
	cal_millis started_at;
	bool paused;
	cal_date paused_on;
	enum pause_reason pause_reason;
	int paused_days;	  /* finished pauses, in the rule's unit */
	int paused_calendar_days; /* the same in calendar days */
};

struct pathway_referral {
	bool open;
	enum level from_level;
	char from_unit[ID_MAX + 1];
	enum level to_level;
	char to_unit[ID_MAX + 1];
	char received_unit[ID_MAX + 1];
	bool private_unit;
	cal_millis sent_at;
	cal_millis received_at; /* 0: not yet */
	cal_millis accepted_at; /* 0: not yet */
	bool has_deadline;
	cal_date deadline;
	int content_covered; /* of REFERRAL_CONTENT_ITEMS; -1: not given */
};

struct pathway {
	char id[ID_MAX + 1];
	char patient_id[ID_MAX + 1];
	char model[ID_MAX + 1];
	char region[ID_MAX + 1];
	char unit[ID_MAX + 1]; /* "" when none given */
	char gp_unit[ID_MAX + 1];
	enum level level;
	enum phase phase;
	struct pathway_referral referral;
	enum level levels_visited[LEVEL_COUNT];
	int levels_visited_count;
	unsigned flags; /* bit per enum flag */
	struct pathway_clock clocks[RULE_COUNT];
	int version;
	cal_millis opened_at;
	cal_millis updated_at;
	cal_millis closed_at; /* 0: open */
	enum close_reason close_reason;
	bool has_pain_onset;
	cal_date pain_onset;
	bool has_birth_date;
	cal_date birth_date;
	int age_at_opening;	  /* -1: unknown */
	int last_content_covered; /* of the last referral sent with content */
	/* occurred_at of the last event that changed the state: no such
	 * event may come before it (issue 10, out_of_order). */
	cal_millis last_change_at;
};

void pathway_visit_level(struct pathway *p, enum level l);
bool pathway_has_visited(const struct pathway *p, enum level l);
/* The earliest due date of the running clocks, or false if none runs. */
bool pathway_next_due(const struct pathway *p, cal_date *out);

/* New reference; never NULL unless out of memory. */
json_t *pathway_to_json(const struct pathway *p);
/* Reads what pathway_to_json wrote (from the database).  False if the JSON
 * is not a pathway: the caller treats that as corruption. */
bool pathway_from_json(const json_t *j, struct pathway *out)
	__attribute__((warn_unused_result));

#endif
