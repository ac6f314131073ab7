/*
 * The outside security review's defects in the data (issue 10), each a
 * regression test named after it, tried from outside the way it was found:
 * with tokens scoped to one region, as real installations have them.  The
 * HTTP-framing defects are check_e2e_http.c's.
 */
#include <check.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "harness.h"

#define EHR_VEST   "Authorization: Bearer ehr-vest-secret-7\r\n"
#define EHR_VEST_A "Authorization: Bearer ehr-vest-a-secret-13\r\n"
#define EHR_NORD_A "Authorization: Bearer ehr-nord-a-secret-17\r\n"
/* ehr-vest-a rotated: the same source (ehr-system-a) and region. */
#define EHR_VEST_A2 "Authorization: Bearer ehr-vest-a2-secret-23\r\n"
#define COORD_VEST  "Authorization: Bearer coord-vest-secret-3\r\n"
#define COORD_NORD  "Authorization: Bearer coord-nord-secret-5\r\n"
#define ADMIN_VEST  "Authorization: Bearer admin-vest-secret-11\r\n"
#define ADMIN_ALL   "Authorization: Bearer dev-admin\r\n"

static int post_as(const char *token, const char *body, struct http_response *r)
{
	return http_request(PORT, "POST", "/v1/events", body, token, r);
}

static int get_as(const char *token, struct http_response *r, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));

static int get_as(const char *token, struct http_response *r, const char *fmt,
		  ...)
{
	char path[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return http_request(PORT, "GET", path, NULL, token, r);
}

static void opened(char *body, size_t len, const char *event_id,
		   const char *patient, const char *region, const char *at)
{
	snprintf(body, len,
		 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\",\"model\":"
		 "\"no\",\"region\":\"%s\",\"unit\":\"gp-1\",\"data\":{\"age\":"
		 "40}}",
		 event_id, patient, at, region);
}

static void open_in(const char *token, const char *patient, const char *region,
		    char *pathway, size_t len)
{
	struct http_response r;
	char body[1024], id[96];

	e2e_id(id, sizeof(id), "open");
	opened(body, sizeof(body), id, patient, region,
	       "2025-03-03T09:00:00+01:00");
	ck_assert_int_eq(post_as(token, body, &r), 201);
	if (pathway != NULL)
		snprintf(pathway, len, "%s",
			 e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
}

static void sent(char *body, size_t len, const char *event_id,
		 const char *patient, const char *at)
{
	snprintf(body, len,
		 "{\"event_id\":\"%s\",\"type\":\"referral.sent\",\"patient_"
		 "id\":\"%s\",\"occurred_at\":\"%s\",\"data\":{\"to_level\":"
		 "\"clinic\",\"to_unit\":\"clinic-1\"}}",
		 event_id, patient, at);
}

/* 1: a retry by a region-scoped token got 409 "already used" instead of
 * the first answer. */
START_TEST(regression_replay_refused_for_scoped_token)
{
	struct http_response first, again, batch;
	char patient[64], body[1024], wrapped[1200], id[64];
	char *replay;

	e2e_id(patient, sizeof(patient), "scoped-replay");
	e2e_id(id, sizeof(id), "ev");
	open_in(EHR_VEST, patient, "helse-vest", NULL, 0);
	sent(body, sizeof(body), id, patient, "2025-03-04T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_VEST, body, &first), 201);
	ck_assert_int_eq(post_as(EHR_VEST, body, &again), 200);
	replay = http_header(&again, "Idempotent-Replay");
	ck_assert_str_eq(replay, "true");
	free(replay);
	ck_assert_str_eq(again.body, first.body);
	snprintf(wrapped, sizeof(wrapped), "{\"events\":[%s]}", body);
	ck_assert_int_eq(post_as(EHR_VEST, wrapped, &batch), 200);
	ck_assert_int_eq(
		json_integer_value(e2e_at(batch.json, "results.0.status")),
		200);
	ck_assert(json_is_true(e2e_at(batch.json, "results.0.replayed")));
	ck_assert_str_eq(e2e_str(batch.json, "results.0.pathway_id"),
			 e2e_str(first.json, "pathway.pathway_id"));
	http_response_free(&first);
	http_response_free(&again);
	http_response_free(&batch);
}
END_TEST

/* 18: with the replay's region check removed, another region's token of
 * the same sending system got 200 and that patient's whole pathway. */
START_TEST(regression_replay_shows_another_region)
{
	struct http_response first, other;
	char patient[64], body[1024], id[64];

	e2e_id(patient, sizeof(patient), "source-region");
	e2e_id(id, sizeof(id), "ev");
	open_in(EHR_NORD_A, patient, "helse-nord", NULL, 0);
	sent(body, sizeof(body), id, patient, "2025-03-04T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_NORD_A, body, &first), 201);
	ck_assert_int_eq(post_as(EHR_VEST_A, body, &other), 409);
	ck_assert_str_eq(e2e_str(other.json, "error.code"),
			 "event_id_conflict");
	ck_assert_ptr_null(strstr(other.body, patient));
	ck_assert_ptr_null(strstr(other.body, "pathway"));
	http_response_free(&first);
	http_response_free(&other);
}
END_TEST

/* Issue 12: event_id is unique within a source; two EHR systems may both
 * send ehr-1. */
START_TEST(two_sources_both_use_one_event_id)
{
	struct http_response a, b, again;
	char pa[64], pb[64], body[1024], id[64];

	e2e_id(pa, sizeof(pa), "src-a");
	e2e_id(pb, sizeof(pb), "src-b");
	e2e_id(id, sizeof(id), "ehr-1");
	opened(body, sizeof(body), id, pa, "helse-vest",
	       "2025-03-03T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_VEST_A, body, &a), 201);
	opened(body, sizeof(body), id, pb, "helse-vest",
	       "2025-03-03T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_VEST, body, &b), 201);
	ck_assert_str_ne(e2e_str(a.json, "pathway.pathway_id"),
			 e2e_str(b.json, "pathway.pathway_id"));
	/* Each source's retry is its own replay. */
	ck_assert_int_eq(post_as(EHR_VEST, body, &again), 200);
	ck_assert_str_eq(again.body, b.body);
	snprintf(body, sizeof(body),
		 "SELECT count(DISTINCT source) FROM transitions WHERE "
		 "event_id = '%s'",
		 id);
	ck_assert_int_eq(e2e_count(body), 2);
	http_response_free(&a);
	http_response_free(&b);
	http_response_free(&again);
}
END_TEST

static void correction(char *body, size_t len, const char *event_id,
		       const char *type, const char *patient,
		       const char *target, const char *fields)
{
	snprintf(body, len,
		 "{\"event_id\":\"%s\",\"type\":\"%s\",\"patient_id\":\"%s\","
		 "\"occurred_at\":\"2025-03-07T09:00:00+01:00\",\"data\":{"
		 "\"event_id\":\"%s\",\"reason\":\"entered wrong\"%s%s}}",
		 event_id, type, patient, target, fields ? "," : "",
		 fields ? fields : "");
}

/* Issue 12: a source's token rotated -- a second token of the same source
 * and region -- retries what the first posted and gets its answer, and
 * corrects the source's own events; another source's token with the same
 * event_id records an event of its own on the same pathway, and its
 * corrections address that one. */
START_TEST(rotated_token_replays_and_corrects_its_source_events)
{
	struct http_response first, other, r;
	char patient[64], pathway[96], body[1024], recv[1024], fix[1024];
	char id[64], fix_id[64], sql[512];

	e2e_id(patient, sizeof(patient), "rotated");
	e2e_id(id, sizeof(id), "ehr-2");
	open_in(EHR_VEST_A, patient, "helse-vest", pathway, sizeof(pathway));
	sent(body, sizeof(body), id, patient, "2025-03-04T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_VEST_A, body, &first), 201);
	e2e_assert_replayed(PORT, EHR_VEST_A2, body, &first);
	/* The same source: the rotated token may not reuse the id. */
	snprintf(recv, sizeof(recv),
		 "{\"event_id\":\"%s\",\"type\":\"referral.received\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-03-06T08:00:00+01:00\"}",
		 id, patient);
	ck_assert_int_eq(post_as(EHR_VEST_A2, recv, &r), 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "event_id_conflict");
	http_response_free(&r);
	/* Another source (ehr-vest's own) with the same id: a new event. */
	ck_assert_int_eq(post_as(EHR_VEST, recv, &other), 201);
	ck_assert_str_eq(e2e_str(other.json, "pathway.pathway_id"), pathway);
	ck_assert_str_eq(e2e_str(other.json, "pathway.phase"), "assessing");
	ck_assert_int_eq(
		json_integer_value(e2e_at(other.json, "pathway.version")), 3);
	snprintf(sql, sizeof(sql),
		 "SELECT count(DISTINCT source) FROM transitions WHERE "
		 "pathway_id = '%s' AND event_id = '%s'",
		 pathway, id);
	ck_assert_int_eq(e2e_count(sql), 2);
	/* Each source's retry is its own first answer. */
	e2e_assert_replayed(PORT, EHR_VEST_A2, body, &first);
	e2e_assert_replayed(PORT, EHR_VEST, recv, &other);
	/* A correction addresses its own source's event of that id: ehr-vest
	 * retracts the receipt, the rotated token corrects the referral
	 * (not the retracted receipt: that would be a conflict). */
	e2e_id(fix_id, sizeof(fix_id), "fix");
	correction(fix, sizeof(fix), fix_id, "event.retracted", patient, id,
		   NULL);
	ck_assert_int_eq(post_as(EHR_VEST, fix, &r), 201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.phase"), "referred");
	http_response_free(&r);
	e2e_id(fix_id, sizeof(fix_id), "fix");
	correction(fix, sizeof(fix), fix_id, "event.corrected", patient, id,
		   "\"data\":{\"to_level\":\"clinic\",\"to_unit\":"
		   "\"clinic-2\"}");
	ck_assert_int_eq(post_as(EHR_VEST_A2, fix, &r), 201);
	ck_assert_str_eq(e2e_str(r.json, "pathway.referral.to_unit"),
			 "clinic-2");
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "pathway.version")),
			 5);
	http_response_free(&r);
	http_response_free(&first);
	http_response_free(&other);
}
END_TEST

static bool audit_mentions(json_t *items, const char *token)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
	{
		const char *t = e2e_str(it, "token_id");
		if (t != NULL && strcmp(t, token) == 0)
			return true;
	}
	return false;
}

/* 2: an admin of helse-vest read who looked at a helse-nord patient. */
START_TEST(regression_audit_leaks_across_regions)
{
	struct http_response r;
	char patient[64], pathway[96];

	e2e_id(patient, sizeof(patient), "audit-nord");
	open_in(EHR_NORD_A, patient, "helse-nord", pathway, sizeof(pathway));
	ck_assert_int_eq(get_as(COORD_NORD, &r, "/v1/pathways/%s", pathway),
			 200);
	http_response_free(&r);
	ck_assert_int_eq(
		get_as(ADMIN_VEST, &r, "/v1/audit?patient_id=%s", patient),
		200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "items")), 0);
	ck_assert_ptr_null(strstr(r.body, pathway));
	http_response_free(&r);
	ck_assert_int_eq(
		get_as(ADMIN_ALL, &r, "/v1/audit?patient_id=%s", patient), 200);
	ck_assert(audit_mentions(e2e_at(r.json, "items"), "coord-nord"));
	http_response_free(&r);
}
END_TEST

/* The audit row's regions were never stored (one parameter short), so a
 * region's own admin saw no reads at all, and the leak test above passed
 * for the wrong reason. */
START_TEST(regression_audit_regions_never_stored)
{
	struct http_response r;
	char patient[64], pathway[96], sql[256];

	e2e_id(patient, sizeof(patient), "audit-vest");
	open_in(EHR_VEST, patient, "helse-vest", pathway, sizeof(pathway));
	ck_assert_int_eq(get_as(COORD_VEST, &r, "/v1/pathways/%s", pathway),
			 200);
	http_response_free(&r);
	ck_assert_int_eq(
		get_as(ADMIN_VEST, &r, "/v1/audit?patient_id=%s", patient),
		200);
	ck_assert(audit_mentions(e2e_at(r.json, "items"), "coord-vest"));
	http_response_free(&r);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE patient_ids @> "
		 "ARRAY['%s'] AND regions = ARRAY['helse-vest']",
		 patient);
	ck_assert_int_ge(e2e_count(sql), 1);
}
END_TEST

/* 7: a patient whose id is NULL was audited as an SQL NULL. */
START_TEST(regression_audit_of_patient_named_null)
{
	static const char *const names[] = {"NULL", "null", "Null"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct http_response r;
		char patient[64];
		snprintf(patient, sizeof(patient), "%s", names[i]);
		open_in(EHR_VEST, patient, "helse-vest", NULL, 0);
		ck_assert_int_eq(get_as(COORD_VEST, &r,
					"/v1/patients/%s/pathways", patient),
				 200);
		http_response_free(&r);
		ck_assert_int_eq(get_as(ADMIN_ALL, &r,
					"/v1/audit?patient_id=%s", patient),
				 200);
		ck_assert_msg(
			audit_mentions(e2e_at(r.json, "items"), "coord-vest"),
			"no audit row for patient %s", patient);
		http_response_free(&r);
	}
	ck_assert_int_eq(e2e_count("SELECT count(*) FROM audit_log WHERE "
				   "patient_ids @> ARRAY[NULL::text]"),
			 0);
}
END_TEST

/* 9: a pathway closed before it opened, a wait of -5 days. */
START_TEST(regression_impossible_histories)
{
	struct http_response r;
	char patient[64], body[1024], id[64];

	e2e_id(patient, sizeof(patient), "impossible");
	open_in(EHR_VEST, patient, "helse-vest", NULL, 0);
	e2e_id(id, sizeof(id), "ev");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"pathway.closed\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2020-01-01T09:00:00+01:00\",\"data\":{\"reason\":"
		 "\"completed\"}}",
		 id, patient);
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "out_of_order");
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "occurred_at");
	ck_assert_str_eq(e2e_str(r.json, "error.latest"),
			 "2025-03-03T08:00:00.000Z");
	http_response_free(&r);
	e2e_id(id, sizeof(id), "ev");
	sent(body, sizeof(body), id, patient, "2025-03-05T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 201);
	http_response_free(&r);
	/* A state change before the last one. */
	e2e_id(id, sizeof(id), "ev");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"referral.received\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-03-04T09:00:00+01:00\"}",
		 id, patient);
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 409);
	ck_assert_str_eq(e2e_str(r.json, "error.latest"),
			 "2025-03-05T08:00:00.000Z");
	http_response_free(&r);
	/* A late consultation is fine. */
	e2e_id(id, sizeof(id), "ev");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"consultation.requested\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-03-04T09:00:00+01:00\"}",
		 id, patient);
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 201);
	http_response_free(&r);
	ck_assert_int_eq(e2e_count("SELECT count(*) FROM pathways WHERE "
				   "closed_at < opened_at"),
			 0);
}
END_TEST

/* 10: a forged cursor gave 500 (bigint out of range). */
START_TEST(regression_forged_cursor)
{
	static const char *const cursors[] = {
		/* "99999999999999999999.x" */
		"39393939393939393939393939393939393939392e78",
		/* "-99999999999999999.x" */
		"2d39393939393939393939393939393939392e78",
		/* "1.bad id" */
		"312e62616420696420", "zz", "2e78", /* ".x" */
		"31",				    /* "1" */
	};

	for (size_t i = 0; i < sizeof(cursors) / sizeof(cursors[0]); i++) {
		struct http_response r;
		ck_assert_int_eq(get_as(COORD_VEST, &r,
					"/v1/pathways?cursor=%s", cursors[i]),
				 400);
		ck_assert_str_eq(e2e_str(r.json, "error.field"), "cursor");
		http_response_free(&r);
	}
}
END_TEST

/* 13: opening a pathway for a patient with one open in another region
 * said "no such pathway" with field pathway_id: a probe. */
START_TEST(regression_open_leaks_another_region)
{
	struct http_response r;
	char patient[64], body[1024], id[64], pathway[96];

	e2e_id(patient, sizeof(patient), "two-regions");
	open_in(EHR_NORD_A, patient, "helse-nord", pathway, sizeof(pathway));
	e2e_id(id, sizeof(id), "open");
	opened(body, sizeof(body), id, patient, "helse-vest",
	       "2025-03-04T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "pathway_exists");
	ck_assert_ptr_null(strstr(r.body, pathway));
	ck_assert_ptr_null(strstr(r.body, "helse-nord"));
	ck_assert_ptr_null(e2e_str(r.json, "error.pathway_id"));
	http_response_free(&r);
	/* In its own region the existing pathway is named (17). */
	opened(body, sizeof(body), id, patient, "helse-nord",
	       "2025-03-04T09:00:00+01:00");
	ck_assert_int_eq(post_as(EHR_NORD_A, body, &r), 409);
	ck_assert_str_eq(e2e_str(r.json, "error.pathway_id"), pathway);
	http_response_free(&r);
}
END_TEST

/* 17: an unknown flag was not named; a bad escalations query had no
 * field. */
START_TEST(regression_errors_name_what_is_wrong)
{
	struct http_response r;
	char body[1024], id[64], patient[64];

	e2e_id(id, sizeof(id), "flag");
	e2e_id(patient, sizeof(patient), "flag");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\",\"patient_"
		 "id\":\"%s\",\"occurred_at\":\"2025-03-03T09:00:00+01:00\","
		 "\"model\":\"no\",\"region\":\"helse-vest\",\"data\":{\"age\":"
		 "40,\"flags\":[\"trauma\",\"vip\"]}}",
		 id, patient);
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 400);
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "data.flags");
	ck_assert_ptr_nonnull(strstr(e2e_str(r.json, "error.message"), "vip"));
	http_response_free(&r);
	ck_assert_int_eq(get_as(COORD_VEST, &r, "/v1/escalations?rule=soon"),
			 400);
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "rule");
	http_response_free(&r);
	ck_assert_int_eq(
		get_as(COORD_VEST, &r, "/v1/escalations?unacknowledged=maybe"),
		400);
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "unacknowledged");
	http_response_free(&r);
}
END_TEST

/* 15: a misspelt parameter was ignored, so ?regoin= listed (and audited)
 * every pathway the token covers. */
START_TEST(regression_unknown_query_parameters_are_ignored)
{
	static const struct {
		const char *token, *path, *field;
	} cases[] = {
		{COORD_VEST, "/v1/pathways?regoin=helse-vest", "regoin"},
		{COORD_VEST, "/v1/pathways?region=helse-vest&overdeu=true",
		 "overdeu"},
		{ADMIN_VEST, "/v1/audit?patient=p-1", "patient"},
		{COORD_VEST, "/v1/escalations?colour=red", "colour"},
		{COORD_VEST, "/v1/stats/waiting?regoin=helse-vest", "regoin"},
		{EHR_VEST, "/v1/notifications?after=0&limt=5", "limt"},
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(
			get_as(cases[i].token, &r, "%s", cases[i].path), 400);
		ck_assert_str_eq(e2e_str(r.json, "error.code"),
				 "invalid_request");
		ck_assert_msg(strcmp(e2e_str(r.json, "error.field"),
				     cases[i].field) == 0,
			      "%s: field %s", cases[i].path,
			      e2e_str(r.json, "error.field"));
		http_response_free(&r);
	}
}
END_TEST

static void assert_rfc3339_millis_z(const char *what, const char *text)
{
	regex_t re;

	ck_assert_int_eq(
		regcomp(&re,
			"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
			"[0-9]{2}\\.[0-9]{3}Z$",
			REG_EXTENDED | REG_NOSUB),
		0);
	ck_assert_msg(text != NULL && regexec(&re, text, 0, NULL, 0) == 0,
		      "%s: %s", what, text ? text : "(null)");
	regfree(&re);
}

/* 17: a 405 named no Allow, and the audit's and notifications' times came
 * as "+00:00" with microseconds beside the pathways' ".000Z". */
START_TEST(regression_405_without_allow_and_two_timestamp_forms)
{
	struct http_response r;
	char patient[64], pathway[96], *allow;

	ck_assert_int_eq(
		http_request(PORT, "DELETE", "/v1/events", NULL, EHR_VEST, &r),
		405);
	allow = http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_ptr_nonnull(strstr(allow, "POST"));
	free(allow);
	http_response_free(&r);
	ck_assert_int_eq(
		http_request(PORT, "PUT", "/v1/pathways", NULL, COORD_VEST, &r),
		405);
	allow = http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_ptr_nonnull(strstr(allow, "GET"));
	free(allow);
	http_response_free(&r);

	e2e_id(patient, sizeof(patient), "times");
	open_in(EHR_VEST, patient, "helse-vest", pathway, sizeof(pathway));
	ck_assert_int_eq(get_as(COORD_VEST, &r, "/v1/pathways/%s", pathway),
			 200);
	assert_rfc3339_millis_z("opened_at", e2e_str(r.json, "opened_at"));
	http_response_free(&r);
	ck_assert_int_eq(
		get_as(ADMIN_VEST, &r, "/v1/audit?patient_id=%s", patient),
		200);
	ck_assert_uint_gt(json_array_size(e2e_at(r.json, "items")), 0);
	assert_rfc3339_millis_z(
		"audit at",
		json_string_value(json_object_get(
			json_array_get(e2e_at(r.json, "items"), 0), "at")));
	http_response_free(&r);
}
END_TEST

/* 18: data nested 33 levels was accepted once the cap was removed. */
START_TEST(regression_data_nests_at_most_32_levels)
{
	char body[4096], data[1024] = "", id[64], patient[64];
	struct http_response r;

	/* data holds {"x": <inner>}: data is one level, inner the rest. */
	for (int depth = 31; depth <= 32; depth++) {
		size_t used = 0;
		for (int i = 0; i < depth - 1; i++)
			used += (size_t)snprintf(
				data + used, sizeof(data) - used, "{\"a\":");
		used += (size_t)snprintf(data + used, sizeof(data) - used,
					 "{}");
		for (int i = 0; i < depth - 1; i++)
			used += (size_t)snprintf(data + used,
						 sizeof(data) - used, "}");
		e2e_id(id, sizeof(id), "deep");
		e2e_id(patient, sizeof(patient), "deep");
		snprintf(body, sizeof(body),
			 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-03-03T09:00:00+01:00\",\"model\":\"dk\","
			 "\"region\":\"helse-vest\",\"data\":{\"x\":%s}}",
			 id, patient, data);
		post_as(EHR_VEST, body, &r);
		ck_assert_msg(r.status == (depth == 31 ? 201 : 400),
			      "data %d levels deep: %d %s", depth + 1, r.status,
			      r.body);
		if (depth == 32)
			ck_assert_str_eq(e2e_str(r.json, "error.field"),
					 "data");
		http_response_free(&r);
	}
}
END_TEST

/* 18: the region filter removed from the completed waits of
 * /v1/stats/waiting showed another region's units. */
START_TEST(regression_completed_waits_stay_in_their_region)
{
	static const char *const steps[][2] = {
		{"referral.sent", "2025-05-02T09:00:00+02:00"},
		{"referral.received", "2025-05-03T09:00:00+02:00"},
		{"referral.accepted", "2025-05-04T09:00:00+02:00"},
		{"treatment.started", "2025-05-20T09:00:00+02:00"},
	};
	struct http_response r;
	char patient[64], body[1024], id[64], unit[64];

	e2e_id(patient, sizeof(patient), "done-nord");
	e2e_id(unit, sizeof(unit), "nord-clinic");
	open_in(EHR_NORD_A, patient, "helse-nord", NULL, 0);
	for (size_t i = 0; i < 4; i++) {
		e2e_id(id, sizeof(id), "ev");
		snprintf(body, sizeof(body),
			 "{\"event_id\":\"%s\",\"type\":\"%s\",\"patient_id\":"
			 "\"%s\",\"occurred_at\":\"%s\",\"unit\":\"%s\","
			 "\"data\":%s}",
			 id, steps[i][0], patient, steps[i][1], unit,
			 i == 0	  ? "{\"to_level\":\"clinic\",\"to_unit\":"
				    "\"c\"}"
			 : i == 2 ? "{\"deadline\":\"2025-06-30\"}"
				  : "{}");
		ck_assert_int_eq(post_as(EHR_NORD_A, body, &r), 201);
		http_response_free(&r);
	}
	ck_assert_int_eq(
		get_as(COORD_NORD, &r, "/v1/stats/waiting?as_of=2025-06-01"),
		200);
	ck_assert_ptr_nonnull(strstr(r.body, unit));
	http_response_free(&r);
	ck_assert_int_eq(
		get_as(COORD_VEST, &r, "/v1/stats/waiting?as_of=2025-06-01"),
		200);
	ck_assert_ptr_null(strstr(r.body, unit));
	ck_assert_ptr_null(strstr(r.body, "helse-nord"));
	http_response_free(&r);
}
END_TEST

/* 18: the night's report dropping items due on the last day of its
 * warning window went unnoticed.  Denmark, night Monday 2 June 2025: the
 * window is 3 working days, to Thursday 5 June.  A referral sent on 29 May
 * is in transit until 5 June (in), one sent on 30 May until 6 June (out). */
START_TEST(regression_report_keeps_the_window_end)
{
	static const char *const sent_on[] = {"2025-05-29T09:00:00+02:00",
					      "2025-05-30T09:00:00+02:00"};
	struct http_response r;
	char region[64], patient[2][96], body[1024], id[64];

	e2e_region(region, sizeof(region), "t");
	for (int i = 0; i < 2; i++) {
		snprintf(patient[i], sizeof(patient[i]), "%s-w%d", region, i);
		e2e_id(id, sizeof(id), "open");
		snprintf(body, sizeof(body),
			 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-05-28T09:00:00+02:00\",\"model\":\"dk\","
			 "\"region\":\"%s\",\"unit\":\"gp-1\"}",
			 id, patient[i], region);
		ck_assert_int_eq(e2e_post(PORT, &r, "%s", body), 201);
		http_response_free(&r);
		ck_assert_int_eq(e2e_event(PORT, patient[i], "referral.sent",
					   sent_on[i],
					   "{\"to_level\":\"clinic\","
					   "\"to_unit\":\"c-1\"}",
					   NULL),
				 201);
	}
	ck_assert_int_eq(http_request(PORT, "POST",
				      "/v1/escalations/run?date=2025-06-02",
				      NULL, NULL, &r),
			 200);
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/escalations?date=2025-06-02&region=%s",
				 region),
			 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "items")), 1);
	ck_assert_str_eq(e2e_str(r.json, "items.0.patient_id"), patient[0]);
	ck_assert_str_eq(e2e_str(r.json, "items.0.due"), "2025-06-05");
	ck_assert_str_eq(e2e_str(r.json, "items.0.responsible_unit"), "c-1");
	http_response_free(&r);
}
END_TEST

void e2e_add_review_tests(Suite *s)
{
	TCase *tc = e2e_tcase("review");

	tcase_add_test(tc, regression_replay_refused_for_scoped_token);
	tcase_add_test(tc, regression_replay_shows_another_region);
	tcase_add_test(tc, two_sources_both_use_one_event_id);
	tcase_add_test(tc,
		       rotated_token_replays_and_corrects_its_source_events);
	tcase_add_test(tc, regression_audit_leaks_across_regions);
	tcase_add_test(tc, regression_audit_regions_never_stored);
	tcase_add_test(tc, regression_audit_of_patient_named_null);
	tcase_add_test(tc, regression_impossible_histories);
	tcase_add_test(tc, regression_forged_cursor);
	tcase_add_test(tc, regression_open_leaks_another_region);
	tcase_add_test(tc, regression_errors_name_what_is_wrong);
	tcase_add_test(tc, regression_unknown_query_parameters_are_ignored);
	tcase_add_test(tc,
		       regression_405_without_allow_and_two_timestamp_forms);
	tcase_add_test(tc, regression_data_nests_at_most_32_levels);
	tcase_add_test(tc, regression_completed_waits_stay_in_their_region);
	tcase_add_test(tc, regression_report_keeps_the_window_end);
	suite_add_tcase(s, tc);
}
