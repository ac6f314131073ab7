#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "evtype.h"
#include "fsm.h"

/* What the corrections made of one recorded event. */
struct fate {
	struct event ev; /* as recorded (borrows the entry's JSON) */
	bool parsed;
	bool retracted;
	json_t *effective; /* owned: the event with its corrections applied,
			      or NULL when uncorrected */
	cal_millis retracted_at;
};

struct standing {
	size_t index;
	struct event ev; /* borrows effective or the entry's event */
};

struct fold {
	const struct history_entry *e; /* entries, extra last */
	size_t n;
	struct fate *fates;
	struct standing *st;
	size_t nst;
	size_t opening; /* index of pathway.opened, or n */
	bool deciding;	/* the last entry is a correction being decided */
};

static const struct history_entry *entry(const struct fold *f, size_t i)
{
	return &f->e[i];
}

static bool is_correction(const struct fate *x)
{
	return x->parsed &&
	       (evtype_of(x->ev.type)->flags & EVT_CORRECTION) != 0;
}

/* The event a correction targets: by event_id among the earlier events,
 * the correcting source's first; SIZE_MAX with err set when none or more
 * than one could be meant. */
static size_t find_target(const struct fold *f, size_t c, struct pp_error *err)
{
	const char *want = f->fates[c].ev.target_event_id;
	const char *source = entry(f, c)->source;
	size_t found = SIZE_MAX, others = 0;

	for (size_t i = 0; i < c; i++) {
		if (strcmp(entry(f, i)->event_id, want) != 0)
			continue;
		if (source && entry(f, i)->source &&
		    strcmp(entry(f, i)->source, source) == 0)
			return i;
		found = i;
		others++;
	}
	if (others == 1)
		return found;
	error_set(err, others ? ERR_INVALID_EVENT : ERR_NOT_FOUND,
		  "data.event_id",
		  others ? "data.event_id was used by more than one sender "
			   "on this pathway; correct it from the sender "
			   "that posted it"
			 : "data.event_id names no event of this pathway");
	return SIZE_MAX;
}

static json_t *corrected_copy(const struct fold *f, size_t t,
			      const struct event *corr)
{
	json_t *copy =
		json_deep_copy(f->fates[t].effective ? f->fates[t].effective
						     : entry(f, t)->event);
	char at[CAL_TIMESTAMP_LEN];

	if (copy == NULL)
		return NULL;
	if (corr->has_corrected_at) {
		calendar_format_timestamp(corr->corrected_at, at);
		json_object_set_new(copy, "occurred_at", json_string(at));
	}
	if (corr->corrected_data != NULL)
		json_object_set(copy, "data", (json_t *)corr->corrected_data);
	return copy;
}

static bool apply_correction(struct fold *f, size_t c, bool deciding,
			     struct replay_result *out)
{
	const struct event *corr = &f->fates[c].ev;
	size_t t = find_target(f, c, &out->err);
	struct fate *target;

	if (t == SIZE_MAX)
		return false;
	target = &f->fates[t];
	if (deciding)
		out->target_index = (int)t;
	if (is_correction(target))
		return error_set(&out->err, ERR_INVALID_EVENT, "data.event_id",
				 "a correction cannot be corrected or "
				 "retracted; correct the original event");
	if (target->retracted)
		return error_set(&out->err, ERR_CORRECTION_CONFLICT,
				 "data.event_id", "event %s has been retracted",
				 entry(f, t)->event_id);
	if (corr->type == EV_EVENT_RETRACTED) {
		target->retracted = true;
		target->retracted_at = corr->occurred_at;
		return true;
	}
	json_t *copy = corrected_copy(f, t, corr);
	if (copy == NULL)
		return error_set(&out->err, ERR_INTERNAL, NULL,
				 "out of memory");
	json_decref(target->effective);
	target->effective = copy;
	return true;
}

/* Parses every entry and applies the corrections, in recorded order. */
static bool settle(struct fold *f, cal_millis now, struct replay_result *out)
{
	for (size_t i = 0; i < f->n; i++) {
		struct fate *x = &f->fates[i];
		if (!event_parse(entry(f, i)->event, now, &x->ev, &out->err)) {
			if (!f->deciding || i + 1 < f->n)
				error_set(&out->err, ERR_INTERNAL, NULL,
					  "recorded event %s does not parse: "
					  "%s",
					  entry(f, i)->event_id,
					  out->err.message);
			return false;
		}
		x->parsed = true;
		if (x->ev.type == EV_PATHWAY_OPENED && f->opening == f->n)
			f->opening = i;
		if (is_correction(x) &&
		    !apply_correction(f, i, f->deciding && i + 1 == f->n, out))
			return false;
	}
	return true;
}

static int by_time(const void *a, const void *b)
{
	const struct standing *x = a, *y = b;

	if (x->ev.occurred_at != y->ev.occurred_at)
		return x->ev.occurred_at < y->ev.occurred_at ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The events that stand, with their corrections, in occurred_at order.
 * A retracted opening still stands here: the pathway is then marked. */
static bool gather(struct fold *f, cal_millis now, struct replay_result *out)
{
	for (size_t i = 0; i < f->n; i++) {
		struct fate *x = &f->fates[i];
		struct standing *s;
		if (is_correction(x) || (x->retracted && i != f->opening))
			continue;
		s = &f->st[f->nst++];
		s->index = i;
		if (x->effective == NULL) {
			s->ev = x->ev;
			continue;
		}
		if (!event_parse(x->effective, now, &s->ev, &out->err)) {
			error_prefix_field(&out->err, "data.");
			return false;
		}
	}
	qsort(f->st, f->nst, sizeof(f->st[0]), by_time);
	return true;
}

/* From the failing standing event on, the state changes that depend on
 * what changed before them: the sender retracts them newest first. */
static json_t *dependents(const struct fold *f, size_t failed)
{
	json_t *ids = json_array();

	for (size_t k = f->nst; k-- > failed;) {
		const struct standing *s = &f->st[k];
		if (k == failed ||
		    (evtype_of(s->ev.type)->flags & EVT_CHANGES_STATE))
			json_array_append_new(
				ids, json_string(entry(f, s->index)->event_id));
	}
	return ids;
}

static bool fail_at(const struct fold *f, size_t k, struct replay_result *out)
{
	const struct standing *s = &f->st[k];

	/* The corrected event itself breaks a rule: its own error. */
	if ((int)s->index == out->target_index) {
		if (out->err.code == ERR_NOT_FOUND && k == 0) {
			out->err.code = ERR_OUT_OF_ORDER;
			out->err.latest =
				f->nst > 1 ? f->st[1].ev.occurred_at : 0;
			snprintf(out->err.message, sizeof(out->err.message),
				 "the corrected event would come before the "
				 "pathway was opened");
			snprintf(out->err.field, sizeof(out->err.field),
				 "occurred_at");
		}
		error_prefix_field(&out->err, "data.");
		return false;
	}
	char why[sizeof(out->err.message)];
	snprintf(why, sizeof(why), "%s", out->err.message);
	error_set(&out->err, ERR_CORRECTION_CONFLICT, "data.event_id",
		  "with this change event %s no longer applies (%s); retract "
		  "the events in depends_on first, newest first",
		  entry(f, s->index)->event_id, why);
	out->depends_on = dependents(f, k);
	return false;
}

static bool run(struct fold *f, const char *pathway_id,
		const struct model_set *models, struct replay_result *out)
{
	struct pathway prev, next;
	struct transition tr;
	struct fsm_effects fx;
	bool have = false;

	for (size_t k = 0; k < f->nst; k++) {
		const struct standing *s = &f->st[k];
		if (!fsm_apply(have ? &prev : NULL, &s->ev, models, pathway_id,
			       entry(f, s->index)->recorded_at, &next, &tr, &fx,
			       &out->err))
			return fail_at(f, k, out);
		prev = next;
		have = true;
	}
	if (!have)
		return error_set(&out->err, ERR_NOT_FOUND, NULL,
				 "the history holds no opening");
	out->state = prev;
	return true;
}

/* Retracting pathway.opened ends the pathway as entered in error. */
static void mark_entered_in_error(struct pathway *p, cal_millis at)
{
	p->phase = PHASE_CLOSED;
	p->close_reason = CLOSE_ENTERED_IN_ERROR;
	p->closed_at = at > p->opened_at ? at : p->opened_at;
	memset(&p->referral, 0, sizeof(p->referral));
	p->referral.content_covered = -1;
	for (int r = 0; r < RULE_COUNT; r++)
		memset(&p->clocks[r], 0, sizeof(p->clocks[r]));
}

static void keep_target(const struct fold *f, size_t t,
			struct replay_result *out)
{
	const struct fate *x = &f->fates[t];

	out->target_event =
		json_incref(x->effective ? x->effective : entry(f, t)->event);
	out->target_retracted = x->retracted;
}

static void fold_free(struct fold *f)
{
	for (size_t i = 0; f->fates && i < f->n; i++)
		json_decref(f->fates[i].effective);
	free(f->fates);
	free(f->st);
	free((void *)f->e);
}

bool replay_history(const struct history *h, const struct history_entry *extra,
		    const char *pathway_id, const struct model_set *models,
		    cal_millis now, struct replay_result *out)
{
	struct fold f = {0};
	struct history_entry *all;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	out->target_index = -1;
	f.n = h->count + (extra ? 1 : 0);
	all = calloc(f.n ? f.n : 1, sizeof(*all));
	f.e = all;
	f.fates = calloc(f.n ? f.n : 1, sizeof(*f.fates));
	f.st = calloc(f.n ? f.n : 1, sizeof(*f.st));
	f.opening = f.n;
	f.deciding = extra != NULL;
	if (all == NULL || f.fates == NULL || f.st == NULL) {
		error_set(&out->err, ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (h->count > 0)
		memcpy(all, h->entries, h->count * sizeof(*all));
	if (extra != NULL)
		all[h->count] = *extra;
	if (!settle(&f, now, out) || !gather(&f, now, out) ||
	    !run(&f, pathway_id, models, out))
		goto out;
	out->state.version = (int)f.n;
	out->state.updated_at = all[f.n - 1].recorded_at;
	if (f.opening < f.n && f.fates[f.opening].retracted)
		mark_entered_in_error(&out->state,
				      f.fates[f.opening].retracted_at);
	if (f.deciding && out->target_index >= 0)
		keep_target(&f, (size_t)out->target_index, out);
	ok = true;
out:
	fold_free(&f);
	return ok;
}

void replay_result_free(struct replay_result *r)
{
	json_decref(r->depends_on);
	r->depends_on = NULL;
	json_decref(r->target_event);
	r->target_event = NULL;
}
