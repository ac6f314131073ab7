#include "fhir_capability.h"

#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define READ_SEARCH (FHIR_INTERACTION_READ | FHIR_INTERACTION_SEARCH)

/* Parameters every resource row has. */
#define COMMON_PARAMS                                                          \
	{"_id", FHIR_PARAM_TOKEN, "Resource.id", false,                        \
	 "The resource id (doc/fhir.md: Resource ids)"},                       \
	{                                                                      \
		"_lastUpdated", FHIR_PARAM_DATE, "Resource.meta.lastUpdated",  \
			false, "When the pathway last changed"                 \
	}

static const struct fhir_search_param episode_params[] = {
	COMMON_PARAMS,
	{"identifier", FHIR_PARAM_TOKEN, "EpisodeOfCare.identifier", false,
	 "The pathway id or the business identifier of its opening"},
	{"patient", FHIR_PARAM_REFERENCE, "EpisodeOfCare.patient", false,
	 "The patient, by identifier: patient:identifier=system|value"},
	{"status", FHIR_PARAM_TOKEN, "EpisodeOfCare.status", false,
	 "active (active, referred, assessing), waitlist (waiting), "
	 "finished (closed), entered-in-error"},
	{"organization", FHIR_PARAM_REFERENCE,
	 "EpisodeOfCare.managingOrganization", false,
	 "The unit following the patient, by identifier"},
	{NULL, FHIR_PARAM_TOKEN, NULL, false, NULL},
};

static const struct fhir_search_param request_params[] = {
	COMMON_PARAMS,
	{"identifier", FHIR_PARAM_TOKEN, "ServiceRequest.identifier", false,
	 "The business identifier (the referral.sent event id)"},
	{"patient", FHIR_PARAM_REFERENCE, "ServiceRequest.subject", false,
	 "The patient, by identifier"},
	{"status", FHIR_PARAM_TOKEN, "ServiceRequest.status", false,
	 "active, completed, revoked, entered-in-error"},
	{"requester", FHIR_PARAM_REFERENCE, "ServiceRequest.requester", false,
	 "The referring unit, by identifier"},
	{"performer", FHIR_PARAM_REFERENCE, "ServiceRequest.performer", false,
	 "The unit referred to, by identifier"},
	{"authored", FHIR_PARAM_DATE, "ServiceRequest.authoredOn", false,
	 "When the referral was sent"},
	{NULL, FHIR_PARAM_TOKEN, NULL, false, NULL},
};

static const struct fhir_search_param task_params[] = {
	COMMON_PARAMS,
	{"identifier", FHIR_PARAM_TOKEN, "Task.identifier", false,
	 "The business identifier of the referral"},
	{"patient", FHIR_PARAM_REFERENCE, "Task.for", false,
	 "The patient, by identifier"},
	{"status", FHIR_PARAM_TOKEN, "Task.status", false,
	 "requested, received, accepted, rejected, cancelled, in-progress, "
	 "completed, entered-in-error"},
	{"business-status", FHIR_PARAM_TOKEN, "Task.businessStatus", false,
	 "The pathway's phase (CodeSystem painpath-phase)"},
	{"owner", FHIR_PARAM_REFERENCE, "Task.owner", false,
	 "The receiving unit, by identifier"},
	{"requester", FHIR_PARAM_REFERENCE, "Task.requester", false,
	 "The referring unit, by identifier"},
	{"focus", FHIR_PARAM_REFERENCE, "Task.focus", false,
	 "The ServiceRequest (the referral)"},
	{"modified", FHIR_PARAM_DATE, "Task.lastModified", false,
	 "When the referral's workflow last moved"},
	{"deadline", FHIR_PARAM_DATE, "Task.restriction.period.end", true,
	 "The running legal deadline of the referral (transit, assessment, "
	 "treatment or free choice, the earliest): deadline=le2025-05-01 "
	 "finds the referrals due by then"},
	{NULL, FHIR_PARAM_TOKEN, NULL, false, NULL},
};

static const struct fhir_search_param subscription_params[] = {
	{"_id", FHIR_PARAM_TOKEN, "Resource.id", false, "The subscription id"},
	{"status", FHIR_PARAM_TOKEN, "Subscription.status", false,
	 "requested, active, error, off"},
	{NULL, FHIR_PARAM_TOKEN, NULL, false, NULL},
};

static const char *const task_includes[] = {"Task:focus", NULL};

const struct fhir_resource_row fhir_capability_resources[] = {
	{"EpisodeOfCare",
	 READ_SEARCH | FHIR_INTERACTION_CREATE | FHIR_INTERACTION_UPDATE, true,
	 true, episode_params, NULL,
	 "A pathway.  create opens one (pathway.opened); update to status "
	 "finished closes it (pathway.closed)"},
	{"ServiceRequest", READ_SEARCH | FHIR_INTERACTION_CREATE, true, false,
	 request_params, NULL,
	 "A referral.  create sends one (referral.sent) on the patient's open "
	 "pathway"},
	{"Task", READ_SEARCH | FHIR_INTERACTION_UPDATE, false, true,
	 task_params, task_includes,
	 "A referral's workflow.  update to received, accepted, rejected, "
	 "cancelled, in-progress or entered-in-error posts the matching "
	 "event"},
	{"Subscription",
	 READ_SEARCH | FHIR_INTERACTION_CREATE | FHIR_INTERACTION_DELETE, false,
	 false, subscription_params, NULL,
	 "rest-hook subscriptions on Task and EpisodeOfCare (owner=, "
	 "patient=, status=, ...); deliveries are signed (HMAC-SHA256)"},
};

const size_t fhir_capability_resource_count = COUNT(fhir_capability_resources);
const unsigned fhir_capability_system_interactions =
	FHIR_SYSTEM_BATCH | FHIR_SYSTEM_TRANSACTION;

static const char *const interaction_names[FHIR_INTERACTION_COUNT] = {
	"read", "search-type", "create", "update", "delete"};

const struct fhir_resource_row *fhir_capability_find(const char *type)
{
	for (size_t i = 0; type != NULL && i < COUNT(fhir_capability_resources);
	     i++)
		if (strcmp(fhir_capability_resources[i].type, type) == 0)
			return &fhir_capability_resources[i];
	return NULL;
}

const struct fhir_search_param *
fhir_capability_param(const struct fhir_resource_row *row, const char *name)
{
	for (const struct fhir_search_param *p = row->params;
	     name != NULL && p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

bool fhir_capability_allows(const struct fhir_resource_row *row,
			    enum fhir_interaction interaction)
{
	return row != NULL && (row->interactions & interaction) != 0;
}

const char *fhir_capability_param_type_name(enum fhir_param_type type)
{
	static const char *const names[] = {"token", "reference", "date",
					    "string", "uri"};

	return (size_t)type < COUNT(names) ? names[type] : NULL;
}

const char *fhir_capability_interaction_name(unsigned interaction)
{
	for (int i = 0; i < FHIR_INTERACTION_COUNT; i++)
		if (interaction == 1u << i)
			return interaction_names[i];
	return NULL;
}

static void definition_url(const struct fhir_config *cfg, const char *type,
			   const char *name, char out[FHIR_URL_MAX])
{
	char path[128];

	snprintf(path, sizeof(path), "SearchParameter/%s-%s", type, name);
	fhir_config_url(cfg, path, out);
}

static json_t *search_params(const struct fhir_config *cfg,
			     const struct fhir_resource_row *row)
{
	json_t *arr = json_array();
	char url[FHIR_URL_MAX];

	for (const struct fhir_search_param *p = row->params; p->name != NULL;
	     p++) {
		json_t *param =
			json_pack("{s:s, s:s, s:s}", "name", p->name, "type",
				  fhir_capability_param_type_name(p->type),
				  "documentation", p->documentation);
		if (p->custom) {
			definition_url(cfg, row->type, p->name, url);
			json_object_set_new(param, "definition",
					    json_string(url));
		}
		json_array_append_new(arr, param);
	}
	return arr;
}

static json_t *interactions(unsigned bits)
{
	json_t *arr = json_array();

	for (int i = 0; i < FHIR_INTERACTION_COUNT; i++)
		if (bits & (1u << i))
			json_array_append_new(arr,
					      json_pack("{s:s}", "code",
							interaction_names[i]));
	return arr;
}

static json_t *resource_entry(const struct fhir_config *cfg,
			      const struct fhir_resource_row *row)
{
	json_t *r = json_pack(
		"{s:s, s:s, s:o, s:s, s:b, s:b, s:b, s:s, s:s, s:[s], s:o}",
		"type", row->type, "documentation", row->documentation,
		"interaction", interactions(row->interactions), "versioning",
		row->versioned_update ? "versioned-update" : "versioned",
		"readHistory", 0, "updateCreate", 0, "conditionalCreate",
		row->conditional_create, "conditionalRead", "not-supported",
		"conditionalDelete", "not-supported", "referencePolicy",
		"logical", "searchParam", search_params(cfg, row));

	if (r != NULL && row->includes != NULL) {
		json_t *inc = json_array();
		for (const char *const *i = row->includes; *i != NULL; i++)
			json_array_append_new(inc, json_string(*i));
		json_object_set_new(r, "searchInclude", inc);
	}
	return r;
}

static json_t *rest(const struct fhir_config *cfg)
{
	json_t *resources = json_array();
	json_t *system = json_array();

	for (size_t i = 0; i < COUNT(fhir_capability_resources); i++)
		json_array_append_new(
			resources,
			resource_entry(cfg, &fhir_capability_resources[i]));
	if (fhir_capability_system_interactions & FHIR_SYSTEM_BATCH)
		json_array_append_new(system,
				      json_pack("{s:s}", "code", "batch"));
	if (fhir_capability_system_interactions & FHIR_SYSTEM_TRANSACTION)
		json_array_append_new(
			system, json_pack("{s:s}", "code", "transaction"));
	return json_pack(
		"{s:s, s:s, s:{s:b, s:s}, s:o, s:o}", "mode", "server",
		"documentation",
		"Tiered care pathways for long-lasting pain over the same "
		"state "
		"machine, rules, tokens and audit as /v1.  References to "
		"patients and units are logical (Reference.identifier).",
		"security", "cors", 0, "description",
		"Authorization: Bearer <token>; a token's role and regions "
		"limit what it may read and write, as on /v1",
		"resource", resources, "interaction", system);
}

json_t *fhir_capability_statement(const struct fhir_config *cfg,
				  const char *software_version, cal_millis date)
{
	char when[CAL_TIMESTAMP_LEN];

	calendar_format_timestamp(date, when);
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, "
		"s:[s], s:[o]}",
		"resourceType", "CapabilityStatement", "status", "active",
		"date", when, "publisher", "painpath", "kind", "instance",
		"software", "name", "painpath", "version", software_version,
		"implementation", "description",
		"painpath: pain care pathways in Norway, Denmark and Sweden",
		"url", cfg->base_url, "fhirVersion", FHIR_VERSION, "format",
		FHIR_MIME, "rest", rest(cfg));
}

json_t *fhir_capability_search_parameter(const struct fhir_config *cfg,
					 const char *type, const char *name)
{
	const struct fhir_resource_row *row = fhir_capability_find(type);
	const struct fhir_search_param *p =
		row != NULL ? fhir_capability_param(row, name) : NULL;
	char url[FHIR_URL_MAX], id[128];

	if (p == NULL || !p->custom)
		return NULL;
	definition_url(cfg, row->type, p->name, url);
	snprintf(id, sizeof(id), "%s-%s", row->type, p->name);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, "
			 "s:s}",
			 "resourceType", "SearchParameter", "id", id, "url",
			 url, "name", p->name, "status", "active",
			 "description", p->documentation, "code", p->name,
			 "base", row->type, "type",
			 fhir_capability_param_type_name(p->type), "expression",
			 p->expression);
}
