#include "fhir_bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_capability.h"
#include "fhir_write.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kind_names[] = {"searchset", "batch-response",
					 "transaction-response"};

json_t *fhir_bundle_new(enum fhir_bundle_kind kind)
{
	return json_pack("{s:s, s:s}", "resourceType", "Bundle", "type",
			 (size_t)kind < COUNT(kind_names) ? kind_names[kind]
							  : "searchset");
}

void fhir_bundle_set_total(json_t *bundle, long total)
{
	if (total >= 0)
		json_object_set_new(bundle, "total", json_integer(total));
}

static json_t *entries_of(json_t *bundle)
{
	json_t *entries = json_object_get(bundle, "entry");

	if (entries == NULL) {
		entries = json_array();
		json_object_set_new(bundle, "entry", entries);
	}
	return entries;
}

static void full_url(const struct fhir_config *cfg, const json_t *resource,
		     char out[FHIR_URL_MAX])
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s",
		 json_string_value(json_object_get(resource, "resourceType")),
		 json_string_value(json_object_get(resource, "id")));
	fhir_config_url(cfg, path, out);
}

static bool has_identity(const json_t *resource)
{
	return json_is_string(json_object_get(resource, "resourceType")) &&
	       json_is_string(json_object_get(resource, "id"));
}

bool fhir_bundle_add_match(json_t *bundle, const struct fhir_config *cfg,
			   json_t *resource, bool include)
{
	char url[FHIR_URL_MAX];
	json_t *entry;

	if (bundle == NULL || !has_identity(resource)) {
		json_decref(resource);
		return false;
	}
	full_url(cfg, resource, url);
	entry = json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url, "resource",
			  resource, "search", "mode",
			  include ? "include" : "match");
	return json_array_append_new(entries_of(bundle), entry) == 0;
}

/* Percent-encodes a query value, keeping what FHIR search syntax reads
 * ('|' system separator, ',' or, ':' modifiers) legible. */
static void encode(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s != '\0' && n + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || strchr("-._~|,:", c);
		if (plain && c != '\0') {
			out[n++] = (char)c;
			continue;
		}
		out[n++] = '%';
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 15];
	}
	out[n] = '\0';
}

static bool append_param(char *url, size_t len, const char *name,
			 const char *value)
{
	char enc_name[256], enc_value[FHIR_URL_MAX];
	size_t n = strlen(url);

	encode(name, enc_name, sizeof(enc_name));
	encode(value, enc_value, sizeof(enc_value));
	return (size_t)snprintf(url + n, len - n, "%c%s=%s",
				strchr(url, '?') != NULL ? '&' : '?', enc_name,
				enc_value) < len - n;
}

static bool link_url(const struct fhir_config *cfg, const char *type,
		     const struct fhir_query_param *params, size_t count,
		     const char *cursor, char *out, size_t len)
{
	bool ok =
		(size_t)snprintf(out, len, "%s/%s", cfg->base_url, type) < len;

	for (size_t i = 0; ok && i < count; i++)
		ok = append_param(out, len, params[i].name, params[i].value);
	if (ok && cursor != NULL)
		ok = append_param(out, len, FHIR_CURSOR_PARAM, cursor);
	return ok;
}

bool fhir_bundle_set_links(json_t *bundle, const struct fhir_config *cfg,
			   const char *type,
			   const struct fhir_query_param *params, size_t count,
			   const char *next_cursor)
{
	/* Long queries are fine: a link is as long as its parameters. */
	char self[4096], next[4096];
	json_t *links;

	if (!link_url(cfg, type, params, count, NULL, self, sizeof(self)) ||
	    (next_cursor != NULL && !link_url(cfg, type, params, count,
					      next_cursor, next, sizeof(next))))
		return false;
	links = json_pack("[{s:s, s:s}]", "relation", "self", "url", self);
	if (next_cursor != NULL)
		json_array_append_new(links, json_pack("{s:s, s:s}", "relation",
						       "next", "url", next));
	return json_object_set_new(bundle, "link", links) == 0;
}

static const struct {
	int status;
	const char *line;
} status_lines[] = {
	{200, "200 OK"},
	{201, "201 Created"},
	{400, "400 Bad Request"},
	{401, "401 Unauthorized"},
	{403, "403 Forbidden"},
	{404, "404 Not Found"},
	{405, "405 Method Not Allowed"},
	{409, "409 Conflict"},
	{412, "412 Precondition Failed"},
	{413, "413 Payload Too Large"},
	{415, "415 Unsupported Media Type"},
	{422, "422 Unprocessable Entity"},
	{500, "500 Internal Server Error"},
	{503, "503 Service Unavailable"},
};

const char *fhir_bundle_status_line(int status)
{
	for (size_t i = 0; i < COUNT(status_lines); i++)
		if (status_lines[i].status == status)
			return status_lines[i].line;
	return "500 Internal Server Error";
}

static json_t *response_of(int status, const json_t *resource)
{
	const json_t *meta = json_object_get(resource, "meta");
	const char *version =
		json_string_value(json_object_get(meta, "versionId"));
	json_t *r =
		json_pack("{s:s}", "status", fhir_bundle_status_line(status));
	char buf[256];

	if (r == NULL || !has_identity(resource))
		return r;
	snprintf(buf, sizeof(buf), "%s/%s%s%s",
		 json_string_value(json_object_get(resource, "resourceType")),
		 json_string_value(json_object_get(resource, "id")),
		 version != NULL ? "/_history/" : "",
		 version != NULL ? version : "");
	json_object_set_new(r, "location", json_string(buf));
	if (version != NULL) {
		snprintf(buf, sizeof(buf), "W/\"%s\"", version);
		json_object_set_new(r, "etag", json_string(buf));
	}
	if (json_is_string(json_object_get(meta, "lastUpdated")))
		json_object_set(r, "lastModified",
				json_object_get(meta, "lastUpdated"));
	return r;
}

bool fhir_bundle_add_response(json_t *bundle, const struct fhir_config *cfg,
			      int status, json_t *resource, json_t *outcome)
{
	json_t *entry = json_object();
	json_t *response = response_of(status, resource);
	char url[FHIR_URL_MAX];

	if (bundle == NULL || entry == NULL || response == NULL) {
		json_decref(entry);
		json_decref(response);
		json_decref(resource);
		json_decref(outcome);
		return false;
	}
	if (has_identity(resource)) {
		full_url(cfg, resource, url);
		json_object_set_new(entry, "fullUrl", json_string(url));
	}
	if (resource != NULL)
		json_object_set_new(entry, "resource", resource);
	if (outcome != NULL)
		json_object_set_new(response, "outcome", outcome);
	json_object_set_new(entry, "response", response);
	return json_array_append_new(entries_of(bundle), entry) == 0;
}

/* --- Bundles in ------------------------------------------------------------
 */

int fhir_bundle_etag_version(const char *text)
{
	char *end;
	long v;
	size_t len;

	if (text == NULL)
		return -1;
	if (strncmp(text, "W/", 2) == 0)
		text += 2;
	len = strlen(text);
	if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
		text++;
		len -= 2;
	}
	if (len == 0 || len > 10 || text[0] < '0' || text[0] > '9')
		return -1;
	v = strtol(text, &end, 10);
	if ((size_t)(end - text) != len || v > 0x7fffffff)
		return -1;
	return (int)v;
}

static bool parse_method(const char *s, enum fhir_method *out)
{
	static const char *const names[] = {"GET", "POST", "PUT", "DELETE"};

	for (size_t i = 0; s != NULL && i < COUNT(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum fhir_method)i;
			return true;
		}
	return false;
}

/* "Type", "Type/id" or "Type?query", relative or under our base. */
static bool split_url(const struct fhir_config *cfg, struct fhir_entry *e)
{
	const char *url = e->url;
	size_t base = strlen(cfg->base_url), type_len;

	if (strncmp(url, cfg->base_url, base) == 0 && url[base] == '/')
		url += base + 1;
	type_len = strcspn(url, "/?");
	if (type_len == 0 || type_len >= sizeof(e->type))
		return false;
	memcpy(e->type, url, type_len);
	e->type[type_len] = '\0';
	url += type_len;
	if (*url == '?') {
		e->query = url + 1;
		return true;
	}
	if (*url == '\0')
		return true;
	if (strlen(url + 1) > FHIR_ID_MAX || !fhir_id_valid(url + 1))
		return false;
	strcpy(e->id, url + 1);
	return true;
}

static const char *entry_string(const json_t *obj, const char *key,
				const char *at, struct fhir_error *err,
				bool *ok)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL || !*ok)
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*ok = fhir_error_set(err, ERR_INVALID_REQUEST, at,
				     "%s must be a non-empty string", key);
		return NULL;
	}
	return json_string_value(v);
}

/* The method, url and conditions of entry i. */
static bool parse_request(const json_t *request, const char *at,
			  const struct fhir_config *cfg, struct fhir_entry *e,
			  struct fhir_error *err)
{
	char where[FHIR_EXPRESSION_MAX];
	bool ok = true;

	if (!json_is_object(request))
		return fhir_error_set(err, ERR_INVALID_REQUEST, at,
				      "each entry needs a request {method, "
				      "url}");
	snprintf(where, sizeof(where), "%s.method", at);
	if (!parse_method(json_string_value(json_object_get(request, "method")),
			  &e->method))
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported", where,
					"method must be GET, POST, PUT or "
					"DELETE");
	snprintf(where, sizeof(where), "%s.url", at);
	e->url = entry_string(request, "url", where, err, &ok);
	if (ok && (e->url == NULL || !split_url(cfg, e)))
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "url must be Type, Type/id or "
				      "Type?query");
	snprintf(where, sizeof(where), "%s.ifNoneExist", at);
	e->if_none_exist =
		entry_string(request, "ifNoneExist", where, err, &ok);
	snprintf(where, sizeof(where), "%s.ifMatch", at);
	e->if_match = entry_string(request, "ifMatch", where, err, &ok);
	if (!ok)
		return false;
	e->if_match_version = fhir_bundle_etag_version(e->if_match);
	if (e->if_match != NULL && e->if_match_version < 0)
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "ifMatch must be a version, W/\"n\"");
	return true;
}

/* What each method may do here: FHIR writes go through the event path,
 * one event each; deletes are not events. */
static bool check_method(const struct fhir_entry *e, bool transaction,
			 const char *at, struct fhir_error *err)
{
	const struct fhir_resource_row *row = fhir_capability_find(e->type);
	char where[FHIR_EXPRESSION_MAX];
	bool ok;

	snprintf(where, sizeof(where), "%s.url", at);
	if (row == NULL)
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported", where,
					"no resource type %s here", e->type);
	switch (e->method) {
	case FHIR_METHOD_POST:
		ok = fhir_capability_allows(row, FHIR_INTERACTION_CREATE) &&
		     e->id[0] == '\0' && e->query == NULL;
		break;
	case FHIR_METHOD_PUT:
		ok = fhir_capability_allows(row, FHIR_INTERACTION_UPDATE) &&
		     e->id[0] != '\0';
		break;
	case FHIR_METHOD_GET:
		ok = !transaction &&
		     fhir_capability_allows(
			     row, e->id[0] != '\0' ? FHIR_INTERACTION_READ
						   : FHIR_INTERACTION_SEARCH);
		break;
	default:
		ok = false;
	}
	if (ok)
		return true;
	snprintf(where, sizeof(where), "%s.method", at);
	return fhir_error_typed(
		err, ERR_METHOD_NOT_ALLOWED, "not-supported", where,
		"%s %s is not served in a %s (POST creates, PUT Type/id "
		"updates%s)",
		e->method == FHIR_METHOD_GET	? "GET"
		: e->method == FHIR_METHOD_POST ? "POST"
		: e->method == FHIR_METHOD_PUT	? "PUT"
						: "DELETE",
		e->url, transaction ? "transaction" : "batch",
		transaction ? "" : ", GET reads");
}

static bool check_resource(const json_t *entry, size_t i, struct fhir_entry *e,
			   struct fhir_error *err)
{
	char where[FHIR_EXPRESSION_MAX];
	const json_t *resource = json_object_get(entry, "resource");
	const char *type =
		json_string_value(json_object_get(resource, "resourceType"));
	const char *id = json_string_value(json_object_get(resource, "id"));

	snprintf(where, sizeof(where), "Bundle.entry[%zu].resource", i);
	if (e->method == FHIR_METHOD_GET || e->method == FHIR_METHOD_DELETE)
		return true;
	if (!json_is_object(resource))
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "a %s entry needs a resource",
				      e->method == FHIR_METHOD_POST ? "POST"
								    : "PUT");
	if (type == NULL || strcmp(type, e->type) != 0)
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "the resource is not a %s, as "
				      "request.url says",
				      e->type);
	if (e->method == FHIR_METHOD_PUT && (id == NULL || strcmp(id, e->id)))
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "the resource's id must be the one "
				      "request.url names");
	e->resource = resource;
	return true;
}

/* A transaction is one patient's: all or nothing across patients would
 * need one commit over several pathways, which the commit path does not
 * do (each pathway's events are ordered by its own row lock). */
static bool one_patient(struct fhir_bundle_request *req, size_t i,
			struct fhir_error *err)
{
	struct fhir_entry *e = &req->entries[i];
	struct fhir_entry *first = &req->entries[0];
	char where[FHIR_EXPRESSION_MAX], element[FHIR_EXPRESSION_MAX];

	if (!fhir_write_patient(e->resource, &e->patient_system,
				&e->patient_value, element)) {
		snprintf(where, sizeof(where), "Bundle.entry[%zu].resource", i);
		fhir_error_set(err, ERR_INVALID_REQUEST, element,
			       "a transaction's entries must each name the "
			       "patient (by identifier)");
		fhir_error_within(err, where);
		return false;
	}
	if (i == 0)
		return true;
	if (strcmp(e->patient_value, first->patient_value) == 0 &&
	    strcmp(e->patient_system ? e->patient_system : "",
		   first->patient_system ? first->patient_system : "") == 0)
		return true;
	snprintf(where, sizeof(where), "Bundle.entry[%zu].resource", i);
	fhir_error_typed(err, ERR_INVALID_REQUEST, "business-rule", element,
			 "a transaction is for one patient: entry %zu is for "
			 "another patient than entry 0; send one transaction "
			 "per patient, or a batch",
			 i);
	fhir_error_within(err, where);
	return false;
}

static bool parse_entry(const json_t *entry, size_t i,
			const struct fhir_config *cfg,
			struct fhir_bundle_request *req, struct fhir_error *err)
{
	char at[64];
	struct fhir_entry *e = &req->entries[i];

	snprintf(at, sizeof(at), "Bundle.entry[%zu].request", i);
	e->if_match_version = -1;
	if (!json_is_object(entry))
		return fhir_error_set(err, ERR_INVALID_REQUEST, at,
				      "each entry must be an object");
	return parse_request(json_object_get(entry, "request"), at, cfg, e,
			     err) &&
	       check_method(e, req->transaction, at, err) &&
	       check_resource(entry, i, e, err) &&
	       (!req->transaction || one_patient(req, i, err));
}

static bool parse_head(const json_t *bundle, size_t max_entries,
		       struct fhir_bundle_request *out, struct fhir_error *err)
{
	const char *type = json_string_value(json_object_get(bundle, "type"));
	const json_t *entries = json_object_get(bundle, "entry");

	if (!json_is_object(bundle) ||
	    !json_is_string(json_object_get(bundle, "resourceType")) ||
	    strcmp(json_string_value(json_object_get(bundle, "resourceType")),
		   "Bundle") != 0)
		return fhir_error_set(err, ERR_INVALID_REQUEST, "Bundle",
				      "POST /fhir takes a Bundle");
	if (type == NULL ||
	    (strcmp(type, "batch") != 0 && strcmp(type, "transaction") != 0))
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported", "Bundle.type",
					"Bundle.type must be batch or "
					"transaction");
	out->transaction = strcmp(type, "transaction") == 0;
	if (entries != NULL && !json_is_array(entries))
		return fhir_error_set(err, ERR_INVALID_REQUEST, "Bundle.entry",
				      "entry must be an array");
	if (json_array_size(entries) > max_entries)
		return fhir_error_typed(
			err, ERR_TOO_LARGE, "too-costly", "Bundle.entry",
			"at most %zu entries in one Bundle", max_entries);
	return true;
}

bool fhir_bundle_parse(const json_t *bundle, size_t max_entries,
		       const struct fhir_config *cfg,
		       struct fhir_bundle_request *out, struct fhir_error *err)
{
	const json_t *entries = json_object_get(bundle, "entry");
	const json_t *entry;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!parse_head(bundle, max_entries, out, err))
		return false;
	out->entries =
		calloc(json_array_size(entries) + 1, sizeof(*out->entries));
	if (out->entries == NULL)
		return fhir_error_set(err, ERR_INTERNAL, NULL, "out of memory");
	json_array_foreach(entries, i, entry)
	{
		if (!parse_entry(entry, i, cfg, out, err)) {
			fhir_bundle_request_free(out);
			return false;
		}
		out->count++;
	}
	return true;
}

void fhir_bundle_request_free(struct fhir_bundle_request *req)
{
	free(req->entries);
	memset(req, 0, sizeof(*req));
}

void fhir_bundle_order(const struct fhir_bundle_request *req, size_t *order)
{
	/* FHIR's transaction order: DELETE, POST, PUT, GET. */
	static const enum fhir_method rank[] = {
		FHIR_METHOD_DELETE, FHIR_METHOD_POST, FHIR_METHOD_PUT,
		FHIR_METHOD_GET};
	size_t n = 0;

	if (!req->transaction) {
		for (size_t i = 0; i < req->count; i++)
			order[i] = i;
		return;
	}
	for (size_t r = 0; r < COUNT(rank); r++)
		for (size_t i = 0; i < req->count; i++)
			if (req->entries[i].method == rank[r])
				order[n++] = i;
}
