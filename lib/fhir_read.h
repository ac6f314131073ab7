/*
 * fhir_read: reading the elements of an untrusted FHIR resource, each
 * refusal naming the element at fault as a FHIRPath expression
 * ("ServiceRequest.performer[0].identifier.value").  Only the shapes the
 * writes need: identifiers and logical references, our extensions, codes,
 * dates and instants, and the If-None-Exist condition.
 *
 * Checks here are about FHIR's shape; what a value means for a pathway
 * (a known level, a date in range, a legal event) is left to event_parse
 * and the state machine, so no rule is implemented twice.
 *
 * Every const char * returned borrows from the resource JSON.
 */
#ifndef PAINPATH_FHIR_READ_H
#define PAINPATH_FHIR_READ_H

#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "fhir_config.h"
#include "fhir_outcome.h"
#include "model.h"

/* Longest text a FHIR string may bring in (api.md's texts). */
#define FHIR_READ_TEXT_MAX 4000

struct fhir_ident {
	const char *system; /* NULL when absent */
	const char *value;  /* NULL when absent */
};

/* resourceType is type, and the resource carries nothing we must refuse
 * (modifierExtension, implicitRules: FHIR says a server that does not
 * understand them must not accept the resource). */
bool fhir_read_check_resource(const json_t *resource, const char *type,
			      struct fhir_error *err)
	__attribute__((warn_unused_result));

/* resource.<element>.identifier as a logical reference (absent: both
 * NULL).  A Reference.reference (literal) is refused: we hold no Patient
 * or Organization resources to resolve it against. */
bool fhir_read_reference(const json_t *resource, const char *type,
			 const char *element, struct fhir_ident *out,
			 struct fhir_error *err)
	__attribute__((warn_unused_result));
/* The system of a reference read above, if given, must be want. */
bool fhir_read_check_system(const struct fhir_ident *id, const char *want,
			    const char *expression, struct fhir_error *err)
	__attribute__((warn_unused_result));

/* A string element (absent: NULL); refuses non-strings, NULs and texts
 * over FHIR_READ_TEXT_MAX. */
bool fhir_read_string(const json_t *obj, const char *key,
		      const char *expression, const char **out,
		      struct fhir_error *err)
	__attribute__((warn_unused_result));
/* A dateTime with a time and an offset, as our events need (absent: 0). */
bool fhir_read_instant(const json_t *obj, const char *key,
		       const char *expression, cal_millis *out,
		       const char **text, struct fhir_error *err)
	__attribute__((warn_unused_result));
/* A CodeableConcept's text, else its first coding's display, else its
 * code (absent: NULL). */
bool fhir_read_concept_text(const json_t *obj, const char *key,
			    const char *expression, const char **out,
			    struct fhir_error *err)
	__attribute__((warn_unused_result));
/* The code of the coding in system among a CodeableConcept's codings
 * (absent: NULL). */
bool fhir_read_concept_code(const json_t *concept, const char *system,
			    const char *expression, const char **out,
			    struct fhir_error *err)
	__attribute__((warn_unused_result));

/* The extensions of obj whose url is <base>/StructureDefinition/
 * painpath-<name>.  A painpath-* url we do not define is refused (a typo
 * would otherwise be ignored); other extensions are left alone.  known
 * lists the names obj may carry, NULL-terminated. */
bool fhir_read_check_extensions(const struct fhir_config *cfg,
				const json_t *obj, const char *path,
				const char *const *known,
				struct fhir_error *err)
	__attribute__((warn_unused_result));
/* The first extension painpath-<name> of obj (NULL: none); expr receives
 * its FHIRPath ("<path>.extension('<url>')"). */
const json_t *fhir_read_extension(const struct fhir_config *cfg,
				  const json_t *obj, const char *path,
				  const char *name,
				  char expr[FHIR_EXPRESSION_MAX]);
/* The code of a valueCode or valueCoding (its code), NULL if neither. */
const char *fhir_read_code_value(const json_t *ext);
/* The sub-extension with this url of a complex extension, or NULL. */
const json_t *fhir_read_sub_extension(const json_t *ext, const char *url);

/* "identifier=system|value" (or "identifier=value"), percent-decoded.
 * Refuses any other search in If-None-Exist. */
bool fhir_read_if_none_exist(const char *text, char *system, size_t system_len,
			     char *value, size_t value_len,
			     struct fhir_error *err)
	__attribute__((warn_unused_result));

#endif
