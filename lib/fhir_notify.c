#include "fhir_notify.h"

#include <stdio.h>
#include <string.h>

#include "fhir_bundle.h"

/* Two renderings say the same when they differ in meta alone (every
 * event moves the pathway's version). */
static bool same_content(const json_t *a, const json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	bool same;

	json_object_del(x, "meta");
	json_object_del(y, "meta");
	same = x != NULL && y != NULL && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

static void add_if_changed(json_t *out, json_t *now, const json_t *before)
{
	if (before != NULL && same_content(now, before))
		json_decref(now);
	else
		json_array_append_new(out, now);
}

json_t *fhir_notify_changed(const struct fhir_view *after,
			    const struct fhir_view *before)
{
	json_t *out = json_array();

	if (out == NULL ||
	    json_array_append_new(out, fhir_resource_episode(after)) != 0)
		goto fail;
	for (size_t i = 0; i < after->history.referral_count; i++) {
		const struct fhir_referral *ref = &after->history.referrals[i];
		const struct fhir_referral *old =
			before ? fhir_history_referral(&before->history,
						       ref->seq)
			       : NULL;
		json_t *sr = fhir_resource_service_request(after, ref);
		json_t *task = fhir_resource_task(after, ref);
		json_t *old_sr =
			old ? fhir_resource_service_request(before, old) : NULL;
		json_t *old_task = old ? fhir_resource_task(before, old) : NULL;
		if (sr == NULL || task == NULL) {
			json_decref(sr);
			json_decref(task);
			json_decref(old_sr);
			json_decref(old_task);
			goto fail;
		}
		add_if_changed(out, sr, old_sr);
		add_if_changed(out, task, old_task);
		json_decref(old_sr);
		json_decref(old_task);
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

bool fhir_notify_matches(const struct fhir_subscription *sub,
			 const json_t *resource, bool decision,
			 const char *gp_unit)
{
	json_t *copy, *requester;
	bool match;

	if (fhir_subscription_matches(sub, resource))
		return true;
	if (!decision || gp_unit == NULL || gp_unit[0] == '\0')
		return false;
	copy = json_deep_copy(resource);
	requester = json_object_get(json_object_get(copy, "requester"),
				    "identifier");
	if (requester == NULL) {
		json_decref(copy);
		return false;
	}
	json_object_set_new(requester, "value", json_string(gp_unit));
	match = fhir_subscription_matches(sub, copy);
	json_decref(copy);
	return match;
}

static json_t *entry_of(const struct fhir_config *cfg, json_t *resource,
			bool full)
{
	const char *type =
		json_string_value(json_object_get(resource, "resourceType"));
	const char *id = json_string_value(json_object_get(resource, "id"));
	const json_t *meta = json_object_get(resource, "meta");
	const char *version =
		json_string_value(json_object_get(meta, "versionId"));
	char path[128], url[FHIR_URL_MAX], etag[64];
	json_t *entry;

	snprintf(path, sizeof(path), "%s/%s", type ? type : "?", id ? id : "?");
	fhir_config_url(cfg, path, url);
	snprintf(etag, sizeof(etag), "W/\"%s\"", version ? version : "0");
	entry = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:O*}}", "fullUrl",
			  url, "request", "method",
			  version && strcmp(version, "1") == 0 ? "POST" : "PUT",
			  "url", path, "response", "status",
			  version && strcmp(version, "1") == 0 ? "201" : "200",
			  "etag", etag, "lastModified",
			  json_object_get(meta, "lastUpdated"));
	if (entry != NULL && full)
		json_object_set(entry, "resource", resource);
	json_decref(resource);
	return entry;
}

json_t *fhir_notify_bundle(const struct fhir_config *cfg, json_t *resources,
			   bool full)
{
	json_t *entries = json_array(), *r;
	size_t i;

	json_array_foreach(resources, i, r)
	{
		json_array_append_new(entries,
				      entry_of(cfg, json_incref(r), full));
	}
	json_decref(resources);
	return json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type",
			 "history", "entry", entries);
}
