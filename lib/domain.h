/*
 * domain: the vocabulary of pathways (levels, phases, event types, clock
 * rules, flags) as enums with their wire names.  Every parse function takes
 * untrusted text and answers false for anything it does not know.
 */
#ifndef PAINPATH_DOMAIN_H
#define PAINPATH_DOMAIN_H

#include <stdbool.h>

/* Identifiers from outside: 1..128 of A-Z a-z 0-9 . _ : - */
#define ID_MAX 128

enum level { LEVEL_GP, LEVEL_TEAM, LEVEL_CLINIC, LEVEL_CENTRE, LEVEL_COUNT };

enum phase {
	PHASE_ACTIVE,
	PHASE_REFERRED,
	PHASE_ASSESSING,
	PHASE_WAITING,
	PHASE_CLOSED,
	PHASE_COUNT
};

enum event_type {
	EV_PATHWAY_OPENED,
	EV_REFERRAL_SENT,
	EV_REFERRAL_RECEIVED,
	EV_REFERRAL_ACCEPTED,
	EV_REFERRAL_REJECTED,
	EV_REFERRAL_WITHDRAWN,
	EV_TREATMENT_STARTED,
	EV_PATIENT_TRANSFERRED,
	EV_PATHWAY_CLOSED,
	EV_CONSULTATION_REQUESTED,
	EV_CONSULTATION_ANSWERED,
	EV_COLLABORATION_STARTED,
	EV_COLLABORATION_ENDED,
	EV_PRO_REPORTED,
	EV_FREE_CHOICE_OFFERED,
	EV_FREE_CHOICE_CHOSEN,
	EV_EVENT_CORRECTED,
	EV_EVENT_RETRACTED,
	EV_PATHWAY_REOPENED,
	EV_PATHWAY_UPDATED,
	EV_CLOCK_PAUSED,
	EV_CLOCK_RESUMED,
	EV_COUNT
};

enum rule {
	RULE_TRANSIT,
	RULE_ASSESSMENT,
	RULE_TREATMENT,
	RULE_FREE_CHOICE,
	RULE_LEVEL_REVIEW,
	RULE_COUNT
};

enum flag {
	FLAG_YOUNG_ADULT_AT_RISK,
	FLAG_TRAUMA,
	FLAG_ELDERLY,
	FLAG_MENTAL_ILLNESS,
	FLAG_DEPENDENCE,
	FLAG_INTERPRETER_NEEDED,
	FLAG_SEVERE_HEADACHE,
	FLAG_OROFACIAL_PAIN,
	FLAG_CANCER_SURVIVOR,
	FLAG_COUNT
};

enum close_reason {
	CLOSE_COMPLETED,
	CLOSE_DECEASED,
	CLOSE_MOVED,
	CLOSE_DECLINED,
	CLOSE_OTHER,
	/* Not an event's reason: the opening was retracted (issue 12). */
	CLOSE_ENTERED_IN_ERROR,
	CLOSE_COUNT
};

/* Why a clock is paused (clock.paused data.reason). */
enum pause_reason {
	PAUSE_PATIENT_REQUESTED,
	PAUSE_MEDICAL,
	PAUSE_OTHER,
	PAUSE_REASON_COUNT
};

/* The 13 items of a referral (003, "Referral content"). */
#define REFERRAL_CONTENT_ITEMS 13

const char *domain_level_name(enum level l);
const char *domain_phase_name(enum phase p);
const char *domain_event_name(enum event_type t);
const char *domain_rule_name(enum rule r);
const char *domain_flag_name(enum flag f);
const char *domain_close_reason_name(enum close_reason r);
const char *domain_content_item_name(int item);
const char *domain_pause_reason_name(enum pause_reason r);

bool domain_level_parse(const char *s, enum level *out)
	__attribute__((warn_unused_result));
bool domain_phase_parse(const char *s, enum phase *out)
	__attribute__((warn_unused_result));
bool domain_event_parse(const char *s, enum event_type *out)
	__attribute__((warn_unused_result));
bool domain_rule_parse(const char *s, enum rule *out)
	__attribute__((warn_unused_result));
bool domain_flag_parse(const char *s, enum flag *out)
	__attribute__((warn_unused_result));
bool domain_close_reason_parse(const char *s, enum close_reason *out)
	__attribute__((warn_unused_result));
bool domain_pause_reason_parse(const char *s, enum pause_reason *out)
	__attribute__((warn_unused_result));
/* Returns the item index or -1. */
int domain_content_item_parse(const char *s);

/* 1..ID_MAX characters of A-Z a-z 0-9 . _ : -, at least one of them a
 * letter or a digit. */
bool domain_valid_id(const char *s);

#endif
