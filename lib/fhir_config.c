#include "fhir_config.h"

#include <stdio.h>
#include <string.h>

static bool refuse(char *why, size_t why_len, const char *reason)
{
	snprintf(why, why_len, "%s", reason);
	return false;
}

/* Characters a base URL may hold: printable ASCII, but not those that
 * would end the path ('?', '#') or split a token search ('|'). */
static bool url_chars_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~' || *s == '|' || *s == '?' ||
		    *s == '#')
			return false;
	return true;
}

bool fhir_config_init(struct fhir_config *cfg, const char *base_url, char *why,
		      size_t why_len)
{
	size_t len = base_url != NULL ? strlen(base_url) : 0;
	size_t scheme;

	memset(cfg, 0, sizeof(*cfg));
	if (len == 0 || len > FHIR_BASE_MAX)
		return refuse(why, why_len,
			      "the FHIR base URL must be 1..200 characters");
	if (strncmp(base_url, "https://", 8) != 0 &&
	    strncmp(base_url, "http://", 7) != 0)
		return refuse(why, why_len,
			      "the FHIR base URL must start with https:// "
			      "or http://");
	if (!url_chars_ok(base_url))
		return refuse(why, why_len,
			      "the FHIR base URL holds a space, '|', '?', "
			      "'#' or a non-ASCII character");
	scheme = base_url[4] == 's' ? 8 : 7;
	if (len == scheme || base_url[scheme] == '/')
		return refuse(why, why_len, "the FHIR base URL has no host");
	memcpy(cfg->base_url, base_url, len + 1);
	if (cfg->base_url[len - 1] == '/')
		cfg->base_url[len - 1] = '\0';
	fhir_config_url(cfg, "NamingSystem/event-id", cfg->event_id_system);
	fhir_config_url(cfg, "NamingSystem/pathway-id", cfg->pathway_id_system);
	return true;
}

void fhir_config_url(const struct fhir_config *cfg, const char *path,
		     char out[FHIR_URL_MAX])
{
	snprintf(out, FHIR_URL_MAX, "%s/%s", cfg->base_url, path);
}

void fhir_config_extension_url(const struct fhir_config *cfg, const char *name,
			       char out[FHIR_URL_MAX])
{
	snprintf(out, FHIR_URL_MAX, "%s/StructureDefinition/painpath-%s",
		 cfg->base_url, name);
}

void fhir_config_code_system(const struct fhir_config *cfg, const char *name,
			     char out[FHIR_URL_MAX])
{
	snprintf(out, FHIR_URL_MAX, "%s/CodeSystem/painpath-%s", cfg->base_url,
		 name);
}
