/*
 * fhir_fixture: pathways for the FHIR tests, built the way the daemon
 * builds them: each event goes through event_parse and fsm_apply, and the
 * pathway and its transitions are kept in their JSON forms (api.md), which
 * is what lib/fhir_* reads.  Transitions issue 12 will add (event.retracted,
 * event.corrected) are appended as JSON by fx_meta, since the state machine
 * does not know them yet.
 *
 * Ownership: the fixture owns pathway and transitions (fx_free).
 */
#ifndef PAINPATH_TEST_FHIR_FIXTURE_H
#define PAINPATH_TEST_FHIR_FIXTURE_H

#include <jansson.h>

#include "error.h"
#include "fhir_config.h"
#include "model.h"
#include "pathway.h"

#define FX_BASE "https://painpath.example.org/fhir"

struct fx {
	const struct model *model;
	struct pathway state;
	json_t *pathway;     /* pathway_to_json of state */
	json_t *transitions; /* array, oldest first */
	int events;
};

/* The four shipped models (config/models), loaded once per process. */
const struct model_set *fx_models(void);
const struct model *fx_model(const char *key);
const struct fhir_config *fx_config(void);

/* An empty fixture under a model, for pathways opened by fx_post. */
void fx_init(struct fx *fx, const char *model);
/* Posts an event JSON (borrowed) as the daemon would: the first opens the
 * pathway.  False with err set when the parser or the state machine
 * refuses it. */
bool fx_post(struct fx *fx, const json_t *event, struct pp_error *err);
/* Opens a pathway (id, patient p-<id>) at unit gp-1 of region region-1 on
 * 2025-03-03, for a patient of an age the model allows. data (stolen, may
 * be NULL) is pathway.opened's data. */
void fx_open(struct fx *fx, const char *model, const char *pathway_id,
	     json_t *data);
/* One more event; fails the test if the state machine refuses it.  unit
 * may be NULL; data is stolen (may be NULL). */
void fx_event(struct fx *fx, const char *type, const char *occurred_at,
	      const char *unit, json_t *data);
/* The event as fx_event would send it, refused: returns the error code. */
int fx_refused(struct fx *fx, const char *type, const char *occurred_at,
	       json_t *data);
/* Appends an issue-12 transition (event.retracted / event.corrected)
 * naming the event with id target; data is stolen.  The pathway's phase
 * is set to phase_after when not NULL (what the replay would give). */
void fx_meta(struct fx *fx, const char *type, const char *target, json_t *data,
	     const char *phase_after);
/* Appends a transition the state machine does not produce yet (issue
 * 12's pathway.reopened, ...); data is stolen; phase_after as fx_meta. */
void fx_raw(struct fx *fx, const char *type, const char *occurred_at,
	    json_t *data, const char *phase_after);
/* Walks a referral from gp-1 to clinic-1 as far as stage says: "referred",
 * "assessing", "waiting", "treated", "rejected", "withdrawn". */
void fx_referral(struct fx *fx, const char *stage);
void fx_free(struct fx *fx);

/* One row of a test/data table: tab-separated fields, "-" for none. */
struct fx_row {
	char field[8][512];
	int count;
	int line;
};

/* Reads up to max rows of a TSV file, skipping blank lines and "#"
 * comments; fails the test if the file cannot be read. */
size_t fx_tsv(const char *path, struct fx_row *rows, size_t max);
/* field i of row, or NULL for "-" or a missing field. */
const char *fx_field(const struct fx_row *row, int i);

#endif
