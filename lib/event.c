#include "event.h"

#include <stdio.h>
#include <string.h>

#include "evtype.h"

bool event_bad(struct pp_error *err, const char *field, const char *what)
{
	return error_set(err, ERR_INVALID_EVENT, field, "%s %s", field, what);
}

bool event_read_id(const json_t *obj, const char *key, const char *field,
		   bool required, char *out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (v == NULL)
		return required ? event_bad(err, field, "is required") : true;
	/* A NUL inside the string would cut the C string short. */
	if (!json_is_string(v) || !domain_valid_id(json_string_value(v)) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return event_bad(
			err, field,
			"must be 1-128 characters of A-Z a-z 0-9 . _ : -");
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

bool event_read_text(const json_t *obj, const char *key, const char *field,
		     const char **out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) > EVENT_TEXT_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return event_bad(err, field,
				 "must be a string of at most 4000 bytes");
	*out = json_string_value(v);
	return true;
}

bool event_read_date(const json_t *obj, const char *key, const char *field,
		     bool *present, cal_date *out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*present = false;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) ||
	    !calendar_parse_date(json_string_value(v), out))
		return event_bad(err, field, "must be a date, YYYY-MM-DD");
	*present = true;
	return true;
}

bool event_read_level(const json_t *obj, const char *key, const char *field,
		      bool required, struct event *ev, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	ev->has_level = false;
	if (v == NULL)
		return required ? event_bad(err, field, "is required") : true;
	if (!json_is_string(v) ||
	    !domain_level_parse(json_string_value(v), &ev->level))
		return event_bad(err, field,
				 "must be gp, team, clinic or centre");
	ev->has_level = true;
	return true;
}

bool event_read_bool(const json_t *obj, const char *key, const char *field,
		     bool *out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = false;
	if (v == NULL)
		return true;
	if (!json_is_boolean(v))
		return event_bad(err, field, "must be true or false");
	*out = json_is_true(v);
	return true;
}

bool event_read_flags(const json_t *obj, const char *key, const char *field,
		      unsigned *out, struct pp_error *err)
{
	const json_t *arr = json_object_get(obj, key);
	const json_t *v;
	size_t i;

	if (arr == NULL)
		return true;
	if (!json_is_array(arr))
		return event_bad(err, field, "must be an array of flag names");
	json_array_foreach(arr, i, v)
	{
		enum flag f;
		if (!json_is_string(v) ||
		    !domain_flag_parse(json_string_value(v), &f)) {
			char what[ID_MAX + 96];
			const char *name =
				json_is_string(v) &&
						domain_valid_id(
							json_string_value(v))
					? json_string_value(v)
					: NULL;
			snprintf(what, sizeof(what),
				 "holds an unknown flag%s%s%s (GET /v1/models "
				 "lists them)",
				 name ? " \"" : "", name ? name : "",
				 name ? "\"" : "");
			return event_bad(err, field, what);
		}
		*out |= 1u << f;
	}
	return true;
}

bool event_read_age(const json_t *obj, struct event *ev, struct pp_error *err)
{
	const json_t *age = json_object_get(obj, "age");

	if (age == NULL || json_is_null(age))
		return true;
	if (!json_is_integer(age) || json_integer_value(age) < 0 ||
	    json_integer_value(age) > 150)
		return event_bad(err, "data.age", "must be an integer 0-150");
	ev->age = (int)json_integer_value(age);
	return true;
}

static bool only_known_fields(const json_t *obj, struct pp_error *err)
{
	static const char *const known[] = {
		"event_id", "type",   "patient_id", "occurred_at", "pathway_id",
		"model",    "region", "unit",	    "data",	   NULL};
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		bool ok = false;
		for (size_t i = 0; known[i] != NULL && !ok; i++)
			ok = strcmp(known[i], key) == 0;
		if (!ok)
			return error_set(err, ERR_INVALID_EVENT,
					 strlen(key) < sizeof(err->field) &&
							 domain_valid_id(key)
						 ? key
						 : NULL,
					 "unknown field%s%s in event (event "
					 "data goes in \"data\")",
					 domain_valid_id(key) ? " " : "",
					 domain_valid_id(key) ? key : "");
	}
	return true;
}

static bool parse_header(const json_t *obj, cal_millis now, struct event *ev,
			 struct pp_error *err)
{
	const json_t *type = json_object_get(obj, "type");
	const json_t *at = json_object_get(obj, "occurred_at");

	if (!event_read_id(obj, "event_id", "event_id", true, ev->event_id,
			   err))
		return false;
	if (type == NULL)
		return event_bad(err, "type", "is required");
	if (!json_is_string(type) ||
	    !domain_event_parse(json_string_value(type), &ev->type))
		return event_bad(err, "type", "is not a known event type");
	if (!event_read_id(obj, "patient_id", "patient_id", true,
			   ev->patient_id, err) ||
	    !event_read_id(obj, "pathway_id", "pathway_id", false,
			   ev->pathway_id, err) ||
	    !event_read_id(obj, "model", "model", false, ev->model, err) ||
	    !event_read_id(obj, "region", "region", false, ev->region, err) ||
	    !event_read_id(obj, "unit", "unit", false, ev->unit, err))
		return false;
	if (at == NULL)
		return event_bad(err, "occurred_at", "is required");
	if (!json_is_string(at) ||
	    !calendar_parse_timestamp(json_string_value(at), &ev->occurred_at))
		return event_bad(
			err, "occurred_at",
			"must be an RFC 3339 timestamp with an offset");
	if (ev->occurred_at > now + EVENT_MAX_FUTURE_MS)
		return event_bad(err, "occurred_at",
				 "is more than 5 minutes in the future");
	/* 0 means "not yet" in a pathway's timestamps. */
	if (ev->occurred_at <= 0)
		return event_bad(err, "occurred_at",
				 "must be after 1970-01-01");
	return true;
}

/* True if j nests no deeper than limit (a scalar is depth 0). */
static bool depth_within(const json_t *j, int limit)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(j) && !json_is_array(j))
		return true;
	if (limit == 0)
		return false;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v)
		{
			if (!depth_within(v, limit - 1))
				return false;
		}
		return true;
	}
	json_array_foreach(j, i, v)
	{
		if (!depth_within(v, limit - 1))
			return false;
	}
	return true;
}

bool event_parse(const json_t *obj, cal_millis now, struct event *ev,
		 struct pp_error *err)
{
	static json_t *empty;

	memset(ev, 0, sizeof(*ev));
	ev->age = -1;
	ev->content_covered = -1;
	if (!json_is_object(obj))
		return error_set(err, ERR_INVALID_EVENT, NULL,
				 "an event must be a JSON object");
	if (!only_known_fields(obj, err) || !parse_header(obj, now, ev, err))
		return false;
	ev->json = obj;
	ev->data = json_object_get(obj, "data");
	if (ev->data != NULL && !json_is_object(ev->data))
		return event_bad(err, "data", "must be an object");
	if (ev->data != NULL && !depth_within(ev->data, EVENT_DATA_MAX_DEPTH))
		return event_bad(err, "data",
				 "nests too deep (at most 32 levels)");
	if (ev->data == NULL) {
		/* A shared immutable empty object, so readers need no NULL
		 * checks; never modified, never freed. */
		if (empty == NULL)
			empty = json_object();
		ev->data = empty;
	}
	return evtype_of(ev->type)->parse == NULL ||
	       evtype_of(ev->type)->parse(ev->data, ev, err);
}
