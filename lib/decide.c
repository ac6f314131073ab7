#include "decide.h"

#include <stdio.h>
#include <string.h>

#include "evtype.h"

enum decide_lookup decide_lookup_of(const struct event *ev)
{
	if (ev->pathway_id[0] != '\0')
		return LOOKUP_BY_ID;
	/* A closed pathway can be reopened, and its events corrected: the
	 * patient's latest pathway, open or not. */
	if (ev->type == EV_PATHWAY_REOPENED || decide_needs_history(ev))
		return LOOKUP_LATEST;
	return LOOKUP_OPEN;
}

bool decide_needs_history(const struct event *ev)
{
	return (evtype_of(ev->type)->flags & EVT_CORRECTION) != 0;
}

static enum decide_kind refuse(struct decision *out)
{
	out->kind = DECIDE_REFUSE;
	return out->kind;
}

static enum decide_kind refuse_with(struct decision *out, enum err_code code,
				    const char *field, const char *msg)
{
	error_set(&out->err, code, field, "%s", msg);
	return refuse(out);
}

static enum decide_kind write(const struct event *ev, struct decision *out,
			      bool insert)
{
	out->kind = DECIDE_WRITE;
	if (out->fx.notify_decision && out->notification == NULL)
		out->notification = fsm_decision_notification(&out->after, ev);
	out->insert = insert;
	snprintf(out->pathway_id, sizeof(out->pathway_id), "%s", out->after.id);
	return out->kind;
}

/* The same source sent this event_id before: the first answer again, if
 * the body is the same and the token may see its pathway.  Another
 * region's event says no more than that the id is taken. */
static enum decide_kind replay_stored(const struct decide_in *in,
				      struct decision *out)
{
	const struct decide_stored *s = in->stored;

	if (!auth_covers_region(in->token, s->region)) {
		error_set(&out->err, ERR_EVENT_ID_CONFLICT, "event_id",
			  "event_id %s is already used", in->ev->event_id);
		return refuse(out);
	}
	snprintf(out->pathway_id, sizeof(out->pathway_id), "%s", s->pathway_id);
	if (!json_equal((json_t *)in->ev->json, (json_t *)s->event)) {
		error_set(&out->err, ERR_EVENT_ID_CONFLICT, "event_id",
			  "event_id %s was already used for a different event",
			  in->ev->event_id);
		return refuse(out);
	}
	out->kind = DECIDE_REPLAY;
	out->response = s->response;
	return out->kind;
}

/* A second open pathway for the patient.  Its id is told only to a token
 * that covers its region: otherwise the answer would probe another
 * region's patients. */
static enum decide_kind open_elsewhere(const struct decide_in *in,
				       const struct pathway *open,
				       struct decision *out)
{
	if (!auth_covers_region(in->token, open->region))
		return refuse_with(out, ERR_PATHWAY_EXISTS, NULL,
				   "the patient has an open pathway in a "
				   "region this token does not cover; it must "
				   "be closed or moved before another opens");
	error_set(&out->err, ERR_PATHWAY_EXISTS, "pathway_id",
		  "the patient already has an open pathway (%s)", open->id);
	out->detail = json_pack("{s:s}", "pathway_id", open->id);
	return refuse(out);
}

static enum decide_kind decide_open(const struct decide_in *in,
				    struct decision *out)
{
	const struct event *ev = in->ev;

	if (!auth_covers_region(in->token, ev->region)) {
		error_set(&out->err, ERR_FORBIDDEN, "region",
			  "this token does not cover region %s", ev->region);
		return refuse(out);
	}
	if (in->target != NULL)
		return refuse_with(out, ERR_PATHWAY_EXISTS, "pathway_id",
				   "a pathway with this pathway_id exists");
	if (in->open != NULL)
		return open_elsewhere(in, in->open, out);
	if (!fsm_apply(NULL, ev, in->models, in->new_id, in->now, &out->after,
		       &out->tr, &out->fx, &out->err))
		return refuse(out);
	return write(in->ev, out, true);
}

static void fill_correction_transition(const struct pathway *before,
				       const struct pathway *after,
				       const struct event *ev, cal_millis now,
				       struct transition *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->seq = after->version;
	tr->type = ev->type;
	tr->has_from = true;
	tr->from_phase = before->phase;
	tr->from_level = before->level;
	tr->to_phase = after->phase;
	tr->to_level = after->level;
	snprintf(tr->unit, sizeof(tr->unit), "%s",
		 ev->unit[0] != '\0' ? ev->unit : after->unit);
	tr->occurred_at = ev->occurred_at;
	tr->recorded_at = now;
}

/*
 * A corrected or retracted decision tells the referrer again, where the
 * model tells decisions at all (Norway): the decision as it now stands,
 * or the one withdrawn (told from the pathway as it stood with it), and
 * which correction changed it and why.
 */
static json_t *correction_notification(const struct decide_in *in,
				       const struct replay_result *res,
				       const struct pathway *after)
{
	const struct model *m = model_set_find(in->models, after->model);
	struct event target;
	struct pp_error err;
	json_t *note;

	if (m == NULL || !m->notify_decisions || res->target_event == NULL ||
	    !event_parse(res->target_event, in->now, &target, &err) ||
	    !(evtype_of(target.type)->flags & EVT_DECISION))
		return NULL;
	note = fsm_decision_notification(
		res->target_retracted ? in->target : after, &target);
	if (note == NULL)
		return NULL;
	if (res->target_retracted)
		json_object_set_new(note, "kind",
				    json_string("referral.decision_retracted"));
	json_object_set_new(note, "corrects",
			    json_pack("{s:s, s:s, s:s?}", "event_id",
				      target.event_id, "by", in->ev->event_id,
				      "reason", in->ev->reason));
	return note;
}

/* A correction's effect is the replay of the history with it. */
static enum decide_kind decide_correction(const struct decide_in *in,
					  struct decision *out)
{
	const struct pathway *t = in->target;
	struct history_entry extra = {t->version + 1, in->source,
				      in->ev->event_id, (json_t *)in->ev->json,
				      in->now};
	struct replay_result res;

	if (in->history == NULL)
		return refuse_with(out, ERR_INTERNAL, NULL,
				   "the pathway's history was not loaded");
	if (in->ev->occurred_at < t->opened_at) {
		error_set(&out->err, ERR_OUT_OF_ORDER, "occurred_at",
			  "occurred_at is before the pathway was opened");
		out->err.latest = t->opened_at;
		return refuse(out);
	}
	if (!replay_history(in->history, &extra, t->id, in->models, in->now,
			    &res)) {
		out->err = res.err;
		if (res.depends_on != NULL)
			out->detail = json_pack("{s:O}", "depends_on",
						res.depends_on);
		replay_result_free(&res);
		return refuse(out);
	}
	out->after = res.state;
	out->notification = correction_notification(in, &res, &out->after);
	out->fx.notify_decision = out->notification != NULL;
	replay_result_free(&res);
	if (res.target_index >= 0 &&
	    (size_t)res.target_index < in->history->count)
		out->corrects_seq = in->history->entries[res.target_index].seq;
	if (out->after.phase != PHASE_CLOSED && in->open != NULL &&
	    strcmp(in->open->id, t->id) != 0)
		return open_elsewhere(in, in->open, out);
	fill_correction_transition(t, &out->after, in->ev, in->now, &out->tr);
	return write(in->ev, out, false);
}

static enum decide_kind no_such_pathway(const struct decide_in *in,
					struct decision *out)
{
	bool by_id = in->ev->pathway_id[0] != '\0';

	return refuse_with(out, ERR_NOT_FOUND, by_id ? "pathway_id" : NULL,
			   by_id ? "no such pathway for this patient"
			   : in->ev->type == EV_PATHWAY_REOPENED
				   ? "the patient has no pathway to reopen"
				   : "the patient has no open pathway");
}

enum decide_kind decide(const struct decide_in *in, struct decision *out)
{
	const struct pathway *t = in->target;

	memset(out, 0, sizeof(*out));
	if (in->stored != NULL)
		return replay_stored(in, out);
	if (in->ev->type == EV_PATHWAY_OPENED)
		return decide_open(in, out);
	/* Another patient's pathway, or another region's, is none of this
	 * event's business: it answers as if it did not exist. */
	if (t == NULL || strcmp(t->patient_id, in->ev->patient_id) != 0 ||
	    !auth_covers_region(in->token, t->region))
		return no_such_pathway(in, out);
	if (in->expected_version > 0 && t->version != in->expected_version) {
		error_set(&out->err, ERR_PRECONDITION_FAILED, "If-Match",
			  "the pathway is at version %d, not %d: read it again",
			  t->version, in->expected_version);
		out->detail = json_pack("{s:i}", "version", t->version);
		return refuse(out);
	}
	if (in->ev->type == EV_PATHWAY_REOPENED && in->open != NULL &&
	    strcmp(in->open->id, t->id) != 0)
		return open_elsewhere(in, in->open, out);
	/* Without a pathway_id the target is the patient's latest pathway:
	 * open, it is one opened since the closing (or never closed). */
	if (in->ev->type == EV_PATHWAY_REOPENED &&
	    in->ev->pathway_id[0] == '\0' && t->closed_at == 0)
		return open_elsewhere(in, t, out);
	if (decide_needs_history(in->ev))
		return decide_correction(in, out);
	if (!fsm_apply(t, in->ev, in->models, NULL, in->now, &out->after,
		       &out->tr, &out->fx, &out->err))
		return refuse(out);
	return write(in->ev, out, false);
}

json_t *decide_response(const struct decision *d, const struct event *ev)
{
	return json_pack(
		"{s:o, s:o}", "pathway", pathway_to_json(&d->after),
		"transition",
		fsm_transition_to_json(&d->tr, ev->event_id, ev->data));
}

void decision_free(struct decision *d)
{
	json_decref(d->detail);
	d->detail = NULL;
	json_decref(d->notification);
	d->notification = NULL;
}
