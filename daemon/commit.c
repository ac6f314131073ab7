/* The commit path (commit.h): the queue, its groups and their
 * transactions. */
#include "commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>

#include "app.h"
#include "db.h"
#include "evtype.h"
#include "log.h"
#include "store.h"

#define MAX_ATTEMPTS 4
/* Items per group: enough to share a commit, few enough that a group's
 * locks are short. */
#define GROUP_MAX 64

enum item_state { ITEM_REFUSED, ITEM_QUEUED, ITEM_RUNNING, ITEM_DONE };

struct commit_batch {
	struct app *app;
	commit_done_fn done;
	void *arg;
	size_t unanswered;
	size_t held; /* items a running group still points to */
	bool finishing;
	struct commit_batch *next_finished;
};

struct group {
	struct app *app;
	struct db_conn *conn;
	struct commit_item *items[GROUP_MAX]; /* NULL once requeued */
	/* The patients it holds back until it ends (copies: a requeued
	 * item may be answered and freed before). */
	char patients[GROUP_MAX][ID_MAX + 1];
	int n;
	/* Step 1's parameters, alive until its answer. */
	struct pgarray ids, open_patients, latest_patients, sources, events,
		history_ids, history_patients;
	bool wants_history;
	bool broken; /* its writes could not be built (out of memory) */
	struct store_group *writes;
	/* Texts the writes point to, freed with the group. */
	char *docs[GROUP_MAX][3];
	/* Recorded events of the pathways a correction replays. */
	json_t *history_events;
};

static TAILQ_HEAD(item_queue,
		  commit_item) queue = TAILQ_HEAD_INITIALIZER(queue);
static int groups_running;
/* Patients with an item in a running group: their next items wait, so
 * that each patient's events apply one after the other, in order. */
static json_t *patients_running;
/* Batches whose every item has its answer, called back from the loop. */
static struct commit_batch *finished;
static struct commit_stats stats;

static void kick(struct app *app);

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void commit_stats(struct commit_stats *out)
{
	*out = stats;
	out->running = groups_running;
}

/* --- items and batches ------------------------------------------------------
 */

bool commit_item_prepare(struct commit_item *it, json_t *json,
			 const struct token *token, cal_millis now)
{
	memset(it, 0, sizeof(*it));
	it->json = json;
	it->token = token;
	it->state = ITEM_REFUSED;
	if (!event_parse(json, now, &it->ev, &it->err)) {
		json_t *id = json_is_object(json)
				     ? json_object_get(json, "event_id")
				     : NULL;
		if (json_is_string(id) &&
		    domain_valid_id(json_string_value(id)))
			snprintf(it->ev.event_id, sizeof(it->ev.event_id), "%s",
				 json_string_value(id));
		it->status = error_http_status(it->err.code);
		return false;
	}
	it->canonical = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
	if (it->canonical == NULL) {
		error_set(&it->err, ERR_INTERNAL, NULL, "out of memory");
		it->status = 500;
		return false;
	}
	it->state = ITEM_QUEUED;
	return true;
}

void commit_item_clear(struct commit_item *it)
{
	free(it->canonical);
	free(it->response);
	json_decref(it->detail);
	decision_free(&it->decision);
	it->canonical = NULL;
	it->response = NULL;
	it->detail = NULL;
}

static void maybe_finish(struct commit_batch *b)
{
	if (b->unanswered > 0 || b->held > 0 || b->finishing)
		return;
	b->finishing = true;
	b->next_finished = finished;
	finished = b;
}

static void flush_finished(void)
{
	while (finished != NULL) {
		struct commit_batch *b = finished;
		finished = b->next_finished;
		b->done(b->arg);
		free(b);
	}
}

static void item_done(struct commit_item *it, int status)
{
	it->state = ITEM_DONE;
	it->status = status;
	it->batch->unanswered--;
	maybe_finish(it->batch);
}

static void item_refuse(struct commit_item *it, const struct pp_error *err,
			json_t *detail)
{
	it->err = *err;
	json_decref(it->detail);
	it->detail = detail;
	item_done(it, error_http_status(err->code));
}

static void item_fail(struct commit_item *it, enum err_code code,
		      const char *msg)
{
	struct pp_error err;

	error_set(&err, code, NULL, "%s", msg);
	item_refuse(it, &err, NULL);
}

static void new_pathway_id(char out[ID_MAX + 1])
{
	unsigned char raw[12];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		/* getrandom on Linux does not fail for 12 bytes once the
		 * pool is initialised; fall back to time anyway. */
		cal_millis t = now_millis();
		memcpy(raw, &t, sizeof(t));
	}
	strcpy(out, "pw-");
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(out + 3 + 2 * i, "%02x", raw[i]);
}

/* --- groups ----------------------------------------------------------------
 */

static void group_free(struct group *g)
{
	pgarray_free(&g->ids);
	pgarray_free(&g->open_patients);
	pgarray_free(&g->latest_patients);
	pgarray_free(&g->sources);
	pgarray_free(&g->events);
	pgarray_free(&g->history_ids);
	pgarray_free(&g->history_patients);
	store_group_free(g->writes);
	for (int i = 0; i < GROUP_MAX; i++)
		for (int k = 0; k < 3; k++)
			free(g->docs[i][k]);
	json_decref(g->history_events);
	free(g);
}

/* Back to the head of the queue, in their order, to run one by one. */
static void requeue_solo(struct group *g)
{
	for (int i = g->n - 1; i >= 0; i--) {
		struct commit_item *it = g->items[i];
		if (it == NULL || it->state != ITEM_RUNNING)
			continue;
		decision_free(&it->decision);
		it->solo = true;
		it->state = ITEM_QUEUED;
		TAILQ_INSERT_HEAD(&queue, it, queue);
		g->items[i] = NULL;
		it->batch->held--;
		stats.retries++;
	}
}

static void group_end(struct group *g)
{
	struct app *app = g->app;

	for (int i = 0; i < g->n; i++) {
		struct commit_item *it = g->items[i];
		json_object_del(patients_running, g->patients[i]);
		if (it == NULL)
			continue;
		it->batch->held--;
		maybe_finish(it->batch);
	}
	if (g->conn != NULL)
		db_release(g->conn);
	groups_running--;
	group_free(g);
	flush_finished();
	kick(app);
}

/* The connection broke: whether a COMMIT in flight happened is unknown, so
 * the client retries with the same event_id and gets one transition. */
static void group_unavailable(struct group *g)
{
	for (int i = 0; i < g->n; i++)
		if (g->items[i] != NULL && g->items[i]->state == ITEM_RUNNING)
			item_fail(g->items[i], ERR_UNAVAILABLE,
				  "the database cannot be reached; retry "
				  "with the same event_id");
	group_end(g);
}

static void on_rolled_back(struct db_conn *conn, PGresult **res, int n,
			   void *arg)
{
	(void)conn;
	(void)res;
	(void)n;
	group_end(arg);
}

static void rollback_and_end(struct group *g)
{
	struct db_query q = {.sql = "ROLLBACK"};

	if (!db_send(g->conn, &q, 1, on_rolled_back, g))
		group_end(g);
}

static bool constraint_is(const PGresult *res, const char *name)
{
	const char *c = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

	return c != NULL && strcmp(c, name) == 0;
}

static bool retryable(const PGresult *res)
{
	const char *state = db_result_sqlstate(res);

	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return true;
	return strcmp(state, "23505") == 0 &&
	       !constraint_is(res, "pathways_pkey");
}

static int writers(const struct group *g, struct commit_item **last)
{
	int count = 0;

	for (int i = 0; i < g->n; i++)
		if (g->items[i] && g->items[i]->state == ITEM_RUNNING &&
		    g->items[i]->decision.kind == DECIDE_WRITE) {
			*last = g->items[i];
			count++;
		}
	return count;
}

/* A lone event's write failed: retry a lost race, else answer. */
static void solo_write_failed(struct group *g, struct commit_item *it,
			      const PGresult *failed)
{
	struct pp_error err;

	if (retryable(failed) && ++it->attempts < MAX_ATTEMPTS)
		return requeue_solo(g);
	if (strcmp(db_result_sqlstate(failed), "23505") == 0 &&
	    constraint_is(failed, "pathways_pkey")) {
		error_set(&err, ERR_PATHWAY_EXISTS, "pathway_id",
			  "a pathway with this pathway_id exists");
		return item_refuse(it, &err, NULL);
	}
	log_error("commit", "event %s: write failed (%s %s): %s",
		  it->ev.event_id, db_result_sqlstate(failed),
		  PQresultErrorField(failed, PG_DIAG_CONSTRAINT_NAME) ?: "-",
		  PQresultErrorMessage(failed));
	item_fail(it, ERR_INTERNAL, "the event could not be recorded");
}

static const PGresult *first_failure(PGresult **res, int n)
{
	for (int i = 0; i < n; i++)
		if (PQresultStatus(res[i]) != PGRES_PIPELINE_ABORTED &&
		    !db_result_ok(res[i]))
			return res[i];
	return NULL;
}

/* Every decided item answers now that its group has committed. */
static void answer_all(struct group *g)
{
	for (int i = 0; i < g->n; i++) {
		struct commit_item *it = g->items[i];
		struct decision *d;
		if (it == NULL || it->state != ITEM_RUNNING)
			continue;
		d = &it->decision;
		snprintf(it->pathway_id, sizeof(it->pathway_id), "%s",
			 d->pathway_id);
		if (d->kind == DECIDE_REFUSE) {
			item_refuse(it, &d->err, d->detail);
			d->detail = NULL;
		} else if (d->kind == DECIDE_REPLAY) {
			it->replayed = true;
			it->response = strdup(d->response ? d->response : "{}");
			item_done(it, 200);
		} else {
			it->response = g->docs[i][2];
			g->docs[i][2] = NULL;
			it->wrote = true;
			it->after = d->after;
			it->tr = d->tr;
			item_done(it, 201);
		}
	}
}

static void on_committed(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct group *g = arg;
	const PGresult *failed;
	struct commit_item *writer = NULL;

	(void)conn;
	if (n == 0)
		return group_unavailable(g);
	failed = first_failure(res, n);
	if (failed == NULL) {
		answer_all(g);
		return group_end(g);
	}
	if (writers(g, &writer) == 1)
		solo_write_failed(g, writer, failed);
	else
		requeue_solo(g);
	rollback_and_end(g);
}

/* Step 2: the writes, and COMMIT.  A group that writes nothing still
 * commits with a transaction id of its own: its replays and refusals then
 * wait, like a write, for everything before them to be durable. */
static void send_writes(struct group *g)
{
	struct db_query q[STORE_GROUP_QUERIES + 2];
	int nq = store_group_queries(g->writes, q);

	if (nq == 0)
		q[nq++] = (struct db_query){.sql = "SELECT "
						   "pg_current_xact_id()"};
	q[nq++] = (struct db_query){.sql = "COMMIT"};
	if (!db_send(g->conn, q, nq, on_committed, g))
		group_unavailable(g);
}

/* --- step 1's answers, and the decisions ------------------------------------
 */

struct found {
	struct pathway *rows;
	int nrows;
};

static const struct pathway *row_by_id(const struct found *f, const char *id)
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

/* The first recorded row for item k (1-based): its own source's before a
 * row from before sources. */
static int stored_row(const PGresult *res, int k)
{
	for (int r = 0; r < PQntuples(res); r++)
		if (atoi(PQgetvalue(res, r, 0)) == k)
			return r;
	return -1;
}

static bool render_write(struct group *g, int i, struct commit_item *it)
{
	struct decision *d = &it->decision;
	json_t *pathway = pathway_to_json(&d->after);
	json_t *transition =
		fsm_transition_to_json(&d->tr, it->ev.event_id, it->ev.data);
	json_t *note = d->fx.notify_decision
			       ? fsm_decision_notification(&d->after, &it->ev)
			       : NULL;
	struct store_event se = {.d = d,
				 .ev = &it->ev,
				 .source = it->token->source,
				 .event_text = it->canonical};
	bool ok;

	g->docs[i][0] = pathway ? json_dumps(pathway, JSON_COMPACT) : NULL;
	g->docs[i][1] =
		transition ? json_dumps(transition, JSON_COMPACT) : NULL;
	g->docs[i][2] = g->docs[i][0] && g->docs[i][1]
				? store_response(g->docs[i][0], g->docs[i][1])
				: NULL;
	se.pathway_doc = g->docs[i][0];
	se.transition_doc = g->docs[i][1];
	se.response = g->docs[i][2];
	se.notification = note ? json_dumps(note, JSON_COMPACT) : NULL;
	se.corrects = d->corrects_seq;
	ok = se.pathway_doc && se.transition_doc && se.response &&
	     (note == NULL || se.notification) &&
	     store_group_add(g->writes, &se);
	free((char *)se.notification);
	json_decref(pathway);
	json_decref(transition);
	json_decref(note);
	return ok;
}

static void decide_item(struct group *g, int i, const struct found *f,
			PGresult **res)
{
	struct commit_item *it = g->items[i];
	const struct pathway *target = target_of(f, &it->ev);
	const struct pathway *open = row_open(f, it->ev.patient_id);
	struct decide_stored stored;
	struct history h = {NULL, 0};
	struct history_entry *entries = NULL;
	json_t *stored_event = NULL;
	char new_id[ID_MAX + 1];
	int row = stored_row(res[2], i + 1);
	struct decide_in in = {.ev = &it->ev,
			       .token = it->token,
			       .models = &g->app->models,
			       .now = now_millis(),
			       .new_id = new_id,
			       .target = target,
			       .open = open != target ? open : NULL};

	new_pathway_id(new_id);
	in.source = it->token->source;
	if (row >= 0) {
		stored_event = json_loads(PQgetvalue(res[2], row, 3), 0, NULL);
		stored = (struct decide_stored){
			PQgetvalue(res[2], row, 2), PQgetvalue(res[2], row, 5),
			stored_event, PQgetvalue(res[2], row, 4)};
		in.stored = &stored;
	}
	if (g->wants_history && target != NULL &&
	    decide_needs_history(&it->ev)) {
		entries = history_of(g, res[3], target->id, &h.count);
		h.entries = entries;
		in.history = &h;
	}
	decide(&in, &it->decision);
	if (it->decision.kind == DECIDE_REPLAY) {
		/* The stored texts die with the results: keep a copy. */
		it->response = strdup(stored.response);
		it->decision.response = it->response;
	}
	if (it->decision.kind == DECIDE_WRITE && !render_write(g, i, it))
		g->broken = true;
	json_decref(stored_event);
	free(entries);
}

static bool read_rows(const PGresult *res, struct found *f)
{
	f->nrows = PQntuples(res);
	f->rows = calloc((size_t)f->nrows + 1, sizeof(*f->rows));
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

static void on_checked(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct group *g = arg;
	struct found f = {NULL, 0};

	(void)conn;
	if (n == 0)
		return group_unavailable(g);
	for (int i = 0; i < n; i++)
		if (!db_result_ok(res[i])) {
			/* A lock wait past the statement timeout, say: run
			 * them alone, and give up after a few tries. */
			log_warning("commit", "group of %d: %s", g->n,
				    PQresultErrorMessage(res[i]));
			for (int k = 0; k < g->n; k++)
				if (++g->items[k]->attempts >= MAX_ATTEMPTS)
					item_fail(g->items[k], ERR_INTERNAL,
						  "the event could not be "
						  "checked");
			requeue_solo(g);
			return rollback_and_end(g);
		}
	if (!read_rows(res[1], &f)) {
		for (int k = 0; k < g->n; k++)
			item_fail(g->items[k], ERR_INTERNAL,
				  "the stored pathway could not be read");
		free(f.rows);
		return rollback_and_end(g);
	}
	for (int i = 0; i < g->n; i++)
		decide_item(g, i, &f, res);
	free(f.rows);
	if (g->broken) {
		for (int k = 0; k < g->n; k++)
			if (g->items[k]->state == ITEM_RUNNING)
				item_fail(g->items[k], ERR_INTERNAL,
					  "out of memory");
		return rollback_and_end(g);
	}
	send_writes(g);
}

static int by_patient(const void *a, const void *b)
{
	const struct commit_item *x = *(struct commit_item *const *)a;
	const struct commit_item *y = *(struct commit_item *const *)b;

	return strcmp(x->ev.patient_id, y->ev.patient_id);
}

/* Step 1's parameters: what each item's decision needs found. */
static void gather_keys(struct group *g)
{
	for (int i = 0; i < g->n; i++) {
		const struct event *ev = &g->items[i]->ev;
		enum decide_lookup how = decide_lookup_of(ev);
		bool history = decide_needs_history(ev);
		if (how == LOOKUP_BY_ID)
			pgarray_add(&g->ids, ev->pathway_id);
		if (how == LOOKUP_LATEST)
			pgarray_add(&g->latest_patients, ev->patient_id);
		pgarray_add(&g->open_patients, ev->patient_id);
		pgarray_add(&g->sources, g->items[i]->token->source);
		pgarray_add(&g->events, ev->event_id);
		if (history && how == LOOKUP_BY_ID)
			pgarray_add(&g->history_ids, ev->pathway_id);
		if (history && how != LOOKUP_BY_ID)
			pgarray_add(&g->history_patients, ev->patient_id);
		g->wants_history = g->wants_history || history;
	}
}

/* An empty array is passed as NULL: its part of the query is then planned
 * away. */
static const char *array_or_null(struct pgarray *a)
{
	return a->count > 0 ? pgarray_text(a) : NULL;
}

static void on_group_lease(struct db_conn *conn, void *arg)
{
	struct group *g = arg;
	struct db_query q[4];
	int nq = 0;

	g->conn = conn;
	if (conn == NULL)
		return group_unavailable(g);
	/* One lock order for every group of every daemon: no deadlock. */
	qsort(g->items, (size_t)g->n, sizeof(g->items[0]), by_patient);
	gather_keys(g);
	q[nq++] = (struct db_query){.sql = "BEGIN"};
	q[nq++] = (struct db_query){
		.stmt = STMT_LOCK,
		.nparams = 3,
		.params = {array_or_null(&g->ids),
			   pgarray_text(&g->open_patients),
			   array_or_null(&g->latest_patients)}};
	q[nq++] = (struct db_query){.stmt = STMT_EVENT_LOOKUP,
				    .nparams = 2,
				    .params = {pgarray_text(&g->sources),
					       pgarray_text(&g->events)}};
	if (g->wants_history)
		q[nq++] = (struct db_query){
			.stmt = STMT_HISTORY,
			.nparams = 3,
			.params = {array_or_null(&g->history_ids), NULL,
				   array_or_null(&g->history_patients)}};
	if (g->ids.failed || g->open_patients.failed ||
	    g->latest_patients.failed || g->sources.failed ||
	    g->events.failed || g->history_ids.failed ||
	    g->history_patients.failed || q[1].params[1] == NULL ||
	    q[2].params[0] == NULL || q[2].params[1] == NULL)
		return group_unavailable(g);
	if (!db_send(conn, q, nq, on_checked, g))
		group_unavailable(g);
}

/* Takes the next group: items for distinct patients from the head on,
 * holding back every later item of a patient already taken or passed
 * over, so each patient's events keep their order. */
static struct group *take_group(struct app *app)
{
	struct group *g = calloc(1, sizeof(*g));
	json_t *seen = json_object();
	struct commit_item *it, *next;

	if (g == NULL || seen == NULL ||
	    (g->writes = store_group_new()) == NULL ||
	    (g->history_events = json_array()) == NULL) {
		if (g != NULL)
			group_free(g);
		json_decref(seen);
		return NULL;
	}
	g->app = app;
	if (patients_running == NULL)
		patients_running = json_object();
	for (it = TAILQ_FIRST(&queue); it != NULL && g->n < GROUP_MAX;
	     it = next) {
		const char *patient = it->ev.patient_id;
		next = TAILQ_NEXT(it, queue);
		if (json_object_get(seen, patient) != NULL ||
		    json_object_get(patients_running, patient) != NULL)
			continue;
		json_object_set_new(seen, patient, json_true());
		if (it->solo && g->n > 0)
			continue;
		TAILQ_REMOVE(&queue, it, queue);
		it->state = ITEM_RUNNING;
		json_object_set_new(patients_running, patient, json_true());
		snprintf(g->patients[g->n], sizeof(g->patients[0]), "%s",
			 patient);
		it->batch->held++;
		g->items[g->n++] = it;
		if (it->solo)
			break;
	}
	json_decref(seen);
	return g;
}

static void kick(struct app *app)
{
	while (!TAILQ_EMPTY(&queue) &&
	       groups_running < app->cfg.ingest_groups) {
		struct group *g = take_group(app);
		if (g == NULL)
			return;
		if (g->n == 0) {
			group_free(g); /* all wait for a running group */
			return;
		}
		groups_running++;
		stats.groups++;
		stats.items += (unsigned long long)g->n;
		stats.solo += g->n == 1 && g->items[0]->solo;
		db_acquire(app->pool, on_group_lease, g);
	}
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	flush_finished();
}

void commit_submit(struct app *app, struct commit_item *items, size_t n,
		   commit_done_fn done, void *arg)
{
	struct commit_batch *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		for (size_t i = 0; i < n; i++)
			if (items[i].state == ITEM_QUEUED)
				item_fail(&items[i], ERR_INTERNAL,
					  "out of memory");
		done(arg);
		return;
	}
	*b = (struct commit_batch){app, done, arg, 1, 0, false, NULL};
	for (size_t i = 0; i < n; i++) {
		items[i].batch = b;
		if (items[i].state != ITEM_QUEUED)
			continue;
		b->unanswered++;
		TAILQ_INSERT_TAIL(&queue, &items[i], queue);
	}
	b->unanswered--;
	maybe_finish(b);
	/* A batch answered at once is called back from the loop. */
	if (finished != NULL)
		event_base_once(app->base, -1, EV_TIMEOUT, on_deferred, NULL,
				NULL);
	kick(app);
}
