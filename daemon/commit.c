/* The commit path (commit.h): its items, batches, queue and the groups
 * taken from it.  A group's transaction is commit_tx.c's. */
#include "commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "app.h"
#include "commit_int.h"
#include "metrics.h"

static TAILQ_HEAD(item_queue,
		  commit_item) queue = TAILQ_HEAD_INITIALIZER(queue);
static int groups_running;
static int items_running; /* in the running groups */
/* Patients with an item in a running group: their next items wait, so
 * that each patient's events apply one after the other, in order. */
static json_t *patients_running;
/* Batches whose every item has its answer, called back from the loop. */
static struct commit_batch *finished;
static struct commit_stats stats;

const int commit_size_bucket_le[COMMIT_SIZE_BUCKETS] = {1, 4, 16, 64, 1024};
const char *const commit_phase_name[COMMIT_PHASES] = {"lease", "check",
						      "decide", "write"};

void commit_count_unchecked(void)
{
	stats.unchecked++;
}

void commit_phase_end(struct group *g, enum commit_phase phase)
{
	double now = metrics_clock();

	stats.phase_seconds[phase] += now - g->phase_began;
	stats.phase_count[phase]++;
	g->phase_began = now;
}

static void count_group(int n)
{
	stats.groups++;
	stats.items += (unsigned long long)n;
	for (int b = 0; b < COMMIT_SIZE_BUCKETS; b++)
		if (n <= commit_size_bucket_le[b])
			stats.size_bucket[b]++;
}

static void kick(struct app *app);

void commit_stats(struct commit_stats *out)
{
	*out = stats;
	out->running = groups_running;
}

void commit_count_retry(void)
{
	stats.retries++;
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

void commit_item_done(struct commit_item *it, int status)
{
	it->state = ITEM_DONE;
	it->status = status;
	it->batch->unanswered--;
	maybe_finish(it->batch);
}

void commit_item_refuse(struct commit_item *it, const struct pp_error *err,
			json_t *detail)
{
	it->err = *err;
	json_decref(it->detail);
	it->detail = detail;
	commit_item_done(it, error_http_status(err->code));
}

void commit_item_fail(struct commit_item *it, enum err_code code,
		      const char *msg)
{
	struct pp_error err;

	error_set(&err, code, NULL, "%s", msg);
	commit_item_refuse(it, &err, NULL);
}

/* --- groups -----------------------------------------------------------------
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

static void requeue(struct group *g, bool solo)
{
	for (int i = g->n - 1; i >= 0; i--) {
		struct commit_item *it = g->items[i];
		if (it == NULL || it->state != ITEM_RUNNING)
			continue;
		decision_free(&it->decision);
		it->solo = it->solo || solo;
		it->checked = true;
		it->state = ITEM_QUEUED;
		TAILQ_INSERT_HEAD(&queue, it, queue);
		stats.queued++;
		g->items[i] = NULL;
		it->batch->held--;
		stats.retries++;
	}
}

void commit_requeue_solo(struct group *g)
{
	requeue(g, true);
}

void commit_requeue_checked(struct group *g)
{
	stats.unchecked_refused++;
	requeue(g, false);
}

void commit_group_end(struct group *g)
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
	items_running -= g->n;
	group_free(g);
	flush_finished();
	kick(app);
}

static struct group *group_new(struct app *app)
{
	struct group *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->app = app;
	g->writes = store_group_new();
	g->history_events = json_array();
	if (g->writes == NULL || g->history_events == NULL) {
		group_free(g);
		return NULL;
	}
	return g;
}

static void take(struct group *g, struct commit_item *it)
{
	TAILQ_REMOVE(&queue, it, queue);
	stats.queued--;
	it->state = ITEM_RUNNING;
	json_object_set_new(patients_running, it->ev.patient_id, json_true());
	snprintf(g->patients[g->n], sizeof(g->patients[0]), "%s",
		 it->ev.patient_id);
	it->batch->held++;
	g->items[g->n++] = it;
}

/* An atomic batch is a group of its own: all its items (one patient's),
 * in their order. */
static void take_atomic(struct group *g, struct commit_item *head)
{
	struct commit_item *it = head, *next;

	g->atomic = true;
	for (; it != NULL && g->n < GROUP_MAX; it = next) {
		next = TAILQ_NEXT(it, queue);
		if (it->batch == head->batch) {
			take(g, it);
			/* The patient is held once, by the first item. */
			if (g->n > 1)
				g->patients[g->n - 1][0] = '\0';
		}
	}
}

/* Takes the next group: items for distinct patients from the head on,
 * holding back every later item of a patient already taken or passed
 * over, so each patient's events keep their order. */
static struct group *take_group(struct app *app)
{
	struct group *g = group_new(app);
	json_t *seen = json_object();
	struct commit_item *it, *next;

	if (g == NULL || seen == NULL) {
		if (g != NULL)
			group_free(g);
		json_decref(seen);
		return NULL;
	}
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
		if ((it->solo || it->batch->atomic) && g->n > 0)
			continue;
		if (it->batch->atomic) {
			take_atomic(g, it);
			break;
		}
		take(g, it);
		if (it->solo)
			break;
	}
	json_decref(seen);
	return g;
}

/* Group commit, adaptive: the events in flight (queued, or in running
 * groups) are shared out among ingest_groups groups, and a group starts
 * once its share has gathered -- at once when the path is idle (one
 * client waits for nobody), about 4 events at 16 clients, 16 at 64 -- or
 * when a running group ends and takes what waits.  Started as they came,
 * groups were mostly of one event each: a transaction, two round trips
 * and a WAL flush per event. */
static bool may_start_group(const struct app *app)
{
	int share = (stats.queued + items_running) / app->cfg.ingest_groups;

	if (groups_running >= app->cfg.ingest_groups)
		return false;
	return groups_running == 0 || stats.queued >= (share > 1 ? share : 1);
}

static void kick(struct app *app)
{
	while (!TAILQ_EMPTY(&queue) && may_start_group(app)) {
		struct group *g = take_group(app);
		if (g == NULL)
			return;
		if (g->n == 0) {
			group_free(g); /* all wait for a running group */
			return;
		}
		groups_running++;
		items_running += g->n;
		count_group(g->n);
		stats.solo += g->n == 1 && g->items[0]->solo;
		g->phase_began = metrics_clock();
		db_acquire(app->pool, commit_tx_start, g);
	}
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	flush_finished();
}

static void submit(struct app *app, struct commit_item *items, size_t n,
		   bool atomic, commit_done_fn done, void *arg)
{
	struct commit_batch *b = calloc(1, sizeof(*b));

	for (size_t i = 0; i < n; i++) {
		items[i].batch = b;
		if (b == NULL && items[i].state == ITEM_QUEUED) {
			error_set(&items[i].err, ERR_INTERNAL, NULL,
				  "out of memory");
			items[i].status = 500;
			items[i].state = ITEM_DONE;
		}
	}
	if (b == NULL) {
		done(arg);
		return;
	}
	*b = (struct commit_batch){app, done, arg, 1, 0, atomic, false, NULL};
	for (size_t i = 0; i < n; i++) {
		if (items[i].state != ITEM_QUEUED)
			continue;
		b->unanswered++;
		TAILQ_INSERT_TAIL(&queue, &items[i], queue);
		stats.queued++;
	}
	b->unanswered--;
	maybe_finish(b);
	/* A batch answered at once is called back from the loop. */
	if (finished != NULL)
		event_base_once(app->base, -1, EV_TIMEOUT, on_deferred, NULL,
				NULL);
	kick(app);
}

void commit_submit(struct app *app, struct commit_item *items, size_t n,
		   commit_done_fn done, void *arg)
{
	submit(app, items, n, false, done, arg);
}

void commit_submit_atomic(struct app *app, struct commit_item *items, size_t n,
			  commit_done_fn done, void *arg)
{
	submit(app, items, n, true, done, arg);
}
