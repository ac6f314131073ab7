/*
 * fhir_write: a FHIR write translated into exactly one /v1 event (the JSON
 * POST /v1/events takes), so it goes through the same parser, state
 * machine and commit path as every other event: no rule is implemented
 * twice.  This file does the creates and what all writes share; the
 * updates (PUT Task, PUT EpisodeOfCare) are in fhir_update.
 *
 *   POST EpisodeOfCare   -> pathway.opened
 *   POST ServiceRequest  -> referral.sent
 *
 * The business identifier plays event_id's role: If-None-Exist
 * (identifier=system|value) and the resource's identifier give the
 * event_id, so a retried create replays (200, the resource as created).
 * Without either, the event_id is a hash of the resource, so the same body
 * posted again replays too.
 *
 * When a refusal comes back from event_parse, fsm_apply or the commit
 * path, fhir_write_error points it at the element the event field came
 * from.
 *
 * Ownership: a struct fhir_write owns its event (fhir_write_free); the
 * resource and pathway are borrowed.
 */
#ifndef PAINPATH_FHIR_WRITE_H
#define PAINPATH_FHIR_WRITE_H

#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "fhir_config.h"
#include "fhir_outcome.h"
#include "model.h"

enum fhir_write_kind {
	FHIR_WRITE_EVENT, /* post event */
	FHIR_WRITE_NOOP,  /* the resource already says this: answer 200
			     with the current resource, record nothing */
};

/* Which write, for the event-field -> element map. */
enum fhir_write_target {
	FHIR_TARGET_EPISODE_CREATE,
	FHIR_TARGET_REQUEST_CREATE,
	FHIR_TARGET_TASK_UPDATE,
	FHIR_TARGET_EPISODE_UPDATE,
};

struct fhir_write {
	enum fhir_write_kind kind;
	enum fhir_write_target target;
	json_t *event; /* owned; the /v1 event when kind is EVENT */
	/* occurred_at is the server's now: the resource gave no time.  A
	 * retry then differs in occurred_at (doc/fhir.md, open question). */
	bool occurred_at_assumed;
};

/* POST EpisodeOfCare -> pathway.opened.  The model comes from
 * EpisodeOfCare.type (CodeSystem painpath-model).  if_none_exist may be
 * NULL; now is the server clock (occurred_at when period.start is
 * absent). */
bool fhir_write_episode(const struct fhir_config *cfg,
			const struct model_set *models, const json_t *resource,
			const char *if_none_exist, cal_millis now,
			struct fhir_write *out, struct fhir_error *err)
	__attribute__((warn_unused_result));

/* POST ServiceRequest -> referral.sent, on the patient's open pathway
 * (pathway_to_json's form; NULL when the patient has none: the event then
 * names no pathway and the commit path answers not_found). */
bool fhir_write_request(const struct fhir_config *cfg,
			const struct model_set *models, const json_t *pathway,
			const json_t *resource, const char *if_none_exist,
			cal_millis now, struct fhir_write *out,
			struct fhir_error *err)
	__attribute__((warn_unused_result));

void fhir_write_free(struct fhir_write *w);

/* The patient a resource is written for, by identifier: EpisodeOfCare.
 * patient, ServiceRequest.subject, Task.for.  False if it names none;
 * expression receives the element either way. */
bool fhir_write_patient(const json_t *resource, const char **system,
			const char **value,
			char expression[FHIR_EXPRESSION_MAX]);

/* A refusal of w's event (from event_parse, fsm_apply or the commit path),
 * pointed at the element its field came from. */
void fhir_write_error(const struct fhir_config *cfg, const struct fhir_write *w,
		      const struct pp_error *refusal, struct fhir_error *out);

/* --- for fhir_update -------------------------------------------------------
 */

/* An event with the fields every write sets (new reference). */
json_t *fhir_write_event(const char *event_id, const char *type,
			 const char *patient_id, const char *pathway_id,
			 const char *occurred_at, cal_millis now, json_t *data,
			 bool *assumed);

#endif
