/*
 * fhir_config: what the FHIR front-end needs to know about where it is
 * served, and the canonical URLs it defines under that base: the
 * extensions (StructureDefinition/painpath-*), the code systems
 * (CodeSystem/painpath-*), the naming systems of our own identifiers and
 * the custom search parameter.  doc/fhir.md lists them all.
 *
 * The struct holds copies (fixed buffers), so it can be kept beside the
 * daemon's config and passed by const pointer; nothing here allocates.
 */
#ifndef PAINPATH_FHIR_CONFIG_H
#define PAINPATH_FHIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Longest base URL accepted; every URL built from it fits FHIR_URL_MAX. */
#define FHIR_BASE_MAX 200
#define FHIR_URL_MAX  512

struct fhir_config {
	/* Where /fhir is served, absolute, no trailing slash, e.g.
	 * "https://painpath.example.org/fhir".  fullUrl, links and the
	 * canonical URLs of our extensions and code systems start with it. */
	char base_url[FHIR_BASE_MAX + 1];
	/* Identifier.system of event ids that arrive without a client's own
	 * system (events posted to /v1): <base>/NamingSystem/event-id. */
	char event_id_system[FHIR_URL_MAX];
	/* Identifier.system of pathway ids: <base>/NamingSystem/pathway-id. */
	char pathway_id_system[FHIR_URL_MAX];
};

/* base_url must be http:// or https://, at most FHIR_BASE_MAX characters
 * of printable ASCII without spaces, '|', '?' or '#'; a trailing slash is
 * dropped.  On failure returns false and writes the reason into why. */
bool fhir_config_init(struct fhir_config *cfg, const char *base_url, char *why,
		      size_t why_len) __attribute__((warn_unused_result));

/* "<base>/StructureDefinition/painpath-<name>" into out (FHIR_URL_MAX). */
void fhir_config_extension_url(const struct fhir_config *cfg, const char *name,
			       char out[FHIR_URL_MAX]);
/* "<base>/CodeSystem/painpath-<name>" into out (FHIR_URL_MAX). */
void fhir_config_code_system(const struct fhir_config *cfg, const char *name,
			     char out[FHIR_URL_MAX]);
/* "<base>/<path>" into out (FHIR_URL_MAX), e.g. "Task/x" for fullUrl. */
void fhir_config_url(const struct fhir_config *cfg, const char *path,
		     char out[FHIR_URL_MAX]);

#endif
