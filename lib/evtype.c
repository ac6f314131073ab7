#include "evtype.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "event.h"

#define BIT(x) (1u << (x))

static bool blank(const char *s)
{
	if (s == NULL)
		return true;
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

static bool guard_fail(struct pp_error *err, const char *field, const char *msg)
{
	return error_set(err, ERR_GUARD_FAILED, field, "%s", msg);
}

static void set_id(char *dst, const char *src)
{
	snprintf(dst, ID_MAX + 1, "%s", src);
}

int evtype_age_on(cal_date birth, cal_date on)
{
	int by, bm, bd, y, m, d;

	calendar_ymd(birth, &by, &bm, &bd);
	calendar_ymd(on, &y, &m, &d);
	return y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
}

static bool required_text(const json_t *data, const char *key,
			  const char *field, const char **out,
			  struct pp_error *err)
{
	if (!event_read_text(data, key, field, out, err))
		return false;
	if (blank(*out))
		return event_bad(err, field, "is required");
	return true;
}

/* --- pathway.opened --------------------------------------------------------
 */

static bool parse_opened(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	if (ev->model[0] == '\0')
		return event_bad(err, "model", "is required on pathway.opened");
	if (ev->region[0] == '\0')
		return event_bad(err, "region",
				 "is required on pathway.opened");
	return event_read_level(data, "level", "data.level", false, ev, err) &&
	       event_read_date(data, "pain_onset", "data.pain_onset",
			       &ev->has_pain_onset, &ev->pain_onset, err) &&
	       event_read_date(data, "birth_date", "data.birth_date",
			       &ev->has_birth_date, &ev->birth_date, err) &&
	       event_read_flags(data, "flags", "data.flags", &ev->flags, err) &&
	       event_read_age(data, ev, err);
}

/* The model's age range on the day `on`, for a patient of known age. */
static bool check_age_range(const struct model *m, int age,
			    struct pp_error *err)
{
	if (m->min_age < 0 && m->max_age < 0)
		return true;
	if (age < 0)
		return error_set(err, ERR_INVALID_EVENT, "data.birth_date",
				 "model %s needs the patient's age: give "
				 "data.birth_date or data.age",
				 m->key);
	if (m->min_age >= 0 && age < m->min_age)
		return error_set(err, ERR_GUARD_FAILED, "model",
				 "model %s is for patients aged %d and over; "
				 "this patient is %d",
				 m->key, m->min_age, age);
	if (m->max_age >= 0 && age > m->max_age)
		return error_set(err, ERR_GUARD_FAILED, "model",
				 "model %s is for patients aged %d and under; "
				 "this patient is %d",
				 m->key, m->max_age, age);
	return true;
}

/* The age the event states: from its birth date on its day, or its age. */
static int stated_age(const struct event *ev, cal_date today)
{
	return ev->has_birth_date ? evtype_age_on(ev->birth_date, today)
				  : ev->age;
}

static bool check_facts(const struct event *ev, cal_date today,
			struct pp_error *err)
{
	if (ev->has_birth_date && ev->birth_date > today)
		return error_set(err, ERR_INVALID_EVENT, "data.birth_date",
				 "data.birth_date is after the event");
	if (ev->has_pain_onset && ev->pain_onset > today)
		return error_set(err, ERR_INVALID_EVENT, "data.pain_onset",
				 "data.pain_onset is after the event");
	return true;
}

static bool guard_opened(const struct pathway *p, const struct event *ev,
			 const struct evstep *st, struct pp_error *err)
{
	(void)p;
	return check_facts(ev, st->today, err) &&
	       check_age_range(st->m, stated_age(ev, st->today), err);
}

static void start_level_review(struct pathway *p, const struct evstep *st,
			       cal_millis at)
{
	if (p->has_pain_onset && p->level == LEVEL_GP &&
	    st->m->clocks[RULE_LEVEL_REVIEW].enabled &&
	    !p->clocks[RULE_LEVEL_REVIEW].running)
		clock_start(p, st->m, RULE_LEVEL_REVIEW, p->pain_onset, at);
}

static void apply_opened(struct pathway *p, const struct event *ev,
			 const struct evstep *st)
{
	set_id(p->patient_id, ev->patient_id);
	set_id(p->model, st->m->key);
	set_id(p->region, ev->region);
	set_id(p->unit, ev->unit);
	p->level = ev->has_level ? ev->level : LEVEL_GP;
	if (p->level == LEVEL_GP)
		set_id(p->gp_unit, ev->unit);
	p->phase = PHASE_ACTIVE;
	p->flags = ev->flags;
	p->opened_at = ev->occurred_at;
	p->age_at_opening = stated_age(ev, st->today);
	p->has_birth_date = ev->has_birth_date;
	p->birth_date = ev->birth_date;
	p->last_content_covered = -1;
	p->referral.content_covered = -1;
	pathway_visit_level(p, p->level);
	p->has_pain_onset = ev->has_pain_onset;
	p->pain_onset = ev->pain_onset;
	start_level_review(p, st, ev->occurred_at);
}

/* --- referrals --------------------------------------------------------- */

static bool read_content(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	const json_t *content = json_object_get(data, "content");
	const char *key;
	const json_t *v;

	if (content == NULL || json_is_null(content))
		return true;
	if (!json_is_object(content))
		return event_bad(err, "data.content",
				 "must be an object of referral items");
	ev->content_covered = 0;
	json_object_foreach((json_t *)content, key, v)
	{
		if (domain_content_item_parse(key) < 0)
			return event_bad(err, "data.content",
					 "names an unknown referral item");
		if (!json_is_boolean(v) && !json_is_string(v))
			return event_bad(err, "data.content",
					 "items must be true/false or a text");
		if (json_is_true(v) ||
		    (json_is_string(v) && json_string_length(v) > 0))
			ev->content_covered++;
	}
	return true;
}

static bool parse_sent(const json_t *data, struct event *ev,
		       struct pp_error *err)
{
	return event_read_level(data, "to_level", "data.to_level", true, ev,
				err) &&
	       event_read_id(data, "to_unit", "data.to_unit", false,
			     ev->to_unit, err) &&
	       event_read_bool(data, "earlier_levels_considered",
			       "data.earlier_levels_considered",
			       &ev->earlier_levels_considered, err) &&
	       event_read_bool(data, "private_unit", "data.private_unit",
			       &ev->private_unit, err) &&
	       event_read_text(data, "justification", "data.justification",
			       &ev->justification, err) &&
	       read_content(data, ev, err);
}

static bool guard_sent(const struct pathway *p, const struct event *ev,
		       const struct evstep *st, struct pp_error *err)
{
	if (ev->level < p->level)
		return guard_fail(
			err, "data.to_level",
			"a referral goes to a higher level or to another "
			"unit at the same level; to move the patient down, "
			"send patient.transferred");
	if (ev->level == p->level &&
	    (ev->to_unit[0] == '\0' || strcmp(ev->to_unit, p->unit) == 0))
		return guard_fail(err, "data.to_unit",
				  "a referral at the same level must name "
				  "another unit in data.to_unit");
	if (ev->level == LEVEL_CENTRE &&
	    (st->m->guards & GUARD_CENTRE_REQUIRES_CLINIC) &&
	    !pathway_has_visited(p, LEVEL_CLINIC) &&
	    !(ev->earlier_levels_considered && !blank(ev->justification)))
		return guard_fail(
			err, "data.earlier_levels_considered",
			"before referral to a regional pain centre every "
			"possibility at the earlier levels must have been "
			"considered: the patient has not been at a pain "
			"clinic, so set earlier_levels_considered to true and "
			"give a justification");
	return true;
}

static void apply_sent(struct pathway *p, const struct event *ev,
		       const struct evstep *st)
{
	struct pathway_referral *r = &p->referral;

	memset(r, 0, sizeof(*r));
	r->open = true;
	r->from_level = p->level;
	set_id(r->from_unit, p->unit);
	r->to_level = ev->level;
	set_id(r->to_unit, ev->to_unit);
	r->private_unit = ev->private_unit;
	r->sent_at = ev->occurred_at;
	r->content_covered = ev->content_covered;
	if (ev->content_covered >= 0)
		p->last_content_covered = ev->content_covered;
	p->phase = PHASE_REFERRED;
	/* Being referred is the review the level_review clock asks for. */
	clock_stop(p, RULE_LEVEL_REVIEW);
	if (clock_applies(st->m, RULE_TRANSIT, ev->level))
		clock_start(p, st->m, RULE_TRANSIT, st->today, ev->occurred_at);
}

static void apply_received(struct pathway *p, const struct event *ev,
			   const struct evstep *st)
{
	struct pathway_referral *r = &p->referral;
	const struct model *m = st->m;
	enum level to = r->to_level;

	set_id(r->received_unit, ev->unit[0] != '\0' ? ev->unit : r->to_unit);
	r->received_at = ev->occurred_at;
	p->phase = PHASE_ASSESSING;
	clock_stop(p, RULE_TRANSIT);
	if (clock_applies(m, RULE_ASSESSMENT, to))
		clock_start(p, m, RULE_ASSESSMENT, st->today, ev->occurred_at);
	if (clock_applies(m, RULE_TREATMENT, to) &&
	    m->clocks[RULE_TREATMENT].starts_at == EV_REFERRAL_RECEIVED)
		clock_start(p, m, RULE_TREATMENT, st->today, ev->occurred_at);
	if (clock_applies(m, RULE_FREE_CHOICE, to) && !r->private_unit)
		clock_start(p, m, RULE_FREE_CHOICE, st->today, ev->occurred_at);
}

static bool parse_accepted(const json_t *data, struct event *ev,
			   struct pp_error *err)
{
	return event_read_date(data, "deadline", "data.deadline",
			       &ev->has_deadline, &ev->deadline, err);
}

static bool guard_accepted(const struct pathway *p, const struct event *ev,
			   const struct evstep *st, struct pp_error *err)
{
	(void)p;
	if (!ev->has_deadline) {
		if (st->m->guards & GUARD_ACCEPT_REQUIRES_DEADLINE)
			return guard_fail(err, "data.deadline",
					  "the clinic must set a deadline for "
					  "the start of care when it grants "
					  "the right to necessary care: give "
					  "data.deadline");
		return true;
	}
	if (ev->deadline < st->today)
		return guard_fail(err, "data.deadline",
				  "the deadline for the start of care is "
				  "before the date of the acceptance");
	return true;
}

static void apply_accepted(struct pathway *p, const struct event *ev,
			   const struct evstep *st)
{
	const struct clock_rule *c = &st->m->clocks[RULE_TREATMENT];

	p->referral.accepted_at = ev->occurred_at;
	p->referral.has_deadline = ev->has_deadline;
	p->referral.deadline = ev->deadline;
	p->phase = PHASE_WAITING;
	clock_stop(p, RULE_ASSESSMENT);
	if (!clock_applies(st->m, RULE_TREATMENT, p->referral.to_level) ||
	    c->starts_at != EV_REFERRAL_ACCEPTED)
		return;
	if (c->duration.unit == DUR_DEADLINE) {
		if (ev->has_deadline)
			clock_start_on(p, RULE_TREATMENT, ev->deadline,
				       ev->occurred_at);
		return;
	}
	clock_start(p, st->m, RULE_TREATMENT, st->today, ev->occurred_at);
}

static bool parse_rejected(const json_t *data, struct event *ev,
			   struct pp_error *err)
{
	return event_read_text(data, "reason", "data.reason", &ev->reason,
			       err) &&
	       event_read_text(data, "advice", "data.advice", &ev->advice, err);
}

static bool guard_rejected(const struct pathway *p, const struct event *ev,
			   const struct evstep *st, struct pp_error *err)
{
	(void)p;
	(void)st;
	if (blank(ev->reason) || blank(ev->advice))
		return guard_fail(
			err, blank(ev->reason) ? "data.reason" : "data.advice",
			"a rejected referral must give the reason "
			"and advice to the referrer on further care");
	return true;
}

static bool parse_reason(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	return event_read_text(data, "reason", "data.reason", &ev->reason, err);
}

static void back_to_referrer(struct pathway *p, const struct event *ev,
			     const struct evstep *st)
{
	(void)ev;
	(void)st;
	memset(&p->referral, 0, sizeof(p->referral));
	p->referral.content_covered = -1;
	p->phase = PHASE_ACTIVE;
	clock_stop(p, RULE_TRANSIT);
	clock_stop(p, RULE_ASSESSMENT);
	clock_stop(p, RULE_TREATMENT);
	clock_stop(p, RULE_FREE_CHOICE);
}

static void apply_started(struct pathway *p, const struct event *ev,
			  const struct evstep *st)
{
	const struct pathway_referral *r = &p->referral;

	p->level = r->to_level;
	set_id(p->unit,
	       r->received_unit[0] != '\0' ? r->received_unit : r->to_unit);
	pathway_visit_level(p, p->level);
	back_to_referrer(p, ev, st);
}

static bool parse_transferred(const json_t *data, struct event *ev,
			      struct pp_error *err)
{
	return event_read_level(data, "to_level", "data.to_level", true, ev,
				err) &&
	       event_read_id(data, "to_unit", "data.to_unit", false,
			     ev->to_unit, err) &&
	       event_read_text(data, "reason", "data.reason", &ev->reason, err);
}

static bool guard_transferred(const struct pathway *p, const struct event *ev,
			      const struct evstep *st, struct pp_error *err)
{
	(void)st;
	if (ev->level > p->level)
		return guard_fail(err, "data.to_level",
				  "a transfer goes to a lower level or another "
				  "unit at the same level; to move the patient "
				  "up, send referral.sent");
	if (ev->level == p->level &&
	    (ev->to_unit[0] == '\0' || strcmp(ev->to_unit, p->unit) == 0))
		return guard_fail(err, "data.to_unit",
				  "a transfer at the same level must name "
				  "another unit in data.to_unit");
	return true;
}

static void apply_transferred(struct pathway *p, const struct event *ev,
			      const struct evstep *st)
{
	p->level = ev->level;
	set_id(p->unit, ev->to_unit);
	if (p->level == LEVEL_GP && ev->to_unit[0] != '\0')
		set_id(p->gp_unit, ev->to_unit);
	pathway_visit_level(p, p->level);
	(void)st;
}

/* --- closing and reopening ------------------------------------------------ */

static bool parse_closed(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	const json_t *v = json_object_get(data, "reason");

	if (v == NULL)
		return event_bad(err, "data.reason",
				 "is required on pathway.closed");
	if (!json_is_string(v) ||
	    !domain_close_reason_parse(json_string_value(v),
				       &ev->close_reason) ||
	    ev->close_reason == CLOSE_ENTERED_IN_ERROR)
		return event_bad(err, "data.reason",
				 "must be completed, deceased, moved, declined "
				 "or other");
	return true;
}

static void apply_closed(struct pathway *p, const struct event *ev,
			 const struct evstep *st)
{
	(void)st;
	p->phase = PHASE_CLOSED;
	p->closed_at = ev->occurred_at;
	p->close_reason = ev->close_reason;
	clock_stop_all(p);
}

static bool parse_reopened(const json_t *data, struct event *ev,
			   struct pp_error *err)
{
	return required_text(data, "reason", "data.reason", &ev->reason, err);
}

static bool guard_reopened(const struct pathway *p, const struct event *ev,
			   const struct evstep *st, struct pp_error *err)
{
	cal_date closed_on = calendar_local_date(&st->m->zone, p->closed_at);

	(void)ev;
	if (p->close_reason == CLOSE_ENTERED_IN_ERROR)
		return guard_fail(err, "type",
				  "a pathway entered in error cannot be "
				  "reopened");
	if (st->today > closed_on + st->m->reopen_days)
		return error_set(err, ERR_GUARD_FAILED, "occurred_at",
				 "a pathway may be reopened within %d days of "
				 "its closing; open a new one",
				 st->m->reopen_days);
	return true;
}

static void apply_reopened(struct pathway *p, const struct event *ev,
			   const struct evstep *st)
{
	p->phase = PHASE_ACTIVE;
	p->closed_at = 0;
	p->close_reason = CLOSE_COMPLETED;
	memset(&p->referral, 0, sizeof(p->referral));
	p->referral.content_covered = -1;
	start_level_review(p, st, ev->occurred_at);
}

/* --- facts that change -----------------------------------------------------
 */

static bool parse_updated(const json_t *data, struct event *ev,
			  struct pp_error *err)
{
	if (!event_read_flags(data, "flags_add", "data.flags_add",
			      &ev->flags_add, err) ||
	    !event_read_flags(data, "flags_remove", "data.flags_remove",
			      &ev->flags_remove, err) ||
	    !event_read_date(data, "birth_date", "data.birth_date",
			     &ev->has_birth_date, &ev->birth_date, err) ||
	    !event_read_age(data, ev, err) ||
	    !event_read_date(data, "pain_onset", "data.pain_onset",
			     &ev->has_pain_onset, &ev->pain_onset, err) ||
	    !event_read_id(data, "gp_unit", "data.gp_unit", false, ev->gp_unit,
			   err) ||
	    !event_read_id(data, "model", "data.model", false, ev->new_model,
			   err))
		return false;
	if (ev->flags_add & ev->flags_remove)
		return event_bad(err, "data.flags_remove",
				 "names a flag data.flags_add also names");
	if (ev->flags_add == 0 && ev->flags_remove == 0 &&
	    !ev->has_birth_date && ev->age < 0 && !ev->has_pain_onset &&
	    ev->gp_unit[0] == '\0' && ev->new_model[0] == '\0')
		return event_bad(err, "data",
				 "must change something: flags_add, "
				 "flags_remove, birth_date, age, pain_onset, "
				 "gp_unit or model");
	return true;
}

/* The patient's age on day `on`: from the birth date (the event's or the
 * pathway's), else the event's age, else the age at opening plus the
 * whole years since (a lower bound); -1 when unknown. */
static int age_on_day(const struct pathway *p, const struct event *ev,
		      const struct model *m, cal_date on)
{
	if (ev->has_birth_date)
		return evtype_age_on(ev->birth_date, on);
	if (p->has_birth_date)
		return evtype_age_on(p->birth_date, on);
	if (ev->age >= 0)
		return ev->age;
	if (p->age_at_opening < 0)
		return -1;
	return p->age_at_opening +
	       evtype_age_on(calendar_local_date(&m->zone, p->opened_at), on);
}

static bool guard_model_change(const struct pathway *p, const struct event *ev,
			       const struct evstep *st, struct pp_error *err)
{
	const struct model *to = st->new_model;

	if (to == NULL)
		return error_set(err, ERR_INVALID_EVENT, "data.model",
				 "data.model must be one of the loaded models "
				 "(GET /v1/models)");
	if (to->country != st->m->country)
		return guard_fail(err, "data.model",
				  "a pathway may move only between models of "
				  "the same country");
	(void)p;
	return check_age_range(to, age_on_day(p, ev, st->m, st->today), err);
}

static bool guard_updated(const struct pathway *p, const struct event *ev,
			  const struct evstep *st, struct pp_error *err)
{
	cal_date opened = calendar_local_date(&st->m->zone, p->opened_at);

	if (ev->has_birth_date && ev->birth_date > opened)
		return error_set(err, ERR_INVALID_EVENT, "data.birth_date",
				 "data.birth_date is after the pathway was "
				 "opened");
	if (ev->has_pain_onset && ev->pain_onset > st->today)
		return error_set(err, ERR_INVALID_EVENT, "data.pain_onset",
				 "data.pain_onset is after the event");
	if (ev->new_model[0] != '\0' && strcmp(ev->new_model, p->model) != 0)
		return guard_model_change(p, ev, st, err);
	/* New facts must still fit the pathway's model at its opening. */
	if (ev->has_birth_date)
		return check_age_range(
			st->m, evtype_age_on(ev->birth_date, opened), err);
	if (ev->age >= 0)
		return check_age_range(st->m, ev->age, err);
	return true;
}

static void apply_updated(struct pathway *p, const struct event *ev,
			  const struct evstep *st)
{
	const struct model *m = st->new_model ? st->new_model : st->m;

	p->flags = (p->flags | ev->flags_add) & ~ev->flags_remove;
	if (ev->has_birth_date) {
		p->has_birth_date = true;
		p->birth_date = ev->birth_date;
		p->age_at_opening = evtype_age_on(
			ev->birth_date,
			calendar_local_date(&st->m->zone, p->opened_at));
	} else if (ev->age >= 0 && ev->new_model[0] == '\0') {
		p->age_at_opening = ev->age;
	}
	if (ev->gp_unit[0] != '\0')
		set_id(p->gp_unit, ev->gp_unit);
	if (st->new_model != NULL)
		set_id(p->model, st->new_model->key);
	if (ev->has_pain_onset) {
		p->has_pain_onset = true;
		p->pain_onset = ev->pain_onset;
	}
	clock_recompute_all(p, m);
	if (p->phase == PHASE_ACTIVE) {
		struct evstep moved = {m, NULL, st->today};
		start_level_review(p, &moved, ev->occurred_at);
	}
}

/* --- clocks paused -----------------------------------------------------------
 */

static bool parse_rule(const json_t *data, struct event *ev,
		       struct pp_error *err)
{
	const json_t *v = json_object_get(data, "rule");

	if (v == NULL)
		return event_bad(err, "data.rule", "is required");
	if (!json_is_string(v) ||
	    !domain_rule_parse(json_string_value(v), &ev->rule))
		return event_bad(err, "data.rule",
				 "must be transit, assessment, treatment, "
				 "free_choice or level_review");
	return true;
}

static bool parse_paused(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	const json_t *v = json_object_get(data, "reason");

	if (!parse_rule(data, ev, err))
		return false;
	if (v == NULL)
		return event_bad(err, "data.reason", "is required");
	if (!json_is_string(v) ||
	    !domain_pause_reason_parse(json_string_value(v), &ev->pause_reason))
		return event_bad(err, "data.reason",
				 "must be patient_requested, medical or other");
	return true;
}

static bool guard_paused(const struct pathway *p, const struct event *ev,
			 const struct evstep *st, struct pp_error *err)
{
	const struct pathway_clock *c = &p->clocks[ev->rule];

	if (!(st->m->pausable[ev->rule] & BIT(ev->pause_reason)))
		return error_set(err, ERR_GUARD_FAILED, "data.reason",
				 "model %s does not let the %s clock pause "
				 "for %s",
				 st->m->key, domain_rule_name(ev->rule),
				 domain_pause_reason_name(ev->pause_reason));
	if (!c->running)
		return error_set(err, ERR_GUARD_FAILED, "data.rule",
				 "the %s clock is not running",
				 domain_rule_name(ev->rule));
	if (c->paused)
		return error_set(err, ERR_GUARD_FAILED, "data.rule",
				 "the %s clock is already paused",
				 domain_rule_name(ev->rule));
	return true;
}

static void apply_paused(struct pathway *p, const struct event *ev,
			 const struct evstep *st)
{
	clock_pause(p, ev->rule, st->today, ev->pause_reason);
}

static bool guard_resumed(const struct pathway *p, const struct event *ev,
			  const struct evstep *st, struct pp_error *err)
{
	(void)st;
	if (!p->clocks[ev->rule].running || !p->clocks[ev->rule].paused)
		return error_set(err, ERR_GUARD_FAILED, "data.rule",
				 "the %s clock is not paused",
				 domain_rule_name(ev->rule));
	return true;
}

static void apply_resumed(struct pathway *p, const struct event *ev,
			  const struct evstep *st)
{
	clock_resume(p, st->m, ev->rule, st->today);
}

/* --- the free choice (Denmark, 004) ----------------------------------------
 */

static bool parse_chosen(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	return event_read_id(data, "to_unit", "data.to_unit", true, ev->to_unit,
			     err);
}

static void apply_free_choice(struct pathway *p, const struct event *ev,
			      const struct evstep *st)
{
	(void)st;
	/* The patient has been told of the free choice: the obligation the
	 * free_choice clock watches is met. */
	clock_stop(p, RULE_FREE_CHOICE);
	if (ev->type == EV_FREE_CHOICE_CHOSEN) {
		set_id(p->referral.to_unit, ev->to_unit);
		set_id(p->referral.received_unit, ev->to_unit);
		p->referral.private_unit = true;
	}
}

/* --- history only ------------------------------------------------------------
 */

static bool parse_pro(const json_t *data, struct event *ev,
		      struct pp_error *err)
{
	const json_t *scores = json_object_get(data, "scores");
	const char *instrument = NULL;
	const char *key;
	const json_t *v;

	(void)ev;
	if (!event_read_text(data, "instrument", "data.instrument", &instrument,
			     err))
		return false;
	if (instrument == NULL || instrument[0] == '\0')
		return event_bad(err, "data.instrument",
				 "is required on pro.reported");
	if (!json_is_object(scores))
		return event_bad(err, "data.scores",
				 "must be an object of numbers");
	json_object_foreach((json_t *)scores, key, v)
	{
		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			return event_bad(err, "data.scores",
					 "must be an object of numbers");
	}
	return true;
}

static bool parse_partner(const json_t *data, struct event *ev,
			  struct pp_error *err)
{
	const char *partner = NULL;

	(void)ev;
	if (!event_read_text(data, "partner", "data.partner", &partner, err))
		return false;
	if (partner == NULL || partner[0] == '\0')
		return event_bad(err, "data.partner", "is required");
	return true;
}

/* --- corrections -------------------------------------------------------------
 */

static bool parse_retracted(const json_t *data, struct event *ev,
			    struct pp_error *err)
{
	return event_read_id(data, "event_id", "data.event_id", true,
			     ev->target_event_id, err) &&
	       required_text(data, "reason", "data.reason", &ev->reason, err);
}

static bool parse_corrected(const json_t *data, struct event *ev,
			    struct pp_error *err)
{
	const json_t *at = json_object_get(data, "occurred_at");
	const json_t *fixed = json_object_get(data, "data");

	if (!parse_retracted(data, ev, err))
		return false;
	if (at != NULL) {
		if (!json_is_string(at) ||
		    !calendar_parse_timestamp(json_string_value(at),
					      &ev->corrected_at) ||
		    ev->corrected_at <= 0)
			return event_bad(err, "data.occurred_at",
					 "must be an RFC 3339 timestamp with "
					 "an offset");
		ev->has_corrected_at = true;
	}
	if (fixed != NULL) {
		if (!json_is_object(fixed))
			return event_bad(err, "data.data",
					 "must be an object: the corrected "
					 "event's data");
		ev->corrected_data = fixed;
	}
	if (at == NULL && fixed == NULL)
		return event_bad(err, "data.occurred_at",
				 "or data.data is required: the corrected "
				 "values");
	return true;
}

/* --- the table
 * ----------------------------------------------------------------- */

#define OPEN   EVT_PHASES_OPEN
#define ANY    (EVT_PHASES_OPEN | BIT(PHASE_CLOSED))
#define CHANGE EVT_CHANGES_STATE

static const struct evtype table[EV_COUNT] = {
	[EV_PATHWAY_OPENED] = {EV_PATHWAY_OPENED, EVT_PHASE_NONE, CHANGE,
			       parse_opened, guard_opened, apply_opened},
	[EV_REFERRAL_SENT] = {EV_REFERRAL_SENT, BIT(PHASE_ACTIVE), CHANGE,
			      parse_sent, guard_sent, apply_sent},
	[EV_REFERRAL_RECEIVED] = {EV_REFERRAL_RECEIVED, BIT(PHASE_REFERRED),
				  CHANGE, NULL, NULL, apply_received},
	[EV_REFERRAL_ACCEPTED] = {EV_REFERRAL_ACCEPTED, BIT(PHASE_ASSESSING),
				  CHANGE | EVT_DECISION, parse_accepted,
				  guard_accepted, apply_accepted},
	[EV_REFERRAL_REJECTED] = {EV_REFERRAL_REJECTED, BIT(PHASE_ASSESSING),
				  CHANGE | EVT_DECISION, parse_rejected,
				  guard_rejected, back_to_referrer},
	[EV_REFERRAL_WITHDRAWN] = {EV_REFERRAL_WITHDRAWN,
				   BIT(PHASE_REFERRED) | BIT(PHASE_ASSESSING) |
					   BIT(PHASE_WAITING),
				   CHANGE, parse_reason, NULL,
				   back_to_referrer},
	[EV_TREATMENT_STARTED] = {EV_TREATMENT_STARTED, BIT(PHASE_WAITING),
				  CHANGE, NULL, NULL, apply_started},
	[EV_PATIENT_TRANSFERRED] = {EV_PATIENT_TRANSFERRED, BIT(PHASE_ACTIVE),
				    CHANGE, parse_transferred,
				    guard_transferred, apply_transferred},
	[EV_PATHWAY_CLOSED] = {EV_PATHWAY_CLOSED, OPEN, CHANGE, parse_closed,
			       NULL, apply_closed},
	[EV_CONSULTATION_REQUESTED] = {EV_CONSULTATION_REQUESTED, OPEN, 0, NULL,
				       NULL, NULL},
	[EV_CONSULTATION_ANSWERED] = {EV_CONSULTATION_ANSWERED, OPEN, 0, NULL,
				      NULL, NULL},
	[EV_COLLABORATION_STARTED] = {EV_COLLABORATION_STARTED, OPEN, 0,
				      parse_partner, NULL, NULL},
	[EV_COLLABORATION_ENDED] = {EV_COLLABORATION_ENDED, OPEN, 0,
				    parse_partner, NULL, NULL},
	[EV_PRO_REPORTED] = {EV_PRO_REPORTED, OPEN, 0, parse_pro, NULL, NULL},
	[EV_FREE_CHOICE_OFFERED] = {EV_FREE_CHOICE_OFFERED, BIT(PHASE_WAITING),
				    CHANGE | EVT_FREE_CHOICE, NULL, NULL,
				    apply_free_choice},
	[EV_FREE_CHOICE_CHOSEN] = {EV_FREE_CHOICE_CHOSEN, BIT(PHASE_WAITING),
				   CHANGE | EVT_FREE_CHOICE, parse_chosen, NULL,
				   apply_free_choice},
	[EV_EVENT_CORRECTED] = {EV_EVENT_CORRECTED, ANY, EVT_CORRECTION,
				parse_corrected, NULL, NULL},
	[EV_EVENT_RETRACTED] = {EV_EVENT_RETRACTED, ANY, EVT_CORRECTION,
				parse_retracted, NULL, NULL},
	[EV_PATHWAY_REOPENED] = {EV_PATHWAY_REOPENED, BIT(PHASE_CLOSED), CHANGE,
				 parse_reopened, guard_reopened,
				 apply_reopened},
	[EV_PATHWAY_UPDATED] = {EV_PATHWAY_UPDATED, OPEN, CHANGE, parse_updated,
				guard_updated, apply_updated},
	[EV_CLOCK_PAUSED] = {EV_CLOCK_PAUSED, OPEN, CHANGE, parse_paused,
			     guard_paused, apply_paused},
	[EV_CLOCK_RESUMED] = {EV_CLOCK_RESUMED, OPEN, CHANGE, parse_rule,
			      guard_resumed, apply_resumed},
};

const struct evtype *evtype_of(enum event_type t)
{
	return &table[(unsigned)t < EV_COUNT ? t : EV_PATHWAY_OPENED];
}
