#include "fhir_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "fhir_id.h"
#include "fhir_read.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- where each event field comes from -------------------------------------
 */

/* element: a FHIRPath below the resource; or ext: one of our extensions. */
struct field_row {
	enum fhir_write_target target;
	const char *field;
	const char *element;
	const char *ext;
};

static const struct field_row fields[] = {
	{FHIR_TARGET_EPISODE_CREATE, "event_id", "identifier", NULL},
	{FHIR_TARGET_EPISODE_CREATE, "pathway_id", "identifier", NULL},
	{FHIR_TARGET_EPISODE_CREATE, "patient_id", "patient.identifier.value",
	 NULL},
	{FHIR_TARGET_EPISODE_CREATE, "occurred_at", "period.start", NULL},
	{FHIR_TARGET_EPISODE_CREATE, "model", "type", NULL},
	{FHIR_TARGET_EPISODE_CREATE, "region", NULL, "region"},
	{FHIR_TARGET_EPISODE_CREATE, "unit",
	 "managingOrganization.identifier.value", NULL},
	{FHIR_TARGET_EPISODE_CREATE, "data.level", NULL, "level"},
	{FHIR_TARGET_EPISODE_CREATE, "data.pain_onset", NULL, "pain-onset"},
	{FHIR_TARGET_EPISODE_CREATE, "data.birth_date", NULL, "birth-date"},
	{FHIR_TARGET_EPISODE_CREATE, "data.age", NULL, "age"},
	{FHIR_TARGET_EPISODE_CREATE, "data.flags", NULL, "flag"},
	{FHIR_TARGET_EPISODE_CREATE, "type", "status", NULL},

	{FHIR_TARGET_REQUEST_CREATE, "event_id", "identifier", NULL},
	{FHIR_TARGET_REQUEST_CREATE, "patient_id", "subject.identifier.value",
	 NULL},
	{FHIR_TARGET_REQUEST_CREATE, "occurred_at", "authoredOn", NULL},
	{FHIR_TARGET_REQUEST_CREATE, "unit", "requester.identifier.value",
	 NULL},
	{FHIR_TARGET_REQUEST_CREATE, "data.to_level", "code", NULL},
	{FHIR_TARGET_REQUEST_CREATE, "data.to_unit",
	 "performer[0].identifier.value", NULL},
	{FHIR_TARGET_REQUEST_CREATE, "data.earlier_levels_considered", NULL,
	 "earlier-levels"},
	{FHIR_TARGET_REQUEST_CREATE, "data.justification", NULL,
	 "earlier-levels"},
	{FHIR_TARGET_REQUEST_CREATE, "data.private_unit", NULL, "private-unit"},
	{FHIR_TARGET_REQUEST_CREATE, "data.content", NULL, "referral-content"},
	{FHIR_TARGET_REQUEST_CREATE, "type", "status", NULL},

	{FHIR_TARGET_TASK_UPDATE, "type", "status", NULL},
	{FHIR_TARGET_TASK_UPDATE, "occurred_at", "lastModified", NULL},
	{FHIR_TARGET_TASK_UPDATE, "unit", "owner.identifier.value", NULL},
	{FHIR_TARGET_TASK_UPDATE, "data.to_unit", "owner.identifier.value",
	 NULL},
	{FHIR_TARGET_TASK_UPDATE, "data.deadline", "restriction.period.end",
	 NULL},
	{FHIR_TARGET_TASK_UPDATE, "data.reason", "statusReason", NULL},
	{FHIR_TARGET_TASK_UPDATE, "data.advice", "note[0].text", NULL},
	{FHIR_TARGET_TASK_UPDATE, "data.event_id", "status", NULL},

	{FHIR_TARGET_EPISODE_UPDATE, "type", "status", NULL},
	{FHIR_TARGET_EPISODE_UPDATE, "occurred_at", "period.end", NULL},
	{FHIR_TARGET_EPISODE_UPDATE, "data.event_id", "status", NULL},
	{FHIR_TARGET_EPISODE_UPDATE, "data.reason", NULL, "status-reason"},
	{FHIR_TARGET_EPISODE_UPDATE, "data.to_level", NULL, "level"},
	{FHIR_TARGET_EPISODE_UPDATE, "data.to_unit",
	 "managingOrganization.identifier.value", NULL},
	{FHIR_TARGET_EPISODE_UPDATE, "data.flags_add", NULL, "flag"},
	{FHIR_TARGET_EPISODE_UPDATE, "data.flags_remove", NULL, "flag"},
	{FHIR_TARGET_EPISODE_UPDATE, "data.pain_onset", NULL, "pain-onset"},
	{FHIR_TARGET_EPISODE_UPDATE, "data.birth_date", NULL, "birth-date"},
	{FHIR_TARGET_EPISODE_UPDATE, "data.age", NULL, "age"},
	{FHIR_TARGET_EPISODE_UPDATE, "data.model", "type", NULL},
};

static const char *const target_types[] = {"EpisodeOfCare", "ServiceRequest",
					   "Task", "EpisodeOfCare"};

void fhir_write_error(const struct fhir_config *cfg, const struct fhir_write *w,
		      const struct pp_error *refusal, struct fhir_error *out)
{
	const char *type = target_types[w->target];
	char expr[FHIR_EXPRESSION_MAX], url[FHIR_URL_MAX];

	/* Without a field the refusal concerns the whole resource (a
	 * pathway that exists, an illegal transition of the Task...). */
	snprintf(expr, sizeof(expr), "%s", type);
	for (size_t i = 0; i < COUNT(fields); i++) {
		const struct field_row *f = &fields[i];
		if (f->target != w->target ||
		    strcmp(f->field, refusal->field) != 0)
			continue;
		if (f->ext != NULL) {
			fhir_config_extension_url(cfg, f->ext, url);
			snprintf(expr, sizeof(expr), "%s.extension('%s')", type,
				 url);
		} else {
			snprintf(expr, sizeof(expr), "%s.%s", type, f->element);
		}
		break;
	}
	fhir_error_from_pp(out, refusal, expr);
}

/* --- shared ----------------------------------------------------------------
 */

json_t *fhir_write_event(const char *event_id, const char *type,
			 const char *patient_id, const char *pathway_id,
			 const char *occurred_at, cal_millis now, json_t *data,
			 bool *assumed)
{
	char when[CAL_TIMESTAMP_LEN];

	*assumed = occurred_at == NULL;
	if (occurred_at == NULL) {
		calendar_format_timestamp(now, when);
		occurred_at = when;
	}
	return json_pack("{s:s, s:s, s:s, s:s*, s:s, s:o}", "event_id",
			 event_id, "type", type, "patient_id",
			 patient_id != NULL ? patient_id : "", "pathway_id",
			 pathway_id, "occurred_at", occurred_at, "data",
			 data != NULL ? data : json_object());
}

void fhir_write_free(struct fhir_write *w)
{
	json_decref(w->event);
	memset(w, 0, sizeof(*w));
}

bool fhir_write_patient(const json_t *resource, const char **system,
			const char **value,
			char expression[FHIR_EXPRESSION_MAX])
{
	static const struct {
		const char *type;
		const char *element;
	} patients[] = {{"EpisodeOfCare", "patient"},
			{"ServiceRequest", "subject"},
			{"Task", "for"}};
	const char *type =
		json_string_value(json_object_get(resource, "resourceType"));
	const json_t *ident;

	*system = *value = NULL;
	snprintf(expression, FHIR_EXPRESSION_MAX, "%s",
		 type != NULL ? type : "Resource");
	for (size_t i = 0; type != NULL && i < COUNT(patients); i++) {
		if (strcmp(type, patients[i].type) != 0)
			continue;
		snprintf(expression, FHIR_EXPRESSION_MAX,
			 "%s.%s.identifier.value", type, patients[i].element);
		ident = json_object_get(
			json_object_get(resource, patients[i].element),
			"identifier");
		*system = json_string_value(json_object_get(ident, "system"));
		*value = json_string_value(json_object_get(ident, "value"));
	}
	return *value != NULL && (*value)[0] != '\0';
}

/* --- the business identifier ------------------------------------------------
 */

struct business_id {
	char event_id[ID_MAX + 1];
	char system[FHIR_URL_MAX];   /* the client's, "" when ours or none */
	char pathway_id[ID_MAX + 1]; /* EpisodeOfCare: our pathway-id */
};

/* The resource's identifiers: our pathway id, and the first other one
 * (which names the event), or the one If-None-Exist names. */
static bool scan_identifiers(const struct fhir_config *cfg,
			     const json_t *resource, const char *type,
			     const char *want_system, const char *want_value,
			     struct fhir_ident *chosen, bool *found,
			     char where[], struct business_id *out,
			     struct fhir_error *err)
{
	const json_t *ids = json_object_get(resource, "identifier");
	const json_t *id;
	size_t i;

	snprintf(where, FHIR_EXPRESSION_MAX, "%s.identifier", type);
	if (ids != NULL && !json_is_array(ids))
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "%s must be an array", where);
	json_array_foreach(ids, i, id)
	{
		struct fhir_ident it = {0};
		char sub[FHIR_EXPRESSION_MAX];
		snprintf(sub, sizeof(sub), "%s.identifier[%zu].value", type, i);
		if (!fhir_read_string(id, "system", sub, &it.system, err) ||
		    !fhir_read_string(id, "value", sub, &it.value, err))
			return false;
		if (it.value == NULL)
			continue;
		if (it.system != NULL &&
		    strcmp(it.system, cfg->pathway_id_system) == 0) {
			snprintf(out->pathway_id, sizeof(out->pathway_id),
				 "%.128s", it.value);
			continue;
		}
		*found = want_value != NULL &&
			 strcmp(it.value, want_value) == 0 &&
			 (want_system[0] == '\0' ||
			  (it.system != NULL &&
			   strcmp(it.system, want_system) == 0));
		if (chosen->value == NULL || *found) {
			*chosen = it;
			snprintf(where, FHIR_EXPRESSION_MAX, "%s", sub);
		}
		if (*found)
			break;
	}
	return true;
}

static bool business_id(const struct fhir_config *cfg, const json_t *resource,
			const char *type, const char *if_none_exist,
			struct business_id *out, struct fhir_error *err)
{
	char want_system[FHIR_URL_MAX] = "", want_value[ID_MAX + 2] = "";
	char where[FHIR_EXPRESSION_MAX];
	struct fhir_ident chosen = {0};
	bool conditional = if_none_exist != NULL, found = false;

	memset(out, 0, sizeof(*out));
	if (conditional &&
	    !fhir_read_if_none_exist(if_none_exist, want_system,
				     sizeof(want_system), want_value,
				     sizeof(want_value), err))
		return false;
	if (!scan_identifiers(cfg, resource, type, want_system,
			      conditional ? want_value : NULL, &chosen, &found,
			      where, out, err))
		return false;
	/* Both given: the condition must name one the resource carries. */
	if (conditional && chosen.value != NULL && !found)
		return fhir_error_set(err, ERR_INVALID_REQUEST, "If-None-Exist",
				      "If-None-Exist names an identifier the "
				      "resource does not carry");
	if (conditional && chosen.value == NULL) {
		chosen.value = want_value;
		chosen.system = want_system[0] != '\0' ? want_system : NULL;
		snprintf(where, sizeof(where), "If-None-Exist");
	}
	if (chosen.value == NULL)
		return true; /* the caller hashes the resource */
	if (!domain_valid_id(chosen.value))
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "the business identifier's value becomes "
				      "the event_id: 1..128 of A-Z a-z 0-9 . "
				      "_ : -");
	snprintf(out->event_id, sizeof(out->event_id), "%s", chosen.value);
	if (chosen.system != NULL &&
	    strcmp(chosen.system, cfg->event_id_system) != 0)
		snprintf(out->system, sizeof(out->system), "%s", chosen.system);
	return true;
}

/* The event id of a create: the business identifier, else a hash of the
 * resource (its canonical JSON). */
static bool create_event_id(const struct fhir_config *cfg,
			    const json_t *resource, const char *type,
			    const char *if_none_exist, struct business_id *out,
			    struct fhir_error *err)
{
	char *text;

	if (!business_id(cfg, resource, type, if_none_exist, out, err))
		return false;
	if (out->event_id[0] != '\0')
		return true;
	text = json_dumps(resource, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		return fhir_error_set(err, ERR_INTERNAL, NULL, "out of memory");
	fhir_id_content_event(type, text, strlen(text), out->event_id);
	free(text);
	return true;
}

/* data.fhir: what a read needs to show the resource as the client wrote
 * it (its identifier system). */
static void remember_system(json_t *data, const struct business_id *id)
{
	if (id->system[0] != '\0')
		json_object_set_new(
			data, "fhir",
			json_pack("{s:s}", "identifier_system", id->system));
}

/* Copies an extension's value into data[key]; ext may be NULL. */
static bool copy_value(json_t *data, const char *key, const json_t *ext,
		       const char *value_key, const char *expr,
		       struct fhir_error *err)
{
	const json_t *v = json_object_get(ext, value_key);

	if (ext == NULL)
		return true;
	if (v == NULL)
		return fhir_error_set(err, ERR_INVALID_REQUEST, expr,
				      "%s needs %s", expr, value_key);
	json_object_set_new(data, key, json_deep_copy(v));
	return true;
}

/* --- POST EpisodeOfCare -----------------------------------------------------
 */

static const char *const episode_exts[] = {
	"region",   "level",	    "level-visited", "flag",
	"deadline", "pain-onset",   "birth-date",    "age",
	"gp-unit",  "close-reason", "status-reason", NULL};

static bool episode_model(const struct fhir_config *cfg,
			  const struct model_set *models, const json_t *r,
			  const struct model **out, struct fhir_error *err)
{
	char system[FHIR_URL_MAX];
	const char *key;
	const json_t *types = json_object_get(r, "type");
	const json_t *t;
	size_t i;

	*out = NULL;
	fhir_config_code_system(cfg, "model", system);
	json_array_foreach(types, i, t)
	{
		if (!fhir_read_concept_code(t, system, "EpisodeOfCare.type",
					    &key, err))
			return false;
		if (key != NULL)
			*out = model_set_find(models, key);
		if (key != NULL)
			break;
	}
	if (*out != NULL)
		return true;
	return fhir_error_set(err, ERR_INVALID_REQUEST, "EpisodeOfCare.type",
			      "EpisodeOfCare.type must name a pathway model "
			      "(%s, code se-adult, se-child, dk or no)",
			      system);
}

/* The flag codes of the painpath-flag extensions, as an array. */
static bool episode_flags(const struct fhir_config *cfg, const json_t *r,
			  json_t *data, struct fhir_error *err)
{
	char url[FHIR_URL_MAX], where[FHIR_EXPRESSION_MAX];
	json_t *flags = json_array();
	const json_t *e;
	size_t i;

	fhir_config_extension_url(cfg, "flag", url);
	json_array_foreach(json_object_get(r, "extension"), i, e)
	{
		const char *u = json_string_value(json_object_get(e, "url"));
		if (u == NULL || strcmp(u, url) != 0)
			continue;
		if (fhir_read_code_value(e) == NULL) {
			json_decref(flags);
			snprintf(where, sizeof(where),
				 "EpisodeOfCare.extension[%zu]", i);
			return fhir_error_set(err, ERR_INVALID_REQUEST, where,
					      "a flag needs valueCoding or "
					      "valueCode");
		}
		json_array_append_new(flags,
				      json_string(fhir_read_code_value(e)));
	}
	if (json_array_size(flags) > 0)
		json_object_set_new(data, "flags", flags);
	else
		json_decref(flags);
	return true;
}

static bool episode_data(const struct fhir_config *cfg, const json_t *r,
			 json_t *data, struct fhir_error *err)
{
	char expr[FHIR_EXPRESSION_MAX];
	const json_t *e;
	const char *p = "EpisodeOfCare";

	e = fhir_read_extension(cfg, r, p, "level", expr);
	if (e != NULL && fhir_read_code_value(e) == NULL)
		return fhir_error_set(err, ERR_INVALID_REQUEST, expr,
				      "%s needs valueCoding", expr);
	if (e != NULL)
		json_object_set_new(data, "level",
				    json_string(fhir_read_code_value(e)));
	e = fhir_read_extension(cfg, r, p, "pain-onset", expr);
	if (!copy_value(data, "pain_onset", e, "valueDate", expr, err))
		return false;
	e = fhir_read_extension(cfg, r, p, "birth-date", expr);
	if (!copy_value(data, "birth_date", e, "valueDate", expr, err))
		return false;
	e = fhir_read_extension(cfg, r, p, "age", expr);
	return copy_value(data, "age", e, "valueInteger", expr, err) &&
	       episode_flags(cfg, r, data, err);
}

/* Patient, region and unit, each in the identifier system the model
 * names. */
static bool episode_place(const struct fhir_config *cfg, const struct model *m,
			  const json_t *r, json_t *ev, struct fhir_error *err)
{
	struct fhir_ident patient, unit;
	char expr[FHIR_EXPRESSION_MAX];
	const json_t *region_ext =
		fhir_read_extension(cfg, r, "EpisodeOfCare", "region", expr);
	const char *region = fhir_read_code_value(region_ext);

	if (region_ext != NULL && region == NULL)
		return fhir_error_set(err, ERR_INVALID_REQUEST, expr,
				      "%s needs valueCode", expr);
	if (!fhir_read_reference(r, "EpisodeOfCare", "patient", &patient,
				 err) ||
	    !fhir_read_check_system(&patient, m->fhir.patient_system,
				    "EpisodeOfCare.patient.identifier.system",
				    err) ||
	    !fhir_read_reference(r, "EpisodeOfCare", "managingOrganization",
				 &unit, err) ||
	    !fhir_read_check_system(
		    &unit, model_fhir_unit_system(m, region),
		    "EpisodeOfCare.managingOrganization.identifier.system",
		    err))
		return false;
	json_object_set_new(ev, "patient_id",
			    json_string(patient.value ? patient.value : ""));
	if (region != NULL)
		json_object_set_new(ev, "region", json_string(region));
	if (unit.value != NULL)
		json_object_set_new(ev, "unit", json_string(unit.value));
	json_object_set_new(ev, "model", json_string(m->key));
	return true;
}

static bool check_status(const json_t *r, const char *type, const char *want,
			 struct fhir_error *err)
{
	const char *status = json_string_value(json_object_get(r, "status"));
	char where[64];

	snprintf(where, sizeof(where), "%s.status", type);
	if (status != NULL && strcmp(status, want) == 0)
		return true;
	return fhir_error_typed(err, ERR_INVALID_REQUEST, "not-supported",
				where, "a new %s is %s (status: \"%s\")", type,
				want, want);
}

bool fhir_write_episode(const struct fhir_config *cfg,
			const struct model_set *models, const json_t *resource,
			const char *if_none_exist, cal_millis now,
			struct fhir_write *out, struct fhir_error *err)
{
	const struct model *m;
	struct business_id id;
	cal_millis start;
	const char *start_text;
	json_t *data = NULL;

	memset(out, 0, sizeof(*out));
	out->target = FHIR_TARGET_EPISODE_CREATE;
	if (!fhir_read_check_resource(resource, "EpisodeOfCare", err) ||
	    !fhir_read_check_extensions(cfg, resource, "EpisodeOfCare",
					episode_exts, err) ||
	    !check_status(resource, "EpisodeOfCare", "active", err) ||
	    !episode_model(cfg, models, resource, &m, err) ||
	    !create_event_id(cfg, resource, "EpisodeOfCare", if_none_exist, &id,
			     err) ||
	    !fhir_read_instant(json_object_get(resource, "period"), "start",
			       "EpisodeOfCare.period.start", &start,
			       &start_text, err))
		return false;
	data = json_object();
	if (!episode_data(cfg, resource, data, err)) {
		json_decref(data);
		return false;
	}
	remember_system(data, &id);
	out->event = fhir_write_event(
		id.event_id, "pathway.opened", NULL,
		id.pathway_id[0] != '\0' ? id.pathway_id : NULL, start_text,
		now, data, &out->occurred_at_assumed);
	if (out->event == NULL)
		return fhir_error_set(err, ERR_INTERNAL, NULL, "out of memory");
	if (!episode_place(cfg, m, resource, out->event, err)) {
		fhir_write_free(out);
		return false;
	}
	return true;
}

/* --- POST ServiceRequest ----------------------------------------------------
 */

static const char *const request_exts[] = {"earlier-levels", "private-unit",
					   "referral-content", NULL};

static bool request_level(const struct fhir_config *cfg, const json_t *r,
			  json_t *data, struct fhir_error *err)
{
	char system[FHIR_URL_MAX];
	const char *level;

	fhir_config_code_system(cfg, "level", system);
	if (!fhir_read_concept_code(json_object_get(r, "code"), system,
				    "ServiceRequest.code", &level, err))
		return false;
	if (level != NULL)
		json_object_set_new(data, "to_level", json_string(level));
	return true;
}

static bool request_content(const json_t *ext, const char *expr, json_t *data,
			    struct fhir_error *err)
{
	json_t *content = json_object();
	const json_t *sub;
	size_t i;

	json_array_foreach(json_object_get(ext, "extension"), i, sub)
	{
		const char *item =
			json_string_value(json_object_get(sub, "url"));
		const json_t *v = json_object_get(sub, "valueBoolean");
		if (v == NULL)
			v = json_object_get(sub, "valueString");
		if (item == NULL || v == NULL) {
			json_decref(content);
			return fhir_error_set(
				err, ERR_INVALID_REQUEST, expr,
				"each referral item needs a url "
				"and valueBoolean or valueString");
		}
		json_object_set_new(content, item, json_deep_copy(v));
	}
	json_object_set_new(data, "content", content);
	return true;
}

static bool request_exts_data(const struct fhir_config *cfg, const json_t *r,
			      json_t *data, struct fhir_error *err)
{
	char expr[FHIR_EXPRESSION_MAX];
	const char *p = "ServiceRequest";
	const json_t *e =
		fhir_read_extension(cfg, r, p, "earlier-levels", expr);

	if (!copy_value(data, "earlier_levels_considered",
			fhir_read_sub_extension(e, "considered"),
			"valueBoolean", expr, err) ||
	    !copy_value(data, "justification",
			fhir_read_sub_extension(e, "justification"),
			"valueString", expr, err))
		return false;
	e = fhir_read_extension(cfg, r, p, "private-unit", expr);
	if (!copy_value(data, "private_unit", e, "valueBoolean", expr, err))
		return false;
	e = fhir_read_extension(cfg, r, p, "referral-content", expr);
	return e == NULL || request_content(e, expr, data, err);
}

/* The receiving and the referring unit, in the region's system. */
static bool request_units(const json_t *r, const struct model *m,
			  const char *region, json_t *ev, json_t *data,
			  struct fhir_error *err)
{
	const json_t *performers = json_object_get(r, "performer");
	struct fhir_ident to = {0}, from;
	json_t *wrap;
	bool ok;

	if (performers != NULL &&
	    (!json_is_array(performers) || json_array_size(performers) > 1))
		return fhir_error_set(err, ERR_INVALID_REQUEST,
				      "ServiceRequest.performer",
				      "a referral names one receiving unit");
	/* Read performer[0] as an element of its own, so errors name it. */
	wrap = json_pack("{s:O*}", "performer[0]",
			 json_array_get(performers, 0));
	ok = fhir_read_reference(wrap, "ServiceRequest", "performer[0]", &to,
				 err) &&
	     fhir_read_reference(r, "ServiceRequest", "requester", &from, err);
	json_decref(wrap);
	if (ok && m != NULL)
		ok = fhir_read_check_system(
			     &to, model_fhir_unit_system(m, region),
			     "ServiceRequest.performer[0].identifier.system",
			     err) &&
		     fhir_read_check_system(
			     &from, model_fhir_unit_system(m, region),
			     "ServiceRequest.requester.identifier.system", err);
	if (!ok)
		return false;
	if (to.value != NULL)
		json_object_set_new(data, "to_unit", json_string(to.value));
	if (from.value != NULL)
		json_object_set_new(ev, "unit", json_string(from.value));
	return true;
}

static bool request_head(const json_t *r, struct fhir_error *err)
{
	const char *intent = json_string_value(json_object_get(r, "intent"));

	if (!check_status(r, "ServiceRequest", "active", err))
		return false;
	if (intent == NULL || strcmp(intent, "order") != 0)
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported",
					"ServiceRequest.intent",
					"a referral is an order (intent: "
					"\"order\")");
	return true;
}

/* The pathway the caller found must be the subject's: a referral never
 * lands on another patient's pathway. */
static bool same_patient(const json_t *pathway, const struct fhir_ident *p,
			 struct fhir_error *err)
{
	const char *owner =
		json_string_value(json_object_get(pathway, "patient_id"));

	if (pathway == NULL ||
	    (p->value != NULL && owner != NULL && strcmp(owner, p->value) == 0))
		return true;
	return fhir_error_set(err, ERR_INVALID_REQUEST,
			      "ServiceRequest.subject.identifier.value",
			      "the referral's subject is not the patient of "
			      "the pathway it would join");
}

static bool request_event(const struct fhir_config *cfg, const struct model *m,
			  const json_t *pathway, const json_t *r,
			  struct business_id *id, cal_millis now,
			  struct fhir_write *out, struct fhir_error *err)
{
	const char *region =
		json_string_value(json_object_get(pathway, "region"));
	struct fhir_ident patient;
	cal_millis at;
	const char *at_text;
	json_t *data = json_object();

	if (!fhir_read_reference(r, "ServiceRequest", "subject", &patient,
				 err) ||
	    (m != NULL &&
	     !fhir_read_check_system(&patient, m->fhir.patient_system,
				     "ServiceRequest.subject.identifier.system",
				     err)) ||
	    !same_patient(pathway, &patient, err) ||
	    !fhir_read_instant(r, "authoredOn", "ServiceRequest.authoredOn",
			       &at, &at_text, err) ||
	    !request_level(cfg, r, data, err) ||
	    !request_exts_data(cfg, r, data, err)) {
		json_decref(data);
		return false;
	}
	remember_system(data, id);
	out->event = fhir_write_event(
		id->event_id, "referral.sent", patient.value,
		json_string_value(json_object_get(pathway, "pathway_id")),
		at_text, now, data, &out->occurred_at_assumed);
	if (out->event == NULL)
		return fhir_error_set(err, ERR_INTERNAL, NULL, "out of memory");
	return request_units(r, m, region, out->event, data, err);
}

bool fhir_write_request(const struct fhir_config *cfg,
			const struct model_set *models, const json_t *pathway,
			const json_t *resource, const char *if_none_exist,
			cal_millis now, struct fhir_write *out,
			struct fhir_error *err)
{
	const struct model *m = model_set_find(
		models, json_string_value(json_object_get(pathway, "model")));
	struct business_id id;

	memset(out, 0, sizeof(*out));
	out->target = FHIR_TARGET_REQUEST_CREATE;
	if (!fhir_read_check_resource(resource, "ServiceRequest", err) ||
	    !fhir_read_check_extensions(cfg, resource, "ServiceRequest",
					request_exts, err) ||
	    !request_head(resource, err) ||
	    !create_event_id(cfg, resource, "ServiceRequest", if_none_exist,
			     &id, err))
		return false;
	if (!request_event(cfg, m, pathway, resource, &id, now, out, err)) {
		fhir_write_free(out);
		return false;
	}
	return true;
}
