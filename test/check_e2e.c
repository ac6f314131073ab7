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
#include <sys/mman.h>
#include <time.h>
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

void e2e_assert_replayed(int port, const char *token, const char *body,
			 const struct http_response *first)
{
	struct http_response again;
	char *replay;

	ck_assert_int_eq(
		http_request(port, "POST", "/v1/events", body, token, &again),
		200);
	replay = http_header(&again, "Idempotent-Replay");
	ck_assert_ptr_nonnull(replay);
	ck_assert_str_eq(replay, "true");
	free(replay);
	ck_assert_str_eq(again.body, first->body);
	http_response_free(&again);
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

double e2e_metric(int port, const char *prefix)
{
	struct http_response r;
	double value = -1;
	char line[256];
	const char *at;

	/* At a line's start: "# TYPE <name> gauge" must not match. */
	snprintf(line, sizeof(line), "\n%s", prefix);
	http_request(port, "GET", "/metrics", NULL, NULL, &r);
	if (r.status == 200 && (at = strstr(r.body, line)) != NULL)
		value = atof(at + strlen(line));
	http_response_free(&r);
	return value;
}

/* --- files of a test's own daemon ---------------------------------------- */

void e2e_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

char *e2e_read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long len;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), len);
	fclose(f);
	return text;
}

/* A private directory for one test's config and log. */
void e2e_temp_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/painpath-e2e-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

void e2e_remove_dir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

bool e2e_log_has(const char *path, const char *text)
{
	char *log = e2e_read_text(path);
	bool yes = strstr(log, text) != NULL;

	free(log);
	return yes;
}

/* Polls the log for text: the daemon writes it from its own loop. */
void e2e_wait_log(const char *path, const char *text)
{
	const struct timespec pause = {0, 20 * 1000 * 1000};

	for (int waited = 0; waited < E2E_POLL_LIMIT_MS; waited += 20) {
		if (e2e_log_has(path, text))
			return;
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("no \"%s\" in the daemon's log %s", text, path);
}

TCase *e2e_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 120);
	return tc;
}

/* The regions the suites use: fixed ones, and pools from which e2e_region
 * hands one to each test that wants a region of its own.  A token holds
 * at most AUTH_MAX_REGIONS (64): the fixed ones and the pools together
 * stay within it. */
static const char *const fixed_regions[] = {
	"r",	     "r0",    "r1",	      "r2",	    "r3",
	"r4",	     "r5",    "r6",	      "r7",	    "r8",
	"r9",	     "drain", "hostile-deep", "helse-vest", "helse-nord",
	"helse-midt"};
static const struct {
	const char *prefix;
	int size;
} pooled_regions[] = {{"esc", 10}, {"wl", 6}, {"wait", 8}, {"t", 20}};

/* Counts shared by every forked test (Check runs each in a child), so
 * no two tests get the same region. */
static int *next_region;

void e2e_region(char *out, size_t len, const char *prefix)
{
	int *next = next_region;

	ck_assert_ptr_nonnull(next);
	for (size_t i = 0; i < sizeof(pooled_regions) / sizeof(*pooled_regions);
	     i++)
		if (strcmp(prefix, pooled_regions[i].prefix) == 0) {
			ck_assert_msg(next[i] < pooled_regions[i].size,
				      "region pool %s is used up", prefix);
			snprintf(out, len, "%s-%d", prefix, ++next[i]);
			return;
		}
	ck_abort_msg("no region pool %s", prefix);
}

/*
 * Real installations scope every token to its regions, and the all-region
 * development tokens hid a defect that only a scoped token showed (issue
 * 10).  The suite's own tokens -- one per role -- cover exactly the
 * regions the tests use; requests carry the scoped admin's unless a test
 * says otherwise.  Written beside the shared test tokens, into a file of
 * this run.
 */
static char tokens_path[64];

static void write_scoped_tokens(void)
{
	static const char *const roles[][2] = {{"e2e-ehr", "ehr"},
					       {"e2e-coord", "coordinator"},
					       {"e2e-admin", "admin"}};
	char regions[2048] = "";
	size_t used = 0;
	FILE *in = fopen("test/data/tokens.conf", "r"), *out;
	char line[1024];
	int fd;

	snprintf(tokens_path, sizeof(tokens_path),
		 "/tmp/painpath-tokens-XXXXXX");
	fd = mkstemp(tokens_path);
	if (in == NULL || fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		perror("e2e tokens");
		exit(EXIT_FAILURE);
	}
	while (fgets(line, sizeof(line), in) != NULL)
		fputs(line, out);
	fclose(in);
	for (size_t i = 0; i < sizeof(fixed_regions) / sizeof(*fixed_regions);
	     i++)
		used += (size_t)snprintf(regions + used, sizeof(regions) - used,
					 "%s%s", used ? "," : "",
					 fixed_regions[i]);
	for (size_t i = 0; i < sizeof(pooled_regions) / sizeof(*pooled_regions);
	     i++)
		for (int k = 1; k <= pooled_regions[i].size; k++)
			used += (size_t)snprintf(
				regions + used, sizeof(regions) - used,
				",%s-%d", pooled_regions[i].prefix, k);
	for (size_t i = 0; i < 3; i++)
		fprintf(out, "%s %s %s plain:%s\n", roles[i][0], roles[i][1],
			regions, roles[i][0]);
	/* The coordinators' page's own token: a region of each country of
	 * its own (the browser test writes them with a development token),
	 * so that every figure the page shows is of that test's pathways. */
	fprintf(out,
		"e2e-dash coordinator " E2E_DASH_REGIONS " plain:e2e-dash\n");
	fclose(out);
}

int main(void)
{
	Suite *s = suite_create("e2e");
	SRunner *sr;
	int failed;

	next_region = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (next_region == MAP_FAILED) {
		perror("mmap");
		return EXIT_FAILURE;
	}
	write_scoped_tokens();
	setenv("PAINPATH_TOKENS_FILE", tokens_path, 1);
	http_default_headers = "Authorization: Bearer e2e-admin\r\n";
	/* One cluster and one daemon for the whole suite, in the parent. */
	e2e_add_core_tests(s);
	e2e_add_model_tests(s);
	e2e_add_hostile_tests(s);
	e2e_add_report_tests(s);
	e2e_add_auth_tests(s);
	e2e_add_ops_tests(s);
	e2e_add_fault_tests(s);
	e2e_add_http_tests(s);
	e2e_add_review_tests(s);
	e2e_add_correction_tests(s);
	e2e_add_fhir_tests(s);
	e2e_add_machine_tests(s);
	e2e_add_tls_tests(s);
	e2e_add_stats_tests(s);
	e2e_add_dashboard_tests(s);
	e2e_add_openapi_tests(s);
	sr = srunner_create(s);
	suite_setup();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (suite_teardown() != 0)
		failed++;
	unlink(tokens_path);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
