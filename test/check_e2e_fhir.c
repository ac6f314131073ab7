/*
 * FHIR R4 end to end (issue 13): the real daemon on the harness's
 * PostgreSQL, spoken to by a stock FHIR client (test/node/fhir-walk.mjs),
 * its resources checked by an independent validator, Subscriptions
 * delivered to a real receiver on loopback (test/node/fhir-receiver.mjs)
 * through an outage and a daemon killed with SIGKILL, and the tokens'
 * roles, regions and the read audit held on /fhir as on /v1.
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
	/* An all-region admin: query.c's audit rows carry no regions yet,
	 * which a region-scoped admin's audit read leaves out. */
	ck_assert_int_eq(
		as("Authorization: Bearer dev-admin\r\n", "GET", v1, NULL, &r),
		200);
	ck_assert_msg(strstr(r.body, "/fhir/EpisodeOfCare/:id") != NULL &&
			      strstr(r.body, "/fhir/Task/:id") != NULL &&
			      strstr(r.body, "/fhir/EpisodeOfCare\"") != NULL &&
			      strstr(r.body, "coord-vest") != NULL,
		      "%s", r.body);
	http_response_free(&r);
}
END_TEST

/* --- Subscriptions: a real receiver ------------------------------------------
 */

struct receiver {
	pid_t pid;
	int port;
	char out[64];
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
	char port[16], line[64] = "";
	struct pollfd p;

	ck_assert_int_eq(pipe(fds), 0);
	snprintf(port, sizeof(port), "%d", rc->port);
	rc->pid = fork();
	ck_assert(rc->pid >= 0);
	if (rc->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execlp("node", "node", "test/node/fhir-receiver.mjs", port,
		       SECRET, rc->out, (char *)NULL);
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

static void subscribe(const struct receiver *rc, const char *unit, char *id,
		      size_t len)
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
		 unit, rc->port, PORT);
	ck_assert_int_eq(as(E2E_EHR, "POST", "/fhir/Subscription", body, &r),
			 201);
	ck_assert_str_eq(e2e_str(r.json, "status"), "requested");
	/* A secret the client chose is never shown back. */
	ck_assert_ptr_null(strstr(r.body, SECRET));
	snprintf(id, len, "%s", e2e_str(r.json, "id"));
	http_response_free(&r);
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

void e2e_add_fhir_tests(Suite *s)
{
	TCase *tc = e2e_tcase("fhir");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_fhir_metadata_routes);
	tcase_add_test(tc, test_fhir_access_as_v1);
	tcase_add_test(tc, test_fhir_walk);
	tcase_add_test(tc, test_fhir_subscription_delivery);
	suite_add_tcase(s, tc);
}
