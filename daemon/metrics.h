/*
 * metrics: counters of this process for GET /metrics, in the Prometheus
 * text format.  Cheap to update (arrays indexed by route and status class),
 * so the hot path pays an increment.
 */
#ifndef PAINPATHD_METRICS_H
#define PAINPATHD_METRICS_H

#include <stdbool.h>

#include "domain.h"

struct app;
struct request;

/* route is the matched pattern (or NULL when none matched). */
void metrics_request(const char *route, const char *method, int status,
		     double seconds);
void metrics_event(enum event_type type, bool known_type, int status);
void metrics_reload(bool applied);
/* Monotonic seconds: what the phases of groups are timed by. */
double metrics_clock(void);
/* Text for GET /metrics (malloc'd). */
char *metrics_render(const struct app *app);

#endif
