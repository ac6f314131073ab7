/*
 * fhir_serve: the FHIR R4 front-end under /fhir (doc/fhir.md).  A
 * front-end only: reads go through the audited read machinery (reads.h),
 * writes are translated by lib/fhir_write and lib/fhir_update into /v1
 * events and recorded by the one commit path (commit.h).  Nothing here
 * decides what is allowed.
 *
 *   fhir_serve.c         metadata, SearchParameter, reads by id, the
 *                        route table's check against the capability
 *                        table, helpers
 *   fhir_serve_search.c  searches (Bundle searchset, keyset paging)
 *   fhir_serve_commit.c  creates, updates, batch and transaction Bundles
 *   fhir_serve_subs.c    Subscriptions (register, read, search, delete)
 *
 * Errors a handler can point at an element are sent as their own
 * OperationOutcome (fhir_reply_error); the rest are rendered by http.c.
 */
#ifndef PAINPATHD_FHIR_SERVE_H
#define PAINPATHD_FHIR_SERVE_H

#include <stdbool.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "fhir_outcome.h"
#include "fhir_resource.h"
#include "reads.h"
#include "reply.h"

struct app;
struct request;
struct route;

/* Handlers (routes.c). */
enum handled fhir_metadata_get(struct request *r, struct reply *out);
enum handled fhir_search_parameter_get(struct request *r, struct reply *out);
enum handled fhir_read_get(struct request *r, struct reply *out);
enum handled fhir_search_get(struct request *r, struct reply *out);
enum handled fhir_create_post(struct request *r, struct reply *out);
enum handled fhir_update_put(struct request *r, struct reply *out);
enum handled fhir_bundle_post(struct request *r, struct reply *out);
enum handled fhir_subscription_post(struct request *r, struct reply *out);
enum handled fhir_subscription_get(struct request *r, struct reply *out);
enum handled fhir_subscription_search(struct request *r, struct reply *out);
enum handled fhir_subscription_delete(struct request *r, struct reply *out);

/* At start: the base URL (fhir_base_url, or http://listen:port/fhir), and
 * the route table held against fhir_capability_resources[]: every
 * interaction the CapabilityStatement lists has its route and every FHIR
 * route is listed, with the same search parameters.  False (why filled)
 * when they disagree: the daemon must not start. */
bool fhir_serve_init(struct app *app, int port, char *why, size_t len)
	__attribute__((warn_unused_result));

/* The resource type a /fhir/<Type>... route serves, into type. */
void fhir_route_type(const struct request *r, char type[32]);

/* An OperationOutcome answer with the refusal's HTTP status. */
enum handled fhir_reply_error(struct reply *out, const struct app *app,
			      const struct fhir_error *e);
void fhir_answer_error(struct answer *a, const struct app *app,
		       const struct fhir_error *e);
/* A resource answer: status, ETag from meta.versionId; steals resource. */
void fhir_answer_resource(struct answer *a, int status, json_t *resource);

/* A pathway row of STMT_FHIR_VIEW* (doc, transitions, patient, region,
 * model) loaded into a view.  Owns the JSON the view borrows. */
struct fhir_pathway {
	json_t *pathway;
	json_t *transitions;
	struct fhir_view view;
	bool loaded;
};
bool fhir_pathway_load(struct fhir_pathway *p, const struct app *app,
		       const PGresult *res, int row)
	__attribute__((warn_unused_result));
void fhir_pathway_free(struct fhir_pathway *p);

#endif
