/*
 * FHIR R4 end to end (issue 13): the real daemon on the harness's
 * PostgreSQL, spoken to by a stock FHIR client (test/node/fhir-walk.mjs),
 * its resources checked by an independent validator, Subscriptions
 * delivered to a real receiver on loopback (test/node/fhir-receiver.mjs)
 * through an outage and a daemon killed with SIGKILL, the regions' night
 * reports delivered the same way, and the tokens' roles, regions and the
 * read audit held on /fhir as on /v1.
 *
 * Waits are polls with deadlines, never sleeps as synchronisation.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define COORD_VEST "Authorization: Bearer coord-vest-secret-3\r\n"
#define COORD_NORD "Authorization: Bearer coord-nord-secret-5\r\n"
#define EHR_VEST   "Authorization: Bearer ehr-vest-secret-7\r\n"
#define E2E_EHR	   "Authorization: Bearer e2e-ehr\r\n"
#define ADMIN_VEST "Authorization: Bearer admin-vest-secret-11\r\n"
#define NO_TOKEN   "Authorization:\r\n"
#define SECRET	   "receiver-secret-0123456789-abcdefghij"
#define NODE_OK                                                                \
	(access("test/node/node_modules/fhir-kit-client/package.json",         \
		R_OK) == 0)

static const char *const quiet[] = {"--log-level", "warning", NULL};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (without sleeping through events) for a condition with a
 * deadline: poll() on nothing is the pause between looks. */
static void pause_ms(int ms)
{
	poll(NULL, 0, ms);
}

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

/* Runs a command; its exit status (-1 if it did not exit). */
static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* --- the validator
 * ------------------------------------------------------------
 */

static long validate(const char *path)
{
	char cmd[512], line[1024], summary[1024] = "";
	long checked = -1, errors = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "node test/node/fhir-validate.mjs %s 2>&1",
		 path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "resources checked:", 18) == 0)
			snprintf(summary, sizeof(summary), "%s", line);
		else
			fputs(line, stderr);
	}
	pclose(p);
	ck_assert_msg(sscanf(summary, "resources checked: %ld", &checked) == 1,
		      "no summary from the validator");
	ck_assert(strstr(summary, "errors: ") != NULL);
	ck_assert(sscanf(strstr(summary, "errors: "), "errors: %ld", &errors) ==
		  1);
	printf("fhir e2e validate %s: %s", path, summary);
	ck_assert_msg(errors == 0, "%s", summary);
	return checked;
}

/* --- the stock client's walk
 * ---------------------------------------------------
 */

START_TEST(test_fhir_walk)
{
	char prefix[64], out[] = "/tmp/painpath-fhir-walk-XXXXXX", cmd[1024];
	int fd = mkstemp(out);

	ck_assert_msg(NODE_OK, "run contrib/install-node-tools.sh");
	ck_assert(fd >= 0);
	close(fd);
	e2e_id(prefix, sizeof(prefix), "walk");
	snprintf(cmd, sizeof(cmd),
		 "node test/node/fhir-walk.mjs http://127.0.0.1:%d/fhir "
		 "e2e-ehr e2e-coord %s %s",
		 PORT, prefix, out);
	ck_assert_int_eq(run(cmd), 0);
	/* Every resource the client received validates. */
	ck_assert_int_gt(validate(out), 40);
	unlink(out);
}
END_TEST

/* --- every interaction the statement lists reaches its route ----------------
 */

static void check_reaches(const char *method, const char *path,
			  const char *body, const char *token)
{
	struct http_response r;
	int status = as(token, method, path, body, &r);
	const char *diag = e2e_str(r.json, "issue.0.diagnostics");

	ck_assert_msg(
		status != 405 && status != 0 &&
			(diag == NULL || strcmp(diag, "no such resource") != 0),
		"%s %s: %d %s", method, path, status, r.body);
	ck_assert_str_eq(e2e_str(r.json, "resourceType") ?: "-",
			 status < 300 ? e2e_str(r.json, "resourceType")
				      : "OperationOutcome");
	http_response_free(&r);
}

START_TEST(test_fhir_metadata_routes)
{
	struct http_response r;
	json_t *res;
	size_t i;

	ck_assert_int_eq(as(NULL, "GET", "/fhir/metadata", NULL, &r), 200);
	ck_assert_str_eq(e2e_str(r.json, "fhirVersion"), "4.0.1");
	res = e2e_at(r.json, "rest.0.resource");
	ck_assert_int_ge(json_array_size(res), 4);
	for (i = 0; i < json_array_size(res); i++) {
		json_t *row = json_array_get(res, i), *in;
		const char *type = e2e_str(row, "type");
		char path[128], by_id[160];
		size_t k;
		snprintf(path, sizeof(path), "/fhir/%s", type);
		snprintf(by_id, sizeof(by_id), "/fhir/%s/x", type);
		json_array_foreach(json_object_get(row, "interaction"), k, in)
		{
			const char *code = e2e_str(in, "code");
			if (strcmp(code, "read") == 0)
				check_reaches("GET", by_id, NULL, NULL);
			else if (strcmp(code, "search-type") == 0)
				check_reaches("GET", path, NULL, NULL);
			else if (strcmp(code, "create") == 0)
				check_reaches("POST", path, "{}", NULL);
			else if (strcmp(code, "update") == 0)
				check_reaches("PUT", by_id, "{}", NULL);
			else if (strcmp(code, "delete") == 0)
				check_reaches("DELETE", by_id, NULL, NULL);
			else
				ck_abort_msg("unknown interaction %s", code);
		}
	}
	check_reaches("POST", "/fhir", "{}", NULL);
	/* The custom search parameter's definition resolves. */
	http_response_free(&r);
	ck_assert_int_eq(as(NULL, "GET", "/fhir/SearchParameter/Task-deadline",
			    NULL, &r),
			 200);
	ck_assert_str_eq(e2e_str(r.json, "code"), "deadline");
	http_response_free(&r);
	/* An unknown path under /fhir answers in FHIR too. */
	ck_assert_int_eq(as(NULL, "GET", "/fhir/Patient/1", NULL, &r), 404);
	ck_assert_str_eq(e2e_str(r.json, "resourceType"), "OperationOutcome");
	http_response_free(&r);
}
END_TEST

/* --- roles, regions and the audit, on /v1 and /fhir alike -------------------
 */

/* A pathway in helse-vest with a referral to clinic: (pathway, patient). */
static void vest_pathway(char *pw, size_t pwlen, char *patient, size_t plen)
{
	struct http_response r;
	char eid[64];

	e2e_id(patient, plen, "fa");
	e2e_id(eid, sizeof(eid), "fa-open");
	ck_assert_int_eq(
		e2e_post(PORT, &r,
			 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-03-03T09:00:00+01:00\",\"model\":\"no\","
			 "\"region\":\"helse-vest\",\"unit\":\"gp-1\","
			 "\"data\":{\"age\":40}}",
			 eid, patient),
		201);
	snprintf(pw, pwlen, "%s", e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
	ck_assert_int_eq(e2e_event(PORT, patient, "referral.sent",
				   "2025-03-04T10:00:00+01:00",
				   "{\"to_level\":\"clinic\",\"to_unit\":"
				   "\"clinic-1\"}",
				   NULL),
			 201);
}

/* A path is its head, the pathway's id (when the head ends in '/'),
 * and its tail. */
struct access_case {
	const char *token;
	const char *method;
	const char *v1, *v1_tail;     /* on /v1 */
	const char *fhir, *fhir_tail; /* the same on /fhir */
	int status;		      /* both answer it */
};

static void path_of(char *out, size_t len, const char *head, const char *id,
		    const char *tail)
{
	bool with_id = head[strlen(head) - 1] == '/';

	snprintf(out, len, "%s%s%s", head, with_id ? id : "", tail);
}

START_TEST(test_fhir_access_as_v1)
{
	char pw[160], patient[64], episode[160], v1[512], fhir[512];
	struct http_response r;
	static const struct access_case cases[] = {
		{COORD_VEST, "GET", "/v1/pathways/", "", "/fhir/EpisodeOfCare/",
		 "", 200},
		{COORD_NORD, "GET", "/v1/pathways/", "", "/fhir/EpisodeOfCare/",
		 "", 404},
		{EHR_VEST, "GET", "/v1/pathways/", "", "/fhir/EpisodeOfCare/",
		 "", 403},
		{NO_TOKEN, "GET", "/v1/pathways/", "", "/fhir/EpisodeOfCare/",
		 "", 401},
		{COORD_NORD, "GET", "/v1/pathways/", "/transitions",
		 "/fhir/Task/", ".r2", 404},
		{COORD_VEST, "GET", "/v1/pathways/", "/transitions",
		 "/fhir/Task/", ".r2", 200},
		{COORD_VEST, "POST", "/v1/events", "", "/fhir/EpisodeOfCare",
		 "", 403},
		{NO_TOKEN, "POST", "/v1/events", "", "/fhir/ServiceRequest", "",
		 401},
	};

	vest_pathway(pw, sizeof(pw), patient, sizeof(patient));
	/* Our test ids need no escaping: the FHIR id is the pathway id. */
	snprintf(episode, sizeof(episode), "%s", pw);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct access_case *c = &cases[i];
		path_of(v1, sizeof(v1), c->v1, pw, c->v1_tail);
		path_of(fhir, sizeof(fhir), c->fhir, episode, c->fhir_tail);
		ck_assert_msg(as(c->token, c->method, v1, "{}", NULL) ==
				      c->status,
			      "/v1 case %zu", i);
		ck_assert_int_eq(as(c->token, c->method, fhir, "{}", &r),
				 c->status);
		if (c->status >= 400)
			ck_assert_str_eq(e2e_str(r.json, "resourceType"),
					 "OperationOutcome");
		http_response_free(&r);
	}
	/* Searches see the token's regions only. */
	snprintf(fhir, sizeof(fhir), "/fhir/EpisodeOfCare?patient=%s", patient);
	ck_assert_int_eq(as(COORD_NORD, "GET", fhir, NULL, &r), 200);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "total")), 0);
	http_response_free(&r);
	ck_assert_int_eq(as(COORD_VEST, "GET", fhir, NULL, &r), 200);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "total")), 1);
	http_response_free(&r);
	snprintf(fhir, sizeof(fhir), "/fhir/Task?patient=%s", patient);
	ck_assert_int_eq(as(COORD_NORD, "GET", fhir, NULL, &r), 200);
	ck_assert_ptr_null(e2e_at(r.json, "entry"));
	http_response_free(&r);
	/* The FHIR reads are audited like /v1's, by route. */
	snprintf(v1, sizeof(v1), "/v1/audit?patient_id=%s", patient);
	/* The audit rows name the pathway's region: helse-vest's own admin
	 * sees them (a region-scoped admin's audit read takes the rows
	 * within its regions only). */
	ck_assert_int_eq(as(ADMIN_VEST, "GET", v1, NULL, &r), 200);
	ck_assert_msg(strstr(r.body, "/fhir/EpisodeOfCare/:id") != NULL &&
			      strstr(r.body, "/fhir/Task/:id") != NULL &&
			      strstr(r.body, "/fhir/EpisodeOfCare\"") != NULL &&
			      strstr(r.body, "coord-vest") != NULL,
		      "%s", r.body);
	http_response_free(&r);
}
END_TEST

/* --- writes and Subscriptions from another region, on /fhir as on /v1 ------
 */

#define EHR_NORD_A "Authorization: Bearer ehr-nord-a-secret-17\r\n"

static void fhir_url(char *out, size_t len, const char *what)
{
	snprintf(out, len, "http://127.0.0.1:%d/fhir/%s", PORT, what);
}

/* A Norwegian EpisodeOfCare for patient in region (no identifier: its
 * event id is the hash of the resource, the same for every sender). */
static void episode_body(char *out, size_t len, const char *patient,
			 const char *region)
{
	char model[160], ext_region[160], ext_age[160];

	fhir_url(model, sizeof(model), "CodeSystem/painpath-model");
	fhir_url(ext_region, sizeof(ext_region),
		 "StructureDefinition/painpath-region");
	fhir_url(ext_age, sizeof(ext_age), "StructureDefinition/painpath-age");
	snprintf(
		out, len,
		"{\"resourceType\":\"EpisodeOfCare\",\"status\":\"active\","
		"\"type\":[{\"coding\":[{\"system\":\"%s\",\"code\":\"no\"}]}],"
		"\"patient\":{\"identifier\":{\"value\":\"%s\"}},"
		"\"managingOrganization\":{\"identifier\":{\"value\":"
		"\"gp-1\"}},\"period\":{\"start\":"
		"\"2025-03-03T09:15:00+01:00\"},\"extension\":[{\"url\":"
		"\"%s\",\"valueCode\":\"%s\"},{\"url\":\"%s\","
		"\"valueInteger\":40}]}",
		model, patient, ext_region, region, ext_age);
}

static void referral_body(char *out, size_t len, const char *patient)
{
	char level[160];

	fhir_url(level, sizeof(level), "CodeSystem/painpath-level");
	snprintf(out, len,
		 "{\"resourceType\":\"ServiceRequest\",\"status\":\"active\","
		 "\"intent\":\"order\",\"code\":{\"coding\":[{\"system\":"
		 "\"%s\",\"code\":\"clinic\"}]},\"subject\":{\"identifier\":"
		 "{\"value\":\"%s\"}},\"requester\":{\"identifier\":{"
		 "\"value\":\"gp-1\"}},\"performer\":[{\"identifier\":{"
		 "\"value\":\"clinic-1\"}}],\"authoredOn\":"
		 "\"2025-03-04T10:00:00+01:00\"}",
		 level, patient);
}

static int transitions_of(const char *patient)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM transitions t JOIN pathways p USING "
		 "(pathway_id) WHERE p.patient_id = '%s'",
		 patient);
	return e2e_count(sql);
}

/* A refusal on /fhir: the status, an OperationOutcome with issue code
 * and (if given) where, and nothing of the patient (nor, for a 404, of
 * the region). */
static void refused_as(const struct http_response *r, int status,
		       const char *code, const char *expression,
		       const char *patient)
{
	ck_assert_msg(r->status == status, "%d, not %d: %s", r->status, status,
		      r->body);
	ck_assert_str_eq(e2e_str(r->json, "resourceType"), "OperationOutcome");
	ck_assert_str_eq(e2e_str(r->json, "issue.0.code"), code);
	if (expression != NULL)
		ck_assert_msg(
			strncmp(e2e_str(r->json, "issue.0.expression.0") ?: "",
				expression, strlen(expression)) == 0,
			"%s", r->body);
	ck_assert_ptr_null(strstr(r->body, patient));
	/* A 403 names the region the request gave; a 404 shows nothing. */
	if (status == 404)
		ck_assert_msg(strstr(r->body, "helse-vest") == NULL, "%s",
			      r->body);
}

/* The /v1 answer to event type for patient, as token. */
static int v1_event_as(const char *token, const char *patient, const char *type,
		       const char *extra)
{
	char body[1024], eid[64];

	e2e_id(eid, sizeof(eid), "v1-other");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"%s\",\"patient_id\":\"%s\","
		 "\"occurred_at\":\"2025-03-06T08:00:00+01:00\"%s}",
		 eid, type, patient, extra);
	return as(token, "POST", "/v1/events", body, NULL);
}

/* An EHR of helse-nord writes into helse-vest: every write is answered as
 * /v1 answers the same event (404 for a pathway it cannot see, 403 for
 * opening in a region it does not cover), as an OperationOutcome that
 * shows nothing of the pathway, and nothing is recorded; the very same
 * request from helse-vest's EHR succeeds, so the refusal was the
 * region's. */
START_TEST(test_fhir_writes_from_another_region)
{
	char pw[160], patient[64], other[64], fresh[64], path[256];
	char body[4096], tx[8192], *task_text;
	struct http_response r;
	json_t *task;

	vest_pathway(pw, sizeof(pw), patient, sizeof(patient));

	/* 1. PUT Task (referral.received) into helse-vest: 404, as /v1. */
	snprintf(path, sizeof(path), "/fhir/Task/%s.r2", pw);
	ck_assert_int_eq(as(COORD_VEST, "GET", path, NULL, &r), 200);
	task = json_incref(r.json);
	http_response_free(&r);
	json_object_set_new(task, "status", json_string("received"));
	json_object_set_new(task, "lastModified",
			    json_string("2025-03-06T08:00:00+01:00"));
	task_text = json_dumps(task, JSON_COMPACT);
	json_decref(task);
	ck_assert_int_eq(
		v1_event_as(EHR_NORD_A, patient, "referral.received", ""), 404);
	as(EHR_NORD_A, "PUT", path, task_text, &r);
	refused_as(&r, 404, "not-found", NULL, patient);
	http_response_free(&r);
	ck_assert_int_eq(transitions_of(patient), 2);
	ck_assert_int_eq(as(EHR_VEST, "PUT", path, task_text, &r), 200);
	ck_assert_str_eq(e2e_str(r.json, "status"), "received");
	http_response_free(&r);
	ck_assert_int_eq(transitions_of(patient), 3);
	free(task_text);

	/* 2. POST ServiceRequest for a helse-vest patient: 404, as /v1. */
	e2e_id(other, sizeof(other), "fo-sr");
	e2e_id(path, sizeof(path), "fo-sr-open");
	ck_assert_int_eq(
		e2e_post(PORT, &r,
			 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-03-03T09:00:00+01:00\",\"model\":\"no\","
			 "\"region\":\"helse-vest\",\"unit\":\"gp-1\","
			 "\"data\":{\"age\":40}}",
			 path, other),
		201);
	http_response_free(&r);
	referral_body(body, sizeof(body), other);
	ck_assert_int_eq(v1_event_as(EHR_NORD_A, other, "referral.sent",
				     ",\"data\":{\"to_level\":\"clinic\"}"),
			 404);
	as(EHR_NORD_A, "POST", "/fhir/ServiceRequest", body, &r);
	refused_as(&r, 404, "not-found", NULL, other);
	http_response_free(&r);
	ck_assert_int_eq(transitions_of(other), 1);
	ck_assert_int_eq(
		as(EHR_VEST, "POST", "/fhir/ServiceRequest", body, NULL), 201);
	ck_assert_int_eq(transitions_of(other), 2);

	/* 3. POST EpisodeOfCare in helse-vest: 403, as /v1. */
	e2e_id(fresh, sizeof(fresh), "fo-eoc");
	episode_body(body, sizeof(body), fresh, "helse-vest");
	ck_assert_int_eq(v1_event_as(EHR_NORD_A, fresh, "pathway.opened",
				     ",\"model\":\"no\",\"region\":"
				     "\"helse-vest\",\"data\":{\"age\":40}"),
			 403);
	as(EHR_NORD_A, "POST", "/fhir/EpisodeOfCare", body, &r);
	refused_as(&r, 403, "forbidden", NULL, fresh);
	http_response_free(&r);
	ck_assert_int_eq(transitions_of(fresh), 0);

	/* 4. A transaction opening a helse-vest pathway and its referral:
	 * refused whole, naming the entry at fault; nothing of it
	 * recorded.  From helse-vest's EHR the same Bundle is 200. */
	{
		char ref[2048];
		referral_body(ref, sizeof(ref), fresh);
		snprintf(tx, sizeof(tx),
			 "{\"resourceType\":\"Bundle\",\"type\":"
			 "\"transaction\",\"entry\":[{\"resource\":%s,"
			 "\"request\":{\"method\":\"POST\",\"url\":"
			 "\"EpisodeOfCare\"}},{\"resource\":%s,\"request\":"
			 "{\"method\":\"POST\",\"url\":\"ServiceRequest\"}}]}",
			 body, ref);
	}
	as(EHR_NORD_A, "POST", "/fhir", tx, &r);
	refused_as(&r, 403, "forbidden", "Bundle.entry[0]", fresh);
	http_response_free(&r);
	ck_assert_int_eq(transitions_of(fresh), 0);
	/* A transaction moving helse-vest's Task: 404, nothing. */
	snprintf(path, sizeof(path), "/fhir/Task/%s.r2", pw);
	ck_assert_int_eq(as(COORD_VEST, "GET", path, NULL, &r), 200);
	task = json_incref(r.json);
	http_response_free(&r);
	json_object_set_new(task, "status", json_string("accepted"));
	/* Norway: accepting (on 12 March) sets the deadline for the start
	 * of care. */
	json_object_set_new(task, "lastModified",
			    json_string("2025-03-12T08:00:00+01:00"));
	json_object_set_new(
		task, "restriction",
		json_pack("{s:{s:s}}", "period", "end", "2025-06-02"));
	task_text = json_dumps(task, JSON_COMPACT);
	json_decref(task);
	{
		char moved[8192];
		snprintf(moved, sizeof(moved),
			 "{\"resourceType\":\"Bundle\",\"type\":"
			 "\"transaction\",\"entry\":[{\"resource\":%s,"
			 "\"request\":{\"method\":\"PUT\",\"url\":"
			 "\"Task/%s.r2\"}}]}",
			 task_text, pw);
		as(EHR_NORD_A, "POST", "/fhir", moved, &r);
		refused_as(&r, 404, "not-found", NULL, patient);
		http_response_free(&r);
		ck_assert_int_eq(transitions_of(patient), 3);
		as(EHR_VEST, "POST", "/fhir", moved, &r);
		ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
		ck_assert_str_eq(e2e_str(r.json, "type"),
				 "transaction-response");
		http_response_free(&r);
		ck_assert_int_eq(transitions_of(patient), 4);
	}
	free(task_text);
	ck_assert_int_eq(as(EHR_VEST, "POST", "/fhir", tx, &r), 200);
	ck_assert_str_eq(e2e_str(r.json, "type"), "transaction-response");
	http_response_free(&r);
	ck_assert_int_eq(transitions_of(fresh), 2);
}
END_TEST

/* Registers a Subscription on Task?patient=patient as token (nothing
 * listens at the endpoint: only the outbox rows are looked at). */
static void subscribe_patient(const char *token, const char *patient, char *id,
			      size_t len)
{
	struct http_response r;
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Subscription\",\"status\":\"requested\","
		 "\"reason\":\"e2e\",\"criteria\":\"Task?patient=%s\","
		 "\"channel\":{\"type\":\"rest-hook\",\"endpoint\":"
		 "\"http://127.0.0.1:9/hook\"}}",
		 patient);
	ck_assert_int_eq(as(token, "POST", "/fhir/Subscription", body, &r),
			 201);
	snprintf(id, len, "%s", e2e_str(r.json, "id"));
	http_response_free(&r);
}

static int outbox_rows_of(const char *sub)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM outbox WHERE subscription_id = '%s'",
		 sub);
	return e2e_count(sql);
}

/* Any role registers a Subscription (doc/fhir.md), so a coordinator or an
 * EHR of helse-nord may register one naming a helse-vest patient: 201.
 * What it may not do is learn anything of that patient -- as /v1 scopes
 * every read and the notification feed to the token's regions, the commit
 * path writes no outbox row of a helse-vest pathway for it, while a
 * helse-vest registrant's subscription on the same criteria gets one.
 * Nor may it read or remove another registrant's subscription (404). */
START_TEST(test_fhir_subscriptions_from_another_region)
{
	char pw[160], patient[64], nord[64], ehr_nord[64], vest[64];
	char path[128];
	struct http_response r;

	vest_pathway(pw, sizeof(pw), patient, sizeof(patient));
	subscribe_patient(COORD_NORD, patient, nord, sizeof(nord));
	subscribe_patient(EHR_NORD_A, patient, ehr_nord, sizeof(ehr_nord));
	subscribe_patient(COORD_VEST, patient, vest, sizeof(vest));
	/* The rows are written in the change's own transaction. */
	ck_assert_int_eq(e2e_event(PORT, patient, "referral.received",
				   "2025-03-06T08:00:00+01:00", NULL, NULL),
			 201);
	ck_assert_int_eq(outbox_rows_of(vest), 1);
	ck_assert_int_eq(outbox_rows_of(nord), 0);
	ck_assert_int_eq(outbox_rows_of(ehr_nord), 0);

	/* Another registrant's subscription: not found, not removed. */
	snprintf(path, sizeof(path), "/fhir/Subscription/%s", vest);
	ck_assert_int_eq(as(COORD_NORD, "GET", path, NULL, &r), 404);
	refused_as(&r, 404, "not-found", NULL, patient);
	http_response_free(&r);
	ck_assert_int_eq(as(COORD_NORD, "DELETE", path, NULL, &r), 404);
	refused_as(&r, 404, "not-found", NULL, patient);
	http_response_free(&r);
	snprintf(path, sizeof(path), "/fhir/Subscription?_id=%s", vest);
	ck_assert_int_eq(as(EHR_NORD_A, "GET", path, NULL, &r), 200);
	ck_assert_ptr_null(e2e_at(r.json, "entry"));
	http_response_free(&r);
	snprintf(path, sizeof(path), "/fhir/Subscription/%s", vest);
	ck_assert_int_eq(as(COORD_VEST, "GET", path, NULL, NULL), 200);
	ck_assert_int_eq(outbox_rows_of(vest), 1);

	/* Gone, with what they had not sent (an admin sees them all). */
	ck_assert_int_eq(as(NULL, "DELETE", path, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/fhir/Subscription/%s", nord);
	ck_assert_int_eq(as(NULL, "DELETE", path, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/fhir/Subscription/%s", ehr_nord);
	ck_assert_int_eq(as(NULL, "DELETE", path, NULL, NULL), 200);
	ck_assert_int_eq(outbox_rows_of(vest), 0);
}
END_TEST

/* --- Subscriptions: a real receiver ------------------------------------------
 */

struct receiver {
	pid_t pid;
	int port;
	char out[64];
	int delay_ms; /* before each answer */
};

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Starts the receiver and waits for its "listening" line. */
static void receiver_start(struct receiver *rc)
{
	int fds[2];
	char port[16], delay[16], line[64] = "";
	struct pollfd p;

	ck_assert_int_eq(pipe(fds), 0);
	snprintf(port, sizeof(port), "%d", rc->port);
	snprintf(delay, sizeof(delay), "%d", rc->delay_ms);
	rc->pid = fork();
	ck_assert(rc->pid >= 0);
	if (rc->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execlp("node", "node", "test/node/fhir-receiver.mjs", port,
		       SECRET, rc->out, delay, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	p = (struct pollfd){fds[0], POLLIN, 0};
	ck_assert_msg(poll(&p, 1, 30000) == 1 &&
			      read(fds[0], line, sizeof(line) - 1) > 0 &&
			      strstr(line, "listening") != NULL,
		      "the receiver did not start");
	close(fds[0]);
}

static void receiver_stop(struct receiver *rc)
{
	int status;

	if (rc->pid <= 0)
		return;
	kill(rc->pid, SIGTERM);
	waitpid(rc->pid, &status, 0);
	rc->pid = 0;
}

static void receiver_up(struct receiver *rc)
{
	int fd;

	ck_assert_msg(NODE_OK, "run contrib/install-node-tools.sh");
	rc->port = free_port();
	snprintf(rc->out, sizeof(rc->out), "/tmp/painpath-recv-XXXXXX");
	fd = mkstemp(rc->out);
	ck_assert(fd >= 0);
	close(fd);
	receiver_start(rc);
}

/* The receiver's lines that carry a Task with this status ("" for any
 * delivery), counted once verified. */
static int deliveries(const struct receiver *rc, const char *task_status,
		      int *refused)
{
	FILE *f = fopen(rc->out, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	if (refused)
		*refused = 0;
	while (f != NULL && getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		json_t *entries = e2e_at(j, "body.entry"), *e;
		size_t i;
		if (json_is_false(json_object_get(j, "ok")) && refused)
			(*refused)++;
		json_array_foreach(entries, i, e)
		{
			const char *type = e2e_str(e, "resource.resourceType");
			if (json_is_true(json_object_get(j, "ok")) && type &&
			    strcmp(type, "Task") == 0 &&
			    (task_status[0] == '\0' ||
			     strcmp(e2e_str(e, "resource.status"),
				    task_status) == 0))
				n++;
		}
		json_decref(j);
	}
	free(line);
	if (f)
		fclose(f);
	return n;
}

static void wait_delivered(const struct receiver *rc, const char *status,
			   int want)
{
	long long deadline = now_ms() + 60000;

	while (deliveries(rc, status, NULL) < want && now_ms() < deadline)
		pause_ms(50);
	ck_assert_msg(deliveries(rc, status, NULL) >= want,
		      "no delivery of a %s Task", status);
}

static const char *sub_status(const char *id, struct http_response *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/fhir/Subscription/%s", id);
	ck_assert_int_eq(as(E2E_EHR, "GET", path, NULL, r), 200);
	return e2e_str(r->json, "status");
}

static void wait_sub_status(const char *id, const char *want)
{
	long long deadline = now_ms() + 60000;
	struct http_response r;
	bool seen = false;

	while (!seen && now_ms() < deadline) {
		seen = strcmp(sub_status(id, &r), want) == 0;
		http_response_free(&r);
		if (!seen)
			pause_ms(50);
	}
	ck_assert_msg(seen, "the subscription never became %s", want);
}

static void subscribe_at(int port, const struct receiver *rc, const char *unit,
			 char *id, size_t len)
{
	struct http_response r;
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Subscription\",\"status\":\"requested\","
		 "\"reason\":\"e2e\",\"criteria\":\"Task?owner=%s\","
		 "\"channel\":{\"type\":\"rest-hook\",\"endpoint\":"
		 "\"http://127.0.0.1:%d/hook\",\"payload\":"
		 "\"application/fhir+json\"},\"extension\":[{\"url\":"
		 "\"http://127.0.0.1:%d/fhir/StructureDefinition/"
		 "painpath-signing-secret\",\"valueString\":\"" SECRET "\"}]}",
		 unit, rc->port, port);
	ck_assert_int_eq(http_request(port, "POST", "/fhir/Subscription", body,
				      E2E_EHR, &r),
			 201);
	ck_assert_str_eq(e2e_str(r.json, "status"), "requested");
	/* A secret the client chose is never shown back. */
	ck_assert_ptr_null(strstr(r.body, SECRET));
	snprintf(id, len, "%s", e2e_str(r.json, "id"));
	http_response_free(&r);
}

static void subscribe(const struct receiver *rc, const char *unit, char *id,
		      size_t len)
{
	subscribe_at(PORT, rc, unit, id, len);
}

static int post_event_to(int port, const char *patient, const char *type,
			 const char *at, const char *data)
{
	struct http_response r;
	char eid[64], body[1024];
	int status;

	e2e_id(eid, sizeof(eid), "sub-ev");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"%s\",\"patient_id\":\"%s\","
		 "\"occurred_at\":\"%s\",\"data\":%s}",
		 eid, type, patient, at, data);
	status = http_request(port, "POST", "/v1/events", body, NULL, &r);
	http_response_free(&r);
	return status;
}

/* The value on the metrics line that starts with prefix, or -1. */
static double metric_value(const char *body, const char *prefix)
{
	char line[256];
	const char *at;

	snprintf(line, sizeof(line), "\n%s", prefix);
	at = body ? strstr(body, line) : NULL;
	return at ? atof(at + strlen(line)) : -1;
}

START_TEST(test_fhir_subscription_delivery)
{
	struct receiver rc = {.pid = 0};
	struct daemon_instance other;
	char unit[64], patient[64], sub[64], eid[64], to[128];
	struct http_response r;
	int refused, fd;

	ck_assert_msg(NODE_OK, "run contrib/install-node-tools.sh");
	rc.port = free_port();
	snprintf(rc.out, sizeof(rc.out), "/tmp/painpath-recv-XXXXXX");
	fd = mkstemp(rc.out);
	ck_assert(fd >= 0);
	close(fd);
	receiver_start(&rc);
	e2e_id(unit, sizeof(unit), "sub-clinic");
	e2e_id(patient, sizeof(patient), "sub-p");
	subscribe(&rc, unit, sub, sizeof(sub));

	/* 1. A referral to the unit is delivered, signed. */
	e2e_id(eid, sizeof(eid), "sub-open");
	ck_assert_int_eq(
		e2e_post(PORT, &r,
			 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-03-03T09:00:00+01:00\",\"model\":\"se-adult\","
			 "\"region\":\"r3\",\"unit\":\"gp-1\","
			 "\"data\":{\"age\":40}}",
			 eid, patient),
		201);
	http_response_free(&r);
	snprintf(to, sizeof(to), "{\"to_level\":\"clinic\",\"to_unit\":\"%s\"}",
		 unit);
	ck_assert_int_eq(post_event_to(PORT, patient, "referral.sent",
				       "2025-03-04T10:00:00+01:00", to),
			 201);
	wait_delivered(&rc, "requested", 1);
	wait_sub_status(sub, "active");

	/* 2. A forged delivery is refused by the receiver. */
	{
		char hdr[256];
		snprintf(hdr, sizeof(hdr),
			 "X-Painpath-Signature: sha256=%064d\r\n", 0);
		ck_assert_int_eq(http_request(rc.port, "POST", "/hook",
					      "{\"resourceType\":\"Bundle\"}",
					      hdr, &r),
				 401);
		http_response_free(&r);
		deliveries(&rc, "", &refused);
		ck_assert_int_eq(refused, 1);
	}

	/* 3. The receiver down: retries, the subscription in error; back
	 * up: delivered, active again. */
	receiver_stop(&rc);
	ck_assert_int_eq(post_event_to(PORT, patient, "referral.received",
				       "2025-03-06T08:00:00+01:00", "{}"),
			 201);
	wait_sub_status(sub, "error");
	receiver_start(&rc);
	wait_delivered(&rc, "received", 1);
	wait_sub_status(sub, "active");
	/* An operator sees both in /metrics. */
	ck_assert_int_eq(http_request(PORT, "GET", "/metrics", NULL, NULL, &r),
			 200);
	ck_assert_double_ge(metric_value(r.body, "painpath_outbox_deliveries_"
						 "total{outcome=\"failed\"} "),
			    3);
	ck_assert_double_ge(
		metric_value(r.body, "painpath_outbox_deliveries_total{outcome="
				     "\"delivered\"} "),
		2);
	ck_assert_double_ge(metric_value(r.body, "painpath_outbox_backlog "),
			    0);
	http_response_free(&r);

	/* 4. Committed by a daemon killed before it could deliver: another
	 * daemon (or its restart) delivers it. */
	receiver_stop(&rc);
	ck_assert(harness_daemon_start(&other, e2e_pg.conninfo, quiet));
	ck_assert_int_eq(post_event_to(other.port, patient, "referral.accepted",
				       "2025-03-12T08:00:00+01:00", "{}"),
			 201);
	harness_daemon_kill(&other);
	receiver_start(&rc);
	wait_delivered(&rc, "accepted", 1);
	ck_assert(harness_daemon_start(&other, e2e_pg.conninfo, quiet));
	ck_assert_int_eq(harness_daemon_stop(&other), 0);

	/* In order per resource: requested, received, accepted. */
	{
		FILE *f = fopen(rc.out, "r");
		char *line = NULL, last[32] = "";
		size_t cap = 0;
		int rank = 0;
		static const char *const order[] = {"requested", "received",
						    "accepted"};
		while (f && getline(&line, &cap, f) > 0) {
			json_t *j = json_loads(line, 0, NULL);
			const char *st =
				e2e_str(j, "body.entry.0.resource.status");
			if (json_is_true(json_object_get(j, "ok")) && st) {
				while (rank < 3 && strcmp(order[rank], st) != 0)
					rank++;
				ck_assert_msg(rank < 3, "%s after %s", st,
					      last);
				snprintf(last, sizeof(last), "%s", st);
			}
			json_decref(j);
		}
		free(line);
		if (f)
			fclose(f);
	}
	printf("fhir e2e subscription: %d signed deliveries, %d forged "
	       "refused, outbox rows of it delivered %d\n",
	       deliveries(&rc, "", &refused), refused,
	       e2e_count("SELECT count(*) FROM outbox WHERE delivered_at IS "
			 "NOT NULL AND outcome = 'delivered'"));
	/* What was delivered validates too. */
	{
		char cmd[1024];
		snprintf(
			cmd, sizeof(cmd),
			"node -e \"const fs=require('fs');fs.readFileSync('%s',"
			"'utf8').trim().split('\\n').map(JSON.parse).filter("
			"l=>l.ok).forEach(l=>console.log(JSON.stringify(l.body)"
			"))\" > %s.bodies",
			rc.out, rc.out);
		ck_assert_int_eq(run(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s.bodies", rc.out);
		ck_assert_int_ge(validate(cmd), 3);
		unlink(cmd);
	}
	receiver_stop(&rc);
	unlink(rc.out);
}
END_TEST

/* The receiver's lines (each {ok, delivery, body}), in arrival order. */
static json_t *received(const struct receiver *rc)
{
	json_t *lines = json_array();
	FILE *f = fopen(rc->out, "r");
	char *line = NULL;
	size_t cap = 0;

	while (f != NULL && getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		ck_assert_msg(j != NULL, "%s", line);
		json_array_append_new(lines, j);
	}
	free(line);
	if (f)
		fclose(f);
	return lines;
}

/* The one line of delivery id: it must be there exactly once. */
static json_t *delivery_of(json_t *lines, const char *id)
{
	json_t *found = NULL, *l;
	size_t i;

	json_array_foreach(lines, i, l)
	{
		const char *d = e2e_str(l, "delivery");
		if (d != NULL && strcmp(d, id) == 0) {
			ck_assert_msg(found == NULL, "delivery %s twice", id);
			found = l;
		}
	}
	ck_assert_msg(found != NULL, "delivery %s never arrived", id);
	return found;
}

/* --- each notification is sent by exactly one daemon -----------------------
 */

#define STREAMS 12
static const char *const task_order[] = {"requested", "received", "accepted"};

/* One /v1 batch of an event of type for each patient, through port. */
static void batch_of(int port, char patients[][64], const char *type,
		     const char *at, const char *data)
{
	char body[16384], eid[64];
	size_t used = 0;
	struct http_response r;

	used += (size_t)snprintf(body, sizeof(body), "{\"events\":[");
	for (int i = 0; i < STREAMS; i++) {
		e2e_id(eid, sizeof(eid), "once-ev");
		used += (size_t)snprintf(
			body + used, sizeof(body) - used,
			"%s{\"event_id\":\"%s\",\"type\":\"%s\",\"patient_id\":"
			"\"%s\",\"occurred_at\":\"%s\",\"data\":%s}",
			i ? "," : "", eid, type, patients[i], at, data);
	}
	snprintf(body + used, sizeof(body) - used, "]}");
	ck_assert_int_eq(
		http_request(port, "POST", "/v1/events", body, NULL, &r), 200);
	for (int i = 0; i < STREAMS; i++)
		ck_assert_int_eq(
			json_integer_value(
				e2e_at(json_array_get(e2e_at(r.json, "results"),
						      (size_t)i),
				       "status")),
			201);
	http_response_free(&r);
}

static double delivered_by(int port)
{
	struct http_response r;
	double n;

	ck_assert_int_eq(http_request(port, "GET", "/metrics", NULL, NULL, &r),
			 200);
	n = metric_value(
		r.body,
		"painpath_outbox_deliveries_total{outcome=\"delivered\"} ");
	http_response_free(&r);
	return n;
}

/* Two daemons on one database, one Subscription, twelve pathways (one
 * stream each) moved three times: 36 notifications.  Each change is
 * committed for all twelve at once, and the receiver answers each
 * delivery 1.5 s late: a daemon holds at most eight deliveries in flight,
 * so the other daemon must take part.  Each notification arrives exactly
 * once (by delivery id), and each pathway's in order. */
START_TEST(test_fhir_two_daemons_deliver_once)
{
	struct pg_instance pg;
	struct daemon_instance d[2];
	struct receiver rc = {.pid = 0, .delay_ms = 1500};
	char unit[64], patients[STREAMS][64], sub[64], eid[64], to[128];
	char sql[512], *ids, *left = NULL, *save = NULL;
	long long deadline = now_ms() + 120000, last_id[STREAMS],
		  last_at[STREAMS];
	int rank[STREAMS], n = 0;
	double by[2];
	json_t *lines, *l;
	size_t i;

	receiver_up(&rc);
	ck_assert(harness_pg_start(&pg));
	for (int k = 0; k < 2; k++)
		ck_assert(harness_daemon_start(&d[k], pg.conninfo, quiet));
	e2e_id(unit, sizeof(unit), "once-clinic");
	subscribe_at(d[0].port, &rc, unit, sub, sizeof(sub));
	for (int k = 0; k < STREAMS; k++) {
		struct http_response r;
		e2e_id(patients[k], sizeof(patients[k]), "once-p");
		e2e_id(eid, sizeof(eid), "once-open");
		ck_assert_int_eq(
			e2e_post(
				d[k % 2].port, &r,
				"{\"event_id\":\"%s\",\"type\":"
				"\"pathway.opened\",\"patient_id\":\"%s\","
				"\"occurred_at\":\"2025-03-03T09:00:00+01:00\","
				"\"model\":\"se-adult\",\"region\":\"r3\","
				"\"unit\":\"gp-1\",\"data\":{\"age\":40}}",
				eid, patients[k]),
			201);
		http_response_free(&r);
		rank[k] = -1;
		last_at[k] = 0;
		last_id[k] = 0;
	}
	snprintf(to, sizeof(to), "{\"to_level\":\"clinic\",\"to_unit\":\"%s\"}",
		 unit);
	batch_of(d[1].port, patients, "referral.sent",
		 "2025-03-04T10:00:00+01:00", to);
	batch_of(d[0].port, patients, "referral.received",
		 "2025-03-06T08:00:00+01:00", "{}");
	batch_of(d[1].port, patients, "referral.accepted",
		 "2025-03-12T08:00:00+01:00", "{}");

	/* Every row of the subscription delivered (none dropped). */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FILTER (WHERE outcome IS DISTINCT FROM "
		 "'delivered') || '/' || count(*) FROM outbox WHERE "
		 "subscription_id = '%s'",
		 sub);
	do {
		free(left);
		left = harness_psql(&pg, sql);
		ck_assert_ptr_nonnull(left);
	} while (strcmp(left, "0/36") != 0 && now_ms() < deadline &&
		 (pause_ms(100), true));
	ck_assert_str_eq(left, "0/36");
	free(left);

	/* Exactly once: 36 lines, one per outbox row, each signed. */
	lines = received(&rc);
	ck_assert_int_eq(json_array_size(lines), 36);
	snprintf(sql, sizeof(sql),
		 "SELECT string_agg(outbox_id::text, ' ') FROM outbox WHERE "
		 "subscription_id = '%s'",
		 sub);
	ids = harness_psql(&pg, sql);
	ck_assert_ptr_nonnull(ids);
	for (char *id = strtok_r(ids, " ", &save); id != NULL;
	     id = strtok_r(NULL, " ", &save), n++)
		ck_assert(json_is_true(
			json_object_get(delivery_of(lines, id), "ok")));
	ck_assert_int_eq(n, 36);
	free(ids);

	/* In order per pathway: requested, received, accepted, with rising
	 * delivery ids, whatever daemon sent each; and one at a time: each
	 * arrives after the one before was answered (the receiver's delay
	 * later), never beside it. */
	json_array_foreach(lines, i, l)
	{
		const char *patient = e2e_str(
			l, "body.entry.0.resource.for.identifier.value");
		const char *status = e2e_str(l, "body.entry.0.resource.status");
		long long id = atoll(e2e_str(l, "delivery"));
		long long at = json_integer_value(json_object_get(l, "at"));
		int k = 0, want;
		ck_assert_ptr_nonnull(patient);
		ck_assert_ptr_nonnull(status);
		while (k < STREAMS && strcmp(patients[k], patient) != 0)
			k++;
		ck_assert_msg(k < STREAMS, "%s is no patient of ours", patient);
		want = ++rank[k];
		ck_assert_msg(want < 3 && strcmp(task_order[want], status) == 0,
			      "%s: %s arrived as notification %d", patient,
			      status, want + 1);
		ck_assert_msg(id > last_id[k], "%s: delivery %lld after %lld",
			      patient, id, last_id[k]);
		ck_assert_msg(want == 0 || at - last_at[k] >= rc.delay_ms,
			      "%s: %s arrived %lld ms after the one before, "
			      "before that was answered",
			      patient, status, at - last_at[k]);
		last_id[k] = id;
		last_at[k] = at;
	}
	for (int k = 0; k < STREAMS; k++)
		ck_assert_int_eq(rank[k], 2);

	/* Both daemons sent, and together exactly the 36. */
	by[0] = delivered_by(d[0].port);
	by[1] = delivered_by(d[1].port);
	printf("fhir e2e two daemons: %g + %g deliveries, each once\n", by[0],
	       by[1]);
	ck_assert_msg(by[0] > 0 && by[1] > 0, "%g + %g", by[0], by[1]);
	ck_assert(by[0] + by[1] == 36);
	json_decref(lines);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(harness_daemon_stop(&d[k]), 0);
	receiver_stop(&rc);
	harness_pg_destroy(&pg);
	unlink(rc.out);
}
END_TEST

/* A delivery shows the pathway's patient: its audit row named the
 * registrant's regions (every region the EHR's token covers) instead of
 * the pathway's, so the admin of the pathway's region, whose audit reads
 * take rows within its regions, never saw it. */
START_TEST(regression_delivery_audit_names_the_registrants_regions)
{
	struct receiver rc = {.pid = 0};
	char unit[64], patient[64], sub[64], eid[64], to[128], sql[512];
	struct http_response r;

	receiver_up(&rc);
	e2e_id(unit, sizeof(unit), "audit-clinic");
	e2e_id(patient, sizeof(patient), "audit-p");
	/* e2e-ehr covers every region of the suite. */
	subscribe(&rc, unit, sub, sizeof(sub));
	e2e_id(eid, sizeof(eid), "audit-open");
	ck_assert_int_eq(
		e2e_post(PORT, &r,
			 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-03-03T09:00:00+01:00\",\"model\":\"no\","
			 "\"region\":\"helse-vest\",\"unit\":\"gp-1\","
			 "\"data\":{\"age\":40}}",
			 eid, patient),
		201);
	http_response_free(&r);
	snprintf(to, sizeof(to), "{\"to_level\":\"clinic\",\"to_unit\":\"%s\"}",
		 unit);
	ck_assert_int_eq(post_event_to(PORT, patient, "referral.sent",
				       "2025-03-04T10:00:00+01:00", to),
			 201);
	wait_delivered(&rc, "requested", 1);
	/* The audit row is committed before the delivery leaves. */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE route = 'outbox' AND "
		 "token_id = 'e2e-ehr' AND patient_ids = ARRAY['%s'] AND "
		 "regions = ARRAY['helse-vest']",
		 patient);
	ck_assert_int_eq(e2e_count(sql), 1);
	snprintf(sql, sizeof(sql), "/v1/audit?patient_id=%s", patient);
	ck_assert_int_eq(as(ADMIN_VEST, "GET", sql, NULL, &r), 200);
	ck_assert_msg(strstr(r.body, "\"route\":\"outbox\"") != NULL, "%s",
		      r.body);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "/fhir/Subscription/%s", sub);
	ck_assert_int_eq(as(E2E_EHR, "DELETE", sql, NULL, NULL), 200);
	receiver_stop(&rc);
	unlink(rc.out);
}
END_TEST

/* --- the night's report, delivered (report_endpoints_file) ------------------
 */

#define NIGHT "2025-06-02"

/* A private cluster with daemons that deliver helse-vest's night report
 * as JSON and helse-midt's as CSV to one receiver; helse-nord has no
 * endpoint.  Private, so that no other test's daemon (whose config names
 * no endpoint) claims a report, and no other test's night is queued. */
struct night {
	struct pg_instance pg;
	struct daemon_instance d[2];
	int daemons;
	struct receiver rc;
	char dir[64];
	char vest[2][64], nord[64], midt[64];
};

static void night_start(struct night *n, const char *config, int daemons)
{
	char path[128], conf[128], log[128], text[1024];
	const char *flags[] = {"--config", conf, "--log-level", "warning",
			       NULL};
	struct daemon_options o = {.extra = flags, .log_path = log};

	memset(n, 0, sizeof(*n));
	receiver_up(&n->rc);
	e2e_temp_dir(n->dir, sizeof(n->dir));
	snprintf(path, sizeof(path), "%s/report-endpoints", n->dir);
	snprintf(text, sizeof(text),
		 "# region endpoint format secret\n"
		 "helse-vest http://127.0.0.1:%d/night/vest json " SECRET "\n"
		 "\n  helse-midt\thttp://127.0.0.1:%d/night/midt csv " SECRET
		 "\n",
		 n->rc.port, n->rc.port);
	e2e_write_text(path, text);
	snprintf(conf, sizeof(conf), "%s/painpath.conf", n->dir);
	snprintf(text, sizeof(text), "%sreport_endpoints_file = %s\n", config,
		 path);
	e2e_write_text(conf, text);
	snprintf(log, sizeof(log), "%s/daemon.log", n->dir);
	ck_assert(harness_pg_start(&n->pg));
	for (n->daemons = 0; n->daemons < daemons; n->daemons++)
		ck_assert_msg(harness_daemon_start_with(&n->d[n->daemons],
							n->pg.conninfo, &o),
			      "see %s", log);
}

static void night_stop(struct night *n)
{
	for (int i = 0; i < n->daemons; i++)
		ck_assert_int_eq(harness_daemon_stop(&n->d[i]), 0);
	receiver_stop(&n->rc);
	harness_pg_destroy(&n->pg);
	unlink(n->rc.out);
	e2e_remove_dir(n->dir);
}

static char *night_psql(const struct night *n, const char *sql)
{
	char *out = harness_psql(&n->pg, sql);

	ck_assert_msg(out != NULL, "%s", sql);
	return out;
}

/* A Danish pathway in region whose referral, sent on 2 May, is still in
 * transit: its transit clock fell due on 9 May, an item of every night
 * after. */
static void overdue_in(const struct night *n, const char *region, char *patient,
		       size_t len)
{
	struct http_response r;
	char eid[64];

	e2e_id(patient, len, "night-p");
	e2e_id(eid, sizeof(eid), "night-open");
	ck_assert_int_eq(
		e2e_post(n->d[0].port, &r,
			 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			 "\"patient_id\":\"%s\",\"occurred_at\":"
			 "\"2025-05-01T09:00:00+02:00\",\"model\":\"dk\","
			 "\"region\":\"%s\",\"unit\":\"gp-1\","
			 "\"data\":{\"age\":50}}",
			 eid, patient, region),
		201);
	http_response_free(&r);
	ck_assert_int_eq(e2e_event(n->d[0].port, patient, "referral.sent",
				   "2025-05-02T09:00:00+02:00",
				   "{\"to_level\":\"clinic\",\"to_unit\":"
				   "\"c-1\"}",
				   NULL),
			 201);
}

/* Two overdue referrals in helse-vest, one in helse-nord (no endpoint),
 * one in helse-midt; the night run by the last daemon (an admin's run:
 * the same run log row as the scheduler's). */
static void night_run(struct night *n)
{
	struct http_response r;

	overdue_in(n, "helse-vest", n->vest[0], sizeof(n->vest[0]));
	overdue_in(n, "helse-vest", n->vest[1], sizeof(n->vest[1]));
	overdue_in(n, "helse-nord", n->nord, sizeof(n->nord));
	overdue_in(n, "helse-midt", n->midt, sizeof(n->midt));
	ck_assert_int_eq(http_request(n->d[n->daemons - 1].port, "POST",
				      "/v1/escalations/run?date=" NIGHT, NULL,
				      NULL, &r),
			 200);
	ck_assert_int_eq(json_integer_value(e2e_at(r.json, "items")), 4);
	http_response_free(&r);
}

/* Polls until no report of the night is left undelivered; the rows of
 * the night's reports, "region:id" by region. */
static char *night_delivered(const struct night *n, const char *date)
{
	char sql[512], *left = NULL;
	long long deadline = now_ms() + 60000;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM outbox WHERE kind = 'report' AND "
		 "report_date = '%s' AND delivered_at IS NULL",
		 date);
	do {
		free(left);
		left = night_psql(n, sql);
	} while (strcmp(left, "0") != 0 && now_ms() < deadline &&
		 (pause_ms(50), true));
	ck_assert_msg(strcmp(left, "0") == 0, "%s report(s) undelivered", left);
	free(left);
	snprintf(sql, sizeof(sql),
		 "SELECT coalesce(string_agg(region || ':' || outbox_id || "
		 "':' || outcome, ',' ORDER BY region), '') FROM outbox WHERE "
		 "kind = 'report' AND report_date = '%s'",
		 date);
	return night_psql(n, sql);
}

/* "region:id:outcome" of the night's row of region. */
static const char *row_id(const char *rows, const char *region, char *id,
			  size_t len)
{
	char want[96];
	const char *at;

	snprintf(want, sizeof(want), "%s:", region);
	at = strstr(rows, want);
	if (at == NULL)
		return NULL;
	at += strlen(want);
	snprintf(id, len, "%.*s", (int)strcspn(at, ":"), at);
	return id;
}

START_TEST(test_fhir_report_delivery)
{
	struct night n;
	struct http_response r;
	char *rows, vest_id[32], midt_id[32], *csv, *save = NULL;
	json_t *lines, *vest, *midt, *it;
	const char *text;
	size_t i;
	int data_rows = 0;

	/* Two daemons with the same endpoints: the report goes out from
	 * one of them, once. */
	night_start(&n, "report_enabled = 0\n", 2);
	night_run(&n);
	rows = night_delivered(&n, NIGHT);
	/* Queued for the two regions with an endpoint, none for
	 * helse-nord; both taken by the receiver. */
	ck_assert_ptr_nonnull(
		row_id(rows, "helse-vest", vest_id, sizeof(vest_id)));
	ck_assert_ptr_nonnull(
		row_id(rows, "helse-midt", midt_id, sizeof(midt_id)));
	ck_assert_msg(strstr(rows, "helse-nord") == NULL &&
			      strstr(rows, "dropped") == NULL,
		      "%s", rows);
	lines = received(&n.rc);
	/* Exactly the two, each once, signed with the region's secret. */
	ck_assert_int_eq(json_array_size(lines), 2);
	vest = delivery_of(lines, vest_id);
	midt = delivery_of(lines, midt_id);
	ck_assert(json_is_true(json_object_get(vest, "ok")));
	ck_assert(json_is_true(json_object_get(midt, "ok")));
	ck_assert_ptr_null(e2e_str(vest, "subscription"));

	/* helse-vest's, as JSON: that night, that region, its two items and
	 * nothing else -- what GET /v1/escalations shows for the region. */
	ck_assert_str_eq(e2e_str(vest, "body.region"), "helse-vest");
	ck_assert_str_eq(e2e_str(vest, "body.date"), NIGHT);
	ck_assert_int_eq(json_array_size(e2e_at(vest, "body.items")), 2);
	json_array_foreach(e2e_at(vest, "body.items"), i, it)
	{
		const char *p = e2e_str(it, "patient_id");
		ck_assert_str_eq(e2e_str(it, "region"), "helse-vest");
		ck_assert_msg(strcmp(p, n.vest[0]) == 0 ||
				      strcmp(p, n.vest[1]) == 0,
			      "%s in helse-vest's report", p);
		ck_assert_str_eq(e2e_str(it, "rule"), "transit");
		ck_assert_str_eq(e2e_str(it, "due"), "2025-05-09");
	}
	ck_assert_int_eq(e2e_get(n.d[0].port, &r,
				 "/v1/escalations?date=" NIGHT
				 "&region=helse-vest"),
			 200);
	ck_assert(json_equal(e2e_at(r.json, "items"),
			     e2e_at(vest, "body.items")));
	http_response_free(&r);

	/* helse-midt's, as CSV: the header and its one row. */
	text = json_string_value(e2e_at(midt, "body"));
	ck_assert_ptr_nonnull(text);
	csv = strdup(text);
	for (char *line = strtok_r(csv, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *f[4], *fsave = NULL;
		int k = 0;
		if (data_rows++ == 0) {
			ck_assert(strncmp(line,
					  "id,pathway_id,patient_id,region,",
					  32) == 0);
			continue;
		}
		for (char *c = strtok_r(line, ",", &fsave); c && k < 4;
		     c = strtok_r(NULL, ",", &fsave))
			f[k++] = c;
		ck_assert_int_eq(k, 4);
		ck_assert_str_eq(f[2], n.midt);
		ck_assert_str_eq(f[3], "helse-midt");
	}
	ck_assert_int_eq(data_rows, 2);
	free(csv);

	/* helse-nord's patient is in no delivery. */
	json_array_foreach(lines, i, it)
	{
		char *dump = json_dumps(it, 0);
		ck_assert_ptr_null(strstr(dump, n.nord));
		free(dump);
	}
	printf("fhir e2e night report: %s delivered, one each\n", rows);
	free(rows);
	json_decref(lines);
	night_stop(&n);
}
END_TEST

/* The night a daemon runs at start (its report time has passed) was run
 * before the daemon wrote its report endpoints into report_endpoints (its
 * outbox's first turn, once the loop ran): on a first start with
 * report_endpoints_file, or with a region added to it, that night's
 * report was never queued. */
START_TEST(regression_missed_night_report_never_queued)
{
	struct night n;
	char *queued, *rows, id[32], *today;
	json_t *lines;

	night_start(&n,
		    "report_enabled = 1\nreport_time = 00:00\n"
		    "report_zone = Europe/Oslo\n",
		    1);
	/* Started means the missed night has run (before the ready fd). */
	today = night_psql(&n, "SELECT report_date::text FROM "
			       "escalation_run_log WHERE trigger = "
			       "'schedule'");
	queued = night_psql(&n, "SELECT coalesce(string_agg(region, ',' "
				"ORDER BY region), '') FROM outbox WHERE "
				"kind = 'report'");
	ck_assert_str_eq(queued, "helse-midt,helse-vest");
	rows = night_delivered(&n, today);
	lines = received(&n.rc);
	ck_assert_int_eq(json_array_size(lines), 2);
	ck_assert_ptr_nonnull(row_id(rows, "helse-vest", id, sizeof(id)));
	ck_assert_str_eq(e2e_str(delivery_of(lines, id), "body.date"), today);
	ck_assert_int_eq(
		json_array_size(e2e_at(delivery_of(lines, id), "body.items")),
		0);
	json_decref(lines);
	free(rows);
	free(queued);
	free(today);
	night_stop(&n);
}
END_TEST

/* A delivered report shows its region's patients: its audit row named no
 * region, so the region's own admin (who sees the reads of its region's
 * pathways) never saw it. */
START_TEST(regression_report_delivery_audit_without_region)
{
	struct night n;
	struct http_response r;
	char path[160], *rows, *regions;

	night_start(&n, "report_enabled = 0\n", 1);
	night_run(&n);
	rows = night_delivered(&n, NIGHT);
	regions = night_psql(&n, "SELECT string_agg(token_id || '=' || "
				 "coalesce(regions::text, 'NULL'), ',' ORDER "
				 "BY token_id) FROM audit_log WHERE route = "
				 "'outbox'");
	ck_assert_str_eq(regions, "report:helse-midt={helse-midt},"
				  "report:helse-vest={helse-vest}");
	snprintf(path, sizeof(path), "/v1/audit?patient_id=%s", n.vest[0]);
	ck_assert_int_eq(
		http_request(n.d[0].port, "GET", path, NULL, ADMIN_VEST, &r),
		200);
	ck_assert_msg(strstr(r.body, "\"route\":\"outbox\"") != NULL &&
			      strstr(r.body, "report:helse-vest") != NULL,
		      "%s", r.body);
	http_response_free(&r);
	/* helse-nord's patient was sent to no one. */
	snprintf(path, sizeof(path),
		 "SELECT count(*) FROM audit_log WHERE route = 'outbox' AND "
		 "patient_ids @> ARRAY['%s']",
		 n.nord);
	free(regions);
	regions = night_psql(&n, path);
	ck_assert_str_eq(regions, "0");
	free(regions);
	free(rows);
	night_stop(&n);
}
END_TEST

void e2e_add_fhir_tests(Suite *s)
{
	TCase *tc = e2e_tcase("fhir");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_fhir_metadata_routes);
	tcase_add_test(tc, test_fhir_access_as_v1);
	tcase_add_test(tc, test_fhir_writes_from_another_region);
	tcase_add_test(tc, test_fhir_subscriptions_from_another_region);
	tcase_add_test(tc, test_fhir_walk);
	tcase_add_test(tc, test_fhir_subscription_delivery);
	tcase_add_test(tc,
		       regression_delivery_audit_names_the_registrants_regions);
	tcase_add_test(tc, test_fhir_two_daemons_deliver_once);
	tcase_add_test(tc, test_fhir_report_delivery);
	tcase_add_test(tc, regression_missed_night_report_never_queued);
	tcase_add_test(tc, regression_report_delivery_audit_without_region);
	suite_add_tcase(s, tc);
}
