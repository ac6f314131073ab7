/*
 * End-to-end tests: the real painpathd against a real PostgreSQL, both
 * started by the harness for this run, spoken to over HTTP.  Each test
 * uses its own patient ids (prefixed by the test's pid), so tests do not
 * see each other's pathways.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "harness.h"

struct pg_instance e2e_pg;
struct daemon_instance e2e_daemon;

static void suite_setup(void)
{
	if (!harness_pg_start(&e2e_pg))
		ck_abort_msg("cannot start PostgreSQL");
	if (!harness_daemon_start(&e2e_daemon, e2e_pg.conninfo, NULL))
		ck_abort_msg("cannot start painpathd");
}

/* The daemon must exit 0 after SIGTERM (under valgrind: also without
 * memory errors or leaks). */
static int suite_teardown(void)
{
	int status = harness_daemon_stop(&e2e_daemon);

	harness_pg_destroy(&e2e_pg);
	if (status != 0)
		fprintf(stderr, "painpathd exited with %d\n", status);
	return status;
}

void e2e_id(char *out, size_t len, const char *prefix)
{
	static int counter;

	snprintf(out, len, "%s-%ld-%d", prefix, (long)getpid(), ++counter);
}

int e2e_post(int port, struct http_response *r, const char *fmt, ...)
{
	char body[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	return http_request(port, "POST", "/v1/events", body, NULL, r);
}

int e2e_get(int port, struct http_response *r, const char *fmt, ...)
{
	char path[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return http_request(port, "GET", path, NULL, NULL, r);
}

const char *e2e_str(json_t *j, const char *path)
{
	json_t *v = j;
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && v;
	     k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k))
				     : json_object_get(v, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *e2e_at(json_t *j, const char *path)
{
	json_t *v = j;
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && v;
	     k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k))
				     : json_object_get(v, k);
	return v;
}

/* Opens a pathway and returns its id (static buffer per call site). */
void e2e_open(int port, const char *patient, const char *model,
	      const char *extra_data, char *pathway_id, size_t len)
{
	struct http_response r;
	char eid[64];

	e2e_id(eid, sizeof(eid), "open");
	e2e_post(port, &r,
		 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-01-06T09:00:00+01:00\",\"model\":\"%s\","
		 "\"region\":\"r1\",\"unit\":\"gp-1\",\"data\":{\"age\":40%s%s}"
		 "}",
		 eid, patient, model, extra_data ? "," : "",
		 extra_data ? extra_data : "");
	ck_assert_msg(r.status == 201, "open: %d %s", r.status, r.body);
	snprintf(pathway_id, len, "%s", e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
}

/* Posts an event of type with data for patient; returns the status. */
int e2e_event(int port, const char *patient, const char *type,
	      const char *occurred_at, const char *data,
	      struct http_response *out)
{
	struct http_response local;
	struct http_response *r = out ? out : &local;
	char eid[64];
	int status;

	e2e_id(eid, sizeof(eid), "ev");
	status = e2e_post(port, r,
			  "{\"event_id\":\"%s\",\"type\":\"%s\","
			  "\"patient_id\":\"%s\",\"occurred_at\":\"%s\","
			  "\"data\":%s}",
			  eid, type, patient, occurred_at, data ? data : "{}");
	if (out == NULL)
		http_response_free(&local);
	return status;
}

int e2e_count(const char *sql)
{
	char *out = harness_psql(&e2e_pg, sql);
	int n = out ? atoi(out) : -1;

	free(out);
	return n;
}

TCase *e2e_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 120);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("e2e");
	SRunner *sr;
	int failed;

	/* Every daemon of the suite reads the test tokens; requests carry
	 * the admin's unless a test says otherwise. */
	setenv("PAINPATH_TOKENS_FILE", "test/data/tokens.conf", 1);
	http_default_headers = "Authorization: Bearer dev-admin\r\n";
	/* One cluster and one daemon for the whole suite, in the parent. */
	e2e_add_core_tests(s);
	e2e_add_model_tests(s);
	e2e_add_hostile_tests(s);
	e2e_add_report_tests(s);
	e2e_add_auth_tests(s);
	e2e_add_ops_tests(s);
	e2e_add_fault_tests(s);
	e2e_add_http_tests(s);
	sr = srunner_create(s);
	suite_setup();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (suite_teardown() != 0)
		failed++;
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
