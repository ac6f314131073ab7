#include "writes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void format_flags(unsigned flags, char *out, size_t len)
{
	size_t used = (size_t)snprintf(out, len, "{");

	for (int f = 0; f < FLAG_COUNT; f++)
		if (flags & (1u << f))
			used += (size_t)snprintf(out + used, len - used, "%s%s",
						 used > 1 ? "," : "",
						 domain_flag_name(f));
	snprintf(out + used, len - used, "}");
}

static const char *opt(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static void fill_write_params(struct write_params *w, const struct pathway *p,
			      const struct transition *tr)
{
	cal_date next;

	snprintf(w->version, sizeof(w->version), "%d", p->version);
	snprintf(w->seq, sizeof(w->seq), "%d", tr->seq);
	format_flags(p->flags, w->flags, sizeof(w->flags));
	calendar_format_timestamp(tr->occurred_at, w->occurred);
	calendar_format_timestamp(tr->recorded_at, w->recorded);
	calendar_format_timestamp(p->opened_at, w->opened);
	calendar_format_timestamp(p->updated_at, w->updated);
	calendar_format_timestamp(p->closed_at, w->closed);
	for (int r = 0; r < RULE_COUNT; r++)
		calendar_format_date(p->clocks[r].due, w->due[r]);
	if (pathway_next_due(p, &next))
		calendar_format_date(next, w->next_due);
	else
		w->next_due[0] = '\0';
	calendar_format_timestamp(p->referral.received_at, w->received);
	calendar_format_timestamp(tr->waited_since, w->waited_since);
	snprintf(w->covered, sizeof(w->covered), "%d", p->last_content_covered);
}

/* The open referral's columns: NULL when there is none (or, for the unit
 * and receipt, before it was received). */
static void referral_columns(const struct write_params *w,
			     const struct pathway *p, const char **to_level,
			     const char **unit, const char **received,
			     const char **covered)
{
	const struct pathway_referral *r = &p->referral;
	bool received_open = r->open && r->received_at != 0;

	*to_level = r->open ? domain_level_name(r->to_level) : NULL;
	*unit = received_open ? opt(r->received_unit) : NULL;
	*received = received_open ? w->received : NULL;
	*covered = p->last_content_covered >= 0 ? w->covered : NULL;
}

static void add_pathway_query(struct db_query *q, const struct write_params *w,
			      const struct pathway *p, bool insert)
{
	const char *due[RULE_COUNT], *to_level, *unit, *received, *covered;

	for (int r = 0; r < RULE_COUNT; r++)
		due[r] = p->clocks[r].running ? w->due[r] : NULL;
	referral_columns(w, p, &to_level, &unit, &received, &covered);
	if (insert) {
		*q = (struct db_query){
			.stmt = "pathway_insert",
			.nparams = 23,
			.params = {p->id,
				   p->patient_id,
				   p->model,
				   p->region,
				   domain_level_name(p->level),
				   opt(p->unit),
				   domain_phase_name(p->phase),
				   w->version,
				   w->flags,
				   w->state,
				   w->opened,
				   w->updated,
				   p->closed_at ? w->closed : NULL,
				   due[RULE_TRANSIT],
				   due[RULE_ASSESSMENT],
				   due[RULE_TREATMENT],
				   due[RULE_FREE_CHOICE],
				   due[RULE_LEVEL_REVIEW],
				   opt(w->next_due),
				   to_level,
				   unit,
				   received,
				   covered}};
		return;
	}
	*q = (struct db_query){
		.stmt = "pathway_update",
		.nparams = 19,
		.params = {p->id, domain_level_name(p->level), opt(p->unit),
			   domain_phase_name(p->phase), w->version, w->flags,
			   w->state, w->updated,
			   p->closed_at ? w->closed : NULL, due[RULE_TRANSIT],
			   due[RULE_ASSESSMENT], due[RULE_TREATMENT],
			   due[RULE_FREE_CHOICE], due[RULE_LEVEL_REVIEW],
			   opt(w->next_due), to_level, unit, received,
			   covered}};
}

static void add_transition_query(struct db_query *q,
				 const struct write_params *w,
				 const struct pathway *p,
				 const struct transition *tr,
				 const char *event_id, const char *canonical)
{
	*q = (struct db_query){
		.stmt = "transition_insert",
		.nparams = 15,
		.params = {p->id, w->seq, event_id, domain_event_name(tr->type),
			   tr->has_from ? domain_phase_name(tr->from_phase)
					: NULL,
			   domain_phase_name(tr->to_phase),
			   domain_level_name(tr->from_level),
			   domain_level_name(tr->to_level), opt(tr->unit),
			   w->occurred, w->recorded, w->data, canonical,
			   w->response,
			   tr->waited_since ? w->waited_since : NULL}};
}

bool pathway_write_prepare(struct pathway_write *pw,
			   const struct pathway *after,
			   const struct transition *tr,
			   const struct fsm_effects *fx, const struct event *ev,
			   const char *canonical, bool insert,
			   json_t **response)
{
	struct write_params *w = &pw->w;
	json_t *pathway = pathway_to_json(after);
	json_t *transition = fsm_transition_to_json(tr, ev->event_id, ev->data);
	json_t *note = fx->notify_decision
			       ? fsm_decision_notification(after, ev)
			       : NULL;

	memset(pw, 0, sizeof(*pw));
	fill_write_params(w, after, tr);
	*response = json_pack("{s:O, s:O}", "pathway", pathway, "transition",
			      transition);
	w->state = json_dumps(pathway, JSON_COMPACT);
	w->data = json_dumps(ev->data, JSON_COMPACT);
	w->response = *response ? json_dumps(*response, JSON_COMPACT) : NULL;
	w->notification = note ? json_dumps(note, JSON_COMPACT) : NULL;
	json_decref(pathway);
	json_decref(transition);
	json_decref(note);
	if (!w->state || !w->data || !w->response ||
	    (fx->notify_decision && !w->notification))
		return false;
	add_pathway_query(&pw->q[pw->nq++], w, after, insert);
	add_transition_query(&pw->q[pw->nq++], w, after, tr, ev->event_id,
			     canonical);
	if (w->notification != NULL)
		pw->q[pw->nq++] = (struct db_query){
			.stmt = "notification_insert",
			.nparams = 5,
			.params = {after->id, ev->event_id, "referral.decision",
				   after->region, w->notification}};
	return true;
}

void pathway_write_free(struct pathway_write *pw)
{
	free(pw->w.state);
	free(pw->w.data);
	free(pw->w.response);
	free(pw->w.notification);
	memset(pw, 0, sizeof(*pw));
}
