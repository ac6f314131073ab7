/*
 * The core contract (issue 2): the walk through one pathway, every error
 * code, idempotency (also under concurrency), batches, reads, restarts.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define AT(day) "2025-03-" day "T10:00:00+01:00"

static int transitions_of_patient(const char *patient)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM transitions t JOIN pathways p USING "
		 "(pathway_id) WHERE p.patient_id = '%s'",
		 patient);
	return e2e_count(sql);
}

/* The README's walk: open, refer gp -> clinic, receive, accept, start. */
static void walk(int port, const char *patient, char *pathway, size_t len)
{
	e2e_open(port, patient, "no", NULL, pathway, len);
	ck_assert_int_eq(e2e_event(port, patient, "referral.sent", AT("03"),
				   "{\"to_level\":\"clinic\",\"to_unit\":"
				   "\"bergen-smerteklinikk\"}",
				   NULL),
			 201);
	ck_assert_int_eq(e2e_event(port, patient, "referral.received", AT("05"),
				   NULL, NULL),
			 201);
	ck_assert_int_eq(e2e_event(port, patient, "referral.accepted", AT("10"),
				   "{\"deadline\":\"2025-05-01\"}", NULL),
			 201);
	ck_assert_int_eq(e2e_event(port, patient, "treatment.started", AT("20"),
				   NULL, NULL),
			 201);
}

static void assert_walked(int port, const char *pathway)
{
	static const char *const types[] = {
		"pathway.opened", "referral.sent", "referral.received",
		"referral.accepted", "treatment.started"};
	struct http_response r;

	ck_assert_int_eq(e2e_get(port, &r, "/v1/pathways/%s", pathway), 200);
	ck_assert_str_eq(e2e_str(r.json, "level"), "clinic");
	ck_assert_str_eq(e2e_str(r.json, "phase"), "active");
	ck_assert_str_eq(e2e_str(r.json, "unit"), "bergen-smerteklinikk");
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "version")), 5);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "deadlines")), 0);
	http_response_free(&r);
	ck_assert_int_eq(
		e2e_get(port, &r, "/v1/pathways/%s/transitions", pathway), 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "transitions")), 5);
	for (int i = 0; i < 5; i++) {
		char path[64];
		snprintf(path, sizeof(path), "transitions.%d.type", i);
		ck_assert_str_eq(e2e_str(r.json, path), types[i]);
		snprintf(path, sizeof(path), "transitions.%d.seq", i);
		ck_assert_int_eq(json_integer_value(e2e_at(r.json, path)),
				 i + 1);
	}
	ck_assert_str_eq(e2e_str(r.json, "transitions.4.to_level"), "clinic");
	ck_assert_str_eq(e2e_str(r.json, "transitions.4.from_level"), "gp");
	http_response_free(&r);
}

START_TEST(walk_through_one_pathway)
{
	char patient[64], pathway[160];

	e2e_id(patient, sizeof(patient), "walk");
	walk(PORT, patient, pathway, sizeof(pathway));
	assert_walked(PORT, pathway);
}
END_TEST

START_TEST(restart_gives_the_same_answers)
{
	struct daemon_instance d;
	struct http_response before, after;
	char patient[64], pathway[160];

	e2e_id(patient, sizeof(patient), "restart");
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, NULL));
	walk(d.port, patient, pathway, sizeof(pathway));
	e2e_get(d.port, &before, "/v1/pathways/%s/transitions", pathway);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);

	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, NULL));
	assert_walked(d.port, pathway);
	e2e_get(d.port, &after, "/v1/pathways/%s/transitions", pathway);
	ck_assert(json_equal(before.json, after.json));
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	http_response_free(&before);
	http_response_free(&after);
}
END_TEST

static void assert_error(struct http_response *r, int status, const char *code,
			 const char *field)
{
	ck_assert_msg(r->status == status, "want %d got %d: %s", status,
		      r->status, r->body);
	ck_assert_str_eq(e2e_str(r->json, "error.code"), code);
	ck_assert_ptr_nonnull(e2e_str(r->json, "error.message"));
	if (field != NULL)
		ck_assert_str_eq(e2e_str(r->json, "error.field"), field);
	http_response_free(r);
}

START_TEST(invalid_json_is_refused)
{
	static const char *const bodies[] = {"{not json", "", "[1,2",
					     "{\"a\":1,\"a\":2}", "nul"};
	struct http_response r;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		http_request(PORT, "POST", "/v1/events", bodies[i], NULL, &r);
		assert_error(&r, 400, "invalid_json", NULL);
	}
}
END_TEST

START_TEST(invalid_event_names_the_field)
{
	static const struct {
		const char *body, *field;
	} cases[] = {
		{"{\"type\":\"pathway.opened\",\"patient_id\":\"p\","
		 "\"occurred_at\":\"2025-01-01T00:00:00Z\"}",
		 "event_id"},
		{"{\"event_id\":\"x y\",\"type\":\"pathway.opened\"}",
		 "event_id"},
		{"{\"event_id\":\"e\",\"type\":\"no.such\",\"patient_id\":"
		 "\"p\","
		 "\"occurred_at\":\"2025-01-01T00:00:00Z\"}",
		 "type"},
		{"{\"event_id\":\"e\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"p\",\"occurred_at\":\"2025-01-01T00:00:"
		 "00\"}",
		 "occurred_at"},
		{"{\"event_id\":\"e\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"p\",\"occurred_at\":\"2099-01-01T00:00:"
		 "00Z\"}",
		 "occurred_at"},
		{"{\"event_id\":\"e\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"p\",\"occurred_at\":\"2025-01-01T00:00:"
		 "00Z\","
		 "\"data\":{\"to_level\":\"hospital\"}}",
		 "data.to_level"},
		{"{\"event_id\":\"e\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"p\",\"occurred_at\":\"2025-01-01T00:00:"
		 "00Z\","
		 "\"region\":\"r\"}",
		 "model"},
		{"{\"event_id\":\"e\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"p\",\"occurred_at\":\"2025-01-01T00:00:"
		 "00Z\","
		 "\"model\":\"xx\",\"region\":\"r\",\"data\":{\"age\":40}}",
		 "model"},
		{"{\"event_id\":\"e\",\"type\":\"pathway.closed\","
		 "\"patient_id\":\"p\",\"occurred_at\":\"2025-01-01T00:00:"
		 "00Z\","
		 "\"data\":{\"reason\":\"bored\"}}",
		 "data.reason"},
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http_request(PORT, "POST", "/v1/events", cases[i].body, NULL,
			     &r);
		assert_error(&r, 400, "invalid_event", cases[i].field);
	}
	ck_assert_int_eq(e2e_count("SELECT count(*) FROM transitions WHERE "
				   "event_id = 'e'"),
			 0);
}
END_TEST

START_TEST(not_found_answers)
{
	struct http_response r;
	char patient[64], pathway[160];

	e2e_id(patient, sizeof(patient), "nf");
	e2e_event(PORT, patient, "referral.sent", AT("03"),
		  "{\"to_level\":\"clinic\"}", &r);
	assert_error(&r, 404, "not_found", NULL);
	e2e_get(PORT, &r, "/v1/pathways/pw-does-not-exist");
	assert_error(&r, 404, "not_found", NULL);
	e2e_get(PORT, &r, "/v1/pathways/pw-does-not-exist/transitions");
	assert_error(&r, 404, "not_found", NULL);
	e2e_get(PORT, &r, "/v1/no/such/route");
	assert_error(&r, 404, "not_found", NULL);
	/* A pathway named by id must be the patient's own. */
	e2e_open(PORT, patient, "dk", NULL, pathway, sizeof(pathway));
	e2e_post(PORT, &r,
		 "{\"event_id\":\"nf-%d\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"someone-else\",\"pathway_id\":\"%s\","
		 "\"occurred_at\":\"2025-03-03T10:00:00Z\",\"data\":"
		 "{\"to_level\":\"clinic\"}}",
		 (int)getpid(), pathway);
	assert_error(&r, 404, "not_found", NULL);
	ck_assert_int_eq(transitions_of_patient(patient), 1);
}
END_TEST

START_TEST(illegal_transition_lists_allowed_events)
{
	struct http_response r;
	char patient[64], pathway[160];
	json_t *allowed;
	bool has_sent = false, has_received = false;
	size_t i;
	json_t *v;

	e2e_id(patient, sizeof(patient), "illegal");
	e2e_open(PORT, patient, "dk", NULL, pathway, sizeof(pathway));
	e2e_event(PORT, patient, "referral.received", AT("03"), NULL, &r);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "illegal_transition");
	ck_assert_str_eq(e2e_str(r.json, "error.phase"), "active");
	allowed = e2e_at(r.json, "error.allowed");
	ck_assert(json_is_array(allowed));
	json_array_foreach(allowed, i, v)
	{
		has_sent |= strcmp(json_string_value(v), "referral.sent") == 0;
		has_received |=
			strcmp(json_string_value(v), "referral.received") == 0;
	}
	ck_assert(has_sent && !has_received);
	http_response_free(&r);
	ck_assert_int_eq(transitions_of_patient(patient), 1);
}
END_TEST

/* An opening is written without step 1 (commit_tx.c may_skip_check): the
 * unique indexes stand for what step 1 would have found.  A retried
 * opening with its own pathway_id trips pathways_pkey before the event's
 * index: the group must go through step 1 and replay it, never answer
 * from the index that refused it. */
START_TEST(opening_written_unchecked_still_replays_and_refuses)
{
	struct http_response first, r;
	char patient[64], other[64], id[64], body[512];
	double refused = e2e_metric(PORT, "painpath_commit_unchecked_refused_"
					  "total ");

	e2e_id(patient, sizeof(patient), "unchecked");
	e2e_id(other, sizeof(other), "unchecked");
	e2e_id(id, sizeof(id), "pw-unchecked");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"pathway_id\":\"%s\","
		 "\"occurred_at\":\"2025-01-07T09:00:00Z\",\"model\":\"dk\","
		 "\"region\":\"r1\"}",
		 patient, patient, id);
	ck_assert_int_eq(
		http_request(PORT, "POST", "/v1/events", body, NULL, &first),
		201);
	e2e_assert_replayed(PORT, NULL, body, &first);
	http_response_free(&first);
	/* Another patient's opening under the same pathway_id. */
	e2e_post(PORT, &r,
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"pathway_id\":\"%s\","
		 "\"occurred_at\":\"2025-01-07T09:00:00Z\",\"model\":\"dk\","
		 "\"region\":\"r1\"}",
		 other, other, id);
	assert_error(&r, 409, "pathway_exists", "pathway_id");
	ck_assert_int_eq(transitions_of_patient(patient), 1);
	ck_assert_int_eq(transitions_of_patient(other), 0);
	ck_assert_double_eq(e2e_metric(PORT, "painpath_commit_unchecked_"
					     "refused_total ") -
				    refused,
			    2);
}
END_TEST

/* One retried opening in a batch of new ones: the batch's group, written
 * without step 1, is refused by the event's index and rolled back; every
 * item then goes through step 1 -- the retry replays, the others are
 * recorded, each once (nothing of the rolled-back try is left). */
START_TEST(opening_group_refused_for_one_retry_records_the_others_once)
{
	struct http_response r;
	char p[5][64], eid[5][96], body[4096];
	double refused = e2e_metric(PORT, "painpath_commit_unchecked_refused_"
					  "total ");
	int n = 0;

	for (int i = 0; i < 5; i++) {
		e2e_id(p[i], sizeof(p[i]), "retry-batch");
		snprintf(eid[i], sizeof(eid[i]), "%.63s-open", p[i]);
	}
	e2e_post(PORT, &r, E2E_OPENING, eid[0], p[0]);
	ck_assert_int_eq(r.status, 201);
	http_response_free(&r);
	n = snprintf(body, sizeof(body), "{\"events\":[");
	for (int i = 0; i < 5; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n,
			      "%s" E2E_OPENING, i ? "," : "", eid[i], p[i]);
	snprintf(body + n, sizeof(body) - (size_t)n, "]}");
	ck_assert_int_eq(
		http_request(PORT, "POST", "/v1/events", body, NULL, &r), 200);
	for (int i = 0; i < 5; i++) {
		char path[32];
		snprintf(path, sizeof(path), "results.%d.status", i);
		ck_assert_int_eq(json_integer_value(e2e_at(r.json, path)),
				 i == 0 ? 200 : 201);
		ck_assert_int_eq(transitions_of_patient(p[i]), 1);
	}
	http_response_free(&r);
	ck_assert(
		e2e_metric(PORT, "painpath_commit_unchecked_refused_total ") >=
		refused + 1);
}
END_TEST

START_TEST(second_open_pathway_is_refused)
{
	struct http_response r;
	char patient[64], pathway[160], eid[80];

	e2e_id(patient, sizeof(patient), "exists");
	e2e_open(PORT, patient, "dk", NULL, pathway, sizeof(pathway));
	snprintf(eid, sizeof(eid), "%.63s-2", patient);
	e2e_post(PORT, &r, E2E_OPENING, eid, patient);
	assert_error(&r, 409, "pathway_exists", NULL);
	ck_assert_int_eq(transitions_of_patient(patient), 1);
	/* Once closed, a new pathway may open; the patient's list shows
	 * the open one first. */
	ck_assert_int_eq(e2e_event(PORT, patient, "pathway.closed", AT("03"),
				   "{\"reason\":\"completed\"}", NULL),
			 201);
	e2e_open(PORT, patient, "dk", NULL, pathway, sizeof(pathway));
	e2e_get(PORT, &r, "/v1/patients/%s/pathways", patient);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "pathways")), 2);
	ck_assert_str_eq(e2e_str(r.json, "pathways.0.pathway_id"), pathway);
	ck_assert_str_eq(e2e_str(r.json, "pathways.0.phase"), "active");
	ck_assert_str_eq(e2e_str(r.json, "pathways.1.phase"), "closed");
	http_response_free(&r);
}
END_TEST

START_TEST(too_large_bodies_and_batches)
{
	size_t big = 4 * 1024 * 1024 + 100;
	char *body = malloc(big + 1);
	struct http_response r;
	size_t used = 0;

	memset(body, ' ', big);
	body[big] = '\0';
	body[0] = '{';
	body[big - 1] = '}';
	http_request(PORT, "POST", "/v1/events", body, NULL, &r);
	assert_error(&r, 413, "too_large", NULL);

	used = (size_t)sprintf(body, "{\"events\":[");
	for (int i = 0; i < 1001; i++)
		used += (size_t)sprintf(body + used, "%s{}", i ? "," : "");
	sprintf(body + used, "]}");
	http_request(PORT, "POST", "/v1/events", body, NULL, &r);
	assert_error(&r, 413, "too_large", NULL);
	free(body);
}
END_TEST

START_TEST(replay_answers_the_first_result)
{
	struct http_response first, again, conflict;
	char patient[64], body[1024];
	char *replay;

	e2e_id(patient, sizeof(patient), "replay");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-01-07T09:00:00Z\",\"model\":\"dk\",\"region\":\"r1\"}",
		 patient, patient);
	ck_assert_int_eq(
		http_request(PORT, "POST", "/v1/events", body, NULL, &first),
		201);
	ck_assert_int_eq(
		http_request(PORT, "POST", "/v1/events", body, NULL, &again),
		200);
	replay = http_header(&again, "Idempotent-Replay");
	ck_assert_str_eq(replay, "true");
	ck_assert_str_eq(again.body, first.body);
	free(replay);
	/* Same id, other body. */
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-01-08T09:00:00Z\",\"model\":\"dk\",\"region\":\"r1\"}",
		 patient, patient);
	http_request(PORT, "POST", "/v1/events", body, NULL, &conflict);
	assert_error(&conflict, 409, "event_id_conflict", "event_id");
	ck_assert_int_eq(transitions_of_patient(patient), 1);
	http_response_free(&first);
	http_response_free(&again);
}
END_TEST

START_TEST(batch_mixes_good_and_bad)
{
	struct http_response r;
	char p[64];
	static const int want[] = {201, 201, 400, 409, 201, 200, 404};

	e2e_id(p, sizeof(p), "batch");
	e2e_post(PORT, &r,
		 "{\"events\":["
		 "{\"event_id\":\"%s-1\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-07T09:00:"
		 "00Z\","
		 "\"model\":\"dk\",\"region\":\"r1\"},"
		 "{\"event_id\":\"%s-2\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-08T09:00:"
		 "00Z\","
		 "\"data\":{\"to_level\":\"clinic\"}},"
		 "{\"event_id\":\"%s-3\",\"patient_id\":\"%s\"},"
		 "{\"event_id\":\"%s-4\",\"type\":\"treatment.started\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-09T09:00:"
		 "00Z\"},"
		 "{\"event_id\":\"%s-5\",\"type\":\"referral.received\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-09T09:00:"
		 "00Z\"},"
		 "{\"event_id\":\"%s-1\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-07T09:00:"
		 "00Z\","
		 "\"model\":\"dk\",\"region\":\"r1\"},"
		 "{\"event_id\":\"%s-7\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"%s-nobody\",\"occurred_at\":"
		 "\"2025-01-08T09:00:00Z\",\"data\":{\"to_level\":\"clinic\"}}"
		 "]}",
		 p, p, p, p, p, p, p, p, p, p, p, p, p, p);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "results")), 7);
	for (int i = 0; i < 7; i++) {
		char path[64];
		snprintf(path, sizeof(path), "results.%d.status", i);
		ck_assert_msg(json_integer_value(e2e_at(r.json, path)) ==
				      want[i],
			      "result %d: %s", i, r.body);
	}
	ck_assert_str_eq(e2e_str(r.json, "results.2.error.code"),
			 "invalid_event");
	ck_assert_str_eq(e2e_str(r.json, "results.3.error.code"),
			 "illegal_transition");
	ck_assert(json_is_true(e2e_at(r.json, "results.5.replayed")));
	ck_assert(json_is_null(e2e_at(r.json, "results.0.error")));
	ck_assert_ptr_nonnull(e2e_str(r.json, "results.0.pathway_id"));
	http_response_free(&r);
	ck_assert_int_eq(transitions_of_patient(p), 3);
}
END_TEST

#define CONCURRENT 16

/* Fires the same request CONCURRENT times at once; counts statuses. */
static void fire_together(const char *body, int *created, int *replayed,
			  int *other_status, int *other_count)
{
	int fds[CONCURRENT];

	*created = *replayed = *other_count = 0;
	*other_status = 0;
	for (int i = 0; i < CONCURRENT; i++) {
		fds[i] = http_begin(PORT, "POST", "/v1/events", body, NULL);
		ck_assert_int_ge(fds[i], 0);
	}
	for (int i = 0; i < CONCURRENT; i++) {
		struct http_response r;
		int status = http_end(fds[i], &r);
		char *replay = http_header(&r, "Idempotent-Replay");
		if (status == 201)
			(*created)++;
		else if (status == 200 && replay && strcmp(replay, "true") == 0)
			(*replayed)++;
		else {
			(*other_count)++;
			*other_status = status;
		}
		free(replay);
		http_response_free(&r);
	}
}

START_TEST(concurrent_posts_of_one_event_record_it_once)
{
	char p[64], body[1024], sql[256];
	int created, replayed, other, other_count;

	e2e_id(p, sizeof(p), "conc");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-01-07T09:00:00Z\",\"model\":\"dk\",\"region\":\"r1\"}",
		 p, p);
	fire_together(body, &created, &replayed, &other, &other_count);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(replayed, CONCURRENT - 1);
	/* The same for an event on an existing pathway (lock, then check). */
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-sent\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-01-08T09:00:00Z\",\"data\":{\"to_level\":\"clinic\"}}",
		 p, p);
	fire_together(body, &created, &replayed, &other, &other_count);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(replayed, CONCURRENT - 1);
	ck_assert_int_eq(transitions_of_patient(p), 2);
	snprintf(sql, sizeof(sql),
		 "SELECT version FROM pathways WHERE patient_id = '%s'", p);
	ck_assert_int_eq(e2e_count(sql), 2);
}
END_TEST

START_TEST(concurrent_opens_for_one_patient_open_one_pathway)
{
	char p[64];
	int fds[CONCURRENT], created = 0, exists = 0;

	e2e_id(p, sizeof(p), "conc-open");
	for (int i = 0; i < CONCURRENT; i++) {
		char body[1024];
		snprintf(body, sizeof(body),
			 "{\"event_id\":\"%s-%d\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-01-07T09:00:00Z\",\"model\":\"dk\","
			 "\"region\":\"r1\"}",
			 p, i, p);
		fds[i] = http_begin(PORT, "POST", "/v1/events", body, NULL);
	}
	for (int i = 0; i < CONCURRENT; i++) {
		struct http_response r;
		int status = http_end(fds[i], &r);
		if (status == 201)
			created++;
		else if (status == 409 && strcmp(e2e_str(r.json, "error.code"),
						 "pathway_exists") == 0)
			exists++;
		http_response_free(&r);
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(exists, CONCURRENT - 1);
	ck_assert_int_eq(transitions_of_patient(p), 1);
}
END_TEST

START_TEST(health_and_readiness)
{
	struct http_response r;

	ck_assert_int_eq(e2e_get(PORT, &r, "/healthz"), 200);
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r, "/readyz"), 200);
	ck_assert_str_eq(e2e_str(r.json, "status"), "ready");
	http_response_free(&r);
	http_request(PORT, "DELETE", "/v1/events", NULL, NULL, &r);
	assert_error(&r, 405, "method_not_allowed", NULL);
}
END_TEST

void e2e_add_core_tests(Suite *s)
{
	TCase *tc = e2e_tcase("core");

	tcase_add_test(tc, walk_through_one_pathway);
	tcase_add_test(tc, restart_gives_the_same_answers);
	tcase_add_test(tc, invalid_json_is_refused);
	tcase_add_test(tc, invalid_event_names_the_field);
	tcase_add_test(tc, not_found_answers);
	tcase_add_test(tc, illegal_transition_lists_allowed_events);
	tcase_add_test(tc, second_open_pathway_is_refused);
	tcase_add_test(tc, opening_written_unchecked_still_replays_and_refuses);
	tcase_add_test(
		tc,
		opening_group_refused_for_one_retry_records_the_others_once);
	tcase_add_test(tc, too_large_bodies_and_batches);
	tcase_add_test(tc, replay_answers_the_first_result);
	tcase_add_test(tc, batch_mixes_good_and_bad);
	tcase_add_test(tc, concurrent_posts_of_one_event_record_it_once);
	tcase_add_test(tc, concurrent_opens_for_one_patient_open_one_pathway);
	tcase_add_test(tc, health_and_readiness);
	suite_add_tcase(s, tc);
}
