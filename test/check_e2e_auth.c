/*
 * Who may do what (issue 6): tokens, roles and regions on every route,
 * refusals that record and reveal nothing, and the audit of reads.
 * Region-bound tokens are stored hashed in test/data/tokens.conf.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

#define EHR_VEST   "Authorization: Bearer ehr-vest-secret-7\r\n"
#define COORD_VEST "Authorization: Bearer coord-vest-secret-3\r\n"
#define COORD_NORD "Authorization: Bearer coord-nord-secret-5\r\n"
#define DEV_EHR	   "Authorization: Bearer dev-ehr\r\n"
#define DEV_COORD  "Authorization: Bearer dev-coordinator\r\n"
#define DEV_ADMIN  "Authorization: Bearer dev-admin\r\n"
#define BAD_TOKEN  "Authorization: Bearer not-a-token\r\n"
/* Overrides the suite's default token with an empty one. */
#define NO_TOKEN "Authorization:\r\n"

struct two_regions {
	char vest_patient[64], nord_patient[64];
	char vest_pw[160], nord_pw[160];
};

static int as(const char *token, const char *method, const char *path,
	      const char *body, struct http_response *r)
{
	struct http_response local;
	int status =
		http_request(PORT, method, path, body, token, r ? r : &local);

	if (r == NULL)
		http_response_free(&local);
	return status;
}

static int post_as(const char *token, const char *body, struct http_response *r)
{
	return as(token, "POST", "/v1/events", body, r);
}

static void open_patient(const char *token, const char *patient,
			 const char *region, char *pw, size_t len)
{
	struct http_response r;
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-02-03T09:00:00+01:00\",\"model\":\"no\","
		 "\"region\":\"%s\",\"unit\":\"gp-1\",\"data\":{\"age\":50,"
		 "\"pain_onset\":\"2024-01-01\"}}",
		 patient, patient, region);
	ck_assert_int_eq(post_as(token, body, &r), 201);
	snprintf(pw, len, "%s", e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
}

static void two_regions_setup(struct two_regions *t)
{
	e2e_id(t->vest_patient, sizeof(t->vest_patient), "auth-vest");
	e2e_id(t->nord_patient, sizeof(t->nord_patient), "auth-nord");
	open_patient(EHR_VEST, t->vest_patient, "helse-vest", t->vest_pw,
		     sizeof(t->vest_pw));
	open_patient(DEV_EHR, t->nord_patient, "helse-nord", t->nord_pw,
		     sizeof(t->nord_pw));
}

static int count_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int count_of(const char *fmt, ...)
{
	char sql[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return e2e_count(sql);
}

START_TEST(tokens_are_required)
{
	static const struct {
		const char *method, *path;
	} routes[] = {
		{"POST", "/v1/events"},
		{"GET", "/v1/pathways/pw-x"},
		{"GET", "/v1/pathways/pw-x/transitions"},
		{"GET", "/v1/patients/p-x/pathways"},
		{"GET", "/v1/pathways"},
		{"GET", "/v1/stats/waiting"},
		{"GET", "/v1/escalations"},
		{"POST", "/v1/escalations/run"},
		{"POST", "/v1/escalations/1/ack"},
		{"GET", "/v1/notifications"},
		{"GET", "/v1/audit?patient_id=p-x"},
		{"GET", "/v1/models"},
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		static const char *const bad[] = {
			NO_TOKEN, BAD_TOKEN,
			("Authorization: Basic ZGV2LWFkbWluOg==\r\n")};
		for (size_t b = 0; b < 3; b++) {
			as(bad[b], routes[i].method, routes[i].path, "{}", &r);
			ck_assert_msg(r.status == 401, "%s %s: %d",
				      routes[i].method, routes[i].path,
				      r.status);
			ck_assert_str_eq(e2e_str(r.json, "error.code"),
					 "unauthorized");
			char *www = http_header(&r, "WWW-Authenticate");
			ck_assert_ptr_nonnull(www);
			free(www);
			http_response_free(&r);
		}
	}
	ck_assert_int_eq(as(NO_TOKEN, "GET", "/healthz", NULL, NULL), 200);
	ck_assert_int_eq(as(NO_TOKEN, "GET", "/readyz", NULL, NULL), 200);
}
END_TEST

START_TEST(roles_limit_routes)
{
	struct two_regions t;
	struct http_response r;
	char path[256], body[512];

	two_regions_setup(&t);
	snprintf(path, sizeof(path), "/v1/pathways/%s", t.vest_pw);
	/* ehr: posts events, does not read pathways. */
	ck_assert_int_eq(as(DEV_EHR, "GET", path, NULL, &r), 403);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "forbidden");
	http_response_free(&r);
	ck_assert_int_eq(as(DEV_EHR, "GET", "/v1/pathways", NULL, NULL), 403);
	ck_assert_int_eq(as(DEV_EHR, "GET", "/v1/models", NULL, NULL), 200);
	ck_assert_int_eq(as(DEV_EHR, "GET", "/v1/notifications", NULL, NULL),
			 200);
	/* coordinator: reads, does not post, run reports or read audit. */
	ck_assert_int_eq(as(DEV_COORD, "GET", path, NULL, NULL), 200);
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-c\",\"type\":\"pathway.closed\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-02-04T09:00:00Z\",\"data\":{\"reason\":\"other\"}}",
		 t.vest_patient, t.vest_patient);
	ck_assert_int_eq(post_as(DEV_COORD, body, NULL), 403);
	ck_assert_int_eq(count_of("SELECT count(*) FROM transitions WHERE "
				  "event_id = '%s-c'",
				  t.vest_patient),
			 0);
	ck_assert_int_eq(as(DEV_COORD, "POST",
			    "/v1/escalations/run?date=2025-02-05", NULL, NULL),
			 403);
	ck_assert_int_eq(
		as(DEV_COORD, "GET", "/v1/audit?patient_id=x", NULL, NULL),
		403);
	/* admin: everything. */
	ck_assert_int_eq(post_as(DEV_ADMIN, body, NULL), 201);
	ck_assert_int_eq(as(DEV_ADMIN, "POST",
			    "/v1/escalations/run?date=2025-02-05", NULL, NULL),
			 200);
}
END_TEST

START_TEST(ehr_tokens_stay_in_their_regions)
{
	struct two_regions t;
	struct http_response r;
	char body[512], p[64];

	two_regions_setup(&t);
	/* Opening in a region the token does not cover: 403, nothing. */
	e2e_id(p, sizeof(p), "auth-other");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-02-03T09:00:00Z\",\"model\":\"no\",\"region\":"
		 "\"helse-nord\",\"data\":{\"age\":50}}",
		 p, p);
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 403);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "forbidden");
	http_response_free(&r);
	ck_assert_int_eq(count_of("SELECT count(*) FROM pathways WHERE "
				  "patient_id = '%s'",
				  p),
			 0);
	/* An event for a pathway in another region: as if none existed. */
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-x\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-02-04T09:00:00Z\",\"data\":{\"to_level\":\"clinic\"}}",
		 t.nord_patient, t.nord_patient);
	ck_assert_int_eq(post_as(EHR_VEST, body, &r), 404);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "not_found");
	ck_assert_ptr_null(strstr(r.body, t.nord_pw));
	http_response_free(&r);
	ck_assert_int_eq(count_of("SELECT count(*) FROM transitions t JOIN "
				  "pathways p USING (pathway_id) WHERE "
				  "p.patient_id = '%s'",
				  t.nord_patient),
			 1);
	/* Its own region: fine. */
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-s\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-02-04T09:00:00Z\",\"data\":{\"to_level\":\"clinic\"}}",
		 t.vest_patient, t.vest_patient);
	ck_assert_int_eq(post_as(EHR_VEST, body, NULL), 201);
	/* A replay of another region's event reveals nothing of it. */
	snprintf(
		body, sizeof(body),
		"{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		"\"patient_id\":\"%s\",\"occurred_at\":"
		"\"2025-02-03T09:00:00+01:00\",\"model\":\"no\","
		"\"region\":\"helse-nord\",\"unit\":\"gp-1\",\"data\":{\"age\":"
		"50}}",
		t.nord_patient, t.nord_patient);
	post_as(EHR_VEST, body, &r);
	ck_assert_int_ne(r.status, 200);
	ck_assert_ptr_null(strstr(r.body, t.nord_pw));
	http_response_free(&r);
}
END_TEST

/* Every item of a list answer is in one of the regions. */
static void assert_items_in(json_t *items, const char *r1, const char *r2)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
	{
		const char *region = e2e_str(it, "region");
		ck_assert_msg(strcmp(region, r1) == 0 ||
				      (r2 && strcmp(region, r2) == 0),
			      "item in region %s", region);
	}
}

START_TEST(coordinators_read_their_regions_only)
{
	struct two_regions t;
	struct http_response r;
	char path[256];

	two_regions_setup(&t);
	snprintf(path, sizeof(path), "/v1/pathways/%s", t.vest_pw);
	ck_assert_int_eq(as(COORD_VEST, "GET", path, NULL, NULL), 200);
	ck_assert_int_eq(as(COORD_NORD, "GET", path, NULL, &r), 404);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "not_found");
	http_response_free(&r);
	snprintf(path, sizeof(path), "/v1/pathways/%s/transitions", t.nord_pw);
	ck_assert_int_eq(as(COORD_VEST, "GET", path, NULL, NULL), 404);
	ck_assert_int_eq(as(COORD_NORD, "GET", path, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/v1/patients/%s/pathways",
		 t.nord_patient);
	ck_assert_int_eq(as(COORD_VEST, "GET", path, NULL, &r), 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "pathways")), 0);
	http_response_free(&r);
	/* Lists: the token's regions only; naming another region: 403. */
	ck_assert_int_eq(
		as(COORD_VEST, "GET", "/v1/pathways?limit=1000", NULL, &r),
		200);
	ck_assert_int_gt(json_array_size(e2e_at(r.json, "items")), 0);
	assert_items_in(e2e_at(r.json, "items"), "helse-vest", NULL);
	http_response_free(&r);
	ck_assert_int_eq(
		as(COORD_NORD, "GET", "/v1/pathways?limit=1000", NULL, &r),
		200);
	assert_items_in(e2e_at(r.json, "items"), "helse-nord", "helse-midt");
	http_response_free(&r);
	ck_assert_int_eq(as(COORD_VEST, "GET", "/v1/pathways?region=helse-nord",
			    NULL, NULL),
			 403);
	ck_assert_int_eq(as(COORD_VEST, "GET",
			    "/v1/stats/waiting?region=helse-nord", NULL, NULL),
			 403);
	ck_assert_int_eq(as(COORD_VEST, "GET",
			    "/v1/escalations?date=2025-02-05&region=helse-nord",
			    NULL, NULL),
			 403);
	/* The night's report, as the vest coordinator sees it. */
	ck_assert_int_eq(as(DEV_ADMIN, "POST",
			    "/v1/escalations/run?date=2025-12-01", NULL, NULL),
			 200);
	ck_assert_int_eq(as(COORD_VEST, "GET",
			    "/v1/escalations?date=2025-12-01", NULL, &r),
			 200);
	assert_items_in(e2e_at(r.json, "items"), "helse-vest", NULL);
	http_response_free(&r);
	ck_assert_int_eq(
		as(COORD_VEST, "GET", "/v1/notifications?limit=1000", NULL, &r),
		200);
	assert_items_in(e2e_at(r.json, "items"), "helse-vest", NULL);
	http_response_free(&r);
}
END_TEST

START_TEST(acknowledging_another_regions_item_is_not_found)
{
	struct two_regions t;
	struct http_response r;
	char path[128], id[32];
	json_t *it;
	size_t i;
	long long nord_item = -1;

	two_regions_setup(&t);
	/* The level_review clock runs from pain onset: overdue long ago. */
	ck_assert_int_eq(as(DEV_ADMIN, "POST",
			    "/v1/escalations/run?date=2025-12-02", NULL, NULL),
			 200);
	as(DEV_ADMIN, "GET",
	   "/v1/escalations?date=2025-12-02&region=helse-nord", NULL, &r);
	json_array_foreach(e2e_at(r.json, "items"), i, it)
	{
		nord_item = json_integer_value(json_object_get(it, "id"));
	}
	http_response_free(&r);
	ck_assert_int_ge(nord_item, 0);
	snprintf(path, sizeof(path), "/v1/escalations/%lld/ack", nord_item);
	snprintf(id, sizeof(id), "%lld", nord_item);
	ck_assert_int_eq(as(COORD_VEST, "POST", path, "{}", NULL), 404);
	ck_assert_int_eq(count_of("SELECT count(*) FROM escalations WHERE "
				  "escalation_id = %s AND acked_at IS NOT NULL",
				  id),
			 0);
	/* The nord coordinator may. */
	ck_assert_int_eq(as(COORD_NORD, "POST", path, "{}", NULL), 200);
	ck_assert_int_eq(count_of("SELECT count(*) FROM escalations WHERE "
				  "escalation_id = %s AND acked_by = "
				  "'coord-nord'",
				  id),
			 1);
}
END_TEST

START_TEST(development_tokens_need_loopback)
{
	struct daemon_instance d;
	static const char *const open_listen[] = {"--listen", "0.0.0.0", NULL};

	/* The daemon refuses to start, before it binds anything. */
	ck_assert(!harness_daemon_start(&d, e2e_pg.conninfo, open_listen));
}
END_TEST

static bool audit_has(json_t *items, const char *token, const char *route)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
	{
		if (strcmp(e2e_str(it, "token_id"), token) == 0 &&
		    strcmp(e2e_str(it, "route"), route) == 0)
			return true;
	}
	return false;
}

START_TEST(audit_answers_who_looked_at_a_patient)
{
	struct two_regions t;
	struct http_response r;
	char path[256];

	two_regions_setup(&t);
	snprintf(path, sizeof(path), "/v1/pathways/%s", t.vest_pw);
	ck_assert_int_eq(as(COORD_VEST, "GET", path, NULL, NULL), 200);
	/* Refused reads are not looks: nothing is shown, nothing logged. */
	ck_assert_int_eq(as(COORD_NORD, "GET", path, NULL, NULL), 404);
	snprintf(path, sizeof(path), "/v1/pathways/%s/transitions", t.vest_pw);
	ck_assert_int_eq(as(DEV_ADMIN, "GET", path, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/v1/patients/%s/pathways",
		 t.vest_patient);
	ck_assert_int_eq(as(DEV_COORD, "GET", path, NULL, NULL), 200);
	ck_assert_int_eq(as(COORD_VEST, "GET",
			    "/v1/pathways?region=helse-vest&limit=1000", NULL,
			    NULL),
			 200);

	snprintf(path, sizeof(path), "/v1/audit?patient_id=%s", t.vest_patient);
	ck_assert_int_eq(as(DEV_ADMIN, "GET", path, NULL, &r), 200);
	json_t *items = e2e_at(r.json, "items");
	ck_assert(audit_has(items, "coord-vest", "/v1/pathways/:id"));
	ck_assert(
		audit_has(items, "dev-admin", "/v1/pathways/:id/transitions"));
	ck_assert(audit_has(items, "dev-coordinator",
			    "/v1/patients/:id/pathways"));
	ck_assert(audit_has(items, "coord-vest", "/v1/pathways"));
	ck_assert(!audit_has(items, "coord-nord", "/v1/pathways/:id"));
	ck_assert_ptr_nonnull(e2e_str(json_array_get(items, 0), "remote"));
	http_response_free(&r);
	/* The nord patient was looked at by nobody but the lists. */
	snprintf(path, sizeof(path), "/v1/audit?patient_id=%s", t.nord_patient);
	ck_assert_int_eq(as(DEV_ADMIN, "GET", path, NULL, &r), 200);
	ck_assert(!audit_has(e2e_at(r.json, "items"), "coord-vest",
			     "/v1/pathways/:id"));
	http_response_free(&r);
	/* The trail cannot be rewritten. */
	ck_assert_ptr_null(harness_psql(&e2e_pg, "DELETE FROM audit_log"));
}
END_TEST

/* Reads by id that arrive together share one statement (daemon/query.c):
 * each answer is still its own pathway or patient, within its own token's
 * regions, and audited as its own. */
struct gathered_read {
	const char *token;
	char path[256];
	int status;
	const char *field, *value; /* value NULL: the field is absent */
};

static void assert_gathered_answer(const struct gathered_read *g, int status,
				   struct http_response *r)
{
	const char *got = e2e_str(r->json, g->field);

	ck_assert_msg(status == g->status, "%s: %d %s", g->path, status,
		      r->body);
	ck_assert_msg(g->value ? got && strcmp(got, g->value) == 0 : !got,
		      "%s: %s is %s", g->path, g->field, got ? got : "absent");
}

#define READ_PHASE(what, phase)                                                \
	"painpath_read_group_phase_seconds_" what "{phase=\"" phase "\"} "

START_TEST(reads_gathered_answer_each_its_own)
{
	struct two_regions t;
	struct http_response r;
	struct gathered_read kinds[8] = {
		{COORD_VEST, "", 200, "pathway_id", NULL},
		{COORD_VEST, "", 404, "error.code", "not_found"},
		{COORD_NORD, "", 200, "pathway_id", NULL},
		{COORD_NORD, "", 404, "error.code", "not_found"},
		{DEV_COORD, "/v1/pathways/pw-gathered-nowhere", 404,
		 "error.code", "not_found"},
		{COORD_VEST, "", 200, "pathways.0.pathway_id", NULL},
		{COORD_VEST, "", 200, "pathways.0", NULL},
		{COORD_NORD, "", 200, "pathways.0.region", "helse-nord"},
	};
	int fds[40];
	double reads, groups, gathered, answered, statements_s;

	two_regions_setup(&t);
	snprintf(kinds[0].path, 256, "/v1/pathways/%s", t.vest_pw);
	kinds[0].value = t.vest_pw;
	snprintf(kinds[1].path, 256, "/v1/pathways/%s", t.nord_pw);
	snprintf(kinds[2].path, 256, "/v1/pathways/%s", t.nord_pw);
	kinds[2].value = t.nord_pw;
	snprintf(kinds[3].path, 256, "/v1/pathways/%s", t.vest_pw);
	snprintf(kinds[5].path, 256, "/v1/patients/%s/pathways",
		 t.vest_patient);
	kinds[5].value = t.vest_pw;
	/* Another region's patient: none of their pathways, and no look. */
	snprintf(kinds[6].path, 256, "/v1/patients/%s/pathways",
		 t.nord_patient);
	snprintf(kinds[7].path, 256, "/v1/patients/%s/pathways",
		 t.nord_patient);
	reads = e2e_metric(PORT, "painpath_read_group_reads_total ");
	groups = e2e_metric(PORT, "painpath_read_groups_total ");
	gathered = e2e_metric(PORT, READ_PHASE("count", "gather"));
	answered = e2e_metric(PORT, READ_PHASE("count", "statement"));
	statements_s = e2e_metric(PORT, READ_PHASE("sum", "statement"));
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 40; i++)
			fds[i] = http_begin(PORT, "GET", kinds[i % 8].path,
					    NULL, kinds[i % 8].token);
		for (int i = 0; i < 40; i++) {
			int status = http_end(fds[i], &r);

			assert_gathered_answer(&kinds[i % 8], status, &r);
			http_response_free(&r);
		}
	}
	ck_assert_double_eq(
		e2e_metric(PORT, "painpath_read_group_reads_total ") - reads,
		200);
	/* Two kinds make two groups at least; reads sent 40 at a time share
	 * statements (26-37 groups in three runs), or the answers above did
	 * not test one statement answering many. */
	groups = e2e_metric(PORT, "painpath_read_groups_total ") - groups;
	ck_assert(groups >= 2 && groups < 200);
	/* Each group timed once in each phase. */
	ck_assert_double_eq(e2e_metric(PORT, READ_PHASE("count", "gather")) -
				    gathered,
			    groups);
	ck_assert_double_eq(e2e_metric(PORT, READ_PHASE("count", "statement")) -
				    answered,
			    groups);
	ck_assert(e2e_metric(PORT, READ_PHASE("sum", "statement")) >
		  statements_s);
	/* One audit row per answer that showed a patient, naming that
	 * patient and the region of what it showed; none for the others. */
	ck_assert_int_eq(count_of("SELECT count(*) FROM audit_log WHERE "
				  "token_id = 'coord-vest' AND route = "
				  "'/v1/pathways/:id' AND patient_ids = "
				  "ARRAY['%s'] AND regions = '{helse-vest}' "
				  "AND status = 200 AND method = 'GET'",
				  t.vest_patient),
			 25);
	ck_assert_int_eq(count_of("SELECT count(*) FROM audit_log WHERE "
				  "token_id = 'coord-vest' AND route = "
				  "'/v1/patients/:id/pathways' AND patient_ids "
				  "= ARRAY['%s'] AND regions = '{helse-vest}'",
				  t.vest_patient),
			 25);
	ck_assert_int_eq(count_of("SELECT count(*) FROM audit_log WHERE "
				  "token_id = 'coord-nord' AND patient_ids = "
				  "ARRAY['%s'] AND regions = '{helse-nord}'",
				  t.nord_patient),
			 50);
	ck_assert_int_eq(count_of("SELECT count(*) FROM audit_log WHERE "
				  "token_id IN ('coord-vest', 'coord-nord') "
				  "AND patient_ids && ARRAY['%s', '%s']",
				  t.vest_patient, t.nord_patient),
			 100);
	ck_assert_int_eq(count_of("SELECT count(*) FROM audit_log WHERE uri "
				  "LIKE '%%pw-gathered-nowhere%%'"),
			 0);
}
END_TEST

/* audit_durable = 0: a group's statement commits with
 * synchronous_commit off, in a transaction of its own; every read still
 * answers, and is audited. */
START_TEST(gathered_reads_audited_when_not_durable)
{
	static const char *const flags[] = {
		"--config",
		PAINPATH_SOURCE_DIR "/test/data/audit-not-durable.conf", NULL};
	struct daemon_instance d;
	struct http_response r;
	char patient[64], pw[160], path[256];
	int fds[20];

	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, flags));
	e2e_id(patient, sizeof(patient), "lazy-audit");
	e2e_open(d.port, patient, "no", NULL, pw, sizeof(pw));
	snprintf(path, sizeof(path), "/v1/pathways/%s", pw);
	for (int i = 0; i < 20; i++)
		fds[i] = http_begin(d.port, "GET", path, NULL, NULL);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(http_end(fds[i], &r), 200);
		ck_assert_str_eq(e2e_str(r.json, "pathway_id"), pw);
		http_response_free(&r);
	}
	ck_assert_double_eq(
		e2e_metric(d.port, "painpath_read_group_reads_total "), 20);
	ck_assert_int_eq(count_of("SELECT count(*) FROM audit_log WHERE uri = "
				  "'%s' AND patient_ids = ARRAY['%s']",
				  path, patient),
			 20);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

void e2e_add_auth_tests(Suite *s)
{
	TCase *tc = e2e_tcase("auth");

	tcase_add_test(tc, tokens_are_required);
	tcase_add_test(tc, roles_limit_routes);
	tcase_add_test(tc, ehr_tokens_stay_in_their_regions);
	tcase_add_test(tc, coordinators_read_their_regions_only);
	tcase_add_test(tc, acknowledging_another_regions_item_is_not_found);
	tcase_add_test(tc, development_tokens_need_loopback);
	tcase_add_test(tc, audit_answers_who_looked_at_a_patient);
	tcase_add_test(tc, reads_gathered_answer_each_its_own);
	tcase_add_test(tc, gathered_reads_audited_when_not_durable);
	suite_add_tcase(s, tc);
}
