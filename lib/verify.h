/*
 * verify: the check an operator runs after a restore or an upgrade
 * (`painpath verify`).  For every pathway: its stored state must be what
 * the state machine gives when it replays the pathway's recorded history
 * (lib/replay.c, corrections applied), its version the number of its
 * transitions, its due-date columns the running clocks' due dates, and its
 * JSON text (what reads answer) the stored state.  Blocking libpq: for the
 * command line, never the daemon's loop.
 */
#ifndef PAINPATH_VERIFY_H
#define PAINPATH_VERIFY_H

#include <stdbool.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "model.h"
#include "pgarray.h"

struct verify_counts {
	long pathways;
	long transitions;
	long mismatched; /* pathways with at least one mismatch */
	long mismatches;
	/* Each mismatched pathway's id, once (the caller pgarray_frees). */
	struct pgarray mismatched_ids;
};

/* Walks every pathway (pages of page_size, keyed by pathway_id), writing
 * one line per mismatch to out ("pathway <id>: <what>: stored <a>, replay
 * <b>").  False on a database error (err set); mismatches are counted, not
 * errors. */
bool verify_run(PGconn *conn, const struct model_set *models, int page_size,
		FILE *out, struct verify_counts *counts, char *err,
		size_t errlen) __attribute__((warn_unused_result));

#endif
