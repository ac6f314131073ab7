/*
 * writes: the statements that record one accepted event -- the pathway's
 * new row (insert or versioned update), its transition, and the Norwegian
 * decision notification -- with every parameter's text kept alive in one
 * struct until the batch is sent.
 */
#ifndef PAINPATHD_WRITES_H
#define PAINPATHD_WRITES_H

#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "db.h"
#include "event.h"
#include "fsm.h"

#define WRITE_MAX_QUERIES 3

struct write_params {
	char version[16], seq[16], flags[512], occurred[CAL_TIMESTAMP_LEN],
		recorded[CAL_TIMESTAMP_LEN], opened[CAL_TIMESTAMP_LEN],
		updated[CAL_TIMESTAMP_LEN], closed[CAL_TIMESTAMP_LEN],
		due[RULE_COUNT][CAL_DATE_LEN], next_due[CAL_DATE_LEN],
		received[CAL_TIMESTAMP_LEN], waited_since[CAL_TIMESTAMP_LEN],
		covered[16];
	char *state, *data, *response, *notification; /* owned */
};

struct pathway_write {
	struct write_params w;
	struct db_query q[WRITE_MAX_QUERIES];
	int nq;
};

/* Builds the queries for one transition; *response receives the answer
 * the event gets ({"pathway", "transition"}, new reference).  The queries
 * point into after, ev and canonical: they must outlive the send. */
bool pathway_write_prepare(struct pathway_write *pw,
			   const struct pathway *after,
			   const struct transition *tr,
			   const struct fsm_effects *fx, const struct event *ev,
			   const char *canonical, bool insert,
			   json_t **response)
	__attribute__((warn_unused_result));
void pathway_write_free(struct pathway_write *pw);

#endif
