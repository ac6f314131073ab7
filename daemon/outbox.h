/*
 * outbox: delivers what the outbox table holds -- Subscription
 * notifications written by the commit path in the same transaction as
 * each change, and the regions' night reports queued by the night's run
 * -- to their receivers, from the daemon's loop (doc/fhir.md
 * "Subscriptions and the outbox").
 *
 *   - At least once: a row is marked delivered only after the receiver
 *     answered 2xx; a daemon that dies meanwhile leaves it leased, and
 *     the lease runs out.
 *   - In order per resource: rows form streams (a subscription's rows of
 *     one pathway; a region's reports), and only a stream's oldest
 *     undelivered row can be claimed.
 *   - One sender: claims take rows FOR UPDATE SKIP LOCKED and lease them,
 *     so with several daemons each row goes out from one at a time.
 *   - Retries with exponential back-off (250 ms doubling, at most a
 *     minute, for ever); the Subscription moves to error after three
 *     failed tries of a row and back to active on the next delivery.
 *
 * Each delivery is signed (X-Painpath-Signature, HMAC-SHA256 of the body)
 * and audited like a read before it leaves: it shows patients.
 */
#ifndef PAINPATHD_OUTBOX_H
#define PAINPATHD_OUTBOX_H

#include <stdbool.h>

struct app;

/* Reads report_endpoints_file, writes its regions into report_endpoints
 * (blocking: call it before the loop, and before the scheduler may run a
 * missed night) and starts the worker's timer. */
bool outbox_start(struct app *app) __attribute__((warn_unused_result));
/* Draining: claim nothing more. */
void outbox_stop_claiming(void);
/* At exit, after the loop: frees what is still in flight. */
void outbox_free(void);

/* Deliveries this process made since it started, and tries that failed
 * (for /metrics; the backlog is counted with the clinic figures). */
struct outbox_stats {
	unsigned long long delivered, failed;
};
void outbox_stats(struct outbox_stats *out);

#endif
