#include "model.h"

#include "dirlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Durations longer than ten years are certainly a typo. */
#define MAX_DURATION_DAYS   3650
#define MAX_DURATION_MONTHS 120

struct loader {
	const char *origin;
	char *err;
	size_t errlen;
};

static bool fail(struct loader *ld, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(struct loader *ld, const char *path, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ld->err, ld->errlen, "%s: %s: %s", ld->origin, path, what);
	return false;
}

/* Refuses keys outside the allowed list, so typos are caught. */
static bool only_keys(struct loader *ld, json_t *obj, const char *path,
		      const char *const *allowed)
{
	const char *key;
	json_t *value;

	json_object_foreach(obj, key, value)
	{
		bool known = false;
		for (size_t i = 0; allowed[i] != NULL; i++)
			known = known || strcmp(allowed[i], key) == 0;
		if (!known)
			return fail(ld, path, "unknown key \"%s\"", key);
	}
	return true;
}

static bool get_string(struct loader *ld, json_t *obj, const char *path,
		       const char *key, bool required, size_t max,
		       const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return fail(ld, path, "missing \"%s\"", key);
		return true;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max)
		return fail(ld, path,
			    "\"%s\" must be a string of 1..%zu characters", key,
			    max);
	*out = json_string_value(v);
	return true;
}

static bool parse_duration(struct loader *ld, json_t *obj, const char *path,
			   bool deadline_allowed, struct duration *out)
{
	static const struct {
		const char *key;
		enum duration_unit unit;
		int max;
	} units[] = {{"days", DUR_DAYS, MAX_DURATION_DAYS},
		     {"working_days", DUR_WORKING_DAYS, MAX_DURATION_DAYS},
		     {"months", DUR_MONTHS, MAX_DURATION_MONTHS}};
	json_t *due = json_object_get(obj, "due");

	out->unit = DUR_NONE;
	if (due != NULL) {
		if (!deadline_allowed || !json_is_string(due) ||
		    strcmp(json_string_value(due), "deadline") != 0)
			return fail(
				ld, path,
				"\"due\" may only be \"deadline\", and only "
				"for the treatment clock");
		out->unit = DUR_DEADLINE;
		out->n = 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		json_t *v = json_object_get(obj, units[i].key);
		if (v == NULL)
			continue;
		if (out->unit != DUR_NONE)
			return fail(ld, path,
				    "give exactly one of days, "
				    "working_days, months, due");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > units[i].max)
			return fail(ld, path,
				    "\"%s\" must be an integer from 1 to %d",
				    units[i].key, units[i].max);
		out->unit = units[i].unit;
		out->n = (int)json_integer_value(v);
	}
	if (out->unit == DUR_NONE)
		return fail(ld, path,
			    "missing a duration (days, working_days, "
			    "months or due)");
	return true;
}

static bool parse_levels_mask(struct loader *ld, json_t *arr, const char *path,
			      unsigned *mask)
{
	size_t i;
	json_t *v;

	*mask = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return fail(ld, path, "must be a non-empty array of levels");
	json_array_foreach(arr, i, v)
	{
		enum level l;
		if (!json_is_string(v) ||
		    !domain_level_parse(json_string_value(v), &l))
			return fail(ld, path, "item %zu: unknown level", i);
		*mask |= 1u << l;
	}
	return true;
}

static bool parse_clock_flags(struct loader *ld, json_t *obj, const char *path,
			      struct clock_rule *c)
{
	const char *key;
	json_t *v;
	char sub[192];

	if (!json_is_object(obj))
		return fail(ld, path, "must be an object of flag: duration");
	json_object_foreach(obj, key, v)
	{
		enum flag f;
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (!domain_flag_parse(key, &f))
			return fail(ld, path, "unknown flag \"%s\"", key);
		if (!json_is_object(v))
			return fail(ld, sub, "must be an object");
		static const char *const keys[] = {"days", "working_days",
						   "months", NULL};
		if (!only_keys(ld, v, sub, keys) ||
		    !parse_duration(ld, v, sub, false, &c->by_flag[f]))
			return false;
	}
	return true;
}

static bool parse_clock(struct loader *ld, enum rule r, json_t *obj,
			const char *path, struct clock_rule *c)
{
	static const char *const keys[] = {
		"days",	     "working_days", "months", "due",
		"starts_at", "levels",	     "flags",  NULL};
	json_t *v;

	if (!json_is_object(obj))
		return fail(ld, path, "must be an object");
	if (!only_keys(ld, obj, path, keys) ||
	    !parse_duration(ld, obj, path, r == RULE_TREATMENT, &c->duration))
		return false;
	c->enabled = true;
	c->starts_at = r == RULE_TRANSIT	? EV_REFERRAL_SENT
		       : r == RULE_LEVEL_REVIEW ? EV_PATHWAY_OPENED
						: EV_REFERRAL_RECEIVED;
	v = json_object_get(obj, "starts_at");
	if (v != NULL) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		if (r != RULE_TREATMENT ||
		    !domain_event_parse(s, &c->starts_at) ||
		    (c->starts_at != EV_REFERRAL_RECEIVED &&
		     c->starts_at != EV_REFERRAL_ACCEPTED))
			return fail(ld, path,
				    "\"starts_at\" is only for the treatment "
				    "clock: referral.received or "
				    "referral.accepted");
	}
	if (c->duration.unit == DUR_DEADLINE &&
	    c->starts_at != EV_REFERRAL_ACCEPTED)
		return fail(ld, path,
			    "\"due\": \"deadline\" needs \"starts_at\": "
			    "\"referral.accepted\"");
	char sub[160];
	v = json_object_get(obj, "levels");
	snprintf(sub, sizeof(sub), "%s.levels", path);
	if (v != NULL && !parse_levels_mask(ld, v, sub, &c->levels))
		return false;
	v = json_object_get(obj, "flags");
	snprintf(sub, sizeof(sub), "%s.flags", path);
	return v == NULL || parse_clock_flags(ld, v, sub, c);
}

static bool parse_clocks(struct loader *ld, json_t *obj, struct model *m)
{
	const char *key;
	json_t *v;
	char path[128];

	if (!json_is_object(obj))
		return fail(ld, "$.clocks", "must be an object");
	json_object_foreach(obj, key, v)
	{
		enum rule r;
		if (!domain_rule_parse(key, &r))
			return fail(ld, "$.clocks", "unknown rule \"%s\"", key);
		snprintf(path, sizeof(path), "$.clocks.%s", key);
		if (!parse_clock(ld, r, v, path, &m->clocks[r]))
			return false;
	}
	return true;
}

static bool parse_levels(struct loader *ld, json_t *obj, struct model *m)
{
	static const char *const keys[] = {"name", "name_en", NULL};
	char path[64];
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(ld, "$.levels", "must be an object");
	json_object_foreach(obj, key, v)
	{
		enum level l;
		if (!domain_level_parse(key, &l))
			return fail(ld, "$.levels", "unknown level \"%s\"",
				    key);
	}
	for (int l = 0; l < LEVEL_COUNT; l++) {
		const char *name, *name_en;
		snprintf(path, sizeof(path), "$.levels.%s",
			 domain_level_name(l));
		v = json_object_get(obj, domain_level_name(l));
		if (v == NULL)
			return fail(ld, "$.levels", "missing level \"%s\"",
				    domain_level_name(l));
		if (!json_is_object(v))
			return fail(ld, path, "must be an object");
		if (!only_keys(ld, v, path, keys) ||
		    !get_string(ld, v, path, "name", true, 200, &name) ||
		    !get_string(ld, v, path, "name_en", true, 200, &name_en))
			return false;
		m->level_name[l] = strdup(name);
		m->level_name_en[l] = strdup(name_en);
	}
	return true;
}

static bool parse_age(struct loader *ld, json_t *obj, struct model *m)
{
	static const char *const keys[] = {"min", "max", NULL};
	json_t *v;

	if (!json_is_object(obj))
		return fail(ld, "$.age", "must be an object");
	if (!only_keys(ld, obj, "$.age", keys))
		return false;
	if ((v = json_object_get(obj, "min")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 150)
			return fail(ld, "$.age.min",
				    "must be an integer 0..150");
		m->min_age = (int)json_integer_value(v);
	}
	if ((v = json_object_get(obj, "max")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 150)
			return fail(ld, "$.age.max",
				    "must be an integer 0..150");
		m->max_age = (int)json_integer_value(v);
	}
	if (m->min_age >= 0 && m->max_age >= 0 && m->min_age > m->max_age)
		return fail(ld, "$.age", "min is above max");
	return true;
}

static bool parse_guards(struct loader *ld, json_t *arr, struct model *m)
{
	static const struct {
		const char *name;
		enum guard g;
	} guards[] = {
		{"centre_requires_clinic", GUARD_CENTRE_REQUIRES_CLINIC},
		{"accept_requires_deadline", GUARD_ACCEPT_REQUIRES_DEADLINE},
		{"free_choice", GUARD_FREE_CHOICE},
	};
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return fail(ld, "$.guards", "must be an array of guard names");
	json_array_foreach(arr, i, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		bool known = false;
		for (size_t g = 0; g < sizeof(guards) / sizeof(guards[0]); g++)
			if (strcmp(guards[g].name, s) == 0) {
				m->guards |= guards[g].g;
				known = true;
			}
		if (!known) {
			char path[64];
			snprintf(path, sizeof(path), "$.guards[%zu]", i);
			return fail(ld, path, "unknown guard \"%s\"", s);
		}
	}
	return true;
}

static bool parse_identity(struct loader *ld, json_t *doc, struct model *m)
{
	const char *key, *name, *country, *tz, *lang;

	if (!get_string(ld, doc, "$", "key", true, ID_MAX, &key) ||
	    !get_string(ld, doc, "$", "name", true, 200, &name) ||
	    !get_string(ld, doc, "$", "country", true, 2, &country) ||
	    !get_string(ld, doc, "$", "time_zone", true, 63, &tz) ||
	    !get_string(ld, doc, "$", "language", false, 15, &lang))
		return false;
	if (!domain_valid_id(key))
		return fail(ld, "$.key",
			    "must be 1..128 of A-Z a-z 0-9 . _ : -");
	if (!calendar_country_parse(country, &m->country))
		return fail(ld, "$.country",
			    "unknown country \"%s\" (NO, DK, SE)", country);
	if (!calendar_zone_parse(tz, &m->zone))
		return fail(ld, "$.time_zone", "unknown time zone \"%s\"", tz);
	snprintf(m->key, sizeof(m->key), "%s", key);
	snprintf(m->country_code, sizeof(m->country_code), "%s", country);
	snprintf(m->time_zone, sizeof(m->time_zone), "%s", tz);
	snprintf(m->language, sizeof(m->language), "%s", lang ? lang : "en");
	m->name = strdup(name);
	return true;
}

/* "pauses": {"treatment": ["patient_requested"]}: which clocks may be
 * paused, for which reasons.  Only a clock the model has. */
static bool parse_pauses(struct loader *ld, json_t *obj, struct model *m)
{
	const char *key;
	json_t *reasons, *v;
	char path[96];
	size_t i;

	if (!json_is_object(obj))
		return fail(ld, "$.pauses",
			    "must be an object of rule: [reasons]");
	json_object_foreach(obj, key, reasons)
	{
		enum rule r;
		if (!domain_rule_parse(key, &r))
			return fail(ld, "$.pauses", "unknown rule \"%s\"", key);
		snprintf(path, sizeof(path), "$.pauses.%s", key);
		if (!m->clocks[r].enabled)
			return fail(ld, path, "the model has no %s clock", key);
		if (!json_is_array(reasons) || json_array_size(reasons) == 0)
			return fail(ld, path,
				    "must be a non-empty array of reasons");
		json_array_foreach(reasons, i, v)
		{
			enum pause_reason why;
			if (!json_is_string(v) ||
			    !domain_pause_reason_parse(json_string_value(v),
						       &why))
				return fail(ld, path,
					    "item %zu: not patient_requested, "
					    "medical or other",
					    i);
			m->pausable[r] |= 1u << why;
		}
	}
	return true;
}

/* --- fhir: identifier systems ------------------------------------------ */

/* Each country's registers, used where a model file names none: the
 * national identity number of patients and the register of health
 * organisations (Norway: Enhetsregisteret's organisation number; Denmark:
 * SOR; Sweden: HSA-id), as the national FHIR base profiles write them. */
static const struct {
	enum cal_country country;
	const char *patient_system;
	const char *unit_system;
} fhir_defaults[] = {
	{CAL_COUNTRY_NO, "urn:oid:2.16.578.1.12.4.1.4.1",
	 "urn:oid:2.16.578.1.12.4.1.4.101"},
	{CAL_COUNTRY_DK, "urn:oid:1.2.208.176.1.2", "urn:oid:1.2.208.176.1.1"},
	{CAL_COUNTRY_SE, "urn:oid:1.2.752.129.2.1.3.1",
	 "urn:oid:1.2.752.29.4.19"},
};

static bool valid_oid(const char *s)
{
	bool digit = false;

	/* arcs of digits, no leading zeros, separated by single dots */
	if (!(s[0] >= '0' && s[0] <= '2') || s[1] != '.')
		return false;
	for (s += 2; *s != '\0'; s++) {
		if (*s == '.') {
			if (!digit)
				return false;
			digit = false;
		} else if (*s >= '0' && *s <= '9') {
			if (!digit && *s == '0' && s[1] >= '0' && s[1] <= '9')
				return false;
			digit = true;
		} else {
			return false;
		}
	}
	return digit;
}

static bool valid_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

bool model_fhir_valid_system(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > MODEL_FHIR_SYSTEM_MAX)
		return false;
	if (strncmp(s, "urn:oid:", 8) == 0)
		return valid_oid(s + 8);
	if (strncmp(s, "urn:uuid:", 9) == 0)
		return valid_uuid(s + 9);
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == '|')
			return false;
	return strlen(s) > (s[4] == 's' ? 8u : 7u);
}

static bool get_system(struct loader *ld, json_t *obj, const char *path,
		       const char *key, char out[MODEL_FHIR_SYSTEM_MAX + 1])
{
	char sub[192];
	const char *s;

	snprintf(sub, sizeof(sub), "%s.%s", path, key);
	if (!get_string(ld, obj, path, key, false, MODEL_FHIR_SYSTEM_MAX, &s))
		return false;
	if (s == NULL)
		return true;
	if (!model_fhir_valid_system(s))
		return fail(ld, sub,
			    "must be an identifier system: urn:oid:<oid>, "
			    "urn:uuid:<uuid> or an http(s) URL without '|'");
	snprintf(out, MODEL_FHIR_SYSTEM_MAX + 1, "%s", s);
	return true;
}

static bool parse_fhir_region(struct loader *ld, const char *region,
			      json_t *obj, struct model_fhir_region *out)
{
	static const char *const keys[] = {"unit_system", NULL};
	char path[192];

	snprintf(path, sizeof(path), "$.fhir.regions.%s", region);
	if (!domain_valid_id(region))
		return fail(ld, "$.fhir.regions",
			    "region \"%s\" is not 1..128 of A-Z a-z 0-9 . _ "
			    ": -",
			    region);
	if (!json_is_object(obj))
		return fail(ld, path, "must be an object");
	if (!only_keys(ld, obj, path, keys))
		return false;
	snprintf(out->region, sizeof(out->region), "%s", region);
	if (json_object_get(obj, "unit_system") == NULL)
		return fail(ld, path, "missing \"unit_system\"");
	return get_system(ld, obj, path, "unit_system", out->unit_system);
}

static bool parse_fhir_regions(struct loader *ld, json_t *obj,
			       struct model_fhir *f)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(ld, "$.fhir.regions",
			    "must be an object of region: {unit_system}");
	if (json_object_size(obj) == 0)
		return true;
	f->regions = calloc(json_object_size(obj), sizeof(*f->regions));
	if (f->regions == NULL)
		return fail(ld, "$.fhir.regions", "out of memory");
	json_object_foreach(obj, key, v)
	{
		if (!parse_fhir_region(ld, key, v,
				       &f->regions[f->region_count]))
			return false;
		f->region_count++;
	}
	return true;
}

static void fhir_apply_defaults(struct model *m)
{
	for (size_t i = 0; i < sizeof(fhir_defaults) / sizeof(fhir_defaults[0]);
	     i++) {
		if (fhir_defaults[i].country != m->country)
			continue;
		snprintf(m->fhir.patient_system, sizeof(m->fhir.patient_system),
			 "%s", fhir_defaults[i].patient_system);
		snprintf(m->fhir.unit_system, sizeof(m->fhir.unit_system), "%s",
			 fhir_defaults[i].unit_system);
	}
}

/* The optional "fhir" object (obj may be NULL); the country's defaults
 * fill what it leaves out. */
static bool parse_fhir(struct loader *ld, json_t *obj, struct model *m)
{
	static const char *const keys[] = {"patient_system", "unit_system",
					   "regions", NULL};
	json_t *regions;

	fhir_apply_defaults(m);
	if (obj == NULL)
		return true;
	if (!json_is_object(obj))
		return fail(ld, "$.fhir", "must be an object");
	if (!only_keys(ld, obj, "$.fhir", keys) ||
	    !get_system(ld, obj, "$.fhir", "patient_system",
			m->fhir.patient_system) ||
	    !get_system(ld, obj, "$.fhir", "unit_system", m->fhir.unit_system))
		return false;
	regions = json_object_get(obj, "regions");
	return regions == NULL || parse_fhir_regions(ld, regions, &m->fhir);
}

const char *model_fhir_unit_system(const struct model *m, const char *region)
{
	for (size_t i = 0; region != NULL && i < m->fhir.region_count; i++)
		if (strcmp(m->fhir.regions[i].region, region) == 0)
			return m->fhir.regions[i].unit_system;
	return m->fhir.unit_system;
}

static bool parse_model(struct loader *ld, json_t *doc, struct model *m)
{
	static const char *const keys[] = {
		"key",	       "name",	   "country",
		"time_zone",   "language", "levels",
		"age",	       "guards",   "notify_decisions",
		"clocks",      "warning",  "pauses",
		"reopen_days", "fhir",	   NULL};
	static const char *const warning_keys[] = {"days", "working_days",
						   NULL};
	json_t *v;

	if (!json_is_object(doc))
		return fail(ld, "$", "a model must be a JSON object");
	if (!only_keys(ld, doc, "$", keys) || !parse_identity(ld, doc, m))
		return false;
	if ((v = json_object_get(doc, "levels")) == NULL)
		return fail(ld, "$", "missing \"levels\"");
	if (!parse_levels(ld, v, m))
		return false;
	if ((v = json_object_get(doc, "age")) != NULL && !parse_age(ld, v, m))
		return false;
	if ((v = json_object_get(doc, "guards")) != NULL &&
	    !parse_guards(ld, v, m))
		return false;
	if ((v = json_object_get(doc, "notify_decisions")) != NULL) {
		if (!json_is_boolean(v))
			return fail(ld, "$.notify_decisions",
				    "must be a boolean");
		m->notify_decisions = json_is_true(v);
	}
	if ((v = json_object_get(doc, "clocks")) != NULL &&
	    !parse_clocks(ld, v, m))
		return false;
	if ((v = json_object_get(doc, "warning")) != NULL) {
		if (!json_is_object(v))
			return fail(ld, "$.warning", "must be an object");
		if (!only_keys(ld, v, "$.warning", warning_keys) ||
		    !parse_duration(ld, v, "$.warning", false, &m->warning))
			return false;
	}
	if ((v = json_object_get(doc, "pauses")) != NULL &&
	    !parse_pauses(ld, v, m))
		return false;
	if ((v = json_object_get(doc, "reopen_days")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > MAX_DURATION_DAYS)
			return fail(ld, "$.reopen_days",
				    "must be an integer from 0 to %d",
				    MAX_DURATION_DAYS);
		m->reopen_days = (int)json_integer_value(v);
	}
	return parse_fhir(ld, json_object_get(doc, "fhir"), m);
}

bool model_load_json(json_t *doc, const char *origin, struct model *out,
		     char *err, size_t errlen)
{
	struct loader ld = {origin, err, errlen};

	memset(out, 0, sizeof(*out));
	out->min_age = out->max_age = -1;
	out->warning = (struct duration){DUR_WORKING_DAYS, 3};
	out->reopen_days = 90;
	if (!parse_model(&ld, doc, out)) {
		model_free(out);
		return false;
	}
	out->json = json_incref(doc);
	out->path = strdup(origin);
	return true;
}

bool model_load_file(const char *path, struct model *out, char *err,
		     size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	bool ok;

	memset(out, 0, sizeof(*out));
	if (doc == NULL) {
		snprintf(err, errlen, "%s: line %d column %d: %s", path,
			 jerr.line, jerr.column, jerr.text);
		return false;
	}
	ok = model_load_json(doc, path, out, err, errlen);
	json_decref(doc);
	return ok;
}

void model_free(struct model *m)
{
	for (int l = 0; l < LEVEL_COUNT; l++) {
		free(m->level_name[l]);
		free(m->level_name_en[l]);
	}
	free(m->name);
	free(m->path);
	free(m->fhir.regions);
	json_decref(m->json);
	memset(m, 0, sizeof(*m));
}

static bool is_model_file(const char *name)
{
	size_t len = strlen(name);

	return len > 5 && name[0] != '.' &&
	       strcmp(name + len - 5, ".json") == 0;
}

bool model_set_load_dir(const char *dir, struct model_set *out, char *err,
			size_t errlen)
{
	size_t n = 0;
	char **names = dirlist_sorted(dir, is_model_file, &n);
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (names == NULL || n == 0) {
		snprintf(err, errlen, "%s: no model files (*.json) found", dir);
		goto out;
	}
	out->models = calloc(n, sizeof(*out->models));
	if (out->models == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!model_load_file(path, &out->models[out->count], err,
				     errlen))
			goto out;
		if (model_set_find(out, out->models[out->count].key) != NULL) {
			snprintf(err, errlen,
				 "%s: $.key: model \"%s\" is "
				 "defined twice",
				 path, out->models[out->count].key);
			model_free(&out->models[out->count]);
			goto out;
		}
		out->count++;
	}
	ok = true;
out:
	dirlist_free(names, n);
	if (!ok)
		model_set_free(out);
	return ok;
}

const struct model *model_set_find(const struct model_set *set, const char *key)
{
	if (key == NULL)
		return NULL;
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->models[i].key, key) == 0)
			return &set->models[i];
	return NULL;
}

void model_set_free(struct model_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		model_free(&set->models[i]);
	free(set->models);
	memset(set, 0, sizeof(*set));
}

cal_date model_add_duration(const struct model *m, cal_date start,
			    struct duration d)
{
	switch (d.unit) {
	case DUR_DAYS:
		return start + d.n;
	case DUR_WORKING_DAYS:
		return calendar_add_working_days(m->country, start, d.n);
	case DUR_MONTHS:
		return calendar_add_months(start, d.n);
	default:
		return start;
	}
}

cal_date model_clock_due(const struct model *m, enum rule r, cal_date start,
			 unsigned flags)
{
	const struct clock_rule *c = &m->clocks[r];
	cal_date due = model_add_duration(m, start, c->duration);

	for (int f = 0; f < FLAG_COUNT; f++) {
		if (!(flags & (1u << f)) || c->by_flag[f].unit == DUR_NONE)
			continue;
		cal_date shorter = model_add_duration(m, start, c->by_flag[f]);
		if (shorter < due)
			due = shorter;
	}
	return due;
}

json_t *model_to_json(const struct model *m)
{
	json_t *out = json_deep_copy(m->json);

	if (out != NULL)
		json_object_set_new(out, "source", json_string(m->path));
	return out;
}
