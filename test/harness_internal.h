/*
 * What the parts of the harness share and tests do not use: time,
 * processes, descriptors, and the list of what to clean up at exit.
 */
#ifndef PAINPATH_HARNESS_INTERNAL_H
#define PAINPATH_HARNESS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* snprintf for buffers that cannot overflow in practice (our own short
 * /tmp paths), without gcc's truncation warnings at each call. */
int harness_xsnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int64_t harness_now_ms(void); /* CLOCK_MONOTONIC */
/* Milliseconds until deadline (harness_now_ms's clock), at least 0. */
int harness_remaining_ms(int64_t deadline);

/* Closes every descriptor from lowfd up, in a child before exec. */
void harness_close_from(int lowfd);
/* stdin from /dev/null, in a child before exec. */
void harness_redirect_stdin(void);
/* Waits for pid; its exit status, or -1 when it died by a signal. */
int harness_reap(pid_t pid);

/* Clusters to remove at exit, if the process that made them exits first. */
void harness_track_pg(const char *dir);
void harness_untrack_pg(const char *dir);
/* Stops and removes a cluster by its directory, whatever state it is in. */
void harness_pg_wipe(const char *dir, int log_fd);

/* Recording answers for the OpenAPI check (harness_record.c): the first
 * bytes sent on a connection name the request, its answer is appended
 * with it; a new connection on a reused descriptor starts afresh.  All
 * do nothing unless PAINPATH_RECORD_ANSWERS names a file. */
void harness_record_forget(int fd);
void harness_record_request(int fd, const void *bytes, size_t len);
void harness_record_answer(int fd, const struct http_response *r);

#endif
