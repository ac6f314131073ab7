#include "fhir_resource.h"

#include <stdio.h>
#include <string.h>

#include "fhir_map.h"

#define TASK_CODE_SYSTEM "http://hl7.org/fhir/CodeSystem/task-code"

/* --- small builders ------------------------------------------------------- */

static json_t *stamp(cal_millis t)
{
	char buf[CAL_TIMESTAMP_LEN];

	if (t == 0)
		return NULL;
	calendar_format_timestamp(t, buf);
	return json_string(buf);
}

static const char *text_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Sets key only to a non-empty array: FHIR JSON has no empty arrays. */
static void set_list(json_t *obj, const char *key, json_t *arr)
{
	if (json_array_size(arr) > 0)
		json_object_set_new(obj, key, arr);
	else
		json_decref(arr);
}

static json_t *coding(const struct fhir_view *v, const char *code_system,
		      const char *code, const char *display)
{
	char system[FHIR_URL_MAX];

	if (code == NULL)
		return NULL;
	fhir_config_code_system(v->cfg, code_system, system);
	return json_pack("{s:s, s:s, s:s*}", "system", system, "code", code,
			 "display", text_or_null(display));
}

static const char *level_display(const struct fhir_view *v, const char *level)
{
	enum level l;

	return level != NULL && domain_level_parse(level, &l)
		       ? v->model->level_name_en[l]
		       : NULL;
}

/* {"url": <base>/StructureDefinition/painpath-<name>, <key>: value};
 * NULL (nothing to add) when value is NULL. */
static json_t *ext(const struct fhir_view *v, const char *name, const char *key,
		   json_t *value)
{
	char url[FHIR_URL_MAX];

	if (value == NULL)
		return NULL;
	fhir_config_extension_url(v->cfg, name, url);
	return json_pack("{s:s, s:o}", "url", url, key, value);
}

/* A sub-extension of a complex one: its url is the plain name. */
static json_t *sub_ext(const char *name, const char *key, json_t *value)
{
	return value != NULL ? json_pack("{s:s, s:o}", "url", name, key, value)
			     : NULL;
}

static json_t *identifier(const char *system, const char *value)
{
	return json_pack("{s:s, s:s}", "system", system, "value", value);
}

static json_t *reference_to(const char *type, const char *system,
			    const char *value)
{
	if (text_or_null(value) == NULL)
		return NULL;
	return json_pack("{s:s, s:o}", "type", type, "identifier",
			 identifier(system, value));
}

static json_t *patient_ref(const struct fhir_view *v)
{
	return reference_to("Patient", v->model->fhir.patient_system,
			    v->patient_id);
}

static json_t *unit_ref(const struct fhir_view *v, const char *unit)
{
	return reference_to("Organization",
			    model_fhir_unit_system(v->model, v->region), unit);
}

static json_t *meta(const struct fhir_view *v)
{
	char version[16];

	snprintf(version, sizeof(version), "%d", v->version);
	return json_pack("{s:s, s:O}", "versionId", version, "lastUpdated",
			 json_object_get(v->pathway, "updated_at"));
}

/* The business identifier of an event: the client's own system when a
 * FHIR write gave one (data.fhir.identifier_system), else ours. */
static json_t *event_identifier(const struct fhir_view *v, const char *event_id,
				const json_t *data)
{
	const char *system = json_string_value(json_object_get(
		json_object_get(data, "fhir"), "identifier_system"));

	return identifier(system != NULL ? system : v->cfg->event_id_system,
			  event_id);
}

static json_t *resource_head(const struct fhir_view *v, const char *type,
			     const char *id)
{
	return json_pack("{s:s, s:s, s:o}", "resourceType", type, "id", id,
			 "meta", meta(v));
}

static void referral_id(const struct fhir_view *v,
			const struct fhir_referral *ref,
			char out[FHIR_ID_MAX + 1])
{
	fhir_id_referral(v->pathway_id, ref->seq, out);
}

/* --- deadlines ------------------------------------------------------------ */

static bool is_referral_rule(const char *rule)
{
	return rule != NULL && strcmp(rule, "level_review") != 0;
}

static json_t *deadline_ext(const struct fhir_view *v, const json_t *d)
{
	const char *rule = json_string_value(json_object_get(d, "rule"));
	json_t *parts = json_array();

	json_array_append_new(parts, sub_ext("rule", "valueCoding",
					     coding(v, "rule", rule, NULL)));
	json_array_append_new(parts,
			      sub_ext("due", "valueDate",
				      json_incref(json_object_get(d, "due"))));
	if (json_is_string(json_object_get(d, "started_at")))
		json_array_append_new(
			parts,
			sub_ext("start", "valueDateTime",
				json_incref(json_object_get(d, "started_at"))));
	return ext(v, "deadline", "extension", parts);
}

/* The running deadlines, all of them (episode) or the referral's. */
static void add_deadlines(const struct fhir_view *v, json_t *exts,
			  bool referral_only)
{
	const json_t *deadlines = json_object_get(v->pathway, "deadlines");
	const json_t *d;
	size_t i;

	json_array_foreach(deadlines, i, d)
	{
		const char *rule =
			json_string_value(json_object_get(d, "rule"));
		if (rule == NULL || !json_is_string(json_object_get(d, "due")))
			continue;
		if (referral_only && !is_referral_rule(rule))
			continue;
		json_array_append_new(exts, deadline_ext(v, d));
	}
}

/* The earliest due date of the referral's running clocks (a date string
 * borrowed from the pathway), or NULL. */
static const char *referral_due(const struct fhir_view *v)
{
	const json_t *deadlines = json_object_get(v->pathway, "deadlines");
	const char *best = NULL;
	const json_t *d;
	size_t i;

	json_array_foreach(deadlines, i, d)
	{
		const char *rule =
			json_string_value(json_object_get(d, "rule"));
		const char *due = json_string_value(json_object_get(d, "due"));
		/* YYYY-MM-DD strings sort as dates. */
		if (is_referral_rule(rule) && due != NULL &&
		    (best == NULL || strcmp(due, best) < 0))
			best = due;
	}
	return best;
}

/* --- EpisodeOfCare -------------------------------------------------------- */

static json_t *coded_list(const struct fhir_view *v, const char *key,
			  const char *ext_name, const char *code_system,
			  bool levels)
{
	const json_t *arr = json_object_get(v->pathway, key);
	json_t *out = json_array();
	const json_t *item;
	size_t i;

	json_array_foreach(arr, i, item)
	{
		const char *code = json_string_value(item);
		json_array_append_new(
			out,
			ext(v, ext_name, "valueCoding",
			    coding(v, code_system, code,
				   levels ? level_display(v, code) : NULL)));
	}
	return out;
}

static void extend_array(json_t *dst, json_t *src)
{
	json_array_extend(dst, src);
	json_decref(src);
}

static json_t *episode_extensions(const struct fhir_view *v)
{
	const json_t *p = v->pathway;
	const char *level = json_string_value(json_object_get(p, "level"));
	json_t *exts = json_array();

	json_array_append_new(
		exts, ext(v, "region", "valueCode", json_string(v->region)));
	json_array_append_new(
		exts, ext(v, "level", "valueCoding",
			  coding(v, "level", level, level_display(v, level))));
	extend_array(exts, coded_list(v, "levels_visited", "level-visited",
				      "level", true));
	extend_array(exts, coded_list(v, "flags", "flag", "flag", false));
	add_deadlines(v, exts, false);
	if (json_is_string(json_object_get(p, "pain_onset")))
		json_array_append_new(
			exts,
			ext(v, "pain-onset", "valueDate",
			    json_incref(json_object_get(p, "pain_onset"))));
	if (json_is_integer(json_object_get(p, "age_at_opening")))
		json_array_append_new(
			exts,
			ext(v, "age", "valueInteger",
			    json_incref(json_object_get(p, "age_at_opening"))));
	json_array_append_new(
		exts, ext(v, "gp-unit", "valueReference",
			  unit_ref(v, json_string_value(
					      json_object_get(p, "gp_unit")))));
	json_array_append_new(
		exts, ext(v, "close-reason", "valueCoding",
			  coding(v, "close-reason",
				 json_string_value(
					 json_object_get(p, "close_reason")),
				 NULL)));
	/* ext() answers NULL for absent values, which
	 * json_array_append_new refuses: absent stays absent. */
	return exts;
}

static json_t *status_history(const struct fhir_view *v)
{
	const struct fhir_history *h = &v->history;
	json_t *arr = json_array();

	for (size_t i = 0; i < h->period_count; i++)
		json_array_append_new(
			arr, json_pack("{s:s, s:{s:o, s:o*}}", "status",
				       h->periods[i].status, "period", "start",
				       stamp(h->periods[i].start), "end",
				       stamp(h->periods[i].end)));
	return arr;
}

static json_t *episode_identifiers(const struct fhir_view *v)
{
	json_t *arr = json_array();
	const struct fhir_history *h = &v->history;

	json_array_append_new(
		arr, identifier(v->cfg->pathway_id_system, v->pathway_id));
	for (size_t i = 0; i < h->step_count; i++)
		if (h->steps[i].event_id == h->opened_event_id &&
		    h->opened_event_id != NULL)
			json_array_append_new(
				arr, event_identifier(v, h->opened_event_id,
						      h->steps[i].data));
	return arr;
}

static json_t *referral_requests(const struct fhir_view *v)
{
	json_t *arr = json_array();
	char id[FHIR_ID_MAX + 1], ref[FHIR_ID_MAX + 32];

	for (size_t i = 0; i < v->history.referral_count; i++) {
		referral_id(v, &v->history.referrals[i], id);
		snprintf(ref, sizeof(ref), "ServiceRequest/%s", id);
		json_array_append_new(arr,
				      json_pack("{s:s}", "reference", ref));
	}
	return arr;
}

json_t *fhir_resource_episode(const struct fhir_view *v)
{
	const json_t *p = v->pathway;
	json_t *r = resource_head(v, "EpisodeOfCare", v->episode_id);
	const char *unit = json_string_value(json_object_get(p, "unit"));

	if (r == NULL)
		return NULL;
	set_list(r, "extension", episode_extensions(v));
	set_list(r, "identifier", episode_identifiers(v));
	json_object_set_new(r, "status",
			    json_string(fhir_map_episode_status(v->phase)));
	if (strcmp(v->phase, "entered_in_error") != 0)
		set_list(r, "statusHistory", status_history(v));
	json_object_set_new(
		r, "type",
		json_pack("[{s:[o]}]", "coding",
			  coding(v, "model", v->model->key, v->model->name)));
	json_object_set_new(r, "patient", patient_ref(v));
	if (text_or_null(unit) != NULL)
		json_object_set_new(r, "managingOrganization",
				    unit_ref(v, unit));
	json_object_set_new(
		r, "period",
		json_pack("{s:O, s:O*}", "start",
			  json_object_get(p, "opened_at"), "end",
			  json_is_string(json_object_get(p, "closed_at"))
				  ? json_object_get(p, "closed_at")
				  : NULL));
	set_list(r, "referralRequest", referral_requests(v));
	return r;
}

/* --- ServiceRequest ------------------------------------------------------- */

static json_t *content_ext(const struct fhir_view *v, const json_t *content)
{
	json_t *parts = json_array();
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)content, key, value)
	{
		if (json_is_boolean(value))
			json_array_append_new(parts,
					      sub_ext(key, "valueBoolean",
						      json_incref(value)));
		else if (json_is_string(value) && json_string_length(value) > 0)
			json_array_append_new(parts,
					      sub_ext(key, "valueString",
						      json_incref(value)));
	}
	if (json_array_size(parts) == 0) {
		json_decref(parts);
		return NULL;
	}
	return ext(v, "referral-content", "extension", parts);
}

static json_t *earlier_levels_ext(const struct fhir_view *v, const json_t *data)
{
	const json_t *considered =
		json_object_get(data, "earlier_levels_considered");
	const char *justification =
		json_string_value(json_object_get(data, "justification"));
	json_t *parts = json_array();

	if (json_is_boolean(considered))
		json_array_append_new(
			parts, sub_ext("considered", "valueBoolean",
				       json_incref((json_t *)considered)));
	if (text_or_null(justification) != NULL)
		json_array_append_new(parts,
				      sub_ext("justification", "valueString",
					      json_string(justification)));
	if (json_array_size(parts) == 0) {
		json_decref(parts);
		return NULL;
	}
	return ext(v, "earlier-levels", "extension", parts);
}

static json_t *request_extensions(const struct fhir_view *v,
				  const struct fhir_referral *ref)
{
	const json_t *data = ref->sent_data;
	const json_t *private_unit = json_object_get(data, "private_unit");
	json_t *exts = json_array();

	json_array_append_new(exts, earlier_levels_ext(v, data));
	if (json_is_boolean(private_unit))
		json_array_append_new(exts,
				      ext(v, "private-unit", "valueBoolean",
					  json_incref((json_t *)private_unit)));
	if (json_is_object(json_object_get(data, "content")))
		json_array_append_new(
			exts, content_ext(v, json_object_get(data, "content")));
	return exts;
}

static json_t *request_code(const struct fhir_view *v,
			    const struct fhir_referral *ref)
{
	const char *display = level_display(v, ref->to_level);
	char text[256];
	json_t *code;

	snprintf(text, sizeof(text), "Referral to %s",
		 display != NULL ? display : "another unit");
	code = json_pack("{s:s}", "text", text);
	if (display != NULL)
		json_object_set_new(
			code, "coding",
			json_pack("[o]",
				  coding(v, "level", ref->to_level, display)));
	return code;
}

json_t *fhir_resource_service_request(const struct fhir_view *v,
				      const struct fhir_referral *ref)
{
	char id[FHIR_ID_MAX + 1];
	json_t *r;
	const char *to_unit =
		json_string_value(json_object_get(ref->sent_data, "to_unit"));

	referral_id(v, ref, id);
	r = resource_head(v, "ServiceRequest", id);
	if (r == NULL)
		return NULL;
	set_list(r, "extension", request_extensions(v, ref));
	json_object_set_new(r, "identifier",
			    json_pack("[o]", event_identifier(v, ref->event_id,
							      ref->sent_data)));
	json_object_set_new(r, "status",
			    json_string(fhir_map_request_status(ref->status)));
	json_object_set_new(r, "intent", json_string("order"));
	json_object_set_new(r, "code", request_code(v, ref));
	json_object_set_new(r, "subject", patient_ref(v));
	json_object_set_new(r, "authoredOn", stamp(ref->sent_at));
	json_object_set_new(r, "requester", unit_ref(v, ref->requester));
	if (text_or_null(to_unit) != NULL)
		json_object_set_new(r, "performer",
				    json_pack("[o]", unit_ref(v, to_unit)));
	return r;
}

/* --- Task ----------------------------------------------------------------- */

/* The unit that has the open referral, as the pathway says (exact after
 * corrections), or as the history found it. */
static const char *task_owner(const struct fhir_view *v,
			      const struct fhir_referral *ref)
{
	const json_t *r = json_object_get(v->pathway, "referral");
	const char *received =
		json_string_value(json_object_get(r, "received_unit"));
	const char *to_unit = json_string_value(json_object_get(r, "to_unit"));

	if (!ref->open)
		return ref->owner;
	if (text_or_null(received) != NULL)
		return received;
	return text_or_null(to_unit) != NULL ? to_unit : ref->owner;
}

static json_t *task_restriction(const struct fhir_view *v,
				const struct fhir_referral *ref)
{
	const char *due = ref->open ? referral_due(v) : NULL;

	return due != NULL ? json_pack("{s:{s:s}}", "period", "end", due)
			   : NULL;
}

static json_t *execution_period(const struct fhir_referral *ref)
{
	if (ref->started_at == 0)
		return NULL;
	return json_pack("{s:o, s:o*}", "start", stamp(ref->started_at), "end",
			 stamp(ref->ended_at));
}

static void task_reasons(json_t *r, const struct fhir_referral *ref)
{
	const char *reason = text_or_null(ref->reason);
	const char *advice = text_or_null(ref->advice);

	if (reason != NULL)
		json_object_set_new(r, "statusReason",
				    json_pack("{s:s}", "text", reason));
	if (advice != NULL)
		json_object_set_new(r, "note",
				    json_pack("[{s:s}]", "text", advice));
}

static json_t *task_focus(const struct fhir_view *v,
			  const struct fhir_referral *ref)
{
	char id[FHIR_ID_MAX + 1], focus[FHIR_ID_MAX + 32];

	referral_id(v, ref, id);
	snprintf(focus, sizeof(focus), "ServiceRequest/%s", id);
	return json_pack("{s:s}", "reference", focus);
}

json_t *fhir_resource_task(const struct fhir_view *v,
			   const struct fhir_referral *ref)
{
	char id[FHIR_ID_MAX + 1];
	json_t *r, *exts = json_array();

	referral_id(v, ref, id);
	r = resource_head(v, "Task", id);
	if (r == NULL) {
		json_decref(exts);
		return NULL;
	}
	if (ref->open)
		add_deadlines(v, exts, true);
	set_list(r, "extension", exts);
	json_object_set_new(r, "identifier",
			    json_pack("[o]", event_identifier(v, ref->event_id,
							      ref->sent_data)));
	json_object_set_new(r, "status", json_string(ref->status));
	task_reasons(r, ref);
	json_object_set_new(r, "businessStatus",
			    json_pack("{s:[o], s:s}", "coding",
				      coding(v, "phase", ref->phase, NULL),
				      "text", ref->phase));
	json_object_set_new(r, "intent", json_string("order"));
	json_object_set_new(r, "code",
			    json_pack("{s:[{s:s, s:s}]}", "coding", "system",
				      TASK_CODE_SYSTEM, "code", "fulfill"));
	json_object_set_new(r, "focus", task_focus(v, ref));
	json_object_set_new(r, "for", patient_ref(v));
	json_object_set_new(r, "executionPeriod", execution_period(ref));
	json_object_set_new(r, "authoredOn", stamp(ref->sent_at));
	json_object_set_new(r, "lastModified", stamp(ref->last_modified));
	json_object_set_new(r, "requester", unit_ref(v, ref->requester));
	json_object_set_new(r, "owner", unit_ref(v, task_owner(v, ref)));
	json_object_set_new(r, "restriction", task_restriction(v, ref));
	return r;
}

/* --- reading by id -------------------------------------------------------- */

/* The id must be this pathway's spelling, not just its seq. */
static bool names_referral(const struct fhir_view *v,
			   const struct fhir_referral *ref, const char *id)
{
	char mine[FHIR_ID_MAX + 1];

	referral_id(v, ref, mine);
	return strcmp(mine, id) == 0;
}

const struct fhir_referral *fhir_view_referral(const struct fhir_view *v,
					       const char *id)
{
	struct fhir_id_parts parts;
	const struct fhir_referral *ref;

	if (!fhir_id_parse(id, &parts) || parts.seq == 0)
		return NULL;
	ref = fhir_history_referral(&v->history, parts.seq);
	return ref != NULL && names_referral(v, ref, id) ? ref : NULL;
}

json_t *fhir_resource_read(const struct fhir_view *v, const char *type,
			   const char *id)
{
	const struct fhir_referral *ref;
	bool request;

	if (type == NULL || id == NULL)
		return NULL;
	if (strcmp(type, "EpisodeOfCare") == 0)
		return strcmp(id, v->episode_id) == 0 ? fhir_resource_episode(v)
						      : NULL;
	request = strcmp(type, "ServiceRequest") == 0;
	if (!request && strcmp(type, "Task") != 0)
		return NULL;
	ref = fhir_view_referral(v, id);
	if (ref == NULL)
		return NULL;
	return request ? fhir_resource_service_request(v, ref)
		       : fhir_resource_task(v, ref);
}

json_t *fhir_resource_all(const struct fhir_view *v)
{
	json_t *all = json_array();

	if (all == NULL || json_array_append_new(all, fhir_resource_episode(v)))
		goto fail;
	for (size_t i = 0; i < v->history.referral_count; i++) {
		const struct fhir_referral *ref = &v->history.referrals[i];
		if (json_array_append_new(
			    all, fhir_resource_service_request(v, ref)) ||
		    json_array_append_new(all, fhir_resource_task(v, ref)))
			goto fail;
	}
	return all;
fail:
	json_decref(all);
	return NULL;
}

void fhir_resource_etag(int version, char out[24])
{
	snprintf(out, 24, "W/\"%d\"", version);
}

/* --- the view ------------------------------------------------------------- */

static const char *pathway_string(const json_t *p, const char *key)
{
	return json_string_value(json_object_get(p, key));
}

/* The caller looked the model up by the pathway's key; a mismatch is a
 * bug there, not something to render. */
static bool same_model(const json_t *p, const struct model *m)
{
	const char *key = pathway_string(p, "model");

	return key != NULL && strcmp(key, m->key) == 0;
}

static bool has_timestamp(const json_t *p, const char *key)
{
	const char *s = pathway_string(p, key);
	cal_millis t;

	return s != NULL && calendar_parse_timestamp(s, &t);
}

bool fhir_view_load(struct fhir_view *v, const struct fhir_config *cfg,
		    const struct model *model, const json_t *pathway,
		    const json_t *transitions)
{
	const json_t *version = json_object_get(pathway, "version");

	memset(v, 0, sizeof(*v));
	v->cfg = cfg;
	v->model = model;
	v->pathway = pathway;
	v->pathway_id = pathway_string(pathway, "pathway_id");
	v->patient_id = pathway_string(pathway, "patient_id");
	v->region = pathway_string(pathway, "region");
	v->phase = pathway_string(pathway, "phase");
	if (!domain_valid_id(v->pathway_id) || v->patient_id == NULL ||
	    v->region == NULL || fhir_map_episode_status(v->phase) == NULL ||
	    !json_is_integer(version) || json_integer_value(version) < 1 ||
	    json_integer_value(version) > 0x7fffffff ||
	    !has_timestamp(pathway, "updated_at") ||
	    !has_timestamp(pathway, "opened_at") || !same_model(pathway, model))
		return false;
	v->version = (int)json_integer_value(version);
	fhir_id_pathway(v->pathway_id, v->episode_id);
	return fhir_history_load(transitions, &v->history);
}

void fhir_view_free(struct fhir_view *v)
{
	fhir_history_free(&v->history);
}
