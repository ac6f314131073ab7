#include "fhir_read.h"

#include <stdio.h>
#include <string.h>

static bool refuse(struct fhir_error *err, const char *expression,
		   const char *what)
{
	return fhir_error_set(err, ERR_INVALID_REQUEST, expression, "%s %s",
			      expression, what);
}

bool fhir_read_check_resource(const json_t *resource, const char *type,
			      struct fhir_error *err)
{
	const char *given =
		json_string_value(json_object_get(resource, "resourceType"));

	if (!json_is_object(resource))
		return fhir_error_set(err, ERR_INVALID_JSON, type,
				      "the body must be a %s resource", type);
	if (given == NULL || strcmp(given, type) != 0)
		return fhir_error_set(err, ERR_INVALID_REQUEST, type,
				      "resourceType must be %s", type);
	if (json_object_get(resource, "modifierExtension") != NULL) {
		char where[64];
		snprintf(where, sizeof(where), "%s.modifierExtension", type);
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported", where,
					"no modifier extension is understood "
					"here");
	}
	if (json_object_get(resource, "implicitRules") != NULL) {
		char where[64];
		snprintf(where, sizeof(where), "%s.implicitRules", type);
		return fhir_error_typed(
			err, ERR_INVALID_REQUEST, "not-supported", where,
			"implicitRules are not understood here");
	}
	return true;
}

bool fhir_read_string(const json_t *obj, const char *key,
		      const char *expression, const char **out,
		      struct fhir_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > FHIR_READ_TEXT_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return refuse(err, expression,
			      "must be a string of 1..4000 bytes");
	*out = json_string_value(v);
	return true;
}

bool fhir_read_reference(const json_t *resource, const char *type,
			 const char *element, struct fhir_ident *out,
			 struct fhir_error *err)
{
	const json_t *ref = json_object_get(resource, element);
	const json_t *ident = json_object_get(ref, "identifier");
	char where[256], sub[512];

	memset(out, 0, sizeof(*out));
	snprintf(where, sizeof(where), "%s.%s", type, element);
	if (ref == NULL)
		return true;
	if (!json_is_object(ref))
		return refuse(err, where, "must be a Reference");
	if (json_object_get(ref, "reference") != NULL && ident == NULL) {
		snprintf(sub, sizeof(sub), "%s.reference", where);
		return fhir_error_typed(
			err, ERR_INVALID_REQUEST, "not-supported", sub,
			"%s: refer by identifier (Reference.identifier with "
			"system and value); no %s resources are held here",
			sub, element);
	}
	if (ident == NULL)
		return true;
	snprintf(where, sizeof(where), "%s.%s.identifier", type, element);
	if (!json_is_object(ident))
		return refuse(err, where, "must be an Identifier");
	snprintf(sub, sizeof(sub), "%s.system", where);
	if (!fhir_read_string(ident, "system", sub, &out->system, err))
		return false;
	snprintf(sub, sizeof(sub), "%s.value", where);
	return fhir_read_string(ident, "value", sub, &out->value, err);
}

bool fhir_read_check_system(const struct fhir_ident *id, const char *want,
			    const char *expression, struct fhir_error *err)
{
	if (id->system == NULL || strcmp(id->system, want) == 0)
		return true;
	return fhir_error_set(err, ERR_INVALID_REQUEST, expression,
			      "%s must be %s here, not %s", expression, want,
			      id->system);
}

bool fhir_read_instant(const json_t *obj, const char *key,
		       const char *expression, cal_millis *out,
		       const char **text, struct fhir_error *err)
{
	const char *s;

	*out = 0;
	*text = NULL;
	if (!fhir_read_string(obj, key, expression, &s, err))
		return false;
	if (s == NULL)
		return true;
	if (!calendar_parse_timestamp(s, out))
		return refuse(err, expression,
			      "must be a dateTime with a time and an offset "
			      "(2025-03-03T09:15:00+01:00)");
	*text = s;
	return true;
}

bool fhir_read_concept_text(const json_t *obj, const char *key,
			    const char *expression, const char **out,
			    struct fhir_error *err)
{
	const json_t *concept = json_object_get(obj, key);
	const json_t *first =
		json_array_get(json_object_get(concept, "coding"), 0);

	*out = NULL;
	if (concept == NULL)
		return true;
	if (!json_is_object(concept))
		return refuse(err, expression, "must be a CodeableConcept");
	if (!fhir_read_string(concept, "text", expression, out, err))
		return false;
	if (*out == NULL &&
	    !fhir_read_string(first, "display", expression, out, err))
		return false;
	if (*out == NULL)
		return fhir_read_string(first, "code", expression, out, err);
	return true;
}

bool fhir_read_concept_code(const json_t *concept, const char *system,
			    const char *expression, const char **out,
			    struct fhir_error *err)
{
	const json_t *codings = json_object_get(concept, "coding");
	const json_t *c;
	size_t i;

	*out = NULL;
	if (concept == NULL)
		return true;
	if (!json_is_object(concept) ||
	    (codings != NULL && !json_is_array(codings)))
		return refuse(err, expression, "must be a CodeableConcept");
	json_array_foreach(codings, i, c)
	{
		const char *s = json_string_value(json_object_get(c, "system"));
		if (s != NULL && strcmp(s, system) == 0)
			return fhir_read_string(c, "code", expression, out,
						err);
	}
	return true;
}

/* --- extensions ----------------------------------------------------------- */

/* The painpath-<name> part of url, or NULL if url is not one of ours. */
static const char *our_name(const struct fhir_config *cfg, const char *url)
{
	char prefix[FHIR_URL_MAX];
	size_t n;

	fhir_config_extension_url(cfg, "", prefix);
	n = strlen(prefix);
	return url != NULL && strncmp(url, prefix, n) == 0 ? url + n : NULL;
}

static bool listed(const char *name, const char *const *known)
{
	for (; *known != NULL; known++)
		if (strcmp(*known, name) == 0)
			return true;
	return false;
}

bool fhir_read_check_extensions(const struct fhir_config *cfg,
				const json_t *obj, const char *path,
				const char *const *known,
				struct fhir_error *err)
{
	const json_t *exts = json_object_get(obj, "extension");
	const json_t *e;
	size_t i;
	char where[FHIR_EXPRESSION_MAX + 32];

	if (exts == NULL)
		return true;
	snprintf(where, sizeof(where), "%s.extension", path);
	if (!json_is_array(exts))
		return refuse(err, where, "must be an array");
	json_array_foreach(exts, i, e)
	{
		const char *url = json_string_value(json_object_get(e, "url"));
		const char *name = our_name(cfg, url);
		snprintf(where, sizeof(where), "%s.extension[%zu]", path, i);
		if (!json_is_object(e) || url == NULL)
			return refuse(err, where, "must have a url");
		if (name != NULL && !listed(name, known))
			return fhir_error_typed(err, ERR_INVALID_REQUEST,
						"extension", where,
						"%s is not one of painpath's "
						"extensions for this element "
						"(doc/fhir.md)",
						url);
	}
	return true;
}

const json_t *fhir_read_extension(const struct fhir_config *cfg,
				  const json_t *obj, const char *path,
				  const char *name,
				  char expr[FHIR_EXPRESSION_MAX])
{
	char url[FHIR_URL_MAX];
	const json_t *e;
	size_t i;

	fhir_config_extension_url(cfg, name, url);
	snprintf(expr, FHIR_EXPRESSION_MAX, "%s.extension('%s')", path, url);
	json_array_foreach(json_object_get(obj, "extension"), i, e)
	{
		const char *u = json_string_value(json_object_get(e, "url"));
		if (u != NULL && strcmp(u, url) == 0)
			return e;
	}
	return NULL;
}

const char *fhir_read_code_value(const json_t *ext)
{
	const json_t *coding = json_object_get(ext, "valueCoding");

	if (json_is_string(json_object_get(ext, "valueCode")))
		return json_string_value(json_object_get(ext, "valueCode"));
	return json_string_value(json_object_get(coding, "code"));
}

const json_t *fhir_read_sub_extension(const json_t *ext, const char *url)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(ext, "extension"), i, e)
	{
		const char *u = json_string_value(json_object_get(e, "url"));
		if (u != NULL && strcmp(u, url) == 0)
			return e;
	}
	return NULL;
}

/* --- If-None-Exist -------------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes [s, end) into out; false on a bad escape, a NUL or
 * overflow. */
static bool decode(const char *s, const char *end, char *out, size_t len)
{
	size_t n = 0;

	for (; s < end; s++) {
		char c = *s;
		if (c == '%') {
			if (end - s < 3 || hex_digit(s[1]) < 0 ||
			    hex_digit(s[2]) < 0)
				return false;
			c = (char)(hex_digit(s[1]) * 16 + hex_digit(s[2]));
			s += 2;
		}
		if (c == '\0' || n + 1 >= len)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return true;
}

/* "system|value" or "value" into its parts. */
static bool split_token(const char *all, char *system, size_t system_len,
			char *value, size_t value_len, struct fhir_error *err)
{
	const char *bar = strchr(all, '|');
	const char *v = bar != NULL ? bar + 1 : all;
	size_t sys_len = bar != NULL ? (size_t)(bar - all) : 0;

	if (sys_len >= system_len || strlen(v) >= value_len)
		return fhir_error_set(err, ERR_INVALID_REQUEST, "If-None-Exist",
				      "If-None-Exist's identifier is too "
				      "long");
	memcpy(system, all, sys_len);
	system[sys_len] = '\0';
	strcpy(value, v);
	if (value[0] == '\0')
		return fhir_error_set(err, ERR_INVALID_REQUEST, "If-None-Exist",
				      "If-None-Exist names no identifier "
				      "value");
	return true;
}

bool fhir_read_if_none_exist(const char *text, char *system, size_t system_len,
			     char *value, size_t value_len,
			     struct fhir_error *err)
{
	static const char param[] = "identifier=";
	char all[FHIR_URL_MAX + 256];
	const char *v;

	system[0] = value[0] = '\0';
	if (text != NULL && text[0] == '?')
		text++;
	if (text == NULL || strncmp(text, param, sizeof(param) - 1) != 0 ||
	    strchr(text, '&') != NULL)
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported", "If-None-Exist",
					"If-None-Exist must be "
					"identifier=system|value (no other "
					"search)");
	v = text + sizeof(param) - 1;
	/* '|' may arrive encoded as %7C: decode the whole, then split. */
	if (!decode(v, v + strlen(v), all, sizeof(all)))
		return fhir_error_set(err, ERR_INVALID_REQUEST, "If-None-Exist",
				      "If-None-Exist is not a valid query "
				      "value");
	return split_token(all, system, system_len, value, value_len, err);
}
