#include "pathway.h"

#include <stdio.h>
#include <string.h>

void pathway_visit_level(struct pathway *p, enum level l)
{
	if (pathway_has_visited(p, l) || p->levels_visited_count >= LEVEL_COUNT)
		return;
	p->levels_visited[p->levels_visited_count++] = l;
}

bool pathway_has_visited(const struct pathway *p, enum level l)
{
	for (int i = 0; i < p->levels_visited_count; i++)
		if (p->levels_visited[i] == l)
			return true;
	return false;
}

bool pathway_next_due(const struct pathway *p, cal_date *out)
{
	bool any = false;

	for (int r = 0; r < RULE_COUNT; r++) {
		if (!p->clocks[r].running)
			continue;
		if (!any || p->clocks[r].due < *out)
			*out = p->clocks[r].due;
		any = true;
	}
	return any;
}

static json_t *timestamp_or_null(cal_millis t)
{
	char buf[CAL_TIMESTAMP_LEN];

	if (t == 0)
		return json_null();
	calendar_format_timestamp(t, buf);
	return json_string(buf);
}

static json_t *date_json(cal_date d)
{
	char buf[CAL_DATE_LEN];

	calendar_format_date(d, buf);
	return json_string(buf);
}

static json_t *string_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *referral_to_json(const struct pathway_referral *r)
{
	json_t *j;

	if (!r->open)
		return json_null();
	j = json_pack("{s:s, s:o, s:s, s:o, s:o, s:b, s:o, s:o, s:o}",
		      "from_level", domain_level_name(r->from_level),
		      "from_unit", string_or_null(r->from_unit), "to_level",
		      domain_level_name(r->to_level), "to_unit",
		      string_or_null(r->to_unit), "received_unit",
		      string_or_null(r->received_unit), "private_unit",
		      r->private_unit, "sent_at", timestamp_or_null(r->sent_at),
		      "received_at", timestamp_or_null(r->received_at),
		      "accepted_at", timestamp_or_null(r->accepted_at));
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "deadline",
			    r->has_deadline ? date_json(r->deadline)
					    : json_null());
	json_object_set_new(j, "content_covered",
			    r->content_covered >= 0
				    ? json_integer(r->content_covered)
				    : json_null());
	return j;
}

static json_t *deadlines_to_json(const struct pathway *p)
{
	json_t *arr = json_array();

	for (int r = 0; r < RULE_COUNT; r++) {
		const struct pathway_clock *c = &p->clocks[r];
		if (!c->running)
			continue;
		json_t *d = json_pack("{s:s, s:o, s:o}", "rule",
				      domain_rule_name(r), "due",
				      date_json(c->due), "started_at",
				      timestamp_or_null(c->started_at));
		if (c->paused || c->paused_days > 0) {
			json_object_set_new(d, "paused",
					    json_boolean(c->paused));
			json_object_set_new(d, "paused_since",
					    c->paused ? date_json(c->paused_on)
						      : json_null());
			json_object_set_new(
				d, "pause_reason",
				c->paused
					? json_string(domain_pause_reason_name(
						  c->pause_reason))
					: json_null());
			json_object_set_new(d, "paused_days",
					    json_integer(c->paused_days));
			json_object_set_new(
				d, "paused_calendar_days",
				json_integer(c->paused_calendar_days));
		}
		json_array_append_new(arr, d);
	}
	return arr;
}

static json_t *levels_to_json(const struct pathway *p)
{
	json_t *arr = json_array();

	for (int i = 0; i < p->levels_visited_count; i++)
		json_array_append_new(arr, json_string(domain_level_name(
						   p->levels_visited[i])));
	return arr;
}

static json_t *flags_to_json(unsigned flags)
{
	json_t *arr = json_array();

	for (int f = 0; f < FLAG_COUNT; f++)
		if (flags & (1u << f))
			json_array_append_new(arr,
					      json_string(domain_flag_name(f)));
	return arr;
}

json_t *pathway_to_json(const struct pathway *p)
{
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:i,"
		" s:o, s:o, s:o}",
		"pathway_id", p->id, "patient_id", p->patient_id, "model",
		p->model, "region", p->region, "level",
		domain_level_name(p->level), "unit", string_or_null(p->unit),
		"phase", domain_phase_name(p->phase), "referral",
		referral_to_json(&p->referral), "deadlines",
		deadlines_to_json(p), "levels_visited", levels_to_json(p),
		"flags", flags_to_json(p->flags), "version", p->version,
		"opened_at", timestamp_or_null(p->opened_at), "updated_at",
		timestamp_or_null(p->updated_at), "closed_at",
		timestamp_or_null(p->closed_at));

	if (j == NULL)
		return NULL;
	json_object_set_new(
		j, "close_reason",
		p->closed_at != 0
			? json_string(domain_close_reason_name(p->close_reason))
			: json_null());
	json_object_set_new(j, "pain_onset",
			    p->has_pain_onset ? date_json(p->pain_onset)
					      : json_null());
	json_object_set_new(j, "age_at_opening",
			    p->age_at_opening >= 0
				    ? json_integer(p->age_at_opening)
				    : json_null());
	json_object_set_new(j, "gp_unit", string_or_null(p->gp_unit));
	json_object_set_new(j, "birth_date",
			    p->has_birth_date ? date_json(p->birth_date)
					      : json_null());
	json_object_set_new(
		j, "entered_in_error",
		json_boolean(p->closed_at != 0 &&
			     p->close_reason == CLOSE_ENTERED_IN_ERROR));
	json_object_set_new(j, "last_change_at",
			    timestamp_or_null(p->last_change_at));
	json_object_set_new(j, "referral_content_covered",
			    p->last_content_covered >= 0
				    ? json_integer(p->last_content_covered)
				    : json_null());
	return j;
}

/* Readers for pathway_from_json: absent or null leaves the default. */

static bool read_id(const json_t *obj, const char *key, char *out,
		    bool required)
{
	const json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return !required;
	if (!json_is_string(v) || json_string_length(v) > ID_MAX)
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool read_timestamp(const json_t *obj, const char *key, cal_millis *out)
{
	const json_t *v = json_object_get(obj, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return true;
	return json_is_string(v) &&
	       calendar_parse_timestamp(json_string_value(v), out);
}

static bool read_date(const json_t *obj, const char *key, cal_date *out,
		      bool *present)
{
	const json_t *v = json_object_get(obj, key);

	*present = false;
	if (v == NULL || json_is_null(v))
		return true;
	*present = true;
	return json_is_string(v) &&
	       calendar_parse_date(json_string_value(v), out);
}

static bool read_level(const json_t *obj, const char *key, enum level *out)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) &&
	       domain_level_parse(json_string_value(v), out);
}

static int read_int_or(const json_t *obj, const char *key, int fallback)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : fallback;
}

static bool referral_from_json(const json_t *j, struct pathway_referral *r)
{
	memset(r, 0, sizeof(*r));
	r->content_covered = -1;
	if (j == NULL || json_is_null(j))
		return true;
	r->open = true;
	r->private_unit = json_is_true(json_object_get(j, "private_unit"));
	r->content_covered = read_int_or(j, "content_covered", -1);
	return read_level(j, "from_level", &r->from_level) &&
	       read_level(j, "to_level", &r->to_level) &&
	       read_id(j, "from_unit", r->from_unit, false) &&
	       read_id(j, "to_unit", r->to_unit, false) &&
	       read_id(j, "received_unit", r->received_unit, false) &&
	       read_timestamp(j, "sent_at", &r->sent_at) &&
	       read_timestamp(j, "received_at", &r->received_at) &&
	       read_timestamp(j, "accepted_at", &r->accepted_at) &&
	       read_date(j, "deadline", &r->deadline, &r->has_deadline);
}

static bool clocks_from_json(const json_t *arr, struct pathway *p)
{
	size_t i;
	const json_t *v;

	if (!json_is_array(arr))
		return false;
	json_array_foreach(arr, i, v)
	{
		enum rule r;
		bool present;
		const json_t *name = json_object_get(v, "rule");
		if (!json_is_string(name) ||
		    !domain_rule_parse(json_string_value(name), &r))
			return false;
		struct pathway_clock *c = &p->clocks[r];
		const json_t *why = json_object_get(v, "pause_reason");
		c->running = true;
		c->paused = json_is_true(json_object_get(v, "paused"));
		c->paused_days = read_int_or(v, "paused_days", 0);
		c->paused_calendar_days =
			read_int_or(v, "paused_calendar_days", 0);
		if (!read_date(v, "due", &c->due, &present) || !present ||
		    !read_timestamp(v, "started_at", &c->started_at) ||
		    !read_date(v, "paused_since", &c->paused_on, &present) ||
		    present != c->paused)
			return false;
		if (json_is_string(why) &&
		    !domain_pause_reason_parse(json_string_value(why),
					       &c->pause_reason))
			return false;
	}
	return true;
}

static bool lists_from_json(const json_t *j, struct pathway *p)
{
	const json_t *levels = json_object_get(j, "levels_visited");
	const json_t *flags = json_object_get(j, "flags");
	size_t i;
	const json_t *v;

	if (!json_is_array(levels) || !json_is_array(flags))
		return false;
	json_array_foreach(levels, i, v)
	{
		enum level l;
		if (!json_is_string(v) ||
		    !domain_level_parse(json_string_value(v), &l))
			return false;
		pathway_visit_level(p, l);
	}
	json_array_foreach(flags, i, v)
	{
		enum flag f;
		if (!json_is_string(v) ||
		    !domain_flag_parse(json_string_value(v), &f))
			return false;
		p->flags |= 1u << f;
	}
	return true;
}

bool pathway_from_json(const json_t *j, struct pathway *p)
{
	const json_t *v;
	bool present;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(j))
		return false;
	v = json_object_get(j, "phase");
	if (!json_is_string(v) ||
	    !domain_phase_parse(json_string_value(v), &p->phase))
		return false;
	v = json_object_get(j, "close_reason");
	if (json_is_string(v) &&
	    !domain_close_reason_parse(json_string_value(v), &p->close_reason))
		return false;
	p->version = read_int_or(j, "version", 0);
	p->age_at_opening = read_int_or(j, "age_at_opening", -1);
	p->last_content_covered =
		read_int_or(j, "referral_content_covered", -1);
	return read_id(j, "pathway_id", p->id, true) &&
	       read_id(j, "patient_id", p->patient_id, true) &&
	       read_id(j, "model", p->model, true) &&
	       read_id(j, "region", p->region, true) &&
	       read_id(j, "unit", p->unit, false) &&
	       read_id(j, "gp_unit", p->gp_unit, false) &&
	       read_level(j, "level", &p->level) &&
	       referral_from_json(json_object_get(j, "referral"),
				  &p->referral) &&
	       clocks_from_json(json_object_get(j, "deadlines"), p) &&
	       lists_from_json(j, p) &&
	       read_timestamp(j, "opened_at", &p->opened_at) &&
	       read_timestamp(j, "updated_at", &p->updated_at) &&
	       read_timestamp(j, "closed_at", &p->closed_at) &&
	       read_timestamp(j, "last_change_at", &p->last_change_at) &&
	       read_date(j, "birth_date", &p->birth_date, &p->has_birth_date) &&
	       read_date(j, "pain_onset", &p->pain_onset, &present) &&
	       ((p->has_pain_onset = present), true);
}
