/*
 * outbox_send: one HTTP POST from the daemon to a receiver (a
 * Subscription's endpoint, a region's report endpoint), non-blocking on
 * the daemon's loop: libevent's HTTP client over a plain or TLS
 * bufferevent, names resolved by evdns, a time limit on the whole
 * exchange.  https is verified against the system's CA store and the
 * host name; plain http only where the endpoint check allowed it
 * (loopback).
 *
 * The body and headers are copied; done is called once, later, from the
 * loop (never from inside outbox_send), with the HTTP status (0 when no
 * answer came) and a reason when it failed.
 */
#ifndef PAINPATHD_OUTBOX_SEND_H
#define PAINPATHD_OUTBOX_SEND_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

typedef void (*outbox_sent_fn)(void *arg, int status, const char *error);

/* headers: "Name: value" lines, NULL-terminated (may be NULL). */
bool outbox_send(struct event_base *base, const char *url,
		 const char *const *headers, const char *body, size_t len,
		 int timeout_s, outbox_sent_fn done, void *arg)
	__attribute__((warn_unused_result));
/* Cancels every send still in flight (their done is not called) and
 * frees the resolver and the TLS context: at exit. */
void outbox_send_shutdown(void);

#endif
