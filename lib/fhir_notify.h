/*
 * fhir_notify: what a Subscription's delivery carries (doc/fhir.md
 * "Subscriptions and the outbox").  A notification tells of one recorded
 * event: the resources of its pathway that the event changed -- the
 * EpisodeOfCare always (its version moved), each ServiceRequest and Task
 * whose content differs from before the event or that it created --
 * rendered as they stood right after it, kept when they match the
 * subscription, and sent as a Bundle of type history: with each resource
 * (payload application/fhir+json) or with its fullUrl, method and ETag
 * only (id-only).
 *
 * Pure.  The JSON functions return new references; the views are
 * borrowed.
 */
#ifndef PAINPATH_FHIR_NOTIFY_H
#define PAINPATH_FHIR_NOTIFY_H

#include <stdbool.h>

#include <jansson.h>

#include "fhir_resource.h"
#include "fhir_subscription.h"

/* The resources the event changed: after is the pathway right after it,
 * before right before it (NULL when it opened the pathway).  An array,
 * the EpisodeOfCare first. */
json_t *fhir_notify_changed(const struct fhir_view *after,
			    const struct fhir_view *before);

/* Does a changed resource concern the subscription?  Its criteria, and
 * for the Norwegian decision feedback (decision true) also the copy to
 * the patient's GP: a Task matches as if gp_unit had sent the referral. */
bool fhir_notify_matches(const struct fhir_subscription *sub,
			 const json_t *resource, bool decision,
			 const char *gp_unit);

/* The notification: a history Bundle of the resources (stolen array),
 * each entry with fullUrl, request (PUT, or POST for a resource at
 * version 1) and response (status, ETag, lastModified), and the resource
 * itself when full. */
json_t *fhir_notify_bundle(const struct fhir_config *cfg, json_t *resources,
			   bool full);

#endif
