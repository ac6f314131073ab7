/* The FHIR tests' pathway builder (test/fhir_fixture.h); no suite of its
 * own.  The name keeps it in the Makefile's test/check_*.c wildcard. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "event.h"
#include "fhir_fixture.h"
#include "fsm.h"
#include "tsv.h"

static struct model_set models;
static struct fhir_config config;
static bool loaded;

static void load_once(void)
{
	char err[1024] = "";

	if (loaded)
		return;
	ck_assert_msg(
		model_set_load_dir("config/models", &models, err, sizeof(err)),
		"%s", err);
	ck_assert_msg(fhir_config_init(&config, FX_BASE, err, sizeof(err)),
		      "%s", err);
	loaded = true;
}

const struct model_set *fx_models(void)
{
	load_once();
	return &models;
}

const struct model *fx_model(const char *key)
{
	const struct model *m = model_set_find(fx_models(), key);

	ck_assert_msg(m != NULL, "no model %s", key);
	return m;
}

const struct fhir_config *fx_config(void)
{
	load_once();
	return &config;
}

static cal_millis stamp(const char *text)
{
	cal_millis t;

	ck_assert_msg(calendar_parse_timestamp(text, &t), "bad time %s", text);
	return t;
}

/* Runs one event JSON through the parser and the state machine.  Returns
 * true and updates the fixture, or false with err set. */
static bool step(struct fx *fx, json_t *ev_json, bool opening,
		 struct pp_error *err)
{
	struct event ev;
	struct pathway after;
	struct transition tr;
	struct fsm_effects effects;
	cal_millis now;
	bool ok;

	memset(err, 0, sizeof(*err));
	/* The server's clock a second after the event (a bad time is the
	 * parser's to refuse). */
	if (!calendar_parse_timestamp(
		    json_string_value(json_object_get(ev_json, "occurred_at")),
		    &now))
		now = stamp("2026-01-01T00:00:00Z");
	now += 1000;
	struct model_set one = {(struct model *)fx->model, 1};

	ok = event_parse(ev_json, now, &ev, err) &&
	     fsm_apply(opening ? NULL : &fx->state, &ev, &one, "pw-fixture",
		       now, &after, &tr, &effects, err);
	if (ok) {
		fx->state = after;
		json_decref(fx->pathway);
		fx->pathway = pathway_to_json(&fx->state);
		json_array_append_new(
			fx->transitions,
			fsm_transition_to_json(&tr, ev.event_id, ev.data));
	}
	json_decref(ev_json);
	return ok;
}

static json_t *event_json(struct fx *fx, const char *type, const char *at,
			  const char *unit, json_t *data)
{
	char id[32];
	json_t *ev;

	snprintf(id, sizeof(id), "ev-%d", ++fx->events);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:o}", "event_id", id, "type",
		       type, "patient_id", fx->state.patient_id, "occurred_at",
		       at, "data", data != NULL ? data : json_object());
	if (unit != NULL)
		json_object_set_new(ev, "unit", json_string(unit));
	return ev;
}

void fx_init(struct fx *fx, const char *model)
{
	memset(fx, 0, sizeof(*fx));
	fx->model = fx_model(model);
	fx->transitions = json_array();
}

bool fx_post(struct fx *fx, const json_t *event, struct pp_error *err)
{
	return step(fx, json_deep_copy(event), fx->pathway == NULL, err);
}

void fx_open(struct fx *fx, const char *model, const char *pathway_id,
	     json_t *data)
{
	struct pp_error err;
	json_t *ev;
	char patient[ID_MAX + 1];

	memset(fx, 0, sizeof(*fx));
	fx->model = fx_model(model);
	fx->transitions = json_array();
	if (data == NULL)
		data = json_object();
	if (json_object_get(data, "age") == NULL &&
	    json_object_get(data, "birth_date") == NULL)
		json_object_set_new(
			data, "age",
			json_integer(fx->model->max_age >= 0 ? 12 : 40));
	snprintf(patient, sizeof(patient), "p-%.100s", pathway_id);
	snprintf(fx->state.patient_id, sizeof(fx->state.patient_id), "%s",
		 patient);
	ev = event_json(fx, "pathway.opened", "2025-03-03T09:15:00+01:00",
			"gp-1", data);
	json_object_set_new(ev, "pathway_id", json_string(pathway_id));
	json_object_set_new(ev, "model", json_string(model));
	json_object_set_new(ev, "region", json_string("region-1"));
	ck_assert_msg(step(fx, ev, true, &err), "open %s: %s", model,
		      err.message);
}

void fx_event(struct fx *fx, const char *type, const char *occurred_at,
	      const char *unit, json_t *data)
{
	struct pp_error err;

	ck_assert_msg(step(fx, event_json(fx, type, occurred_at, unit, data),
			   false, &err),
		      "%s (%s): %s %s", type, fx->model->key,
		      error_code_name(err.code), err.message);
}

int fx_refused(struct fx *fx, const char *type, const char *occurred_at,
	       json_t *data)
{
	struct pp_error err;

	ck_assert_msg(!step(fx, event_json(fx, type, occurred_at, NULL, data),
			    false, &err),
		      "%s was accepted", type);
	return (int)err.code;
}

void fx_raw(struct fx *fx, const char *type, const char *occurred_at,
	    json_t *data, const char *phase_after)
{
	char id[32];
	int seq = (int)json_array_size(fx->transitions) + 1;
	const char *phase =
		json_string_value(json_object_get(fx->pathway, "phase"));

	snprintf(id, sizeof(id), "ev-%d", ++fx->events);
	json_array_append_new(
		fx->transitions,
		json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "seq",
			  seq, "event_id", id, "type", type, "from_phase",
			  phase, "to_phase",
			  phase_after != NULL ? phase_after : phase,
			  "occurred_at", occurred_at, "recorded_at",
			  occurred_at, "data", data));
	json_object_set_new(fx->pathway, "version", json_integer(seq));
	if (phase_after != NULL)
		json_object_set_new(fx->pathway, "phase",
				    json_string(phase_after));
}

void fx_meta(struct fx *fx, const char *type, const char *target, json_t *data,
	     const char *phase_after)
{
	json_object_set_new(data, "event_id", json_string(target));
	fx_raw(fx, type, "2025-06-30T10:00:00.000Z", data, phase_after);
}

void fx_referral(struct fx *fx, const char *stage)
{
	fx_event(fx, "referral.sent", "2025-03-04T10:00:00+01:00", NULL,
		 json_pack("{s:s, s:s, s:b, s:s, s:{s:b, s:s}}", "to_level",
			   "clinic", "to_unit", "clinic-1",
			   "earlier_levels_considered", 1, "justification",
			   "long-lasting pain, no effect of treatment at gp",
			   "content", "patient_view", 1, "medicines",
			   "paracetamol"));
	if (strcmp(stage, "referred") == 0)
		return;
	fx_event(fx, "referral.received", "2025-03-06T08:00:00+01:00",
		 "clinic-1", NULL);
	if (strcmp(stage, "assessing") == 0)
		return;
	if (strcmp(stage, "rejected") == 0) {
		fx_event(fx, "referral.rejected", "2025-03-10T08:00:00+01:00",
			 "clinic-1",
			 json_pack("{s:s, s:s}", "reason",
				   "not long-lasting enough", "advice",
				   "physiotherapy first"));
		return;
	}
	if (strcmp(stage, "withdrawn") == 0) {
		fx_event(fx, "referral.withdrawn", "2025-03-10T08:00:00+01:00",
			 NULL, json_pack("{s:s}", "reason", "patient moved"));
		return;
	}
	fx_event(fx, "referral.accepted", "2025-03-12T08:00:00+01:00",
		 "clinic-1", json_pack("{s:s}", "deadline", "2025-05-01"));
	if (strcmp(stage, "waiting") == 0)
		return;
	fx_event(fx, "treatment.started", "2025-04-10T08:00:00+02:00",
		 "clinic-1", NULL);
}

void fx_free(struct fx *fx)
{
	json_decref(fx->pathway);
	json_decref(fx->transitions);
	memset(fx, 0, sizeof(*fx));
}

size_t fx_tsv(const char *path, struct fx_row *rows, size_t max)
{
	static const char prefix[] = "test/data/";
	struct tsv t;
	size_t n = 0;

	if (strncmp(path, prefix, sizeof(prefix) - 1) == 0)
		path += sizeof(prefix) - 1;
	tsv_open(&t, path);
	while (n < max && tsv_next(&t, 1, TSV_MAX_COLS)) {
		memset(&rows[n], 0, sizeof(rows[n]));
		rows[n].line = t.line_number;
		for (int i = 0; i < t.cols && rows[n].count < 8; i++)
			snprintf(rows[n].field[rows[n].count++], 512, "%s",
				 t.col[i]);
		n++;
	}
	tsv_close(&t, 0);
	return n;
}

const char *fx_field(const struct fx_row *row, int i)
{
	if (i >= row->count || strcmp(row->field[i], "-") == 0)
		return NULL;
	return row->field[i];
}
