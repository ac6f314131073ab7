#include "fsm.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "evtype.h"

#define BIT(t) (1u << (t))

unsigned fsm_allowed(enum phase phase, const struct model *m)
{
	unsigned allowed = 0;

	for (int t = 0; t < EV_COUNT; t++) {
		const struct evtype *row = evtype_of((enum event_type)t);
		if (!(row->phases & BIT(phase)))
			continue;
		if ((row->flags & EVT_FREE_CHOICE) &&
		    (m == NULL || !(m->guards & GUARD_FREE_CHOICE)))
			continue;
		allowed |= BIT(t);
	}
	return allowed;
}

const struct model *fsm_model(const struct model_set *models,
			      const struct pathway *before,
			      const struct event *ev, struct pp_error *err)
{
	const char *key = before ? before->model : ev->model;
	const struct model *m = model_set_find(models, key);

	if (m == NULL && before == NULL)
		error_set(err, ERR_INVALID_EVENT, "model",
			  "model must be one of the loaded models (GET "
			  "/v1/models)");
	else if (m == NULL)
		error_set(err, ERR_INTERNAL, NULL,
			  "the pathway's model %s is no longer loaded", key);
	return m;
}

static bool check_phase(const struct pathway *p, const struct event *ev,
			const struct model *m, struct pp_error *err)
{
	const struct evtype *row = evtype_of(ev->type);
	unsigned allowed = fsm_allowed(p->phase, m);

	if ((row->flags & EVT_FREE_CHOICE) && !(m->guards & GUARD_FREE_CHOICE))
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

/* No event before the opening; no state change before the last one
 * (issue 10: a pathway closed before it opened, a negative wait). */
static bool check_order(const struct pathway *p, const struct event *ev,
			struct pp_error *err)
{
	cal_millis latest = 0;

	if (ev->occurred_at < p->opened_at)
		latest = p->opened_at;
	else if ((evtype_of(ev->type)->flags & EVT_CHANGES_STATE) &&
		 ev->occurred_at < p->last_change_at)
		latest = p->last_change_at;
	if (latest == 0)
		return true;
	error_set(err, ERR_OUT_OF_ORDER, "occurred_at",
		  latest == p->opened_at
			  ? "occurred_at is before the pathway was opened"
			  : "occurred_at is before the pathway's last change; "
			    "correct the earlier event instead "
			    "(event.corrected)");
	err->latest = latest;
	return false;
}

static bool new_model_of(const struct model_set *models,
			 const struct pathway *p, const struct event *ev,
			 const struct model **out)
{
	*out = NULL;
	if (ev->type != EV_PATHWAY_UPDATED || ev->new_model[0] == '\0' ||
	    strcmp(ev->new_model, p->model) == 0)
		return false;
	*out = model_set_find(models, ev->new_model);
	return true;
}

static void fill_transition(const struct pathway *before,
			    const struct pathway *after, const struct event *ev,
			    cal_date today, cal_millis now,
			    struct transition *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->seq = after->version;
	tr->type = ev->type;
	tr->has_from = before != NULL;
	tr->from_phase = before ? before->phase : PHASE_ACTIVE;
	tr->from_level = before ? before->level : after->level;
	tr->to_phase = after->phase;
	tr->to_level = after->level;
	snprintf(tr->unit, sizeof(tr->unit), "%s",
		 ev->unit[0] != '\0' ? ev->unit : after->unit);
	tr->occurred_at = ev->occurred_at;
	tr->recorded_at = now;
	if (before != NULL && ev->type == EV_TREATMENT_STARTED) {
		tr->waited_since = before->referral.received_at;
		tr->paused_days = clock_paused_days_until(before, today);
	}
}

static bool step(const struct pathway *before, const struct event *ev,
		 const struct evstep *st, struct pathway *next,
		 struct pp_error *err)
{
	const struct evtype *row = evtype_of(ev->type);

	if (before != NULL && (!check_phase(before, ev, st->m, err) ||
			       !check_order(before, ev, err)))
		return false;
	if (row->guard != NULL && !row->guard(before, ev, st, err))
		return false;
	if (before != NULL)
		*next = *before;
	else
		memset(next, 0, sizeof(*next));
	if (row->apply != NULL)
		row->apply(next, ev, st);
	if ((row->flags & EVT_CHANGES_STATE) &&
	    ev->occurred_at > next->last_change_at)
		next->last_change_at = ev->occurred_at;
	return true;
}

bool fsm_apply(const struct pathway *before, const struct event *ev,
	       const struct model_set *models, const char *new_id,
	       cal_millis now, struct pathway *after, struct transition *tr,
	       struct fsm_effects *fx, struct pp_error *err)
{
	struct pathway next;
	struct evstep st = {NULL, NULL, 0};

	memset(fx, 0, sizeof(*fx));
	if (before == NULL && ev->type != EV_PATHWAY_OPENED)
		return error_set(err, ERR_NOT_FOUND, NULL,
				 "the patient has no open pathway");
	if (before != NULL && ev->type == EV_PATHWAY_OPENED &&
	    before->phase != PHASE_CLOSED)
		return error_set(err, ERR_PATHWAY_EXISTS, NULL,
				 "the patient already has an open pathway");
	if ((st.m = fsm_model(models, before, ev, err)) == NULL)
		return false;
	if (before != NULL && new_model_of(models, before, ev, &st.new_model) &&
	    st.new_model == NULL)
		return error_set(err, ERR_INVALID_EVENT, "data.model",
				 "data.model must be one of the loaded models "
				 "(GET /v1/models)");
	st.today = calendar_local_date(&st.m->zone, ev->occurred_at);
	if (!step(before, ev, &st, &next, err))
		return false;
	if (before == NULL)
		snprintf(next.id, sizeof(next.id), "%s",
			 ev->pathway_id[0] != '\0' ? ev->pathway_id : new_id);
	next.version = before ? before->version + 1 : 1;
	next.updated_at = now;
	fx->notify_decision = st.m->notify_decisions &&
			      (evtype_of(ev->type)->flags & EVT_DECISION);
	fill_transition(before, &next, ev, st.today, now, tr);
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
