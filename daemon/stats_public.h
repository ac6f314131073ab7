/*
 * stats_public: GET /public/waiting-times, the waiting times per unit for
 * patients, computed in the background at most every few minutes.
 */
#ifndef PAINPATHD_STATS_PUBLIC_H
#define PAINPATHD_STATS_PUBLIC_H

#include "reply.h"

struct request;

enum handled public_waiting_get(struct request *r, struct reply *out);
/* At exit, after the loop. */
void stats_public_free(void);

#endif
