#include "event.h"

#include <math.h>
#include <string.h>

static bool bad(struct pp_error *err, const char *field, const char *what)
{
	return error_set(err, ERR_INVALID_EVENT, field, "%s %s", field, what);
}

static bool read_id(const json_t *obj, const char *key, const char *field,
		    bool required, char *out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (v == NULL)
		return required ? bad(err, field, "is required") : true;
	/* A NUL inside the string would cut the C string short. */
	if (!json_is_string(v) || !domain_valid_id(json_string_value(v)) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(err, field,
			   "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool read_text(const json_t *obj, const char *key, const char *field,
		      const char **out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) > EVENT_TEXT_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(err, field,
			   "must be a string of at most 4000 bytes");
	*out = json_string_value(v);
	return true;
}

static bool read_date(const json_t *obj, const char *key, const char *field,
		      bool *present, cal_date *out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*present = false;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) ||
	    !calendar_parse_date(json_string_value(v), out))
		return bad(err, field, "must be a date, YYYY-MM-DD");
	*present = true;
	return true;
}

static bool read_level(const json_t *obj, const char *key, const char *field,
		       bool required, struct event *ev, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	ev->has_level = false;
	if (v == NULL)
		return required ? bad(err, field, "is required") : true;
	if (!json_is_string(v) ||
	    !domain_level_parse(json_string_value(v), &ev->level))
		return bad(err, field, "must be gp, team, clinic or centre");
	ev->has_level = true;
	return true;
}

static bool read_bool(const json_t *obj, const char *key, const char *field,
		      bool *out, struct pp_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = false;
	if (v == NULL)
		return true;
	if (!json_is_boolean(v))
		return bad(err, field, "must be true or false");
	*out = json_is_true(v);
	return true;
}

static bool read_flags(const json_t *data, struct event *ev,
		       struct pp_error *err)
{
	const json_t *arr = json_object_get(data, "flags");
	const json_t *v;
	size_t i;

	if (arr == NULL)
		return true;
	if (!json_is_array(arr))
		return bad(err, "data.flags", "must be an array of flag names");
	json_array_foreach(arr, i, v)
	{
		enum flag f;
		if (!json_is_string(v) ||
		    !domain_flag_parse(json_string_value(v), &f))
			return bad(
				err, "data.flags",
				"holds an unknown flag (see GET /v1/models)");
		ev->flags |= 1u << f;
	}
	return true;
}

static bool parse_opened(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	const json_t *age = json_object_get(data, "age");

	if (ev->model[0] == '\0')
		return bad(err, "model", "is required on pathway.opened");
	if (ev->region[0] == '\0')
		return bad(err, "region", "is required on pathway.opened");
	if (!read_level(data, "level", "data.level", false, ev, err) ||
	    !read_date(data, "pain_onset", "data.pain_onset",
		       &ev->has_pain_onset, &ev->pain_onset, err) ||
	    !read_date(data, "birth_date", "data.birth_date",
		       &ev->has_birth_date, &ev->birth_date, err) ||
	    !read_flags(data, ev, err))
		return false;
	if (age != NULL && !json_is_null(age)) {
		if (!json_is_integer(age) || json_integer_value(age) < 0 ||
		    json_integer_value(age) > 150)
			return bad(err, "data.age", "must be an integer 0-150");
		ev->age = (int)json_integer_value(age);
	}
	return true;
}

static bool read_content(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	const json_t *content = json_object_get(data, "content");
	const char *key;
	const json_t *v;

	if (content == NULL || json_is_null(content))
		return true;
	if (!json_is_object(content))
		return bad(err, "data.content",
			   "must be an object of referral items");
	ev->content_covered = 0;
	json_object_foreach((json_t *)content, key, v)
	{
		if (domain_content_item_parse(key) < 0)
			return bad(err, "data.content",
				   "names an unknown referral item");
		if (!json_is_boolean(v) && !json_is_string(v))
			return bad(err, "data.content",
				   "items must be true/false or a text");
		if (json_is_true(v) ||
		    (json_is_string(v) && json_string_length(v) > 0))
			ev->content_covered++;
	}
	return true;
}

static bool parse_referral_sent(const json_t *data, struct event *ev,
				struct pp_error *err)
{
	return read_level(data, "to_level", "data.to_level", true, ev, err) &&
	       read_id(data, "to_unit", "data.to_unit", false, ev->to_unit,
		       err) &&
	       read_bool(data, "earlier_levels_considered",
			 "data.earlier_levels_considered",
			 &ev->earlier_levels_considered, err) &&
	       read_bool(data, "private_unit", "data.private_unit",
			 &ev->private_unit, err) &&
	       read_text(data, "justification", "data.justification",
			 &ev->justification, err) &&
	       read_content(data, ev, err);
}

static bool parse_closed(const json_t *data, struct event *ev,
			 struct pp_error *err)
{
	const json_t *v = json_object_get(data, "reason");

	if (v == NULL)
		return bad(err, "data.reason", "is required on pathway.closed");
	if (!json_is_string(v) ||
	    !domain_close_reason_parse(json_string_value(v), &ev->close_reason))
		return bad(err, "data.reason",
			   "must be completed, deceased, moved, declined or "
			   "other");
	return true;
}

static bool parse_pro(const json_t *data, struct pp_error *err)
{
	const json_t *scores = json_object_get(data, "scores");
	const char *instrument = NULL;
	const char *key;
	const json_t *v;

	if (!read_text(data, "instrument", "data.instrument", &instrument, err))
		return false;
	if (instrument == NULL || instrument[0] == '\0')
		return bad(err, "data.instrument",
			   "is required on pro.reported");
	if (!json_is_object(scores))
		return bad(err, "data.scores", "must be an object of numbers");
	json_object_foreach((json_t *)scores, key, v)
	{
		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			return bad(err, "data.scores",
				   "must be an object of numbers");
	}
	return true;
}

static bool parse_partner(const json_t *data, struct pp_error *err)
{
	const char *partner = NULL;

	if (!read_text(data, "partner", "data.partner", &partner, err))
		return false;
	if (partner == NULL || partner[0] == '\0')
		return bad(err, "data.partner", "is required");
	return true;
}

static bool parse_data(const json_t *data, struct event *ev,
		       struct pp_error *err)
{
	switch (ev->type) {
	case EV_PATHWAY_OPENED:
		return parse_opened(data, ev, err);
	case EV_REFERRAL_SENT:
		return parse_referral_sent(data, ev, err);
	case EV_REFERRAL_ACCEPTED:
		return read_date(data, "deadline", "data.deadline",
				 &ev->has_deadline, &ev->deadline, err);
	case EV_REFERRAL_REJECTED:
		return read_text(data, "reason", "data.reason", &ev->reason,
				 err) &&
		       read_text(data, "advice", "data.advice", &ev->advice,
				 err);
	case EV_REFERRAL_WITHDRAWN:
		return read_text(data, "reason", "data.reason", &ev->reason,
				 err);
	case EV_PATIENT_TRANSFERRED:
		return read_level(data, "to_level", "data.to_level", true, ev,
				  err) &&
		       read_id(data, "to_unit", "data.to_unit", false,
			       ev->to_unit, err) &&
		       read_text(data, "reason", "data.reason", &ev->reason,
				 err);
	case EV_PATHWAY_CLOSED:
		return parse_closed(data, ev, err);
	case EV_PRO_REPORTED:
		return parse_pro(data, err);
	case EV_COLLABORATION_STARTED:
	case EV_COLLABORATION_ENDED:
		return parse_partner(data, err);
	case EV_FREE_CHOICE_CHOSEN:
		return read_id(data, "to_unit", "data.to_unit", true,
			       ev->to_unit, err);
	default:
		return true;
	}
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
					 "unknown field in event (event data "
					 "goes in \"data\")");
	}
	return true;
}

static bool parse_header(const json_t *obj, cal_millis now, struct event *ev,
			 struct pp_error *err)
{
	const json_t *type = json_object_get(obj, "type");
	const json_t *at = json_object_get(obj, "occurred_at");

	if (!read_id(obj, "event_id", "event_id", true, ev->event_id, err))
		return false;
	if (type == NULL)
		return bad(err, "type", "is required");
	if (!json_is_string(type) ||
	    !domain_event_parse(json_string_value(type), &ev->type))
		return bad(err, "type", "is not a known event type");
	if (!read_id(obj, "patient_id", "patient_id", true, ev->patient_id,
		     err) ||
	    !read_id(obj, "pathway_id", "pathway_id", false, ev->pathway_id,
		     err) ||
	    !read_id(obj, "model", "model", false, ev->model, err) ||
	    !read_id(obj, "region", "region", false, ev->region, err) ||
	    !read_id(obj, "unit", "unit", false, ev->unit, err))
		return false;
	if (at == NULL)
		return bad(err, "occurred_at", "is required");
	if (!json_is_string(at) ||
	    !calendar_parse_timestamp(json_string_value(at), &ev->occurred_at))
		return bad(err, "occurred_at",
			   "must be an RFC 3339 timestamp with an offset");
	if (ev->occurred_at > now + EVENT_MAX_FUTURE_MS)
		return bad(err, "occurred_at",
			   "is more than 5 minutes in the future");
	/* 0 means "not yet" in a pathway's timestamps. */
	if (ev->occurred_at <= 0)
		return bad(err, "occurred_at", "must be after 1970-01-01");
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
		return bad(err, "data", "must be an object");
	if (ev->data != NULL && !depth_within(ev->data, EVENT_DATA_MAX_DEPTH))
		return bad(err, "data", "nests too deep (at most 32 levels)");
	if (ev->data == NULL) {
		/* A shared immutable empty object, so readers need no NULL
		 * checks; never modified, never freed. */
		if (empty == NULL)
			empty = json_object();
		ev->data = empty;
	}
	return parse_data(ev->data, ev, err);
}
