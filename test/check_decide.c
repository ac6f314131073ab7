/*
 * Unit tests for lib/decide.c and lib/replay.c: the pure decision, with
 * histories, corrections and the expected outcomes as data
 * (test/data/histories.tsv, written by hand from domain.md and issue 12).
 * No database: the runner plays the store's part -- it keeps each
 * history, finds the stored event for a retry, and after every write
 * checks that replaying the whole history gives the state the events gave
 * one by one (what `painpath verify` relies on).
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "calendar.h"
#include "decide.h"
#include "pathway.h"
#include "replay.h"
#include "suites.h"
#include "tsv.h"

#define MAX_STEPS 24
#define LINE_LEN  16384
#define WHY_LEN	  2048

static struct model_set models;

/* A token of every region, as the development tokens are, and one of
 * region r1 only. */
static struct token all_regions = {.id = "t-all",
				   .role = ROLE_EHR,
				   .all_regions = true,
				   .source = "src-a"};
static struct token region_r2 = {.id = "t-r2",
				 .role = ROLE_EHR,
				 .nregions = 1,
				 .regions = {"r2"},
				 .source = "src-a"};

static void load_models(void)
{
	char err[1024];

	if (!model_set_load_dir("config/models", &models, err, sizeof(err))) {
		fprintf(stderr, "check_decide: %s\n", err);
		abort();
	}
}

static void free_models(void)
{
	model_set_free(&models);
}

/* One pathway's life as the store would keep it. */
struct life {
	bool has;
	struct pathway p;
	struct history_entry entries[MAX_STEPS];
	json_t *events[MAX_STEPS];
	char ids[MAX_STEPS][ID_MAX + 1];
	char *responses[MAX_STEPS];
	size_t count;
	cal_millis clock;
	struct decision last;
	char problem[512];
};

static void life_free(struct life *l)
{
	for (size_t i = 0; i < l->count; i++) {
		json_decref(l->events[i]);
		free(l->responses[i]);
	}
	decision_free(&l->last);
}

/* "id:type@at[@unit] [data]" into the event JSON. */
static json_t *step_json(const char *model, const char *text, char *problem)
{
	char buf[LINE_LEN], *data, *at, *unit, *colon, *type;
	json_t *obj, *d = NULL;

	snprintf(buf, sizeof(buf), "%s", text);
	data = strchr(buf, ' ');
	if (data != NULL) {
		*data++ = '\0';
		d = json_loads(data, 0, NULL);
		if (d == NULL) {
			snprintf(problem, 512, "data of %s is not JSON", text);
			return NULL;
		}
	}
	colon = strchr(buf, ':');
	at = colon ? strchr(colon, '@') : NULL;
	if (at == NULL) {
		snprintf(problem, 512, "step %s: want id:type@at", text);
		json_decref(d);
		return NULL;
	}
	*colon = '\0';
	type = colon + 1;
	*at++ = '\0';
	unit = strchr(at, '@');
	if (unit != NULL)
		*unit++ = '\0';
	obj = json_pack("{s:s, s:s, s:s, s:s}", "event_id", buf, "type", type,
			"patient_id", "p-1", "occurred_at", at);
	if (unit != NULL)
		json_object_set_new(obj, "unit", json_string(unit));
	if (strcmp(type, "pathway.opened") == 0) {
		json_object_set_new(obj, "model", json_string(model));
		json_object_set_new(obj, "region", json_string("r1"));
	}
	if (d != NULL)
		json_object_set_new(obj, "data", d);
	return obj;
}

static const struct history_entry *stored_of(const struct life *l,
					     const char *event_id)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->ids[i], event_id) == 0)
			return &l->entries[i];
	return NULL;
}

/* The whole history replayed must give the state the steps gave. */
static bool replay_agrees(struct life *l)
{
	struct history h = {l->entries, l->count};
	struct replay_result res;
	json_t *a, *b;
	bool same;

	if (!replay_history(&h, NULL, l->p.id, &models, l->clock, &res)) {
		snprintf(l->problem, sizeof(l->problem),
			 "replay of %zu events refused: %s", l->count,
			 res.err.message);
		replay_result_free(&res);
		return false;
	}
	replay_result_free(&res);
	a = pathway_to_json(&l->p);
	b = pathway_to_json(&res.state);
	same = json_equal(a, b);
	if (!same) {
		char *x = json_dumps(a, JSON_SORT_KEYS),
		     *y = json_dumps(b, JSON_SORT_KEYS);
		snprintf(l->problem, sizeof(l->problem),
			 "replay differs:\n  steps  %.200s\n  replay %.200s", x,
			 y);
		free(x);
		free(y);
	}
	json_decref(a);
	json_decref(b);
	return same;
}

static void record(struct life *l, json_t *obj, const struct event *ev)
{
	struct decision *d = &l->last;
	size_t i = l->count++;
	json_t *resp = decide_response(d, ev);

	l->events[i] = json_incref(obj);
	snprintf(l->ids[i], sizeof(l->ids[i]), "%s", ev->event_id);
	l->responses[i] = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	l->entries[i] = (struct history_entry){
		d->after.version, "src-a", l->ids[i], l->events[i], l->clock};
	l->p = d->after;
	l->has = true;
}

/* One step through decide(); returns its kind, or -1 on a broken row. */
static int step(struct life *l, const char *model, const char *text,
		const struct token *token)
{
	json_t *obj = step_json(model, text, l->problem);
	const struct history_entry *prior;
	struct decide_stored stored;
	struct history h;
	struct event ev;
	int kind;

	if (obj == NULL)
		return -1;
	l->clock += 60000;
	decision_free(&l->last);
	if (!event_parse(obj, l->clock, &ev, &l->last.err)) {
		l->last.kind = DECIDE_REFUSE;
		json_decref(obj);
		return DECIDE_REFUSE;
	}
	prior = stored_of(l, ev.event_id);
	h = (struct history){l->entries, l->count};
	if (prior != NULL)
		stored = (struct decide_stored){
			l->p.id, l->p.region, prior->event,
			l->responses[prior - l->entries]};
	bool opens = ev.type == EV_PATHWAY_OPENED;
	bool open = l->has && l->p.closed_at == 0;
	struct decide_in in = {.ev = &ev,
			       .token = token,
			       .models = &models,
			       .now = l->clock,
			       .new_id = "pw-1",
			       .target = l->has && !opens ? &l->p : NULL,
			       .open = opens && open ? &l->p : NULL,
			       .stored = prior ? &stored : NULL,
			       .history = &h,
			       .source = "src-a"};
	kind = (int)decide(&in, &l->last);
	if (kind == DECIDE_WRITE)
		record(l, obj, &ev);
	json_decref(obj);
	return kind;
}

/* --- checking an expectation ---------------------------------------------- */

static bool check_clock(const struct pathway *p, const char *rule,
			const char *want, char *why)
{
	enum rule r;
	char due[CAL_DATE_LEN];

	if (!domain_rule_parse(rule, &r))
		return snprintf(why, WHY_LEN, "unknown rule %s", rule), false;
	if (strcmp(want, "none") == 0) {
		if (p->clocks[r].running)
			return snprintf(why, WHY_LEN, "%s runs", rule), false;
		return true;
	}
	calendar_format_date(p->clocks[r].due, due);
	if (!p->clocks[r].running || strcmp(due, want) != 0)
		return snprintf(why, WHY_LEN, "%s due %s, want %s", rule,
				p->clocks[r].running ? due : "(not running)",
				want),
		       false;
	return true;
}

static bool check_depends(const struct decision *d, const char *want, char *why)
{
	json_t *list = json_object_get(d->detail, "depends_on");
	char got[512] = "";
	size_t i, used = 0;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s",
					 i ? "," : "", json_string_value(v));
	}
	if (strcmp(got, want) != 0)
		return snprintf(why, WHY_LEN, "depends_on %s, want %s", got,
				want),
		       false;
	return true;
}

static bool check_onset(const struct pathway *p, const char *want, char *why)
{
	char onset[CAL_DATE_LEN] = "none";

	if (p->has_pain_onset)
		calendar_format_date(p->pain_onset, onset);
	if (strcmp(onset, want) != 0)
		return snprintf(why, WHY_LEN, "pain_onset %s, want %s", onset,
				want),
		       false;
	return true;
}

/* The referrer's notification as kind:decision:deadline:corrected-event
 * ("-" for none), or "none". */
static bool check_notify(const struct decision *d, const char *want, char *why)
{
	const json_t *n = d->notification;
	const char *deadline, *corrects;
	char got[256] = "none";

	if (n != NULL) {
		deadline = json_string_value(json_object_get(
			json_object_get(n, "decision"), "deadline"));
		corrects = json_string_value(json_object_get(
			json_object_get(n, "corrects"), "event_id"));
		snprintf(got, sizeof(got), "%s:%s:%s:%s",
			 json_string_value(json_object_get(n, "kind")),
			 json_string_value(json_object_get(
				 json_object_get(n, "decision"), "decision")),
			 deadline ? deadline : "-", corrects ? corrects : "-");
	}
	if (strcmp(got, want) != 0)
		return snprintf(why, WHY_LEN, "notify %s, want %s", got, want),
		       false;
	return true;
}

/* key=value: a property of the outcome. */
static bool check_property(const struct life *l, const char *kv, char *why)
{
	char key[64], value[256];
	const struct pathway *p = &l->last.after;
	const char *eq = strchr(kv, '=');

	if (eq == NULL || (size_t)(eq - kv) >= sizeof(key))
		return snprintf(why, WHY_LEN, "bad expectation %s", kv), false;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	snprintf(value, sizeof(value), "%s", eq + 1);
	if (strcmp(key, "phase") == 0 &&
	    strcmp(domain_phase_name(p->phase), value) != 0)
		return snprintf(why, WHY_LEN, "phase %s, want %s",
				domain_phase_name(p->phase), value),
		       false;
	if (strcmp(key, "level") == 0 &&
	    strcmp(domain_level_name(p->level), value) != 0)
		return snprintf(why, WHY_LEN, "level %s, want %s",
				domain_level_name(p->level), value),
		       false;
	if (strcmp(key, "unit") == 0 && strcmp(p->unit, value) != 0)
		return snprintf(why, WHY_LEN, "unit %s, want %s", p->unit,
				value),
		       false;
	if (strcmp(key, "to_unit") == 0 &&
	    strcmp(p->referral.to_unit, value) != 0)
		return snprintf(why, WHY_LEN, "referral to %s, want %s",
				p->referral.to_unit, value),
		       false;
	if (strcmp(key, "gp_unit") == 0 && strcmp(p->gp_unit, value) != 0)
		return snprintf(why, WHY_LEN, "gp_unit %s, want %s", p->gp_unit,
				value),
		       false;
	if (strcmp(key, "pain_onset") == 0)
		return check_onset(p, value, why);
	if (strcmp(key, "model") == 0 && strcmp(p->model, value) != 0)
		return snprintf(why, WHY_LEN, "model %s, want %s", p->model,
				value),
		       false;
	if (strcmp(key, "version") == 0 && p->version != atoi(value))
		return snprintf(why, WHY_LEN, "version %d, want %s", p->version,
				value),
		       false;
	if (strcmp(key, "closed") == 0 &&
	    strcmp(p->closed_at ? domain_close_reason_name(p->close_reason)
				: "no",
		   value) != 0)
		return snprintf(why, WHY_LEN, "closed %s, want %s",
				p->closed_at ? domain_close_reason_name(
						       p->close_reason)
					     : "no",
				value),
		       false;
	if (strcmp(key, "field") == 0 && strcmp(l->last.err.field, value) != 0)
		return snprintf(why, WHY_LEN, "field %s, want %s",
				l->last.err.field, value),
		       false;
	if (strcmp(key, "depends_on") == 0)
		return check_depends(&l->last, value, why);
	if (strcmp(key, "notify") == 0)
		return check_notify(&l->last, value, why);
	if (strcmp(key, "corrects") == 0 && l->last.corrects_seq != atoi(value))
		return snprintf(why, WHY_LEN, "corrects seq %d, want %s",
				l->last.corrects_seq, value),
		       false;
	if (strncmp(key, "clock.", 6) == 0)
		return check_clock(p, key + 6, value, why);
	return true;
}

static bool check_outcome(const struct life *l, int kind, const char *expect,
			  char *why)
{
	char buf[1024], *save = NULL, *what;

	snprintf(buf, sizeof(buf), "%s", expect);
	what = strtok_r(buf, " ", &save);
	if (strcmp(what, "write") == 0 && kind != DECIDE_WRITE)
		return snprintf(why, WHY_LEN, "not written: %s %s",
				error_code_name(l->last.err.code),
				l->last.err.message),
		       false;
	if (strcmp(what, "replay") == 0 && kind != DECIDE_REPLAY)
		return snprintf(why, WHY_LEN, "not a replay"), false;
	if (strcmp(what, "write") != 0 && strcmp(what, "replay") != 0 &&
	    (kind != DECIDE_REFUSE ||
	     strcmp(error_code_name(l->last.err.code), what) != 0))
		return snprintf(why, WHY_LEN, "got %s (%s), want %s",
				kind == DECIDE_REFUSE
					? error_code_name(l->last.err.code)
					: "a write",
				l->last.err.message, what),
		       false;
	for (char *kv = strtok_r(NULL, " ", &save); kv != NULL;
	     kv = strtok_r(NULL, " ", &save))
		if (!check_property(l, kv, why))
			return false;
	return true;
}

/* Runs one row: every step but the last must write (or replay); the
 * last must give what the row expects. */
static bool run_row(const char *model, char *steps, const char *expect,
		    const struct token *last_token, char *why)
{
	struct life l = {.clock = 1900000000000LL};
	char *parts[MAX_STEPS], *save = NULL;
	int n = 0, kind = -1;
	bool ok = true;

	for (char *s = strtok_r(steps, "|", &save); s && n < MAX_STEPS;
	     s = strtok_r(NULL, "|", &save)) {
		while (*s == ' ')
			s++;
		for (char *e = s + strlen(s); e > s && e[-1] == ' ';)
			*--e = '\0';
		parts[n++] = s;
	}
	for (int i = 0; i < n && ok; i++) {
		bool last = i == n - 1;
		kind = step(&l, model, parts[i],
			    last ? last_token : &all_regions);
		if (kind < 0) {
			snprintf(why, WHY_LEN, "%s", l.problem);
			ok = false;
		} else if (!last && kind == DECIDE_REFUSE) {
			snprintf(why, WHY_LEN, "step %d refused: %s: %s", i + 1,
				 error_code_name(l.last.err.code),
				 l.last.err.message);
			ok = false;
		} else if (kind == DECIDE_WRITE && !replay_agrees(&l)) {
			snprintf(why, WHY_LEN, "after step %d: %s", i + 1,
				 l.problem);
			ok = false;
		}
	}
	if (ok)
		ok = check_outcome(&l, kind, expect, why);
	life_free(&l);
	return ok;
}

START_TEST(test_histories)
{
	char why[WHY_LEN];
	struct tsv t;

	tsv_open(&t, "histories.tsv");
	while (tsv_next(&t, 3, 4))
		tsv_check(&t,
			  run_row(t.col[0], t.col[1], t.col[2],
				  t.cols > 3 && strcmp(t.col[3], "r2") == 0
					  ? &region_r2
					  : &all_regions,
				  why),
			  "%s", why);
	tsv_close(&t, 20);
}
END_TEST

Suite *decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("histories");

	tcase_add_unchecked_fixture(tc, load_models, free_models);
	tcase_add_test(tc, test_histories);
	suite_add_tcase(s, tc);
	return s;
}
