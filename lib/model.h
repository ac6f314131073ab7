/*
 * model: a country's (or a region's) pathway model, loaded from JSON.
 *
 * A model file (config/models/NAME.json) gives the level names, the guards, the
 * clocks and the flags that shorten them, the country and the time zone.
 * Loading is strict: an unknown key, level, event, rule, flag or guard, or
 * a value of the wrong type, is an error naming the file and the JSON path,
 * so a region's typo stops the daemon at start instead of changing a legal
 * deadline silently.
 *
 *   {
 *     "key": "no", "name": "...", "country": "NO",
 *     "time_zone": "Europe/Oslo", "language": "nb",
 *     "levels": { "gp": {"name": "fastlege", "name_en": "regular GP"}, ... },
 *     "age": {"min": 18},                       optional; or {"max": 17}
 *     "guards": ["accept_requires_deadline"],   see enum guard
 *     "notify_decisions": true,                 Norwegian feedback (003)
 *     "clocks": {
 *       "assessment": {"working_days": 10,
 *                      "flags": {"young_adult_at_risk": {"working_days": 5}}},
 *       "treatment": {"starts_at": "referral.accepted", "due": "deadline"},
 *       "treatment": {"days": 90, "levels": ["clinic", "centre"]},
 *       ...
 *     },
 *     "warning": {"working_days": 3},          escalation warning window
 *     "fhir": {                                 optional; defaults by country
 *       "patient_system": "urn:oid:2.16.578.1.12.4.1.4.1",
 *       "unit_system": "urn:oid:2.16.578.1.12.4.1.4.101",
 *       "regions": {"helse-vest": {"unit_system": "urn:oid:..."}}
 *     }
 *   }
 *
 * fhir: the Identifier.system of the model's patient ids (national
 * identity numbers) and of its unit ids, the latter per region where a
 * region names its units in another register (doc/fhir.md).
 */
#ifndef PAINPATH_MODEL_H
#define PAINPATH_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"

enum duration_unit {
	DUR_NONE,
	DUR_DAYS,
	DUR_WORKING_DAYS,
	DUR_MONTHS,
	DUR_DEADLINE /* the date the event carries (data.deadline) */
};

struct duration {
	enum duration_unit unit;
	int n;
};

struct clock_rule {
	bool enabled;
	enum event_type starts_at;
	struct duration duration;
	unsigned levels; /* bit per enum level the referral goes to; 0 = all */
	struct duration by_flag[FLAG_COUNT]; /* DUR_NONE: no change */
};

enum guard {
	GUARD_CENTRE_REQUIRES_CLINIC = 1u << 0,
	GUARD_ACCEPT_REQUIRES_DEADLINE = 1u << 1,
	GUARD_FREE_CHOICE = 1u << 2,
};

/* Identifier systems are URIs: urn:oid:, urn:uuid:, http:// or https://. */
#define MODEL_FHIR_SYSTEM_MAX 255

struct model_fhir_region {
	char region[ID_MAX + 1];
	char unit_system[MODEL_FHIR_SYSTEM_MAX + 1];
};

struct model_fhir {
	char patient_system[MODEL_FHIR_SYSTEM_MAX + 1];
	char unit_system[MODEL_FHIR_SYSTEM_MAX + 1];
	struct model_fhir_region *regions; /* owned */
	size_t region_count;
};

struct model {
	char key[ID_MAX + 1];
	char *name;
	char country_code[3];
	enum cal_country country;
	char time_zone[64];
	struct cal_zone zone;
	char language[16];
	char *level_name[LEVEL_COUNT];
	char *level_name_en[LEVEL_COUNT];
	int min_age; /* -1: none */
	int max_age; /* -1: none */
	unsigned guards;
	bool notify_decisions;
	struct clock_rule clocks[RULE_COUNT];
	/* Bit per enum pause_reason a rule's clock may be paused for: waits
	 * the patient chose are not counted (Sweden's care guarantee,
	 * Denmark's right to assessment). */
	unsigned pausable[RULE_COUNT];
	/* A closed pathway may be reopened within this many days. */
	int reopen_days;
	struct duration warning;
	struct model_fhir fhir;
	json_t *json; /* the file as loaded (owned) */
	char *path;
};

struct model_set {
	struct model *models;
	size_t count;
};

/* Loads and validates one file.  On failure err holds
 * "<path>: <json path>: <what is wrong>" and out is left empty. */
bool model_load_file(const char *path, struct model *out, char *err,
		     size_t errlen) __attribute__((warn_unused_result));
/* Validates an already-parsed document (borrowed); origin names it in
 * errors.  For fuzzing and tests. */
bool model_load_json(json_t *doc, const char *origin, struct model *out,
		     char *err, size_t errlen)
	__attribute__((warn_unused_result));
void model_free(struct model *m);

/* Every *.json in dir, sorted by file name; duplicate keys are an error. */
bool model_set_load_dir(const char *dir, struct model_set *out, char *err,
			size_t errlen) __attribute__((warn_unused_result));
const struct model *model_set_find(const struct model_set *set,
				   const char *key);
void model_set_free(struct model_set *set);

/* The due date of a duration counted from start in the model's calendar. */
cal_date model_add_duration(const struct model *m, cal_date start,
			    struct duration d);
/* The clock's duration for a pathway with these flags: the shortest of the
 * base duration and those of the flags the pathway carries. */
cal_date model_clock_due(const struct model *m, enum rule r, cal_date start,
			 unsigned flags);

/* The Identifier.system of the units of a region (its own, or the
 * model's).  Borrowed from the model. */
const char *model_fhir_unit_system(const struct model *m, const char *region);
/* True for an identifier system the models accept: "urn:oid:" and an OID,
 * "urn:uuid:" and a UUID, or an http(s) URL of printable ASCII without
 * '|' (which separates system and value in a token search). */
bool model_fhir_valid_system(const char *s);

/* The model as GET /v1/models shows it (new reference). */
json_t *model_to_json(const struct model *m);

#endif
