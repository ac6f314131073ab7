#include "fhir_history.h"

#include <stdlib.h>
#include <string.h>

#include "fhir_map.h"

#define RETRACTED "event.retracted"
#define CORRECTED "event.corrected"

/* The replay's cursor: which referral is open, which is being treated,
 * and which were so when the pathway closed (a reopening resumes them). */
struct replay {
	struct fhir_history *h;
	const char *phase;
	long open;
	long treating;
	long closed_treating;
};

static const char *string_or_null(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool read_time(const json_t *obj, const char *key, bool required,
		      cal_millis *out)
{
	const char *s = string_or_null(obj, key);

	*out = 0;
	if (s == NULL)
		return !required;
	return calendar_parse_timestamp(s, out);
}

static bool is_meta(const char *type)
{
	return strcmp(type, RETRACTED) == 0 || strcmp(type, CORRECTED) == 0;
}

static bool read_step(const json_t *t, struct fhir_step *s)
{
	const json_t *seq = json_object_get(t, "seq");
	const json_t *data = json_object_get(t, "data");

	memset(s, 0, sizeof(*s));
	if (!json_is_object(t) || !json_is_integer(seq) ||
	    json_integer_value(seq) < 1 || json_integer_value(seq) > 0x7fffffff)
		return false;
	s->seq = (int)json_integer_value(seq);
	s->event_id = string_or_null(t, "event_id");
	s->type = string_or_null(t, "type");
	s->unit = string_or_null(t, "unit");
	s->data = json_is_object(data) ? data : NULL;
	/* A transition a history read marks as retracted (issue 12), even
	 * when the retraction itself is not in the array. */
	s->retracted = json_is_string(json_object_get(t, "retracted_by"));
	return s->event_id != NULL && s->type != NULL &&
	       read_time(t, "occurred_at", true, &s->occurred_at) &&
	       read_time(t, "recorded_at", false, &s->recorded_at);
}

static struct fhir_step *find_step(struct fhir_history *h, const char *id)
{
	for (size_t i = 0; id != NULL && i < h->step_count; i++)
		if (strcmp(h->steps[i].event_id, id) == 0)
			return &h->steps[i];
	return NULL;
}

/* Applies a correction or retraction transition to the step it names. */
static void apply_meta(struct fhir_history *h, const struct fhir_step *meta)
{
	struct fhir_step *target =
		find_step(h, string_or_null(meta->data, "event_id"));
	const json_t *data;
	cal_millis at;

	if (target == NULL)
		return;
	if (strcmp(meta->type, RETRACTED) == 0) {
		target->retracted = true;
		target->retraction_reason =
			string_or_null(meta->data, "reason");
		target->retracted_at = meta->occurred_at;
		return;
	}
	if (read_time(meta->data, "occurred_at", true, &at)) {
		target->occurred_at = at;
		target->corrected = true;
	}
	data = json_object_get(meta->data, "data");
	if (json_is_object(data)) {
		target->data = data;
		target->corrected = true;
	}
}

static bool load_steps(const json_t *transitions, struct fhir_history *h)
{
	size_t i;
	const json_t *t;

	h->steps = calloc(json_array_size(transitions) + 1, sizeof(*h->steps));
	if (h->steps == NULL)
		return false;
	json_array_foreach(transitions, i, t)
	{
		struct fhir_step s;
		if (!read_step(t, &s))
			return false;
		if (is_meta(s.type))
			apply_meta(h, &s);
		else
			h->steps[h->step_count++] = s;
	}
	return true;
}

/* --- referrals ------------------------------------------------------------ */

static struct fhir_referral *at(struct replay *r, long i)
{
	return i >= 0 ? &r->h->referrals[i] : NULL;
}

static void touch(struct fhir_referral *ref, const struct fhir_step *s,
		  const char *phase, const char *status)
{
	ref->status = status;
	ref->phase = phase;
	ref->last_modified = s->occurred_at;
}

static void end(struct fhir_referral *ref, const struct fhir_step *s)
{
	ref->ended_at = s->occurred_at;
	ref->open = false;
}

static void on_sent(struct replay *r, const struct fhir_step *s)
{
	struct fhir_referral *ref;

	for (size_t i = 0; i < r->h->referral_count; i++) {
		if (r->h->referrals[i].seq != s->seq)
			continue;
		ref = &r->h->referrals[i];
		touch(ref, s, r->phase, "requested");
		ref->open = true;
		r->open = (long)i;
	}
}

static void on_received(struct fhir_referral *ref, const struct fhir_step *s,
			const char *phase)
{
	touch(ref, s, phase, "received");
	/* The transition names the receiving unit only when the event gave
	 * one; otherwise it repeats the referrer's. */
	if (s->unit != NULL &&
	    (ref->requester == NULL || strcmp(s->unit, ref->requester) != 0))
		ref->owner = s->unit;
}

static void on_refused(struct replay *r, const struct fhir_step *s,
		       const char *status)
{
	struct fhir_referral *ref = at(r, r->open);

	touch(ref, s, r->phase, status);
	ref->reason = string_or_null(s->data, "reason");
	if (strcmp(status, "rejected") == 0)
		ref->advice = string_or_null(s->data, "advice");
	end(ref, s);
	r->open = -1;
}

static void on_started(struct replay *r, const struct fhir_step *s)
{
	struct fhir_referral *before = at(r, r->treating);
	struct fhir_referral *ref = at(r, r->open);

	if (before != NULL) {
		touch(before, s, before->phase, "completed");
		end(before, s);
	}
	touch(ref, s, r->phase, "in-progress");
	ref->started_at = s->occurred_at;
	ref->open = false;
	r->treating = r->open;
	r->open = -1;
}

static void on_closed(struct replay *r, const struct fhir_step *s)
{
	struct fhir_referral *open = at(r, r->open);
	struct fhir_referral *treating = at(r, r->treating);

	if (open != NULL) {
		touch(open, s, r->phase, "cancelled");
		end(open, s);
		open->ended_by_close = true;
	}
	if (treating != NULL) {
		touch(treating, s, r->phase, "completed");
		end(treating, s);
		treating->ended_by_close = true;
	}
	r->closed_treating = r->treating;
	r->open = r->treating = -1;
}

static void on_reopened(struct replay *r, const struct fhir_step *s)
{
	struct fhir_referral *ref = at(r, r->closed_treating);

	if (ref == NULL || !ref->ended_by_close)
		return;
	touch(ref, s, r->phase, "in-progress");
	ref->ended_at = 0;
	ref->ended_by_close = false;
	r->treating = r->closed_treating;
	r->closed_treating = -1;
}

static void on_left(struct replay *r, const struct fhir_step *s)
{
	struct fhir_referral *ref = at(r, r->treating);

	if (ref == NULL)
		return;
	touch(ref, s, r->phase, "completed");
	end(ref, s);
	r->treating = -1;
}

/* One standing step: what it does to the open or treated referral. */
static void replay_task(struct replay *r, const struct fhir_step *s)
{
	enum fhir_task_effect fx = fhir_map_task_effect(s->type);
	struct fhir_referral *open = at(r, r->open);

	if (fx == FHIR_TASK_SENT)
		on_sent(r, s);
	else if (fx == FHIR_TASK_CLOSED)
		on_closed(r, s);
	else if (fx == FHIR_TASK_REOPENED)
		on_reopened(r, s);
	else if (fx == FHIR_TASK_LEFT)
		on_left(r, s);
	else if (open == NULL)
		return; /* nothing open for the effects below */
	else if (fx == FHIR_TASK_RECEIVED)
		on_received(open, s, r->phase);
	else if (fx == FHIR_TASK_ACCEPTED)
		touch(open, s, r->phase, "accepted");
	else if (fx == FHIR_TASK_REJECTED)
		on_refused(r, s, "rejected");
	else if (fx == FHIR_TASK_WITHDRAWN)
		on_refused(r, s, "cancelled");
	else if (fx == FHIR_TASK_STARTED)
		on_started(r, s);
	else if (fx == FHIR_TASK_OWNER) {
		touch(open, s, r->phase, open->status);
		if (string_or_null(s->data, "to_unit") != NULL)
			open->owner = string_or_null(s->data, "to_unit");
	}
}

/* Every referral.sent, standing or not, in seq order: a retracted one is
 * still a Task, entered-in-error. */
static bool collect_referrals(struct fhir_history *h)
{
	h->referrals = calloc(h->step_count + 1, sizeof(*h->referrals));
	if (h->referrals == NULL)
		return false;
	for (size_t i = 0; i < h->step_count; i++) {
		const struct fhir_step *s = &h->steps[i];
		struct fhir_referral *ref;
		if (fhir_map_task_effect(s->type) != FHIR_TASK_SENT)
			continue;
		ref = &h->referrals[h->referral_count++];
		ref->seq = s->seq;
		ref->event_id = s->event_id;
		ref->sent_data = s->data;
		ref->requester = s->unit;
		ref->owner = string_or_null(s->data, "to_unit");
		ref->to_level = string_or_null(s->data, "to_level");
		ref->sent_at = s->occurred_at;
		ref->last_modified = s->occurred_at;
		ref->status = "requested";
		ref->phase = "referred";
		if (s->retracted || h->opening_retracted) {
			ref->status = "entered-in-error";
			ref->reason = s->retraction_reason;
			ref->last_modified = s->retracted_at;
		}
	}
	return true;
}

/* --- the EpisodeOfCare's periods ------------------------------------------ */

static void period_step(struct fhir_history *h, const char *phase,
			cal_millis when)
{
	const char *status = fhir_map_episode_status(phase);
	struct fhir_period *last =
		h->period_count > 0 ? &h->periods[h->period_count - 1] : NULL;

	if (status == NULL ||
	    (last != NULL && strcmp(last->status, status) == 0))
		return;
	/* Times as the EHRs gave them need not increase; a period never ends
	 * before it starts (FHIR per-1). */
	if (last != NULL && when < last->start)
		when = last->start;
	if (last != NULL)
		last->end = when;
	h->periods[h->period_count++] = (struct fhir_period){status, when, 0};
}

static bool replay(struct fhir_history *h)
{
	struct replay r = {h, "active", -1, -1, -1};

	h->periods = calloc(h->step_count + 1, sizeof(*h->periods));
	if (h->periods == NULL)
		return false;
	for (size_t i = 0; i < h->step_count; i++) {
		const struct fhir_step *s = &h->steps[i];
		const char *after = fhir_map_phase_after(s->type);
		if (s->retracted || h->opening_retracted)
			continue;
		if (after != NULL)
			r.phase = after;
		h->last_occurred_at = s->occurred_at;
		period_step(h, r.phase, s->occurred_at);
		replay_task(&r, s);
	}
	return true;
}

bool fhir_history_load(const json_t *transitions, struct fhir_history *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_array(transitions) || !load_steps(transitions, out))
		goto fail;
	for (size_t i = 0; i < out->step_count; i++) {
		if (strcmp(out->steps[i].type, "pathway.opened") != 0)
			continue;
		out->opened_event_id = out->steps[i].event_id;
		out->opening_retracted = out->steps[i].retracted;
		break;
	}
	if (!collect_referrals(out) || !replay(out))
		goto fail;
	return true;
fail:
	fhir_history_free(out);
	return false;
}

void fhir_history_free(struct fhir_history *h)
{
	free(h->steps);
	free(h->referrals);
	free(h->periods);
	memset(h, 0, sizeof(*h));
}

const struct fhir_referral *fhir_history_referral(const struct fhir_history *h,
						  int seq)
{
	for (size_t i = 0; i < h->referral_count; i++)
		if (h->referrals[i].seq == seq)
			return &h->referrals[i];
	return NULL;
}

const struct fhir_referral *
fhir_history_open_referral(const struct fhir_history *h)
{
	for (size_t i = 0; i < h->referral_count; i++)
		if (h->referrals[i].open)
			return &h->referrals[i];
	return NULL;
}
