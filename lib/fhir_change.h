/*
 * fhir_change: what one recorded event changed, described for the
 * Subscriptions' outbox (doc/fhir.md "Subscriptions and the outbox").
 *
 * The commit path writes, in the same transaction as the event, one outbox
 * row for every live Subscription whose criteria columns the change may
 * match.  That join only narrows: the delivery worker renders the
 * resources as they stood after the event and matches each against the
 * whole criteria.  So the description is a superset, never a decision:
 * every unit that can own, request or manage a resource the event
 * changed, the EpisodeOfCare status after it, and whether it is the
 * Norwegian decision feedback (copies to the patient's GP).
 *
 * Pure; the struct holds copies.
 */
#ifndef PAINPATH_FHIR_CHANGE_H
#define PAINPATH_FHIR_CHANGE_H

#include <stdbool.h>

#include "domain.h"
#include "pathway.h"

/* The pathway's unit and GP unit, and the referral's three units, before
 * and after. */
#define FHIR_CHANGE_UNITS 10

struct fhir_change {
	const char *episode_status; /* static; R4 episode-of-care-status */
	char units[FHIR_CHANGE_UNITS][ID_MAX + 1];
	int unit_count;
	/* A correction, retraction or reopening may change any referral of
	 * the pathway: no unit narrows it. */
	bool any_unit;
	/* Norway's decision feedback to the referrer, copied to the GP. */
	bool decision;
};

/* before is NULL when the event opened the pathway. */
void fhir_change_describe(const struct pathway *before,
			  const struct pathway *after, const char *event_type,
			  bool notify_decision, struct fhir_change *out);
#endif
