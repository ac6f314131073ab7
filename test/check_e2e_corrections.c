/*
 * Issue 12 over HTTP, for each model: mistakes corrected and retracted,
 * pathways reopened, facts that change, clocks paused.  The rules are
 * test/check_decide.c's; here they are driven the way an EHR drives them,
 * and read back the way a coordinator reads them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"
#include "harness.h"

/* The suite's EHR token: an ehr role scoped to the suite's regions. */
#define E2E_EHR "Authorization: Bearer e2e-ehr\r\n"

struct walk {
	char region[64];
	char ids[80]; /* the events' ids are <ids>-e<n>, the patient <ids>-p */
	char patient[96];
	char pathway[96];
	int n;
	const char *token; /* the Authorization header line, or NULL */
};

static int post_as(const char *token, const char *body, struct http_response *r)
{
	return http_request(PORT, "POST", "/v1/events", body, token, r);
}

/* Opens the walk's pathway (ids and region set), posting as w->token
 * (NULL: the suite's scoped admin). */
static void walk_open(struct walk *w, const char *model, const char *data,
		      const char *at)
{
	struct http_response r;
	char body[1024];

	snprintf(w->patient, sizeof(w->patient), "%s-p", w->ids);
	w->n = 0;
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-e0\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\","
		 "\"model\":\"%s\",\"region\":\"%s\",\"unit\":\"gp-1\","
		 "\"data\":%s}",
		 w->ids, w->patient, at, model, w->region, data);
	ck_assert_int_eq(post_as(w->token, body, &r), 201);
	snprintf(w->pathway, sizeof(w->pathway), "%s",
		 e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
}

/* Opens the walk's pathway in a region of its own, posting as token (NULL:
 * the suite's scoped admin). */
static void walk_start_as(struct walk *w, const char *token, const char *model,
			  const char *data, const char *at)
{
	e2e_region(w->region, sizeof(w->region), "t");
	snprintf(w->ids, sizeof(w->ids), "%s", w->region);
	w->token = token;
	walk_open(w, model, data, at);
}

static void walk_start(struct walk *w, const char *model, const char *data,
		       const char *at)
{
	walk_start_as(w, NULL, model, data, at);
}

/* Another patient's walk in first's region, its ids <region>-<tag>. */
static void walk_beside(struct walk *w, const struct walk *first,
			const char *tag, const char *model, const char *data,
			const char *at)
{
	snprintf(w->region, sizeof(w->region), "%s", first->region);
	snprintf(w->ids, sizeof(w->ids), "%s-%s", first->region, tag);
	w->token = first->token;
	walk_open(w, model, data, at);
}

/* Posts the walk's next event (event id <ids>-e<n>); returns the
 * status, the answer in r. */
static int step(struct walk *w, struct http_response *r, const char *type,
		const char *at, const char *unit, const char *data)
{
	char unit_member[128] = "", body[4096];

	if (unit != NULL)
		snprintf(unit_member, sizeof(unit_member), "\"unit\":\"%s\",",
			 unit);
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-e%d\",\"type\":\"%s\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\",%s"
		 "\"data\":%s}",
		 w->ids, ++w->n, type, w->patient, at, unit_member,
		 data ? data : "{}");
	return post_as(w->token, body, r);
}

static void ok(struct walk *w, const char *type, const char *at,
	       const char *unit, const char *data)
{
	struct http_response r;

	ck_assert_msg(step(w, &r, type, at, unit, data) == 201, "%s: %d %s",
		      type, r.status, r.body);
	http_response_free(&r);
}

/* The due date of a rule in the pathway as GET shows it ("" if none). */
static const char *due_of(json_t *pathway, const char *rule)
{
	size_t i;
	json_t *d;

	json_array_foreach(json_object_get(pathway, "deadlines"), i, d)
	{
		if (strcmp(e2e_str(d, "rule"), rule) == 0)
			return e2e_str(d, "due");
	}
	return "";
}

static json_t *pathway_now(const struct walk *w)
{
	struct http_response r;
	json_t *p;

	ck_assert_int_eq(e2e_get(PORT, &r, "/v1/pathways/%s", w->pathway), 200);
	p = json_incref(r.json);
	http_response_free(&r);
	return p;
}

static void refer_to_clinic(struct walk *w, const char *received_at)
{
	ok(w, "referral.sent", "2025-03-04T09:00:00+01:00", "gp-1",
	   "{\"to_level\":\"clinic\",\"to_unit\":\"clinic-1\"}");
	ok(w, "referral.received", received_at, "clinic-1", NULL);
}

/* A correction or retraction of the walk's event number target (0 is the
 * opening); fields holds the rest of data. */
static int fix(struct walk *w, struct http_response *r, const char *type,
	       int target, const char *at, const char *fields)
{
	char data[1024];

	snprintf(data, sizeof(data),
		 "{\"event_id\":\"%s-e%d\",\"reason\":\"entered wrong\"%s%s}",
		 w->ids, target, fields ? "," : "", fields ? fields : "");
	return step(w, r, type, at, NULL, data);
}

/* Norway: the receipt date corrected while under assessment; the 10
 * working days move from 20 to 19 March. */
START_TEST(norwegian_receipt_corrected_moves_the_assessment)
{
	struct walk w;
	struct http_response r;
	json_t *p;

	walk_start(&w, "no", "{\"age\":40}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	p = pathway_now(&w);
	ck_assert_str_eq(due_of(p, "assessment"), "2025-03-20");
	json_decref(p);
	ck_assert_int_eq(fix(&w, &r, "event.corrected", 2,
			     "2025-03-07T10:00:00+01:00",
			     "\"occurred_at\":\"2025-03-05T08:00:00+01:00\""),
			 201);
	ck_assert_str_eq(due_of(e2e_at(r.json, "pathway"), "assessment"),
			 "2025-03-19");
	http_response_free(&r);
	p = pathway_now(&w);
	ck_assert_str_eq(due_of(p, "assessment"), "2025-03-19");
	json_decref(p);
	/* The history shows the receipt corrected, by which event. */
	ck_assert_int_eq(
		e2e_get(PORT, &r, "/v1/pathways/%s/transitions", w.pathway),
		200);
	ck_assert_str_eq(e2e_str(r.json, "transitions.2.type"),
			 "referral.received");
	ck_assert_ptr_nonnull(e2e_at(r.json, "transitions.2.corrected_by"));
	ck_assert_str_eq(
		json_string_value(json_array_get(
			e2e_at(r.json, "transitions.2.corrected_by"), 0)),
		e2e_str(r.json, "transitions.3.event_id"));
	ck_assert_str_eq(e2e_str(r.json, "transitions.3.type"),
			 "event.corrected");
	http_response_free(&r);
}
END_TEST

/* Denmark: the receipt corrected after acceptance; the free choice (30
 * days of waiting) moves from 5 to 4 April. */
START_TEST(danish_receipt_corrected_after_acceptance)
{
	struct walk w;
	struct http_response r;

	walk_start(&w, "dk", "{}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ok(&w, "referral.accepted", "2025-03-10T09:00:00+01:00", "clinic-1",
	   NULL);
	ck_assert_int_eq(fix(&w, &r, "event.corrected", 2,
			     "2025-03-11T09:00:00+01:00",
			     "\"occurred_at\":\"2025-03-05T08:00:00+01:00\""),
			 201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.phase"), "waiting");
	ck_assert_str_eq(due_of(e2e_at(r.json, "pathway"), "free_choice"),
			 "2025-04-04");
	ck_assert_str_eq(due_of(e2e_at(r.json, "pathway"), "assessment"), "");
	http_response_free(&r);
}
END_TEST

/* Sweden: a mistaken pathway.closed retracted: open again, its treatment
 * clock running; back in the worklist. */
START_TEST(swedish_mistaken_close_retracted)
{
	struct walk w;
	struct http_response r;

	walk_start(&w, "se-adult", "{\"age\":40}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ok(&w, "pathway.closed", "2025-03-10T09:00:00+01:00", NULL,
	   "{\"reason\":\"completed\"}");
	ck_assert_int_eq(e2e_get(PORT, &r, "/v1/pathways?region=%s", w.region),
			 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "items")), 0);
	http_response_free(&r);
	ck_assert_int_eq(fix(&w, &r, "event.retracted", 3,
			     "2025-03-11T09:00:00+01:00", NULL),
			 201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.phase"), "assessing");
	ck_assert(json_is_null(e2e_at(r.json, "pathway.closed_at")));
	ck_assert_str_eq(due_of(e2e_at(r.json, "pathway"), "treatment"),
			 "2025-06-04");
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r, "/v1/pathways?region=%s", w.region),
			 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "items")), 1);
	http_response_free(&r);
	ck_assert_int_eq(
		e2e_get(PORT, &r, "/v1/pathways/%s/transitions", w.pathway),
		200);
	ck_assert_str_eq(e2e_str(r.json, "transitions.3.retracted_by"),
			 e2e_str(r.json, "transitions.4.event_id"));
	http_response_free(&r);
}
END_TEST

/* A retraction the later events depend on is refused, naming them newest
 * first; nothing is recorded. */
START_TEST(retraction_refused_names_what_depends_on_it)
{
	struct walk w;
	struct http_response r;
	char want[2][96];

	walk_start(&w, "no", "{\"age\":40}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ok(&w, "referral.accepted", "2025-03-10T09:00:00+01:00", "clinic-1",
	   "{\"deadline\":\"2025-05-01\"}");
	ok(&w, "treatment.started", "2025-04-01T09:00:00+02:00", "clinic-1",
	   NULL);
	ck_assert_int_eq(fix(&w, &r, "event.retracted", 2,
			     "2025-04-02T09:00:00+02:00", NULL),
			 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "correction_conflict");
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "data.event_id");
	snprintf(want[0], sizeof(want[0]), "%s-e4", w.region);
	snprintf(want[1], sizeof(want[1]), "%s-e3", w.region);
	ck_assert_str_eq(e2e_str(r.json, "error.depends_on.0"), want[0]);
	ck_assert_str_eq(e2e_str(r.json, "error.depends_on.1"), want[1]);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "error.depends_on")),
			 2);
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r, "/v1/pathways/%s", w.pathway), 200);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "version")), 5);
	http_response_free(&r);
}
END_TEST

/* The walk's patient's notifications after cursor, in commit order (a
 * new reference). */
static json_t *notifications_since(const struct walk *w, const char *cursor)
{
	struct http_response r;
	json_t *mine = json_array(), *it;
	size_t i;

	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/notifications?after=%s&limit=1000",
				 cursor),
			 200);
	json_array_foreach(e2e_at(r.json, "items"), i, it)
	{
		if (strcmp(e2e_str(it, "patient_id"), w->patient) == 0)
			json_array_append(mine, it);
	}
	http_response_free(&r);
	return mine;
}

/* Norway tells the referrer of a decision at once (003): a corrected
 * deadline is told again, and a retracted acceptance as withdrawn, each
 * naming the correction. */
START_TEST(norwegian_decision_corrected_tells_the_referrer_again)
{
	struct walk w;
	struct http_response r;
	char cursor[32], decision[96], by[2][96];
	json_t *told;

	ck_assert_int_eq(e2e_get(PORT, &r, "/v1/notifications?limit=1"), 200);
	snprintf(cursor, sizeof(cursor), "%s", e2e_str(r.json, "next_cursor"));
	http_response_free(&r);
	walk_start(&w, "no", "{\"age\":40}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ok(&w, "referral.accepted", "2025-03-10T09:00:00+01:00", "clinic-1",
	   "{\"deadline\":\"2025-05-01\"}");
	snprintf(decision, sizeof(decision), "%s-e3", w.region);
	ck_assert_int_eq(fix(&w, &r, "event.corrected", 3,
			     "2025-03-11T09:00:00+01:00",
			     "\"data\":{\"deadline\":\"2025-05-15\"}"),
			 201);
	http_response_free(&r);
	snprintf(by[0], sizeof(by[0]), "%s-e%d", w.region, w.n);
	ck_assert_int_eq(fix(&w, &r, "event.retracted", 3,
			     "2025-03-12T09:00:00+01:00", NULL),
			 201);
	http_response_free(&r);
	snprintf(by[1], sizeof(by[1]), "%s-e%d", w.region, w.n);

	told = notifications_since(&w, cursor);
	ck_assert_int_eq(json_array_size(told), 3);
	ck_assert_str_eq(e2e_str(told, "0.kind"), "referral.decision");
	ck_assert_str_eq(e2e_str(told, "0.decision.deadline"), "2025-05-01");
	ck_assert_ptr_null(e2e_at(told, "0.corrects"));
	ck_assert_str_eq(e2e_str(told, "1.kind"), "referral.decision");
	ck_assert_str_eq(e2e_str(told, "1.decision.deadline"), "2025-05-15");
	ck_assert_str_eq(e2e_str(told, "1.corrects.event_id"), decision);
	ck_assert_str_eq(e2e_str(told, "1.corrects.by"), by[0]);
	ck_assert_str_eq(e2e_str(told, "1.event_id"), by[0]);
	ck_assert_str_eq(e2e_str(told, "1.to.unit"), "gp-1");
	ck_assert_str_eq(e2e_str(told, "2.kind"),
			 "referral.decision_retracted");
	ck_assert_str_eq(e2e_str(told, "2.decision.decision"), "accepted");
	ck_assert_str_eq(e2e_str(told, "2.decision.deadline"), "2025-05-15");
	ck_assert_str_eq(e2e_str(told, "2.corrects.by"), by[1]);
	ck_assert_str_eq(e2e_str(told, "2.corrects.reason"), "entered wrong");
	json_decref(told);
	/* A receipt corrected is no decision: nobody is told. */
	ck_assert_int_eq(fix(&w, &r, "event.corrected", 2,
			     "2025-03-12T10:00:00+01:00",
			     "\"occurred_at\":\"2025-03-05T08:00:00+01:00\""),
			 201);
	http_response_free(&r);
	told = notifications_since(&w, cursor);
	ck_assert_int_eq(json_array_size(told), 3);
	json_decref(told);
}
END_TEST

/* Reopening a closed pathway at the level and unit it closed at. */
START_TEST(danish_pathway_reopened)
{
	struct walk w;
	struct http_response r;

	walk_start(&w, "dk", "{}", "2025-03-03T09:00:00+01:00");
	ok(&w, "pathway.closed", "2025-03-10T09:00:00+01:00", NULL,
	   "{\"reason\":\"completed\"}");
	ck_assert_int_eq(step(&w, &r, "pathway.reopened",
			      "2025-04-01T09:00:00+02:00", NULL,
			      "{\"reason\":\"pain came back\"}"),
			 201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.phase"), "active");
	ck_assert_str_eq(e2e_str(r.json, "pathway.unit"), "gp-1");
	ck_assert_str_eq(e2e_str(r.json, "pathway.pathway_id"), w.pathway);
	http_response_free(&r);
}
END_TEST

/* A reopen without a pathway_id addressed the patient's newest pathway,
 * the one opened meanwhile, and was refused as an illegal transition
 * instead of pathway_exists. */
START_TEST(regression_reopen_after_another_opened_is_illegal_transition)
{
	struct walk w;
	struct http_response r;
	char second[96];

	walk_start(&w, "dk", "{}", "2025-03-03T09:00:00+01:00");
	ok(&w, "pathway.closed", "2025-03-10T09:00:00+01:00", NULL,
	   "{\"reason\":\"completed\"}");
	ck_assert_int_eq(
		e2e_post(PORT, &r,
			 "{\"event_id\":\"%s-o2\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-03-20T"
			 "09:00:00+01:00\",\"model\":\"dk\",\"region\":\"%s\","
			 "\"unit\":\"gp-2\",\"data\":{}}",
			 w.region, w.patient, w.region),
		201);
	snprintf(second, sizeof(second), "%s",
		 e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
	ck_assert_int_eq(step(&w, &r, "pathway.reopened",
			      "2025-04-01T09:00:00+02:00", NULL,
			      "{\"reason\":\"pain came back\"}"),
			 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "pathway_exists");
	ck_assert_str_eq(e2e_str(r.json, "error.pathway_id"), second);
	http_response_free(&r);
	ck_assert_int_eq(
		e2e_post(
			PORT, &r,
			"{\"event_id\":\"%s-r2\",\"type\":\"pathway.reopened\","
			"\"patient_id\":\"%s\",\"pathway_id\":\"%s\","
			"\"occurred_at\":\"2025-04-01T09:00:00+02:00\","
			"\"data\":{\"reason\":\"pain came back\"}}",
			w.region, w.patient, w.pathway),
		409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "pathway_exists");
	http_response_free(&r);
}
END_TEST

/* A flag that shortens a running deadline shortens it now. */
START_TEST(norwegian_flag_shortens_the_assessment)
{
	struct walk w;
	struct http_response r;

	walk_start(&w, "no", "{\"age\":19}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ck_assert_int_eq(step(&w, &r, "pathway.updated",
			      "2025-03-07T09:00:00+01:00", NULL,
			      "{\"flags_add\":[\"young_adult_at_risk\"]}"),
			 201);
	ck_assert_str_eq(due_of(e2e_at(r.json, "pathway"), "assessment"),
			 "2025-03-13");
	ck_assert_str_eq(e2e_str(r.json, "pathway.flags.0"),
			 "young_adult_at_risk");
	http_response_free(&r);
}
END_TEST

/* A Swedish child moves to the adult model at 18, not at 17. */
START_TEST(swedish_child_becomes_adult_at_18)
{
	struct walk w;
	struct http_response r;

	walk_start(&w, "se-child", "{\"birth_date\":\"2007-03-15\"}",
		   "2025-03-03T09:00:00+01:00");
	ck_assert_int_eq(step(&w, &r, "pathway.updated",
			      "2025-03-10T09:00:00+01:00", NULL,
			      "{\"model\":\"se-adult\"}"),
			 422);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "guard_failed");
	http_response_free(&r);
	ck_assert_int_eq(step(&w, &r, "pathway.updated",
			      "2025-03-20T09:00:00+01:00", NULL,
			      "{\"model\":\"se-adult\"}"),
			 201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.model"), "se-adult");
	http_response_free(&r);
}
END_TEST

/* The Swedish care guarantee paused 14 days at the patient's request: due
 * 14 days later, and the paused days are not counted as waiting. */
START_TEST(swedish_treatment_clock_paused_by_the_patient)
{
	struct walk w;
	struct http_response r;

	walk_start(&w, "se-adult", "{\"age\":40}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ok(&w, "referral.accepted", "2025-03-10T09:00:00+01:00", "clinic-1",
	   NULL);
	ck_assert_int_eq(step(&w, &r, "clock.paused",
			      "2025-03-12T09:00:00+01:00", NULL,
			      "{\"rule\":\"treatment\",\"reason\":"
			      "\"patient_requested\"}"),
			 201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.deadlines.0.paused_since"),
			 "2025-03-12");
	http_response_free(&r);
	/* A paused clock is not reported. */
	ck_assert_int_eq(e2e_count("SELECT count(*) FROM pathways WHERE "
				   "due_treatment IS NOT NULL AND patient_id "
				   "LIKE 't-%-p' AND clocks LIKE '%treatment "
				   "% 2025-03-12 %'"),
			 0);
	ck_assert_int_eq(step(&w, &r, "clock.resumed",
			      "2025-03-26T09:00:00+01:00", NULL,
			      "{\"rule\":\"treatment\"}"),
			 201);
	ck_assert_str_eq(due_of(e2e_at(r.json, "pathway"), "treatment"),
			 "2025-06-18");
	http_response_free(&r);
	ok(&w, "treatment.started", "2025-04-07T09:00:00+02:00", "clinic-1",
	   NULL);
	/* 32 days from receipt to start, 14 of them paused. */
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT paused_days FROM transitions WHERE pathway_id = '%s' "
		 "AND type = 'treatment.started'",
		 w.pathway);
	ck_assert_int_eq(e2e_count(sql), 14);
}
END_TEST

/* Retracting the opening: entered in error, out of the worklists and
 * reports, still in the patient's list and history, marked. */
START_TEST(opening_retracted_is_entered_in_error)
{
	struct walk w;
	struct http_response r;

	walk_start(&w, "dk", "{}", "2025-03-03T09:00:00+01:00");
	ok(&w, "referral.sent", "2025-03-04T09:00:00+01:00", "gp-1",
	   "{\"to_level\":\"clinic\",\"to_unit\":\"clinic-1\"}");
	ck_assert_int_eq(fix(&w, &r, "event.retracted", 0,
			     "2025-03-05T09:00:00+01:00", NULL),
			 201);
	ck_assert(json_is_true(e2e_at(r.json, "pathway.entered_in_error")));
	ck_assert_str_eq(e2e_str(r.json, "pathway.close_reason"),
			 "entered_in_error");
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r, "/v1/pathways?region=%s", w.region),
			 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "items")), 0);
	http_response_free(&r);
	ck_assert_int_eq(
		e2e_get(PORT, &r, "/v1/patients/%s/pathways", w.patient), 200);
	ck_assert(json_is_true(e2e_at(r.json, "pathways.0.entered_in_error")));
	http_response_free(&r);
	/* The patient may open a new pathway. */
	ck_assert_int_eq(
		e2e_post(PORT, &r,
			 "{\"event_id\":\"%s-again\",\"type\":\"pathway."
			 "opened\",\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-03-06T09:00:00+01:00\",\"model\":\"dk\","
			 "\"region\":\"%s\",\"unit\":\"gp-1\"}",
			 w.region, w.patient, w.region),
		201);
	http_response_free(&r);
}
END_TEST

/*
 * The statistics read the history as corrected (Sweden, one clinic): the
 * first patient's receipt, 10 March, is corrected to 5 March after the
 * treatment started on 2 May: 58 days waited, not 53, and the receipt in
 * week 10 (3-9 March), not 11.  The second patient (received 12 March,
 * started 5 May) is entered in error: in no figure.
 */
START_TEST(statistics_follow_corrections_and_entered_in_error)
{
	struct walk w, e;
	struct http_response r;
	json_t *u;

	walk_start(&w, "se-adult", "{\"age\":40}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-10T09:00:00+01:00");
	ok(&w, "referral.accepted", "2025-03-11T09:00:00+01:00", "clinic-1",
	   NULL);
	ok(&w, "treatment.started", "2025-05-02T09:00:00+02:00", "clinic-1",
	   NULL);
	ck_assert_int_eq(fix(&w, &r, "event.corrected", 2,
			     "2025-05-03T09:00:00+02:00",
			     "\"occurred_at\":\"2025-03-05T09:00:00+01:00\""),
			 201);
	http_response_free(&r);
	walk_beside(&e, &w, "x", "se-adult", "{\"age\":50}",
		    "2025-03-03T09:00:00+01:00");
	ok(&e, "referral.sent", "2025-03-11T09:00:00+01:00", "gp-1",
	   "{\"to_level\":\"clinic\",\"to_unit\":\"clinic-1\"}");
	ok(&e, "referral.received", "2025-03-12T09:00:00+01:00", "clinic-1",
	   NULL);
	ok(&e, "referral.accepted", "2025-03-13T09:00:00+01:00", "clinic-1",
	   NULL);
	ok(&e, "treatment.started", "2025-05-05T09:00:00+02:00", "clinic-1",
	   NULL);
	ck_assert_int_eq(fix(&e, &r, "event.retracted", 0,
			     "2025-05-06T09:00:00+02:00", NULL),
			 201);
	ck_assert(json_is_true(e2e_at(r.json, "pathway.entered_in_error")));
	http_response_free(&r);

	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/stats/waiting?region=%s&as_of=2025-05-21",
				 w.region),
			 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "units")), 1);
	u = e2e_at(r.json, "units.0");
	ck_assert_int_eq(
		json_integer_value(json_object_get(u, "completed_90d")), 1);
	ck_assert(json_number_value(
			  json_object_get(u, "completed_median_days")) == 58);
	http_response_free(&r);

	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/stats/flow?region=%s&as_of=2025-05-21"
				 "&weeks=12",
				 w.region),
			 200);
	ck_assert_str_eq(e2e_str(r.json, "weeks.0.week"), "2025-W10");
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "weeks.0.received")),
			 1);
	/* 10-16 March: the first acceptance alone. */
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "weeks.1.received")),
			 0);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "weeks.1.accepted")),
			 1);
	/* 28 April - 4 May, 5-11 May: the first start alone. */
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "weeks.8.started")),
			 1);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "weeks.9.started")),
			 0);
	http_response_free(&r);

	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/stats/trend?region=%s&as_of=2025-05-21"
				 "&months=1",
				 w.region),
			 200);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "months.0.started")),
			 1);
	ck_assert(json_number_value(e2e_at(r.json, "months.0.median_days")) ==
		  58);
	http_response_free(&r);
}
END_TEST

/* painpath verify: every pathway the suite recorded so far -- corrected,
 * retracted, reopened, paused -- replays to its stored state; a row
 * changed by hand is named. */
static int verify(char *out, size_t len)
{
	const char *bin = getenv("PAINPATH_CLI") ? getenv("PAINPATH_CLI")
						 : "build/painpath";
	char cmd[8192];
	size_t used = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s verify --db '%s' 2>&1", bin,
		 e2e_pg.conninfo);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (used + 1 < len && fgets(out + used, (int)(len - used), p))
		used += strlen(out + used);
	out[used] = '\0';
	return WEXITSTATUS(pclose(p));
}

START_TEST(verify_replays_every_pathway_and_names_a_changed_row)
{
	struct walk w;
	char out[8192], sql[512], *rows;

	walk_start(&w, "no", "{\"age\":40}", "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ck_assert_msg(verify(out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, " 0 mismatch"));
	snprintf(sql, sizeof(sql),
		 "UPDATE pathways SET due_assessment = due_assessment + 1 "
		 "WHERE pathway_id = '%s'",
		 w.pathway);
	rows = harness_psql(&e2e_pg, sql);
	free(rows);
	ck_assert_int_eq(verify(out, sizeof(out)), 1);
	snprintf(sql, sizeof(sql),
		 "pathway %s: due_assessment: stored 2025-03-21, replay "
		 "2025-03-20",
		 w.pathway);
	ck_assert_msg(strstr(out, sql) != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, " 1 mismatch(es) in 1 pathway"));
	/* Naming the pathway shows the patient's data: audited first. */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE route = 'painpath "
		 "verify' AND patient_ids = ARRAY['%s'] AND regions = "
		 "ARRAY['%s']",
		 w.patient, w.region);
	ck_assert_int_eq(e2e_count(sql), 1);
	snprintf(sql, sizeof(sql),
		 "UPDATE pathways SET due_assessment = due_assessment - 1 "
		 "WHERE pathway_id = '%s'",
		 w.pathway);
	rows = harness_psql(&e2e_pg, sql);
	free(rows);
}
END_TEST

/* --- retries and races of corrections ------------------------------------ */

#define PRO "{\"instrument\":\"bpi\",\"scores\":{\"pain\":5}}"

/* The whole body of a correction or retraction <region>-<id> of the
 * walk's event number target; fields holds the rest of data. */
static void fix_body(char *out, size_t len, const struct walk *w,
		     const char *id, const char *type, int target,
		     const char *at, const char *reason, const char *fields)
{
	snprintf(out, len,
		 "{\"event_id\":\"%s-%s\",\"type\":\"%s\",\"patient_id\":"
		 "\"%s\",\"occurred_at\":\"%s\",\"data\":{\"event_id\":"
		 "\"%s-e%d\",\"reason\":\"%s\"%s%s}}",
		 w->region, id, type, w->patient, at, w->region, target, reason,
		 fields ? "," : "", fields ? fields : "");
}

static int transitions_of(const struct walk *w)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM transitions WHERE pathway_id = '%s'",
		 w->pathway);
	return e2e_count(sql);
}

static json_int_t version_of(const struct walk *w)
{
	json_t *p = pathway_now(w);
	json_int_t v = json_integer_value(json_object_get(p, "version"));

	json_decref(p);
	return v;
}

/* A retried correction and a retried retraction (same event_id, same
 * body) get the first answer again -- also after the pathway moved on,
 * when deciding them anew would answer otherwise (the retraction's target
 * is retracted by then: correction_conflict) -- and the same id with
 * another body is event_id_conflict.  Nothing is recorded twice. */
START_TEST(retried_correction_and_retraction_are_replayed)
{
	struct walk w;
	struct http_response corr, retr, r;
	char corr_body[1024], retr_body[1024], other[2048], sql[512];

	walk_start_as(&w, E2E_EHR, "no", "{\"age\":40}",
		      "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ok(&w, "pro.reported", "2025-03-07T09:00:00+01:00", NULL, PRO);
	fix_body(corr_body, sizeof(corr_body), &w, "c", "event.corrected", 2,
		 "2025-03-07T10:00:00+01:00", "registered a day late",
		 "\"occurred_at\":\"2025-03-05T08:00:00+01:00\"");
	ck_assert_int_eq(post_as(E2E_EHR, corr_body, &corr), 201);
	ck_assert_str_eq(due_of(e2e_at(corr.json, "pathway"), "assessment"),
			 "2025-03-19");
	e2e_assert_replayed(PORT, E2E_EHR, corr_body, &corr);
	fix_body(retr_body, sizeof(retr_body), &w, "r", "event.retracted", 3,
		 "2025-03-08T09:00:00+01:00", "another patient's scores", NULL);
	ck_assert_int_eq(post_as(E2E_EHR, retr_body, &retr), 201);
	ck_assert_int_eq(
		json_integer_value(e2e_at(retr.json, "pathway.version")), 6);
	e2e_assert_replayed(PORT, E2E_EHR, retr_body, &retr);
	/* The pathway has moved on since the correction: still its answer
	 * (version 5), not the pathway as it stands. */
	e2e_assert_replayed(PORT, E2E_EHR, corr_body, &corr);
	ck_assert_int_eq(
		json_integer_value(e2e_at(corr.json, "pathway.version")), 5);
	/* In a batch: the event's own status, 200, replayed. */
	snprintf(other, sizeof(other), "{\"events\":[%s]}", retr_body);
	ck_assert_int_eq(post_as(E2E_EHR, other, &r), 200);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "results.0.status")),
			 200);
	ck_assert(json_is_true(e2e_at(r.json, "results.0.replayed")));
	http_response_free(&r);
	/* The same ids for other corrections. */
	fix_body(other, sizeof(other), &w, "c", "event.corrected", 2,
		 "2025-03-07T10:00:00+01:00", "registered two days late",
		 "\"occurred_at\":\"2025-03-04T08:00:00+01:00\"");
	ck_assert_int_eq(post_as(E2E_EHR, other, &r), 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "event_id_conflict");
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "event_id");
	http_response_free(&r);
	fix_body(other, sizeof(other), &w, "r", "event.retracted", 2,
		 "2025-03-08T09:00:00+01:00", "another patient's scores", NULL);
	ck_assert_int_eq(post_as(E2E_EHR, other, &r), 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "event_id_conflict");
	http_response_free(&r);
	/* Each once: six transitions, the version with them. */
	ck_assert_int_eq(transitions_of(&w), 6);
	ck_assert_int_eq(version_of(&w), 6);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM transitions WHERE event_id IN "
		 "('%s-c', '%s-r')",
		 w.region, w.region);
	ck_assert_int_eq(e2e_count(sql), 2);
	ck_assert_int_eq(
		e2e_get(PORT, &r, "/v1/pathways/%s/transitions", w.pathway),
		200);
	ck_assert_int_eq(
		json_array_size(e2e_at(r.json, "transitions.2.corrected_by")),
		1);
	snprintf(sql, sizeof(sql), "%s-c", w.region);
	ck_assert_str_eq(e2e_str(r.json, "transitions.2.corrected_by.0"), sql);
	snprintf(sql, sizeof(sql), "%s-r", w.region);
	ck_assert_str_eq(e2e_str(r.json, "transitions.3.retracted_by"), sql);
	http_response_free(&r);
	http_response_free(&corr);
	http_response_free(&retr);
}
END_TEST

/*
 * Eight clients at once, through two daemons on the one database (within
 * one daemon a patient's events queue one after the other; across two
 * only the pathway's row lock orders them), each correcting or retracting
 * an event of one Norwegian pathway.  Two of them race for the acceptance
 * (its deadline corrected, or it retracted: the correction of a retracted
 * event is a conflict); the retraction of the referral is always refused,
 * the receipt and the acceptance depend on it.  Every answer is 201 or a
 * clean 409 correction_conflict; what was acknowledged is all there, once;
 * the version is the transition count and `painpath verify` replays every
 * pathway to its stored row.
 */
#define RACE_FIXES 8

/* corrected_by (a list) or retracted_by (one id) names want alone. */
static bool names_only(json_t *by, const char *want)
{
	if (json_is_array(by))
		return json_array_size(by) == 1 &&
		       strcmp(json_string_value(json_array_get(by, 0)), want) ==
			       0;
	return json_is_string(by) && strcmp(json_string_value(by), want) == 0;
}

START_TEST(concurrent_corrections_of_one_pathway)
{
	static const char *const quiet[] = {"--log-level", "warning", NULL};
	static const struct {
		const char *type;
		int target;
		const char *fields;
	} fixes[RACE_FIXES] = {
		{"event.retracted", 4, NULL},
		{"event.corrected", 5,
		 "\"occurred_at\":\"2025-03-12T10:00:00+01:00\""},
		{"event.corrected", 6,
		 "\"data\":{\"instrument\":\"bpi\",\"scores\":{\"pain\":7}}"},
		{"event.retracted", 7, NULL},
		{"event.corrected", 2,
		 "\"occurred_at\":\"2025-03-05T08:00:00+01:00\""},
		{"event.corrected", 3,
		 "\"data\":{\"deadline\":\"2025-05-15\"}"},
		{"event.retracted", 3, NULL},
		{"event.retracted", 1, NULL},
	};
	struct daemon_instance second;
	struct walk w;
	struct http_response r[RACE_FIXES], t;
	int fds[RACE_FIXES], created = 0;
	char body[1024], id[16], out[8192], want[96];
	json_t *p;

	walk_start_as(&w, E2E_EHR, "no", "{\"age\":40}",
		      "2025-03-03T09:00:00+01:00");
	refer_to_clinic(&w, "2025-03-06T08:00:00+01:00");
	ok(&w, "referral.accepted", "2025-03-10T09:00:00+01:00", "clinic-1",
	   "{\"deadline\":\"2025-05-01\"}");
	for (int i = 0; i < 4; i++) {
		char at[48];
		snprintf(at, sizeof(at), "2025-03-%02dT09:00:00+01:00", 11 + i);
		ok(&w, "pro.reported", at, NULL, PRO);
	}
	ck_assert_int_eq(transitions_of(&w), 8);
	ck_assert(harness_daemon_start(&second, e2e_pg.conninfo, quiet));
	for (int i = 0; i < RACE_FIXES; i++) {
		snprintf(id, sizeof(id), "x%d", i);
		fix_body(body, sizeof(body), &w, id, fixes[i].type,
			 fixes[i].target, "2025-03-15T09:00:00+01:00",
			 "entered wrong", fixes[i].fields);
		fds[i] = http_begin(i % 2 ? second.port : PORT, "POST",
				    "/v1/events", body, E2E_EHR);
		ck_assert_int_ge(fds[i], 0);
	}
	for (int i = 0; i < RACE_FIXES; i++) {
		http_end(fds[i], &r[i]);
		ck_assert_msg(r[i].status == 201 || r[i].status == 409,
			      "x%d: %d %s", i, r[i].status, r[i].body);
		if (r[i].status == 201)
			created++;
		else
			ck_assert_msg(strcmp(e2e_str(r[i].json, "error.code"),
					     "correction_conflict") == 0,
				      "x%d: %s", i, r[i].body);
	}
	ck_assert_int_eq(harness_daemon_stop(&second), 0);
	fprintf(stderr,
		"corrections race: %d of %d acknowledged; the deadline's "
		"correction %d, the acceptance's retraction %d\n",
		created, RACE_FIXES, r[5].status, r[6].status);
	/* Only the deadline's correction may lose its race; the referral's
	 * retraction always does, naming the receipt. */
	for (int i = 0; i < RACE_FIXES; i++)
		if (i != 5 && i != 7)
			ck_assert_msg(r[i].status == 201, "x%d: %d %s", i,
				      r[i].status, r[i].body);
	ck_assert_int_eq(r[7].status, 409);
	snprintf(want, sizeof(want), "%s-e2", w.region);
	ck_assert_ptr_nonnull(strstr(r[7].body, want));
	/* Each acknowledged once, nothing else recorded. */
	ck_assert_int_eq(transitions_of(&w), 8 + created);
	ck_assert_int_eq(version_of(&w), 8 + created);
	ck_assert_int_eq(
		e2e_get(PORT, &t, "/v1/pathways/%s/transitions", w.pathway),
		200);
	ck_assert_int_eq(json_array_size(e2e_at(t.json, "transitions")),
			 (size_t)(8 + created));
	for (int i = 0; i < RACE_FIXES; i++) {
		const char *key = strcmp(fixes[i].type, "event.retracted") == 0
					  ? "retracted_by"
					  : "corrected_by";
		char path[64];
		json_t *by;
		if (r[i].status != 201)
			continue;
		snprintf(path, sizeof(path), "transitions.%d.%s",
			 fixes[i].target, key);
		by = e2e_at(t.json, path);
		snprintf(want, sizeof(want), "%s-x%d", w.region, i);
		ck_assert_msg(names_only(by, want), "%s: %s", path, t.body);
	}
	http_response_free(&t);
	/* Every acknowledged change applied: the acceptance retracted, the
	 * receipt a day earlier (10 working days from 5 March). */
	p = pathway_now(&w);
	ck_assert_str_eq(e2e_str(p, "phase"), "assessing");
	ck_assert_str_eq(due_of(p, "assessment"), "2025-03-19");
	json_decref(p);
	ck_assert_msg(verify(out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, " 0 mismatch"));
	for (int i = 0; i < RACE_FIXES; i++)
		http_response_free(&r[i]);
}
END_TEST

void e2e_add_correction_tests(Suite *s)
{
	TCase *tc = e2e_tcase("corrections");

	tcase_add_test(tc, norwegian_receipt_corrected_moves_the_assessment);
	tcase_add_test(tc, danish_receipt_corrected_after_acceptance);
	tcase_add_test(tc, swedish_mistaken_close_retracted);
	tcase_add_test(tc, retraction_refused_names_what_depends_on_it);
	tcase_add_test(tc, danish_pathway_reopened);
	tcase_add_test(tc,
		       norwegian_decision_corrected_tells_the_referrer_again);
	tcase_add_test(
		tc,
		regression_reopen_after_another_opened_is_illegal_transition);
	tcase_add_test(tc, norwegian_flag_shortens_the_assessment);
	tcase_add_test(tc, swedish_child_becomes_adult_at_18);
	tcase_add_test(tc, swedish_treatment_clock_paused_by_the_patient);
	tcase_add_test(tc, opening_retracted_is_entered_in_error);
	tcase_add_test(tc, statistics_follow_corrections_and_entered_in_error);
	tcase_add_test(tc,
		       verify_replays_every_pathway_and_names_a_changed_row);
	suite_add_tcase(s, tc);
	tc = e2e_tcase("correction_retries");
	tcase_add_test(tc, retried_correction_and_retraction_are_replayed);
	tcase_add_test(tc, concurrent_corrections_of_one_pathway);
	suite_add_tcase(s, tc);
}
