/*
 * fhir_capability: what /fhir serves, as one table of resource rows (type,
 * interactions, search parameters with their types and documentation,
 * _include targets).  The CapabilityStatement is generated from the table,
 * and the daemon registers its FHIR routes from the same rows, so the
 * statement cannot drift from what is served.
 *
 * The table and every string in it are static; the JSON functions return
 * new references.
 */
#ifndef PAINPATH_FHIR_CAPABILITY_H
#define PAINPATH_FHIR_CAPABILITY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "calendar.h"
#include "fhir_config.h"

#define FHIR_VERSION "4.0.1"
#define FHIR_MIME    "application/fhir+json"

/* R4 type-restful-interaction codes a row may allow (bits). */
enum fhir_interaction {
	FHIR_INTERACTION_READ = 1u << 0,
	FHIR_INTERACTION_SEARCH = 1u << 1, /* search-type */
	FHIR_INTERACTION_CREATE = 1u << 2,
	FHIR_INTERACTION_UPDATE = 1u << 3,
	FHIR_INTERACTION_DELETE = 1u << 4,
};
#define FHIR_INTERACTION_COUNT 5

/* R4 system-restful-interaction codes (bits). */
enum fhir_system_interaction {
	FHIR_SYSTEM_BATCH = 1u << 0,
	FHIR_SYSTEM_TRANSACTION = 1u << 1,
};

enum fhir_param_type {
	FHIR_PARAM_TOKEN,
	FHIR_PARAM_REFERENCE,
	FHIR_PARAM_DATE,
	FHIR_PARAM_STRING,
	FHIR_PARAM_URI,
};

struct fhir_search_param {
	const char *name;
	enum fhir_param_type type;
	const char *expression; /* FHIRPath of what it searches */
	bool custom;		/* ours: <base>/SearchParameter/<Type>-<name> */
	const char *documentation;
};

struct fhir_resource_row {
	const char *type;
	unsigned interactions; /* enum fhir_interaction bits */
	bool conditional_create;
	bool versioned_update;			/* If-Match on update */
	const struct fhir_search_param *params; /* ends with name NULL */
	const char *const *includes; /* ends with NULL; may be NULL */
	const char *documentation;
};

extern const struct fhir_resource_row fhir_capability_resources[];
extern const size_t fhir_capability_resource_count;
extern const unsigned fhir_capability_system_interactions;

const struct fhir_resource_row *fhir_capability_find(const char *type);
const struct fhir_search_param *
fhir_capability_param(const struct fhir_resource_row *row, const char *name);
bool fhir_capability_allows(const struct fhir_resource_row *row,
			    enum fhir_interaction interaction);
const char *fhir_capability_param_type_name(enum fhir_param_type type);
/* "read", "search-type", ... for one bit; NULL for anything else. */
const char *fhir_capability_interaction_name(unsigned interaction);

/* The CapabilityStatement (kind instance) at cfg's base; date is when the
 * daemon started (the statement's date), software_version painpath's. */
json_t *fhir_capability_statement(const struct fhir_config *cfg,
				  const char *software_version,
				  cal_millis date);
/* The SearchParameter resource of one of our custom parameters (its
 * definition canonical resolves to it), or NULL if type/name is not ours. */
json_t *fhir_capability_search_parameter(const struct fhir_config *cfg,
					 const char *type, const char *name);

#endif
