/*
 * commit: the one way events are recorded, whichever front-end they came
 * through (/v1/events, FHIR writes, corrections).  A front-end prepares
 * items (parses its own format into the /v1 event JSON, then
 * commit_item_prepare), submits them, and gets one callback once every
 * item has its answer.
 *
 * Every submitted item joins one queue, shared by all requests.  Groups of
 * items for different patients are taken from it; each group is one
 * transaction in two pipelined round trips (store.h): lock and look up,
 * then the pure decision (decide.h) for each item, then the group's
 * set-based writes and COMMIT.  Every answer -- a write, a replay, a
 * refusal -- leaves only after that COMMIT, so an answer never rests on a
 * commit that may not survive (a replay's group commits too, and with a
 * synchronous standby its commit waits for everything before it).
 *
 * If a group's writes fail (a race lost on a unique index, a deadlock, a
 * version moved), the group is rolled back and its items go back to the
 * head of the queue to run one by one, so one bad event never fails its
 * neighbours; alone, a lost race is retried and then sees the winner's
 * commit.  Events of one patient keep their order: a group takes at most
 * one item per patient, and never one behind an earlier waiting one.
 */
#ifndef PAINPATHD_COMMIT_H
#define PAINPATHD_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include <jansson.h>

#include "auth.h"
#include "decide.h"
#include "error.h"
#include "event.h"

struct app;
struct commit_batch;

struct commit_item {
	/* The event (borrowed: it must live until the batch is done) and
	 * who sends it. */
	json_t *json;
	const struct token *token;
	int if_match; /* the version the sender saw, or 0 (decide.h) */
	struct event ev;
	char *canonical; /* owned: the event's text as stored */

	/* The answer, once done: */
	int status;	     /* what the event alone would get */
	struct pp_error err; /* on refusal */
	json_t *detail;	     /* owned: extra error members, or NULL */
	bool replayed;
	char pathway_id[ID_MAX + 1];
	char *response; /* owned: the answer's JSON text (201, 200) */
	/* the recorded pathway, for front-ends that render their own
	 * answer (not set on a replay) */
	bool wrote;
	struct pathway after;
	struct transition tr;

	/* commit.c's own */
	struct commit_batch *batch;
	int state;
	bool solo;
	/* Its group skipped step 1 and an index refused the rows: it goes
	 * through step 1 from now on. */
	bool checked;
	int attempts;
	struct decision decision;
	TAILQ_ENTRY(commit_item) queue;
};

/* Parses the event and checks what needs no database.  False when it is
 * refused already (err and status set: answer it, do not submit it). */
bool commit_item_prepare(struct commit_item *it, json_t *json,
			 const struct token *token, cal_millis now)
	__attribute__((warn_unused_result));
/* Frees what an item owns (not its json). */
void commit_item_clear(struct commit_item *it);

typedef void (*commit_done_fn)(void *arg);

/* Records items[0..n) (prepared ones; refused ones are skipped) and calls
 * done(arg) once each has its answer, never from inside this call. */
void commit_submit(struct app *app, struct commit_item *items, size_t n,
		   commit_done_fn done, void *arg);
/* The same, all or nothing: items of one patient, at most 64, all
 * prepared, recorded in one transaction in their order, each deciding on
 * the pathway as the one before left it; if any is refused, none is
 * recorded (the others answer "not recorded"). */
void commit_submit_atomic(struct app *app, struct commit_item *items, size_t n,
			  commit_done_fn done, void *arg);

/* Group sizes counted up to these (cumulative, as Prometheus buckets). */
#define COMMIT_SIZE_BUCKETS 5
extern const int commit_size_bucket_le[COMMIT_SIZE_BUCKETS];

/* Where a group's time goes: waiting for a connection; step 1's round trip
 * (the locks and lookups); the decisions, in this process; step 2's round
 * trip (the writes, the COMMIT and its WAL flush). */
enum commit_phase { PHASE_LEASE, PHASE_CHECK, PHASE_DECIDE, PHASE_WRITE };
#define COMMIT_PHASES 4
extern const char *const commit_phase_name[COMMIT_PHASES];

struct commit_stats {
	unsigned long long groups, items, retries, solo;
	unsigned long long size_bucket[COMMIT_SIZE_BUCKETS];
	/* Groups of openings that skipped step 1, and those of them an index
	 * refused (their items then went through step 1). */
	unsigned long long unchecked, unchecked_refused;
	double phase_seconds[COMMIT_PHASES];
	unsigned long long phase_count[COMMIT_PHASES];
	int queued, running;
};
void commit_stats(struct commit_stats *out);

#endif
