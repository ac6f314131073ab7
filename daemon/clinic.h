/*
 * clinic: what a clinic manager reads on the operators' dashboard -- open
 * pathways by region, phase and level; running, overdue and paused clocks
 * by region and rule -- counted by the database every refresh_s seconds,
 * in the background, and kept for /metrics: a scrape never counts
 * (cheap at a million pathways).
 */
#ifndef PAINPATHD_CLINIC_H
#define PAINPATHD_CLINIC_H

#include <stdbool.h>

struct app;
struct textbuf;

bool clinic_start(struct app *app, int refresh_s)
	__attribute__((warn_unused_result));
void clinic_stop(void);
/* The last counts, in the Prometheus text format. */
void clinic_render(struct textbuf *t);

#endif
