#include "fsm.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define BIT(t) (1u << (t))

/* Events every open phase allows without changing it. */
#define SIDE_EVENTS                                                            \
	(BIT(EV_PATHWAY_CLOSED) | BIT(EV_CONSULTATION_REQUESTED) |             \
	 BIT(EV_CONSULTATION_ANSWERED) | BIT(EV_COLLABORATION_STARTED) |       \
	 BIT(EV_COLLABORATION_ENDED) | BIT(EV_PRO_REPORTED))

unsigned fsm_allowed(enum phase phase, const struct model *m)
{
	switch (phase) {
	case PHASE_ACTIVE:
		return SIDE_EVENTS | BIT(EV_REFERRAL_SENT) |
		       BIT(EV_PATIENT_TRANSFERRED);
	case PHASE_REFERRED:
		return SIDE_EVENTS | BIT(EV_REFERRAL_RECEIVED) |
		       BIT(EV_REFERRAL_WITHDRAWN);
	case PHASE_ASSESSING:
		return SIDE_EVENTS | BIT(EV_REFERRAL_ACCEPTED) |
		       BIT(EV_REFERRAL_REJECTED) | BIT(EV_REFERRAL_WITHDRAWN);
	case PHASE_WAITING: {
		unsigned allowed = SIDE_EVENTS | BIT(EV_TREATMENT_STARTED) |
				   BIT(EV_REFERRAL_WITHDRAWN);
		if (m != NULL && (m->guards & GUARD_FREE_CHOICE))
			allowed |= BIT(EV_FREE_CHOICE_OFFERED) |
				   BIT(EV_FREE_CHOICE_CHOSEN);
		return allowed;
	}
	default:
		return 0;
	}
}

static bool guard(struct pp_error *err, const char *field, const char *msg)
{
	return error_set(err, ERR_GUARD_FAILED, field, "%s", msg);
}

static bool blank(const char *s)
{
	if (s == NULL)
		return true;
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

static int age_on(cal_date birth, cal_date on)
{
	int by, bm, bd, y, m, d;

	calendar_ymd(birth, &by, &bm, &bd);
	calendar_ymd(on, &y, &m, &d);
	return y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
}

static cal_date local_day(const struct model *m, cal_millis t)
{
	return calendar_local_date(&m->zone, t);
}

/* --- clocks ------------------------------------------------------------ */

static bool clock_applies(const struct model *m, enum rule r, enum level to)
{
	const struct clock_rule *c = &m->clocks[r];

	return c->enabled && (c->levels == 0 || (c->levels & BIT(to)));
}

static void clock_start(struct pathway *p, const struct model *m, enum rule r,
			cal_date start, cal_millis at)
{
	p->clocks[r].running = true;
	p->clocks[r].due = model_clock_due(m, r, start, p->flags);
	p->clocks[r].started_at = at;
}

static void clock_stop(struct pathway *p, enum rule r)
{
	memset(&p->clocks[r], 0, sizeof(p->clocks[r]));
}

static void stop_referral_clocks(struct pathway *p)
{
	clock_stop(p, RULE_TRANSIT);
	clock_stop(p, RULE_ASSESSMENT);
	clock_stop(p, RULE_TREATMENT);
	clock_stop(p, RULE_FREE_CHOICE);
}

/* --- guards that need the model ---------------------------------------- */

static bool check_age(const struct event *ev, const struct model *m,
		      int *age_out, struct pp_error *err)
{
	int age = ev->age;

	if (ev->has_birth_date) {
		cal_date today = local_day(m, ev->occurred_at);
		if (ev->birth_date > today)
			return error_set(err, ERR_INVALID_EVENT,
					 "data.birth_date",
					 "data.birth_date is after the "
					 "pathway was opened");
		age = age_on(ev->birth_date, today);
	}
	*age_out = age;
	if (ev->has_pain_onset &&
	    ev->pain_onset > local_day(m, ev->occurred_at))
		return error_set(err, ERR_INVALID_EVENT, "data.pain_onset",
				 "data.pain_onset is after the pathway was "
				 "opened");
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

static bool check_referral(const struct pathway *p, const struct event *ev,
			   const struct model *m, struct pp_error *err)
{
	if (ev->level < p->level)
		return guard(
			err, "data.to_level",
			"a referral goes to a higher level or to another "
			"unit at the same level; to move the patient down, "
			"send patient.transferred");
	if (ev->level == p->level &&
	    (ev->to_unit[0] == '\0' || strcmp(ev->to_unit, p->unit) == 0))
		return guard(err, "data.to_unit",
			     "a referral at the same level must name another "
			     "unit in data.to_unit");
	if (ev->level == LEVEL_CENTRE &&
	    (m->guards & GUARD_CENTRE_REQUIRES_CLINIC) &&
	    !pathway_has_visited(p, LEVEL_CLINIC) &&
	    !(ev->earlier_levels_considered && !blank(ev->justification)))
		return guard(err, "data.earlier_levels_considered",
			     "before referral to a regional pain centre every "
			     "possibility at the earlier levels must have been "
			     "considered: the patient has not been at a pain "
			     "clinic, so set earlier_levels_considered to true "
			     "and give a justification");
	return true;
}

static bool check_transfer(const struct pathway *p, const struct event *ev,
			   struct pp_error *err)
{
	if (ev->level > p->level)
		return guard(err, "data.to_level",
			     "a transfer goes to a lower level or another unit "
			     "at the same level; to move the patient up, send "
			     "referral.sent");
	if (ev->level == p->level &&
	    (ev->to_unit[0] == '\0' || strcmp(ev->to_unit, p->unit) == 0))
		return guard(err, "data.to_unit",
			     "a transfer at the same level must name another "
			     "unit in data.to_unit");
	return true;
}

static bool check_acceptance(const struct event *ev, const struct model *m,
			     struct pp_error *err)
{
	if (!ev->has_deadline) {
		if (m->guards & GUARD_ACCEPT_REQUIRES_DEADLINE)
			return guard(err, "data.deadline",
				     "the clinic must set a deadline for "
				     "the start of care when it grants the "
				     "right to necessary care: give "
				     "data.deadline");
		return true;
	}
	if (ev->deadline < local_day(m, ev->occurred_at))
		return guard(err, "data.deadline",
			     "the deadline for the start of care is before "
			     "the date of the acceptance");
	return true;
}

static bool check_guards(const struct pathway *p, const struct event *ev,
			 const struct model *m, struct pp_error *err)
{
	switch (ev->type) {
	case EV_REFERRAL_SENT:
		return check_referral(p, ev, m, err);
	case EV_PATIENT_TRANSFERRED:
		return check_transfer(p, ev, err);
	case EV_REFERRAL_ACCEPTED:
		return check_acceptance(ev, m, err);
	case EV_REFERRAL_REJECTED:
		if (blank(ev->reason) || blank(ev->advice))
			return guard(err,
				     blank(ev->reason) ? "data.reason"
						       : "data.advice",
				     "a rejected referral must give the reason "
				     "and advice to the referrer on further "
				     "care");
		return true;
	default:
		return true;
	}
}

/* --- transitions ------------------------------------------------------- */

static void set_unit(char *dst, const char *src)
{
	snprintf(dst, ID_MAX + 1, "%s", src);
}

static void apply_opened(struct pathway *p, const struct event *ev,
			 const struct model *m, const char *new_id, int age)
{
	set_unit(p->id, ev->pathway_id[0] != '\0' ? ev->pathway_id : new_id);
	set_unit(p->patient_id, ev->patient_id);
	set_unit(p->model, m->key);
	set_unit(p->region, ev->region);
	set_unit(p->unit, ev->unit);
	p->level = ev->has_level ? ev->level : LEVEL_GP;
	if (p->level == LEVEL_GP)
		set_unit(p->gp_unit, ev->unit);
	p->phase = PHASE_ACTIVE;
	p->flags = ev->flags;
	p->opened_at = ev->occurred_at;
	p->age_at_opening = age;
	p->last_content_covered = -1;
	p->referral.content_covered = -1;
	pathway_visit_level(p, p->level);
	p->has_pain_onset = ev->has_pain_onset;
	p->pain_onset = ev->pain_onset;
	if (ev->has_pain_onset && p->level == LEVEL_GP &&
	    m->clocks[RULE_LEVEL_REVIEW].enabled)
		clock_start(p, m, RULE_LEVEL_REVIEW, ev->pain_onset,
			    ev->occurred_at);
}

static void apply_sent(struct pathway *p, const struct event *ev,
		       const struct model *m, cal_date today)
{
	struct pathway_referral *r = &p->referral;

	memset(r, 0, sizeof(*r));
	r->open = true;
	r->from_level = p->level;
	set_unit(r->from_unit, p->unit);
	r->to_level = ev->level;
	set_unit(r->to_unit, ev->to_unit);
	r->private_unit = ev->private_unit;
	r->sent_at = ev->occurred_at;
	r->content_covered = ev->content_covered;
	if (ev->content_covered >= 0)
		p->last_content_covered = ev->content_covered;
	p->phase = PHASE_REFERRED;
	/* Being referred is the review the level_review clock asks for. */
	clock_stop(p, RULE_LEVEL_REVIEW);
	if (clock_applies(m, RULE_TRANSIT, ev->level))
		clock_start(p, m, RULE_TRANSIT, today, ev->occurred_at);
}

static void apply_received(struct pathway *p, const struct event *ev,
			   const struct model *m, cal_date today)
{
	struct pathway_referral *r = &p->referral;
	enum level to = r->to_level;

	set_unit(r->received_unit, ev->unit[0] != '\0' ? ev->unit : r->to_unit);
	r->received_at = ev->occurred_at;
	p->phase = PHASE_ASSESSING;
	clock_stop(p, RULE_TRANSIT);
	if (clock_applies(m, RULE_ASSESSMENT, to))
		clock_start(p, m, RULE_ASSESSMENT, today, ev->occurred_at);
	if (clock_applies(m, RULE_TREATMENT, to) &&
	    m->clocks[RULE_TREATMENT].starts_at == EV_REFERRAL_RECEIVED)
		clock_start(p, m, RULE_TREATMENT, today, ev->occurred_at);
	if (clock_applies(m, RULE_FREE_CHOICE, to) && !r->private_unit)
		clock_start(p, m, RULE_FREE_CHOICE, today, ev->occurred_at);
}

static void apply_accepted(struct pathway *p, const struct event *ev,
			   const struct model *m, cal_date today)
{
	const struct clock_rule *c = &m->clocks[RULE_TREATMENT];

	p->referral.accepted_at = ev->occurred_at;
	p->referral.has_deadline = ev->has_deadline;
	p->referral.deadline = ev->deadline;
	p->phase = PHASE_WAITING;
	clock_stop(p, RULE_ASSESSMENT);
	if (!clock_applies(m, RULE_TREATMENT, p->referral.to_level) ||
	    c->starts_at != EV_REFERRAL_ACCEPTED)
		return;
	if (c->duration.unit == DUR_DEADLINE) {
		if (!ev->has_deadline)
			return;
		p->clocks[RULE_TREATMENT] = (struct pathway_clock){
			true, ev->deadline, ev->occurred_at};
		return;
	}
	clock_start(p, m, RULE_TREATMENT, today, ev->occurred_at);
}

static void back_to_referrer(struct pathway *p)
{
	memset(&p->referral, 0, sizeof(p->referral));
	p->referral.content_covered = -1;
	p->phase = PHASE_ACTIVE;
	stop_referral_clocks(p);
}

static void apply_started(struct pathway *p)
{
	const struct pathway_referral *r = &p->referral;

	p->level = r->to_level;
	set_unit(p->unit,
		 r->received_unit[0] != '\0' ? r->received_unit : r->to_unit);
	pathway_visit_level(p, p->level);
	back_to_referrer(p);
}

static void apply_transferred(struct pathway *p, const struct event *ev)
{
	p->level = ev->level;
	set_unit(p->unit, ev->to_unit);
	if (p->level == LEVEL_GP && ev->to_unit[0] != '\0')
		set_unit(p->gp_unit, ev->to_unit);
	pathway_visit_level(p, p->level);
}

static void apply_closed(struct pathway *p, const struct event *ev)
{
	p->phase = PHASE_CLOSED;
	p->closed_at = ev->occurred_at;
	p->close_reason = ev->close_reason;
	memset(p->clocks, 0, sizeof(p->clocks));
}

static void apply_free_choice(struct pathway *p, const struct event *ev)
{
	/* The patient has been told of the free choice: the obligation the
	 * free_choice clock watches is met. */
	clock_stop(p, RULE_FREE_CHOICE);
	if (ev->type == EV_FREE_CHOICE_CHOSEN) {
		set_unit(p->referral.to_unit, ev->to_unit);
		set_unit(p->referral.received_unit, ev->to_unit);
		p->referral.private_unit = true;
	}
}

static void apply_event(struct pathway *p, const struct event *ev,
			const struct model *m)
{
	cal_date today = local_day(m, ev->occurred_at);

	switch (ev->type) {
	case EV_REFERRAL_SENT:
		apply_sent(p, ev, m, today);
		break;
	case EV_REFERRAL_RECEIVED:
		apply_received(p, ev, m, today);
		break;
	case EV_REFERRAL_ACCEPTED:
		apply_accepted(p, ev, m, today);
		break;
	case EV_REFERRAL_REJECTED:
	case EV_REFERRAL_WITHDRAWN:
		back_to_referrer(p);
		break;
	case EV_TREATMENT_STARTED:
		apply_started(p);
		break;
	case EV_PATIENT_TRANSFERRED:
		apply_transferred(p, ev);
		break;
	case EV_PATHWAY_CLOSED:
		apply_closed(p, ev);
		break;
	case EV_FREE_CHOICE_OFFERED:
	case EV_FREE_CHOICE_CHOSEN:
		apply_free_choice(p, ev);
		break;
	default:
		break; /* consultation, collaboration, PRO: history only */
	}
}

static bool check_phase(const struct pathway *p, const struct event *ev,
			const struct model *m, struct pp_error *err)
{
	unsigned allowed = fsm_allowed(p->phase, m);
	bool free_choice = ev->type == EV_FREE_CHOICE_OFFERED ||
			   ev->type == EV_FREE_CHOICE_CHOSEN;

	if (free_choice && !(m->guards & GUARD_FREE_CHOICE))
		return error_set(err, ERR_GUARD_FAILED, "type",
				 "the extended free choice of hospital is "
				 "Danish: model %s has no %s",
				 m->key, domain_event_name(ev->type));
	if (allowed & BIT(ev->type))
		return true;
	error_set(err, ERR_ILLEGAL_TRANSITION, "type",
		  "%s is not allowed while the pathway is %s",
		  domain_event_name(ev->type), domain_phase_name(p->phase));
	err->phase = p->phase;
	err->allowed = allowed;
	return false;
}

static void fill_transition(const struct pathway *before,
			    const struct pathway *after, const struct event *ev,
			    cal_millis now, struct transition *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->seq = after->version;
	tr->type = ev->type;
	tr->has_from = before != NULL;
	tr->from_phase = before ? before->phase : PHASE_ACTIVE;
	tr->from_level = before ? before->level : after->level;
	tr->to_phase = after->phase;
	tr->to_level = after->level;
	set_unit(tr->unit, ev->unit[0] != '\0' ? ev->unit : after->unit);
	tr->occurred_at = ev->occurred_at;
	tr->recorded_at = now;
	if (before != NULL && ev->type == EV_TREATMENT_STARTED)
		tr->waited_since = before->referral.received_at;
}

bool fsm_apply(const struct pathway *before, const struct event *ev,
	       const struct model *m, const char *new_id, cal_millis now,
	       struct pathway *after, struct transition *tr,
	       struct fsm_effects *fx, struct pp_error *err)
{
	struct pathway next;
	int age = -1;

	memset(fx, 0, sizeof(*fx));
	if (before == NULL) {
		if (ev->type != EV_PATHWAY_OPENED)
			return error_set(err, ERR_NOT_FOUND, NULL,
					 "the patient has no open pathway");
		if (!check_age(ev, m, &age, err))
			return false;
		memset(&next, 0, sizeof(next));
		apply_opened(&next, ev, m, new_id, age);
	} else {
		if (ev->type == EV_PATHWAY_OPENED &&
		    before->phase != PHASE_CLOSED)
			return error_set(err, ERR_PATHWAY_EXISTS, NULL,
					 "the patient already has an open "
					 "pathway (%s)",
					 before->id);
		if (!check_phase(before, ev, m, err) ||
		    !check_guards(before, ev, m, err))
			return false;
		next = *before;
		apply_event(&next, ev, m);
	}
	next.version = before ? before->version + 1 : 1;
	next.updated_at = now;
	fx->notify_decision =
		m->notify_decisions && (ev->type == EV_REFERRAL_ACCEPTED ||
					ev->type == EV_REFERRAL_REJECTED);
	fill_transition(before, &next, ev, now, tr);
	*after = next;
	return true;
}

static json_t *stamp(cal_millis t)
{
	char buf[CAL_TIMESTAMP_LEN];

	calendar_format_timestamp(t, buf);
	return json_string(buf);
}

json_t *fsm_transition_to_json(const struct transition *tr,
			       const char *event_id, const json_t *data)
{
	return json_pack(
		"{s:i, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:O}",
		"seq", tr->seq, "event_id", event_id, "type",
		domain_event_name(tr->type), "from_phase",
		tr->has_from ? json_string(domain_phase_name(tr->from_phase))
			     : json_null(),
		"to_phase", domain_phase_name(tr->to_phase), "from_level",
		domain_level_name(tr->from_level), "to_level",
		domain_level_name(tr->to_level), "unit",
		tr->unit[0] ? json_string(tr->unit) : json_null(),
		"occurred_at", stamp(tr->occurred_at), "recorded_at",
		stamp(tr->recorded_at), "data", data);
}

json_t *fsm_decision_notification(const struct pathway *after,
				  const struct event *ev)
{
	const struct pathway_referral *r = &after->referral;
	bool accepted = ev->type == EV_REFERRAL_ACCEPTED;
	const char *referrer = accepted ? r->from_unit : after->unit;
	json_t *decision = json_pack("{s:s}", "decision",
				     accepted ? "accepted" : "rejected");
	char deadline[CAL_DATE_LEN];

	if (accepted) {
		calendar_format_date(ev->deadline, deadline);
		json_object_set_new(decision, "deadline",
				    ev->has_deadline ? json_string(deadline)
						     : json_null());
	} else {
		json_object_set_new(decision, "reason",
				    json_string(ev->reason ? ev->reason : ""));
		json_object_set_new(decision, "advice",
				    json_string(ev->advice ? ev->advice : ""));
	}
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:[{s:s, s:s}, "
		"{s:s, s:o}], s:o, s:o}",
		"kind", "referral.decision", "pathway_id", after->id,
		"patient_id", after->patient_id, "model", after->model,
		"region", after->region, "to", "role", "referrer", "unit",
		referrer[0] ? json_string(referrer) : json_null(), "copies",
		"role", "patient", "patient_id", after->patient_id, "role",
		"gp", "unit",
		after->gp_unit[0] ? json_string(after->gp_unit) : json_null(),
		"decision", decision, "decided_at", stamp(ev->occurred_at));
}
