/*
 * fhir_subscription: the pure parts of R4 rest-hook Subscriptions.
 *
 *   - parse and validate a Subscription: criteria on Task or EpisodeOfCare
 *     (the parameters fhir_capability lists for them that are tokens or
 *     references: owner=, patient=, status=, ...), channel.type rest-hook,
 *     an endpoint that is https, or http only on loopback (127.0.0.0/8,
 *     [::1], localhost), payload empty (id-only) or application/fhir+json;
 *   - match a rendered resource against the criteria;
 *   - sign a delivery body with HMAC-SHA256 under the subscription's secret;
 *   - the status lifecycle: requested -> active -> error and back, off.
 *
 * The secret comes from the client (extension painpath-signing-secret,
 * 32..256 characters, never shown again) or, without one, the daemon
 * makes one and returns it once.  Storing, the outbox and delivery are the
 * daemon's.  Everything here works on caller-owned buffers; the JSON
 * functions return new references.
 */
#ifndef PAINPATH_FHIR_SUBSCRIPTION_H
#define PAINPATH_FHIR_SUBSCRIPTION_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "calendar.h"
#include "fhir_capability.h"
#include "fhir_config.h"
#include "fhir_outcome.h"
#include "hmac.h"

#define FHIR_SUB_MAX_CRITERIA 8
#define FHIR_SUB_MAX_VALUES   8
#define FHIR_SUB_VALUE_MAX    320
#define FHIR_SUB_MAX_HEADERS  4
#define FHIR_SUB_HEADER_MAX   256
#define FHIR_SUB_SECRET_MIN   32
#define FHIR_SUB_SECRET_MAX   256

/* The header a delivery carries, and its value: "sha256=<64 hex>". */
#define FHIR_SIGNATURE_HEADER "X-Painpath-Signature"
#define FHIR_SIGNATURE_LEN    (7 + HMAC_SHA256_HEX_LEN)

enum fhir_sub_status {
	FHIR_SUB_REQUESTED,
	FHIR_SUB_ACTIVE,
	FHIR_SUB_ERROR,
	FHIR_SUB_OFF,
};

/* What happened, for the status lifecycle. */
enum fhir_sub_outcome {
	FHIR_SUB_DELIVERED,  /* the endpoint answered 2xx */
	FHIR_SUB_FAILED,     /* retries exhausted for now */
	FHIR_SUB_EXPIRED,    /* Subscription.end has passed */
	FHIR_SUB_TURNED_OFF, /* the client set status off */
	FHIR_SUB_TURNED_ON,  /* the client set it requested/active again */
};

struct fhir_criterion {
	char name[64]; /* the search parameter, modifier dropped */
	enum fhir_param_type type;
	char values[FHIR_SUB_MAX_VALUES][FHIR_SUB_VALUE_MAX]; /* any of */
	size_t value_count;
};

struct fhir_subscription {
	char resource_type[32];	     /* "Task" or "EpisodeOfCare" */
	char criteria[FHIR_URL_MAX]; /* as given */
	struct fhir_criterion terms[FHIR_SUB_MAX_CRITERIA]; /* all of */
	size_t term_count;
	char endpoint[FHIR_URL_MAX];
	bool full_payload; /* application/fhir+json; false: id-only */
	char headers[FHIR_SUB_MAX_HEADERS][FHIR_SUB_HEADER_MAX];
	size_t header_count;
	enum fhir_sub_status status; /* REQUESTED or OFF as asked */
	cal_millis end;		     /* 0: none */
	char reason[256];
	char secret[FHIR_SUB_SECRET_MAX + 1]; /* "" when the client sent none */
};

bool fhir_subscription_parse(const struct fhir_config *cfg,
			     const json_t *resource,
			     struct fhir_subscription *out,
			     struct fhir_error *err)
	__attribute__((warn_unused_result));

/* Does this rendered resource (fhir_resource's output) match? */
bool fhir_subscription_matches(const struct fhir_subscription *sub,
			       const json_t *resource);

/* FHIR token search semantics, shared with searches (fhir_search):
 * value "system|code", "|code" (no system), "system|" (any code in
 * system) or "code" (any system); "\|" is a literal bar. */
bool fhir_token_matches(const char *system, const char *code,
			const char *value);
/* A Reference, logical (its identifier as a token) or literal ("Type/id"
 * or "id"), against a search value. */
bool fhir_reference_matches(const json_t *ref, const char *value);
/* Splits a search or criteria value at unescaped commas ("\," is a comma,
 * "\|" stays escaped: it is not a system separator) into count rows of
 * values, each value_max bytes; false when empty, too many or too long. */
bool fhir_split_values(const char *value, char *values, size_t value_max,
		       size_t max_values, size_t *count);

/* https://..., or http:// to a loopback host; no user info, no fragment.
 * Also for the regions' report endpoints. */
bool fhir_subscription_endpoint_ok(const char *url, char *why, size_t why_len)
	__attribute__((warn_unused_result));

/* "sha256=" and the HMAC-SHA256 of body under secret, in hex. */
bool fhir_subscription_sign(const char *secret, const void *body, size_t len,
			    char out[FHIR_SIGNATURE_LEN])
	__attribute__((warn_unused_result));
/* True when header is the signature of body under secret (compared in
 * constant time), for receivers and tests. */
bool fhir_subscription_verify(const char *secret, const void *body, size_t len,
			      const char *header);

enum fhir_sub_status fhir_subscription_next(enum fhir_sub_status status,
					    enum fhir_sub_outcome outcome);
const char *fhir_subscription_status_name(enum fhir_sub_status status);

/* The Subscription as a read shows it (no secret); error may be NULL. */
json_t *fhir_subscription_to_json(const struct fhir_subscription *sub,
				  const char *id, enum fhir_sub_status status,
				  const char *error);

#endif
