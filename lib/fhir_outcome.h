/*
 * fhir_outcome: refusals in FHIR's words.  A struct fhir_error is a
 * pp_error (lib/error.h: the code, hence the HTTP status, and the message)
 * plus the FHIRPath expression of the element at fault; an
 * OperationOutcome renders either.  The issue type comes from fhir_map's
 * table unless the refusal names a finer one (e.g. "not-supported").
 */
#ifndef PAINPATH_FHIR_OUTCOME_H
#define PAINPATH_FHIR_OUTCOME_H

#include <stdbool.h>

#include <jansson.h>

#include "error.h"
#include "fhir_config.h"

/* Room for a path and one of our extension urls (FHIR_URL_MAX). */
#define FHIR_EXPRESSION_MAX 768

struct fhir_error {
	struct pp_error error;
	char expression[FHIR_EXPRESSION_MAX]; /* "" when no one element */
	const char *issue_type; /* static; NULL: fhir_map_issue_type */
};

/* Fills e and returns false, so refusals read `return fhir_error_set(...)`.
 * expression may be NULL; error.field stays empty (FHIR names the element
 * in the expression instead). */
bool fhir_error_set(struct fhir_error *e, enum err_code code,
		    const char *expression, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with a finer R4 issue type (static string). */
bool fhir_error_typed(struct fhir_error *e, enum err_code code,
		      const char *issue_type, const char *expression,
		      const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Wraps a pp_error from the /v1 layers (event_parse, fsm_apply, the
 * store) with the expression its field maps to (NULL: none). */
void fhir_error_from_pp(struct fhir_error *e, const struct pp_error *err,
			const char *expression);
/* Prefixes the expression (e.g. "Bundle.entry[3].resource"), replacing the
 * resource type that starts it, so an entry's error points into the
 * Bundle. */
void fhir_error_within(struct fhir_error *e, const char *prefix);

/* The OperationOutcome of a refusal (new reference): one issue with
 * severity, code, details (our error code under
 * <base>/CodeSystem/painpath-error, and the message), diagnostics and
 * expression. */
json_t *fhir_outcome(const struct fhir_config *cfg, const struct fhir_error *e);

#endif
