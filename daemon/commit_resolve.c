/*
 * Step 1's rows into decisions: for each item, the pathway it addresses,
 * the patient's open one, the event already recorded under its source and
 * id, and (for a correction) the history -- then the pure decision
 * (lib/decide.c), and for a write its texts and the group's writes.
 *
 * In an atomic group the items are one patient's and follow each other:
 * each decides on the pathway as the one before left it, every
 * transition is written and each pathway's row once, as the last item left
 * it.  If any item is refused, none is recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "app.h"
#include "commit_int.h"
#include "log.h"

/* The pathways found, and (atomic) as the group's items leave them. */
struct found {
	struct pathway *rows;
	int nrows, cap;
};

/* A pathway the group writes: as it stands last, once. */
struct touched {
	const char *id;
	bool insert;
	int prior_version;
	const struct pathway *after;
	const char *doc;
};

static void new_pathway_id(char out[ID_MAX + 1])
{
	unsigned char raw[12];

	/* getrandom does not fail for 12 bytes once the pool is ready; an
	 * id from zeroes would collide and be refused, never overwrite. */
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	strcpy(out, "pw-");
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(out + 3 + 2 * i, "%02x", raw[i]);
}

static struct pathway *row_by_id(const struct found *f, const char *id)
{
	for (int i = 0; i < f->nrows; i++)
		if (strcmp(f->rows[i].id, id) == 0)
			return &f->rows[i];
	return NULL;
}

static const struct pathway *row_open(const struct found *f,
				      const char *patient)
{
	for (int i = 0; i < f->nrows; i++)
		if (f->rows[i].closed_at == 0 &&
		    strcmp(f->rows[i].patient_id, patient) == 0)
			return &f->rows[i];
	return NULL;
}

static const struct pathway *row_latest(const struct found *f,
					const char *patient)
{
	const struct pathway *best = NULL;

	for (int i = 0; i < f->nrows; i++)
		if (strcmp(f->rows[i].patient_id, patient) == 0 &&
		    (best == NULL || f->rows[i].opened_at > best->opened_at))
			best = &f->rows[i];
	return best;
}

static const struct pathway *target_of(const struct found *f,
				       const struct event *ev)
{
	switch (decide_lookup_of(ev)) {
	case LOOKUP_BY_ID:
		return row_by_id(f, ev->pathway_id);
	case LOOKUP_LATEST:
		return row_latest(f, ev->patient_id);
	default:
		return ev->type == EV_PATHWAY_OPENED
			       ? NULL
			       : row_open(f, ev->patient_id);
	}
}

static bool read_rows(const PGresult *res, struct found *f)
{
	f->nrows = res != NULL ? PQntuples(res) : 0;
	f->cap = f->nrows + GROUP_MAX;
	f->rows = calloc((size_t)f->cap, sizeof(*f->rows));
	if (f->rows == NULL)
		return false;
	for (int r = 0; r < f->nrows; r++)
		if (!store_pathway_from_row(res, r, &f->rows[r])) {
			log_error("commit", "pathway row %s does not read back",
				  PQgetvalue(res, r, 0));
			return false;
		}
	return true;
}

/* The next items of an atomic group see the pathway as this one left
 * it. */
static void remember(struct found *f, const struct pathway *after)
{
	struct pathway *row = row_by_id(f, after->id);

	if (row == NULL && f->nrows < f->cap)
		row = &f->rows[f->nrows++];
	if (row != NULL)
		*row = *after;
}

/* The recorded events of one pathway, in seq order, from STMT_HISTORY's
 * rows (the events parsed into g->history_events, which owns them). */
static struct history_entry *history_of(struct group *g, const PGresult *res,
					const char *pathway_id, size_t *count)
{
	int rows = PQntuples(res);
	struct history_entry *h = calloc((size_t)rows + 1, sizeof(*h));

	*count = 0;
	for (int r = 0; h != NULL && r < rows; r++) {
		json_t *ev;
		if (strcmp(PQgetvalue(res, r, 0), pathway_id) != 0)
			continue;
		ev = json_loads(PQgetvalue(res, r, 4), 0, NULL);
		if (ev == NULL)
			continue;
		json_array_append_new(g->history_events, ev);
		h[*count] = (struct history_entry){
			atoi(PQgetvalue(res, r, 1)), PQgetvalue(res, r, 2),
			PQgetvalue(res, r, 3), ev,
			strtoll(PQgetvalue(res, r, 5), NULL, 10)};
		(*count)++;
	}
	return h;
}

/* The recorded row for item k (1-based): its own source's before one from
 * before sources (the statement orders them so). */
static int stored_row(const PGresult *res, int k)
{
	for (int r = 0; r < PQntuples(res); r++)
		if (atoi(PQgetvalue(res, r, 0)) == k)
			return r;
	return -1;
}

/* The texts of a write -- the pathway, the transition, the answer -- and
 * its transition into the group's writes, with what it changed in FHIR's
 * terms for the Subscriptions' outbox (before: NULL when it opens). */
static bool render_write(struct group *g, int i, struct commit_item *it,
			 const struct pathway *before)
{
	struct decision *d = &it->decision;
	struct fhir_change change;
	json_t *pathway = pathway_to_json(&d->after);
	json_t *transition =
		fsm_transition_to_json(&d->tr, it->ev.event_id, it->ev.data);
	const json_t *note = d->notification;
	struct store_event se = {.d = d,
				 .ev = &it->ev,
				 .source = it->token->source,
				 .event_text = it->canonical,
				 .corrects = d->corrects_seq,
				 .change = &change};
	bool ok;

	fhir_change_describe(before, &d->after, domain_event_name(d->tr.type),
			     d->fx.notify_decision, &change);
	g->docs[i][0] = pathway ? json_dumps(pathway, JSON_COMPACT) : NULL;
	g->docs[i][1] =
		transition ? json_dumps(transition, JSON_COMPACT) : NULL;
	g->docs[i][2] = g->docs[i][0] && g->docs[i][1]
				? store_response(g->docs[i][0], g->docs[i][1])
				: NULL;
	se.transition_doc = g->docs[i][1];
	se.response = g->docs[i][2];
	se.notification = note ? json_dumps(note, JSON_COMPACT) : NULL;
	ok = g->docs[i][0] && se.transition_doc && se.response &&
	     (note == NULL || se.notification) &&
	     store_group_transition(g->writes, &se);
	free((char *)se.notification);
	json_decref(pathway);
	json_decref(transition);
	return ok;
}

static void touch(struct touched *t, int *nt, const struct commit_item *it,
		  const struct pathway *before, const char *doc)
{
	const struct decision *d = &it->decision;
	int k = 0;

	while (k < *nt && strcmp(t[k].id, d->after.id) != 0)
		k++;
	if (k == *nt) {
		t[k] = (struct touched){d->after.id, d->insert,
					before ? before->version : 0, NULL,
					NULL};
		(*nt)++;
	}
	t[k].after = &d->after;
	t[k].doc = doc;
}

struct resolve {
	struct group *g;
	PGresult **res;
	struct found f;
	cal_millis now;
	struct touched touched[GROUP_MAX];
	int ntouched;
};

static void decide_item(struct resolve *rs, int i)
{
	struct group *g = rs->g;
	struct commit_item *it = g->items[i];
	const struct pathway *target = target_of(&rs->f, &it->ev);
	const struct pathway *open = row_open(&rs->f, it->ev.patient_id);
	struct decide_stored stored;
	struct history h = {NULL, 0};
	struct history_entry *entries = NULL;
	json_t *stored_event = NULL;
	char new_id[ID_MAX + 1];
	int row =
		rs->res != NULL ? stored_row(rs->res[STEP1_LOOKUP], i + 1) : -1;
	struct pathway before;
	struct decide_in in = {.ev = &it->ev,
			       .token = it->token,
			       .models = &g->app->models,
			       .now = rs->now,
			       .new_id = new_id,
			       .target = target,
			       .open = open != target ? open : NULL,
			       .source = it->token->source,
			       .expected_version = it->if_match};

	new_pathway_id(new_id);
	if (target != NULL)
		before = *target;
	if (row >= 0) {
		stored_event = json_loads(
			PQgetvalue(rs->res[STEP1_LOOKUP], row, 3), 0, NULL);
		stored = (struct decide_stored){
			PQgetvalue(rs->res[STEP1_LOOKUP], row, 2),
			PQgetvalue(rs->res[STEP1_LOOKUP], row, 5), stored_event,
			PQgetvalue(rs->res[STEP1_LOOKUP], row, 4)};
		in.stored = &stored;
	}
	if (g->wants_history && target != NULL &&
	    decide_needs_history(&it->ev)) {
		entries = history_of(g, rs->res[STEP1_HISTORY], target->id,
				     &h.count);
		h.entries = entries;
		in.history = &h;
	}
	decide(&in, &it->decision);
	/* The stored texts die with the results: keep a copy. */
	if (it->decision.kind == DECIDE_REPLAY) {
		it->response = strdup(stored.response);
		it->decision.response = it->response;
	}
	if (it->decision.kind == DECIDE_WRITE) {
		if (!render_write(g, i, it, target ? &before : NULL))
			it->decision.kind = DECIDE_REFUSE, rs->ntouched = -1;
		else if (rs->ntouched >= 0)
			touch(rs->touched, &rs->ntouched, it,
			      target ? &before : NULL, g->docs[i][0]);
		if (g->atomic)
			remember(&rs->f, &it->decision.after);
	}
	json_decref(stored_event);
	free(entries);
}

/* An atomic group with a refusal records nothing: the refused item keeps
 * its answer, the others are refused because of it. */
static bool refuse_all_for_one(struct group *g)
{
	int bad = -1;

	for (int i = 0; i < g->n && bad < 0; i++)
		if (g->items[i]->decision.kind == DECIDE_REFUSE)
			bad = i;
	if (bad < 0)
		return false;
	for (int i = 0; i < g->n; i++) {
		struct decision *d = &g->items[i]->decision;
		if (i == bad || d->kind == DECIDE_REFUSE)
			continue;
		decision_free(d);
		d->kind = DECIDE_REFUSE;
		error_set(&d->err, ERR_INVALID_REQUEST, NULL,
			  "not recorded: event %s of the same transaction was "
			  "refused",
			  g->items[bad]->ev.event_id);
	}
	return true;
}

bool commit_resolve(struct group *g, PGresult **res, cal_millis now)
{
	struct resolve *rs = calloc(1, sizeof(*rs));
	bool ok = false;

	if (rs == NULL)
		return false;
	rs->g = g;
	rs->res = res;
	rs->now = now;
	if (!read_rows(res != NULL ? res[STEP1_LOCK] : NULL, &rs->f))
		goto out;
	for (int i = 0; i < g->n; i++)
		decide_item(rs, i);
	if (rs->ntouched < 0)
		goto out;
	if (g->atomic && refuse_all_for_one(g)) {
		/* Nothing is written: the group only commits. */
		store_group_reset(g->writes);
		ok = true;
		goto out;
	}
	ok = true;
	for (int k = 0; k < rs->ntouched && ok; k++)
		ok = store_group_pathway(
			g->writes, rs->touched[k].after, rs->touched[k].doc,
			rs->touched[k].insert, rs->touched[k].prior_version);
out:
	free(rs->f.rows);
	free(rs);
	return ok;
}
