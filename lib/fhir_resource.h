/*
 * fhir_resource: a pathway's FHIR R4 resources, rendered from its stable
 * JSON forms (doc/fhir.md "Resources out"):
 *
 *   EpisodeOfCare   the pathway: status from the phase, statusHistory from
 *                   the transitions, model, level, flags and deadlines
 *   ServiceRequest  each referral (one per referral.sent transition)
 *   Task            each referral's workflow, focus = its ServiceRequest
 *
 * Patients and units are logical references (Reference.identifier) in the
 * model's identifier systems: the daemon holds no demographics.  Every
 * resource of a pathway carries meta.versionId = the pathway's version, so
 * an ETag / If-Match means the same on all of them.
 *
 * Pure: no I/O, no clock.  Ownership: the view borrows cfg, the model, the
 * pathway and the transitions (keep them alive while it is used) and owns
 * its history (fhir_view_free).  Every json_t * returned is a new
 * reference, NULL only when memory runs out or (fhir_resource_read) when
 * the id names no resource of this pathway.
 */
#ifndef PAINPATH_FHIR_RESOURCE_H
#define PAINPATH_FHIR_RESOURCE_H

#include <stdbool.h>

#include <jansson.h>

#include "fhir_config.h"
#include "fhir_history.h"
#include "fhir_id.h"
#include "model.h"

struct fhir_view {
	const struct fhir_config *cfg;
	const struct model *model;
	const json_t *pathway; /* pathway_to_json's form */
	struct fhir_history history;
	/* read from the pathway, borrowed from it */
	const char *pathway_id;
	const char *patient_id;
	const char *region;
	const char *phase;
	int version;
	char episode_id[FHIR_ID_MAX + 1];
};

/* False if the pathway or the transitions are not in api.md's form, or
 * memory runs out (the caller answers 500: stored state is corrupt). */
bool fhir_view_load(struct fhir_view *v, const struct fhir_config *cfg,
		    const struct model *model, const json_t *pathway,
		    const json_t *transitions)
	__attribute__((warn_unused_result));
void fhir_view_free(struct fhir_view *v);

json_t *fhir_resource_episode(const struct fhir_view *v);
json_t *fhir_resource_service_request(const struct fhir_view *v,
				      const struct fhir_referral *ref);
json_t *fhir_resource_task(const struct fhir_view *v,
			   const struct fhir_referral *ref);
/* The referral a ServiceRequest or Task id of this pathway names, or
 * NULL. */
const struct fhir_referral *fhir_view_referral(const struct fhir_view *v,
					       const char *id);
/* The resource of this pathway with this type ("EpisodeOfCare",
 * "ServiceRequest", "Task") and FHIR id, or NULL if it has none. */
json_t *fhir_resource_read(const struct fhir_view *v, const char *type,
			   const char *id);
/* Every resource of the pathway: the EpisodeOfCare, then per referral
 * (oldest first) its ServiceRequest and its Task.  An array. */
json_t *fhir_resource_all(const struct fhir_view *v);

/* The ETag of a pathway's resources: W/"<version>". */
void fhir_resource_etag(int version, char out[24]);

#endif
