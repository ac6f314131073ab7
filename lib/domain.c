#include "domain.h"

#include <string.h>

static const char *const level_names[LEVEL_COUNT] = {"gp", "team", "clinic",
						     "centre"};

static const char *const phase_names[PHASE_COUNT] = {
	"active", "referred", "assessing", "waiting", "closed"};

static const char *const event_names[EV_COUNT] = {
	"pathway.opened",	 "referral.sent",
	"referral.received",	 "referral.accepted",
	"referral.rejected",	 "referral.withdrawn",
	"treatment.started",	 "patient.transferred",
	"pathway.closed",	 "consultation.requested",
	"consultation.answered", "collaboration.started",
	"collaboration.ended",	 "pro.reported",
	"free_choice.offered",	 "free_choice.chosen",
	"event.corrected",	 "event.retracted",
	"pathway.reopened",	 "pathway.updated",
	"clock.paused",		 "clock.resumed"};

static const char *const rule_names[RULE_COUNT] = {
	"transit", "assessment", "treatment", "free_choice", "level_review"};

static const char *const flag_names[FLAG_COUNT] = {
	"young_adult_at_risk", "trauma",	 "elderly",
	"mental_illness",      "dependence",	 "interpreter_needed",
	"severe_headache",     "orofacial_pain", "cancer_survivor"};

static const char *const close_reason_names[CLOSE_COUNT] = {
	"completed", "deceased", "moved",
	"declined",  "other",	 "entered_in_error"};

static const char *const pause_reason_names[PAUSE_REASON_COUNT] = {
	"patient_requested", "medical", "other"};

/* Keys of the referral items a referral's data.content may cover. */
static const char *const content_item_names[REFERRAL_CONTENT_ITEMS] = {
	"patient_view",	       "pain_description",   "physical_function",
	"comorbidity_sleep",   "psychosocial",	     "medicines",
	"dependence",	       "alcohol_drugs",	     "examinations",
	"earlier_assessments", "earlier_treatments", "expectations",
	"motivation"};

static int lookup(const char *const *names, int count, const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < count; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static const char *name_of(const char *const *names, int count, int i)
{
	return i >= 0 && i < count ? names[i] : "?";
}

const char *domain_level_name(enum level l)
{
	return name_of(level_names, LEVEL_COUNT, (int)l);
}

const char *domain_phase_name(enum phase p)
{
	return name_of(phase_names, PHASE_COUNT, (int)p);
}

const char *domain_event_name(enum event_type t)
{
	return name_of(event_names, EV_COUNT, (int)t);
}

const char *domain_rule_name(enum rule r)
{
	return name_of(rule_names, RULE_COUNT, (int)r);
}

const char *domain_flag_name(enum flag f)
{
	return name_of(flag_names, FLAG_COUNT, (int)f);
}

const char *domain_close_reason_name(enum close_reason r)
{
	return name_of(close_reason_names, CLOSE_COUNT, (int)r);
}

const char *domain_pause_reason_name(enum pause_reason r)
{
	return name_of(pause_reason_names, PAUSE_REASON_COUNT, (int)r);
}

const char *domain_content_item_name(int item)
{
	return name_of(content_item_names, REFERRAL_CONTENT_ITEMS, item);
}

#define DEFINE_PARSE(fn, type, names, count)                                   \
	bool fn(const char *s, type *out)                                      \
	{                                                                      \
		int i = lookup(names, count, s);                               \
		if (i < 0)                                                     \
			return false;                                          \
		*out = (type)i;                                                \
		return true;                                                   \
	}

DEFINE_PARSE(domain_level_parse, enum level, level_names, LEVEL_COUNT)
DEFINE_PARSE(domain_phase_parse, enum phase, phase_names, PHASE_COUNT)
DEFINE_PARSE(domain_event_parse, enum event_type, event_names, EV_COUNT)
DEFINE_PARSE(domain_rule_parse, enum rule, rule_names, RULE_COUNT)
DEFINE_PARSE(domain_flag_parse, enum flag, flag_names, FLAG_COUNT)
DEFINE_PARSE(domain_close_reason_parse, enum close_reason, close_reason_names,
	     CLOSE_COUNT)
DEFINE_PARSE(domain_pause_reason_parse, enum pause_reason, pause_reason_names,
	     PAUSE_REASON_COUNT)

int domain_content_item_parse(const char *s)
{
	return lookup(content_item_names, REFERRAL_CONTENT_ITEMS, s);
}

bool domain_valid_id(const char *s)
{
	size_t n = 0;
	bool alnum = false;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			  c == ':' || c == '-';
		if (!ok || n >= ID_MAX)
			return false;
		alnum = alnum || (c != '.' && c != '_' && c != ':' && c != '-');
	}
	/* "." and ".." look like paths to anything that logs or proxies. */
	return n > 0 && alnum;
}
