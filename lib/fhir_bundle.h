/*
 * fhir_bundle: Bundles out (searchset with total and self/next links over
 * an opaque cursor; batch-response and transaction-response) and in (a
 * batch or transaction Bundle read into its entries, with the checks that
 * need no pathway: methods, urls, resource types, ifMatch versions, one
 * patient per transaction).
 *
 * Ownership: the builders steal the resources and outcomes given to them
 * and return new references.  A parsed request borrows from the Bundle
 * JSON (keep it alive) and owns its entries array
 * (fhir_bundle_request_free).
 */
#ifndef PAINPATH_FHIR_BUNDLE_H
#define PAINPATH_FHIR_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "fhir_config.h"
#include "fhir_id.h"
#include "fhir_outcome.h"

/* The query parameter that carries a page's cursor in next links. */
#define FHIR_CURSOR_PARAM "cursor"

enum fhir_bundle_kind {
	FHIR_BUNDLE_SEARCHSET,
	FHIR_BUNDLE_BATCH_RESPONSE,
	FHIR_BUNDLE_TRANSACTION_RESPONSE,
};

struct fhir_query_param {
	const char *name;
	const char *value; /* as decoded; the link encodes it */
};

json_t *fhir_bundle_new(enum fhir_bundle_kind kind);
/* searchset: the number of matches, where it is cheap to know. */
void fhir_bundle_set_total(json_t *bundle, long total);
/* searchset: an entry with fullUrl <base>/<type>/<id> and search.mode
 * "match" (or "include" for _include).  Steals resource. */
bool fhir_bundle_add_match(json_t *bundle, const struct fhir_config *cfg,
			   json_t *resource, bool include)
	__attribute__((warn_unused_result));
/* searchset: the self link from params, and a next link with
 * FHIR_CURSOR_PARAM=next_cursor added when next_cursor is not NULL. */
bool fhir_bundle_set_links(json_t *bundle, const struct fhir_config *cfg,
			   const char *type,
			   const struct fhir_query_param *params, size_t count,
			   const char *next_cursor)
	__attribute__((warn_unused_result));
/* batch-/transaction-response: one entry per request entry, in the
 * request's order.  status is the HTTP status; resource (the created or
 * updated resource, or NULL) gives location, etag and lastModified;
 * outcome (an OperationOutcome, or NULL) says why not.  Steals both. */
bool fhir_bundle_add_response(json_t *bundle, const struct fhir_config *cfg,
			      int status, json_t *resource, json_t *outcome)
	__attribute__((warn_unused_result));
/* "201 Created" and so on (static); "500 Internal Server Error" for a
 * status it does not know. */
const char *fhir_bundle_status_line(int status);

/* --- Bundles in ------------------------------------------------------------
 */

enum fhir_method {
	FHIR_METHOD_GET,
	FHIR_METHOD_POST,
	FHIR_METHOD_PUT,
	FHIR_METHOD_DELETE,
};

struct fhir_entry {
	enum fhir_method method;
	const char *url;	  /* as given, borrowed */
	char type[32];		  /* the resource type the url names */
	char id[FHIR_ID_MAX + 1]; /* "" when the url names no id */
	const char *query;	  /* after '?' (GET searches), or NULL */
	const json_t *resource;	  /* borrowed; NULL for GET */
	const char *if_none_exist;
	const char *if_match; /* as given, or NULL */
	int if_match_version; /* -1 when no ifMatch */
	/* the patient the entry is for (transaction), borrowed */
	const char *patient_system;
	const char *patient_value;
};

struct fhir_bundle_request {
	bool transaction;
	struct fhir_entry *entries; /* owned */
	size_t count;
};

/* Reads a batch or transaction Bundle of at most max_entries entries.
 * Refuses (err, with the expression at fault) anything but POST/PUT of
 * a type the capability table lets be created/updated and, in a batch,
 * GET; a transaction's entries must all name one patient. */
bool fhir_bundle_parse(const json_t *bundle, size_t max_entries,
		       const struct fhir_config *cfg,
		       struct fhir_bundle_request *out, struct fhir_error *err)
	__attribute__((warn_unused_result));
void fhir_bundle_request_free(struct fhir_bundle_request *req);
/* The order to process entries in: a batch as given; a transaction by
 * FHIR's rule (creates, then updates, then reads), as given within each.
 * order receives req->count indexes. */
void fhir_bundle_order(const struct fhir_bundle_request *req, size_t *order);
/* "W/\"3\"" or "3" -> 3; -1 when text is not one of these. */
int fhir_bundle_etag_version(const char *text);

#endif
