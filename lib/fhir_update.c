#include "fhir_update.h"

#include <stdio.h>
#include <string.h>

#include "fhir_id.h"
#include "fhir_map.h"
#include "fhir_read.h"
#include "fsm.h"

/* A Task update: the resource as sent, and as it is now. */
struct task_put {
	const struct fhir_view *v;
	const struct fhir_referral *ref;
	const char *id;
	const json_t *in;
	json_t *current; /* rendered now (owned) */
	const char *status;
};

static bool check_identity(const json_t *resource, const char *type,
			   const char *id, struct fhir_error *err)
{
	const char *given = json_string_value(json_object_get(resource, "id"));
	char where[64];

	if (!fhir_read_check_resource(resource, type, err))
		return false;
	snprintf(where, sizeof(where), "%s.id", type);
	if (given == NULL || strcmp(given, id) != 0)
		return fhir_error_set(err, ERR_INVALID_REQUEST, where,
				      "%s must be the id in the URL (%s)",
				      where, id);
	return true;
}

/* The string at obj.a[.b] (b may be NULL). */
static const char *string_at(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_object_get(obj, a);

	return json_string_value(b != NULL ? json_object_get(v, b) : v);
}

static bool same_text(const char *x, const char *y)
{
	return (x == NULL && y == NULL) ||
	       (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* The incoming string at a[.b] if it differs from the current one. */
static const char *changed(const json_t *in, const json_t *now, const char *a,
			   const char *b)
{
	const char *x = string_at(in, a, b);

	return x != NULL && !same_text(x, string_at(now, a, b)) ? x : NULL;
}

/* A reference element that must not change (its identifier value). */
static bool unchanged_ref(const json_t *in, const json_t *now, const char *type,
			  const char *element, struct fhir_error *err)
{
	const json_t *a =
		json_object_get(json_object_get(in, element), "identifier");
	const json_t *b =
		json_object_get(json_object_get(now, element), "identifier");
	char where[128];

	if (json_object_get(in, element) == NULL ||
	    same_text(string_at(a, "value", NULL), string_at(b, "value", NULL)))
		return true;
	snprintf(where, sizeof(where), "%s.%s.identifier.value", type, element);
	return fhir_error_set(err, ERR_INVALID_REQUEST, where,
			      "%s cannot change", where);
}

static bool event_id_of(const char *type, const char *id, int version,
			const char *tag, char out[ID_MAX + 1],
			struct fhir_error *err)
{
	if (fhir_id_update_event(type, id, version, tag, out))
		return true;
	return fhir_error_set(err, ERR_INTERNAL, NULL, "no event id fits %s/%s",
			      type, id);
}

/* A refusal that the pathway's phase explains, with the phase and the
 * events it allows, as /v1's illegal_transition gives them. */
static bool not_now(const struct fhir_view *v, const char *expression,
		    const char *message, struct fhir_error *err)
{
	enum phase phase;

	fhir_error_typed(err, ERR_ILLEGAL_TRANSITION, "business-rule",
			 expression, "%s", message);
	if (domain_phase_parse(v->phase, &phase)) {
		err->error.phase = phase;
		err->error.allowed = fsm_allowed(phase, v->model);
	}
	return false;
}

/* --- PUT Task --------------------------------------------------------------
 */

static bool task_status(struct task_put *t, struct fhir_error *err)
{
	t->status = string_at(t->in, "status", NULL);
	if (t->status != NULL && fhir_map_task_status_known(t->status))
		return true;
	return fhir_error_set(err, ERR_INVALID_REQUEST, "Task.status",
			      "Task.status must be an R4 task-status code");
}

/* The deadline a clinic sets on acceptance: a date, or the local date of
 * a dateTime in the model's zone. */
static bool task_deadline(struct task_put *t, json_t *data,
			  struct fhir_error *err)
{
	const json_t *in = json_object_get(t->in, "restriction");
	const json_t *now = json_object_get(t->current, "restriction");
	const char *end = changed(json_object_get(in, "period"),
				  json_object_get(now, "period"), "end", NULL);
	char date[CAL_DATE_LEN];
	cal_millis at;

	if (end == NULL)
		return true;
	if (strlen(end) > 10 && calendar_parse_timestamp(end, &at)) {
		calendar_format_date(
			calendar_local_date(&t->v->model->zone, at), date);
		end = date;
	}
	json_object_set_new(data, "deadline", json_string(end));
	(void)err;
	return true;
}

static bool task_reason(struct task_put *t, json_t *data, bool with_advice,
			struct fhir_error *err)
{
	const char *reason, *advice = NULL;
	const json_t *note = json_array_get(json_object_get(t->in, "note"), 0);

	if (!fhir_read_concept_text(t->in, "statusReason", "Task.statusReason",
				    &reason, err) ||
	    (with_advice && !fhir_read_string(note, "text", "Task.note[0].text",
					      &advice, err)))
		return false;
	if (reason != NULL)
		json_object_set_new(data, "reason", json_string(reason));
	if (advice != NULL)
		json_object_set_new(data, "advice", json_string(advice));
	return true;
}

/* When it happened: the start of execution (treatment), else a
 * lastModified the client changed, else NULL (the server's now). */
static bool task_time(struct task_put *t, const char **text,
		      struct fhir_error *err)
{
	const char *start = changed(
		json_object_get(t->in, "executionPeriod"),
		json_object_get(t->current, "executionPeriod"), "start", NULL);
	const char *modified = changed(t->in, t->current, "lastModified", NULL);
	cal_millis at;

	*text = NULL;
	if (start != NULL && strcmp(t->status, "in-progress") == 0)
		return fhir_read_instant(
			json_object_get(t->in, "executionPeriod"), "start",
			"Task.executionPeriod.start", &at, text, err);
	if (modified != NULL)
		return fhir_read_instant(t->in, "lastModified",
					 "Task.lastModified", &at, text, err);
	return true;
}

static bool task_data(struct task_put *t, const char *event, json_t *data,
		      struct fhir_error *err)
{
	if (strcmp(event, "event.retracted") == 0) {
		json_object_set_new(data, "event_id",
				    json_string(t->ref->event_id));
		return task_reason(t, data, false, err);
	}
	if (strcmp(event, "referral.accepted") == 0)
		return task_deadline(t, data, err);
	if (strcmp(event, "referral.rejected") == 0)
		return task_reason(t, data, true, err);
	if (strcmp(event, "referral.withdrawn") == 0)
		return task_reason(t, data, false, err);
	return true;
}

/* The unit acting: the receiving unit, or the referrer withdrawing. */
static void task_unit(struct task_put *t, const char *event, json_t *ev)
{
	const char *unit =
		strcmp(event, "referral.withdrawn") == 0
			? string_at(json_object_get(t->in, "requester"),
				    "identifier", "value")
			: string_at(json_object_get(t->in, "owner"),
				    "identifier", "value");

	if (unit != NULL && strcmp(event, "event.retracted") != 0)
		json_object_set_new(ev, "unit", json_string(unit));
}

static bool task_event(struct task_put *t, const char *event, const char *tag,
		       json_t *data, int if_match, cal_millis now,
		       struct fhir_write *out, struct fhir_error *err)
{
	char event_id[ID_MAX + 1];
	const char *when;

	if (!task_time(t, &when, err) ||
	    !event_id_of("Task", t->id,
			 if_match >= 0 ? if_match : t->v->version, tag,
			 event_id, err)) {
		json_decref(data);
		return false;
	}
	out->event = fhir_write_event(event_id, event, t->v->patient_id,
				      t->v->pathway_id, when, now, data,
				      &out->occurred_at_assumed);
	if (out->event == NULL)
		return fhir_error_set(err, ERR_INTERNAL, NULL, "out of memory");
	task_unit(t, event, out->event);
	out->kind = FHIR_WRITE_EVENT;
	return true;
}

static const char *owner_value(const json_t *task)
{
	return string_at(
		json_object_get(json_object_get(task, "owner"), "identifier"),
		"value", NULL);
}

/* Same status: a new owner while accepted is the Danish free choice of a
 * private unit; anything else changes nothing we keep. */
static bool task_same_status(struct task_put *t, int if_match, cal_millis now,
			     struct fhir_write *out, struct fhir_error *err)
{
	const char *owner = owner_value(t->in);

	out->kind = FHIR_WRITE_NOOP;
	if (!t->ref->open || strcmp(t->status, "accepted") != 0 ||
	    owner == NULL || same_text(owner, owner_value(t->current)))
		return true;
	return task_event(t, "free_choice.chosen", "owner",
			  json_pack("{s:s}", "to_unit", owner), if_match, now,
			  out, err);
}

static bool task_change(struct task_put *t, int if_match, cal_millis now,
			struct fhir_write *out, struct fhir_error *err)
{
	const char *event = fhir_map_task_event(t->status);
	json_t *data;

	if (event == NULL)
		return fhir_error_typed(
			err, ERR_INVALID_REQUEST, "business-rule",
			"Task.status",
			"no event makes a referral's Task %s: a Task is "
			"completed when the patient leaves the unit (a "
			"transfer, a later referral's treatment, or the "
			"EpisodeOfCare finished)",
			t->status);
	if (strcmp(event, "event.retracted") != 0 && !t->ref->open) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "this referral's workflow is over (Task %s): send a "
			 "new ServiceRequest",
			 t->ref->status);
		return not_now(t->v, "Task.status", msg, err);
	}
	data = json_object();
	if (!task_data(t, event, data, err)) {
		json_decref(data);
		return false;
	}
	return task_event(t, event, t->status, data, if_match, now, out, err);
}

bool fhir_update_task(const struct fhir_view *v, const char *task_id,
		      const json_t *resource, int if_match, cal_millis now,
		      struct fhir_write *out, struct fhir_error *err)
{
	struct task_put t = {v, NULL, task_id, resource, NULL, NULL};
	bool ok = false;

	memset(out, 0, sizeof(*out));
	out->target = FHIR_TARGET_TASK_UPDATE;
	if (!check_identity(resource, "Task", task_id, err))
		return false;
	t.ref = fhir_view_referral(v, task_id);
	if (t.ref == NULL)
		return fhir_error_set(err, ERR_NOT_FOUND, "Task.id",
				      "no Task %s", task_id);
	t.current = fhir_resource_task(v, t.ref);
	if (t.current == NULL)
		return fhir_error_set(err, ERR_INTERNAL, NULL, "out of memory");
	if (task_status(&t, err) &&
	    unchanged_ref(resource, t.current, "Task", "for", err) &&
	    unchanged_ref(resource, t.current, "Task", "requester", err) &&
	    (json_object_get(resource, "focus") == NULL ||
	     json_equal(json_object_get(resource, "focus"),
			json_object_get(t.current, "focus")) ||
	     fhir_error_set(err, ERR_INVALID_REQUEST, "Task.focus",
			    "Task.focus cannot change")))
		ok = strcmp(t.status, t.ref->status) == 0
			     ? task_same_status(&t, if_match, now, out, err)
			     : task_change(&t, if_match, now, out, err);
	json_decref(t.current);
	if (!ok)
		fhir_write_free(out);
	return ok;
}

/* --- PUT EpisodeOfCare -----------------------------------------------------
 */

struct episode_put {
	const struct fhir_view *v;
	const char *id;
	const json_t *in;
	const char *status;  /* as sent */
	const char *current; /* as rendered now */
};

static const char *const episode_exts[] = {
	"region",   "level",	    "level-visited", "flag",
	"deadline", "pain-onset",   "birth-date",    "age",
	"gp-unit",  "close-reason", "status-reason", NULL};

/* The code of one of our extensions on the incoming resource, or NULL. */
static const char *ext_code(const struct episode_put *e, const char *name)
{
	char expr[FHIR_EXPRESSION_MAX];

	return fhir_read_code_value(fhir_read_extension(
		e->v->cfg, e->in, "EpisodeOfCare", name, expr));
}

static const json_t *ext_value(const struct episode_put *e, const char *name,
			       const char *key)
{
	char expr[FHIR_EXPRESSION_MAX];

	return json_object_get(fhir_read_extension(e->v->cfg, e->in,
						   "EpisodeOfCare", name, expr),
			       key);
}

static const char *pathway_text(const struct episode_put *e, const char *key)
{
	return json_string_value(json_object_get(e->v->pathway, key));
}

static void reason_from_ext(const struct episode_put *e, json_t *data)
{
	const char *reason =
		json_string_value(ext_value(e, "status-reason", "valueString"));

	if (reason != NULL)
		json_object_set_new(data, "reason", json_string(reason));
}

/* A new status: close, retract the opening, or reopen. */
static bool episode_status_event(const struct episode_put *e,
				 const char **event, json_t *data,
				 struct fhir_error *err)
{
	const char *close_reason = ext_code(e, "close-reason");

	*event = NULL;
	if (strcmp(e->status, "finished") == 0) {
		*event = "pathway.closed";
		json_object_set_new(data, "reason",
				    json_string(close_reason != NULL
							? close_reason
							: "completed"));
	} else if (strcmp(e->status, "entered-in-error") == 0) {
		*event = "event.retracted";
		json_object_set_new(
			data, "event_id",
			json_string(e->v->history.opened_event_id
					    ? e->v->history.opened_event_id
					    : ""));
		reason_from_ext(e, data);
	} else if (strcmp(e->status, "active") == 0 &&
		   strcmp(e->current, "finished") == 0) {
		*event = "pathway.reopened";
		reason_from_ext(e, data);
	}
	if (*event != NULL)
		return true;
	return fhir_error_typed(
		err, ERR_INVALID_REQUEST, "business-rule",
		"EpisodeOfCare.status",
		"EpisodeOfCare.status cannot go from %s to %s here: finished "
		"closes, entered-in-error retracts the opening, active "
		"reopens a finished pathway; waitlist follows the referral's "
		"Task (accepted)",
		e->current, e->status);
}

/* Another level or unit at the same status: a transfer. */
static bool episode_placement(const struct episode_put *e, json_t *data)
{
	const char *level = ext_code(e, "level");
	const json_t *ident = json_object_get(
		json_object_get(e->in, "managingOrganization"), "identifier");
	const char *unit = string_at(ident, "value", NULL);
	bool moved;

	moved = (level != NULL &&
		 !same_text(level, pathway_text(e, "level"))) ||
		(unit != NULL && !same_text(unit, pathway_text(e, "unit")));
	if (!moved)
		return false;
	json_object_set_new(
		data, "to_level",
		json_string(level != NULL ? level : pathway_text(e, "level")));
	if (unit != NULL)
		json_object_set_new(data, "to_unit", json_string(unit));
	reason_from_ext(e, data);
	return true;
}

static bool has_flag(const json_t *flags, const char *flag)
{
	const json_t *f;
	size_t i;

	json_array_foreach(flags, i, f) if (same_text(json_string_value(f),
						      flag)) return true;
	return false;
}

/* The flag codes of the incoming painpath-flag extensions. */
static json_t *incoming_flags(const struct episode_put *e)
{
	char url[FHIR_URL_MAX];
	json_t *flags = json_array();
	const json_t *x;
	size_t i;

	fhir_config_extension_url(e->v->cfg, "flag", url);
	json_array_foreach(json_object_get(e->in, "extension"), i,
			   x) if (same_text(string_at(x, "url", NULL), url) &&
				  fhir_read_code_value(x) != NULL)
		json_array_append_new(flags,
				      json_string(fhir_read_code_value(x)));
	return flags;
}

/* flags_add / flags_remove: the difference between the flags sent and
 * the pathway's. */
static bool flag_changes(const struct episode_put *e, json_t *data)
{
	const json_t *now = json_object_get(e->v->pathway, "flags");
	json_t *in = incoming_flags(e), *add = json_array(),
	       *remove = json_array();
	const json_t *f;
	size_t i;
	bool any;

	json_array_foreach(in, i, f) if (!has_flag(now, json_string_value(f)) &&
					 !has_flag(add, json_string_value(f)))
		json_array_append(add, (json_t *)f);
	json_array_foreach(now, i, f) if (!has_flag(in, json_string_value(f)))
		json_array_append(remove, (json_t *)f);
	any = json_array_size(add) + json_array_size(remove) > 0;
	if (json_array_size(add) > 0)
		json_object_set(data, "flags_add", add);
	if (json_array_size(remove) > 0)
		json_object_set(data, "flags_remove", remove);
	json_decref(in);
	json_decref(add);
	json_decref(remove);
	return any;
}

/* The age a birth date gives on the day the pathway opened, for telling
 * whether a birth-date extension says anything new. */
static int age_at_opening(const struct episode_put *e, const char *birth)
{
	cal_date born, opened;
	cal_millis at;
	int by, bm, bd, y, m, d;

	if (!calendar_parse_date(birth, &born) ||
	    !calendar_parse_timestamp(pathway_text(e, "opened_at"), &at))
		return -1;
	opened = calendar_local_date(&e->v->model->zone, at);
	calendar_ymd(born, &by, &bm, &bd);
	calendar_ymd(opened, &y, &m, &d);
	return y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
}

/* Facts at the same status: flags, pain onset, age or birth date, model. */
static bool episode_facts(const struct episode_put *e, json_t *data)
{
	const json_t *age = json_object_get(e->v->pathway, "age_at_opening");
	const char *onset =
		json_string_value(ext_value(e, "pain-onset", "valueDate"));
	const char *birth =
		json_string_value(ext_value(e, "birth-date", "valueDate"));
	const json_t *new_age = ext_value(e, "age", "valueInteger");
	char system[FHIR_URL_MAX];
	const char *model = NULL;
	struct fhir_error ignored;
	bool any = flag_changes(e, data);

	if (onset != NULL && !same_text(onset, pathway_text(e, "pain_onset"))) {
		json_object_set_new(data, "pain_onset", json_string(onset));
		any = true;
	}
	if (birth != NULL &&
	    age_at_opening(e, birth) != json_integer_value(age)) {
		json_object_set_new(data, "birth_date", json_string(birth));
		any = true;
	} else if (json_is_integer(new_age) && !json_equal(new_age, age)) {
		json_object_set(data, "age", (json_t *)new_age);
		any = true;
	}
	fhir_config_code_system(e->v->cfg, "model", system);
	if (fhir_read_concept_code(
		    json_array_get(json_object_get(e->in, "type"), 0), system,
		    "EpisodeOfCare.type", &model, &ignored) &&
	    model != NULL && !same_text(model, pathway_text(e, "model"))) {
		json_object_set_new(data, "model", json_string(model));
		any = true;
	}
	return any;
}

static bool episode_time(const struct episode_put *e, const char *event,
			 const char **text, struct fhir_error *err)
{
	cal_millis at;

	*text = NULL;
	if (strcmp(event, "pathway.closed") != 0)
		return true;
	return fhir_read_instant(json_object_get(e->in, "period"), "end",
				 "EpisodeOfCare.period.end", &at, text, err);
}

/* Which event the update asks for, and its data; NULL event: none. */
static bool episode_event(const struct episode_put *e, const char **event,
			  const char **tag, json_t *data,
			  struct fhir_error *err)
{
	json_t *facts = json_object(), *place = json_object();
	bool moved = episode_placement(e, place);
	bool updated = episode_facts(e, facts);
	bool ok = true;

	bool new_status = strcmp(e->status, e->current) != 0;

	*event = *tag = NULL;
	if ((new_status && (moved || updated)) || (moved && updated))
		ok = fhir_error_set(err, ERR_INVALID_REQUEST, "EpisodeOfCare",
				    "one change at a time: a new status, new "
				    "facts (flags, onset, age, model), or a "
				    "new level or unit");
	else if (new_status)
		ok = episode_status_event(e, event, data, err);
	else if (moved || updated) {
		*event = moved ? "patient.transferred" : "pathway.updated";
		json_object_update(data, moved ? place : facts);
	}
	if (ok && *event != NULL)
		*tag = new_status ? e->status
		       : moved	  ? "transferred"
				  : "updated";
	json_decref(facts);
	json_decref(place);
	return ok;
}

static bool episode_checks(const struct episode_put *e, struct fhir_error *err)
{
	json_t *now = fhir_resource_episode(e->v);
	bool ok = now != NULL &&
		  fhir_read_check_extensions(e->v->cfg, e->in, "EpisodeOfCare",
					     episode_exts, err) &&
		  unchanged_ref(e->in, now, "EpisodeOfCare", "patient", err);

	json_decref(now);
	if (ok && !fhir_map_episode_status_known(e->status))
		return fhir_error_set(err, ERR_INVALID_REQUEST,
				      "EpisodeOfCare.status",
				      "EpisodeOfCare.status must be an R4 "
				      "episode-of-care-status code");
	return ok;
}

bool fhir_update_episode(const struct fhir_view *v, const char *episode_id,
			 const json_t *resource, int if_match, cal_millis now,
			 struct fhir_write *out, struct fhir_error *err)
{
	struct episode_put e = {v, episode_id, resource, NULL, NULL};
	char event_id[ID_MAX + 1];
	const char *event, *tag, *when;
	json_t *data;

	memset(out, 0, sizeof(*out));
	out->target = FHIR_TARGET_EPISODE_UPDATE;
	e.status = string_at(resource, "status", NULL);
	e.current = fhir_map_episode_status(v->phase);
	if (!check_identity(resource, "EpisodeOfCare", episode_id, err) ||
	    !episode_checks(&e, err))
		return false;
	data = json_object();
	if (!episode_event(&e, &event, &tag, data, err) ||
	    (event != NULL &&
	     (!episode_time(&e, event, &when, err) ||
	      !event_id_of("EpisodeOfCare", episode_id,
			   if_match >= 0 ? if_match : v->version, tag, event_id,
			   err)))) {
		json_decref(data);
		return false;
	}
	if (event == NULL) {
		json_decref(data);
		out->kind = FHIR_WRITE_NOOP;
		return true;
	}
	out->event =
		fhir_write_event(event_id, event, v->patient_id, v->pathway_id,
				 when, now, data, &out->occurred_at_assumed);
	if (out->event == NULL)
		return fhir_error_set(err, ERR_INTERNAL, NULL, "out of memory");
	return true;
}
