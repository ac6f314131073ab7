/*
 * Operations (issue 5): /metrics, the connection limit, SIGHUP reloads
 * (applied, or refused with the running config kept), the drain on
 * SIGTERM, and coordinators' reads from a streaming replica.
 *
 * Waiting on an asynchronous effect polls a counter the daemon exposes,
 * with a bound; no test sleeps in the hope that something happened.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "e2e.h"

#define POLL_LIMIT_MS 10000

static void nap(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

/* Polls until the metric reaches at least want; false on the bound. */
static bool metric_reaches(int port, const char *prefix, double want)
{
	for (int waited = 0; waited < POLL_LIMIT_MS; waited += 20) {
		if (e2e_metric(port, prefix) >= want)
			return true;
		nap();
	}
	return false;
}

START_TEST(metrics_count_requests_and_events)
{
	struct http_response r;
	char p[64], pw[160];
	double before, after;

	before = e2e_metric(PORT,
			    "painpath_events_total{type=\"pathway.opened\","
			    "outcome=\"accepted\"} ");
	e2e_id(p, sizeof(p), "metrics");
	e2e_open(PORT, p, "dk", NULL, pw, sizeof(pw));
	after = e2e_metric(PORT,
			   "painpath_events_total{type=\"pathway.opened\","
			   "outcome=\"accepted\"} ");
	ck_assert(after >= (before < 0 ? 0 : before) + 1);
	/* Prometheus text. */
	ck_assert_int_eq(http_request(PORT, "GET", "/metrics", NULL, NULL, &r),
			 200);
	ck_assert_ptr_nonnull(strstr(r.body, "painpath_http_requests_total{"
					     "method=\"POST\",route=\"/v1/"
					     "events\",status=\"201\"}"));
	ck_assert_ptr_nonnull(strstr(r.body, "painpath_http_request_seconds_"
					     "bucket{"));
	ck_assert_ptr_nonnull(strstr(r.body, "painpath_db_connections{pool="
					     "\"primary\",state=\"in_use\"}"));
	ck_assert_ptr_nonnull(strstr(r.body, "painpath_db_errors_total"));
	char *type = http_header(&r, "Content-Type");
	ck_assert(type && strncmp(type, "text/plain", 10) == 0);
	free(type);
	http_response_free(&r);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const phases[] = {"lease", "check", "decide", "write"};
#define NPHASES 4

static double phase_metric(const char *what, int phase)
{
	char prefix[96];

	snprintf(prefix, sizeof(prefix),
		 "painpath_commit_phase_seconds_%s{phase=\"%s\"} ", what,
		 phases[phase]);
	return e2e_metric(PORT, prefix);
}

/* An opening skips step 1 (lease, decide, write: one round trip); another
 * event goes through all four phases; an opening a unique index refuses
 * is rolled back and goes through step 1 in a group of its own, which
 * answers it.  Each phase is counted once per group that went through it,
 * and together they fit in the time the requests took. */
START_TEST(metrics_split_each_group_into_its_phases)
{
	static const int want[NPHASES] = {4, 2, 4, 4};
	double groups, unchecked, refused, count[NPHASES], sum[NPHASES];
	double began, elapsed, total = 0;
	struct http_response r;
	char p[64], pw[160], eid[80];

	groups = e2e_metric(PORT, "painpath_commit_groups_total ");
	unchecked = e2e_metric(PORT, "painpath_commit_unchecked_groups_total ");
	refused = e2e_metric(PORT, "painpath_commit_unchecked_refused_total ");
	for (int k = 0; k < NPHASES; k++) {
		count[k] = phase_metric("count", k);
		sum[k] = phase_metric("sum", k);
		ck_assert(count[k] >= 0 && sum[k] >= 0);
	}
	began = now_s();
	e2e_id(p, sizeof(p), "phases");
	e2e_open(PORT, p, "dk", NULL, pw, sizeof(pw));
	snprintf(eid, sizeof(eid), "%.63s-2", p);
	e2e_post(PORT, &r, E2E_OPENING, eid, p);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "pathway_exists");
	http_response_free(&r);
	ck_assert_int_eq(e2e_event(PORT, p, "pathway.closed",
				   "2025-01-08T09:00:00Z",
				   "{\"reason\":\"completed\"}", NULL),
			 201);
	elapsed = now_s() - began;
	ck_assert_double_eq(
		e2e_metric(PORT, "painpath_commit_groups_total ") - groups, 4);
	ck_assert_double_eq(
		e2e_metric(PORT, "painpath_commit_unchecked_groups_total ") -
			unchecked,
		2);
	ck_assert_double_eq(
		e2e_metric(PORT, "painpath_commit_unchecked_refused_total ") -
			refused,
		1);
	for (int k = 0; k < NPHASES; k++) {
		double spent = phase_metric("sum", k) - sum[k];
		ck_assert_msg(phase_metric("count", k) - count[k] == want[k],
			      "phase %s", phases[k]);
		/* The lease may be granted within the clock's tick. */
		ck_assert_msg(k == 0 /* lease */ ? spent >= 0 : spent > 0,
			      "phase %s: %f s", phases[k], spent);
		total += spent;
	}
	ck_assert_msg(total <= elapsed, "phases %f s, requests %f s", total,
		      elapsed);
}
END_TEST

/* /metrics' clinic figures: counted by the database in the background,
 * so a scrape polls until they show what was just recorded. */
static bool metrics_show(const char *const *lines, int n, char *last,
			 size_t len)
{
	struct http_response r;
	bool all = true;

	http_request(PORT, "GET", "/metrics", NULL, NULL, &r);
	for (int i = 0; i < n && all; i++)
		all = r.body != NULL && strstr(r.body, lines[i]) != NULL;
	snprintf(last, len, "%s", r.body ? r.body : "");
	http_response_free(&r);
	return all;
}

START_TEST(metrics_count_open_pathways_and_overdue_clocks)
{
	char region[64], a[96], b[96], c[96], lines[4][256], last[65536];
	const char *want[4] = {lines[0], lines[1], lines[2], lines[3]};
	struct http_response r;
	double give_up = now_s() + 60;
	struct timespec poll = {0, 20 * 1000 * 1000};
	bool seen = false;

	e2e_region(region, sizeof(region), "t");
	snprintf(a, sizeof(a), "%s-a", region);
	snprintf(b, sizeof(b), "%s-b", region);
	snprintf(c, sizeof(c), "%s-c", region);
	for (int i = 0; i < 3; i++) {
		const char *who = i == 0 ? a : i == 1 ? b : c;
		ck_assert_int_eq(
			e2e_post(PORT, &r,
				 "{\"event_id\":\"%s-open\",\"type\":\"pathway."
				 "opened\",\"patient_id\":\"%s\",\"occurred_"
				 "at\":"
				 "\"2025-05-01T09:00:00+02:00\",\"model\":"
				 "\"dk\","
				 "\"region\":\"%s\",\"unit\":\"gp-1\"}",
				 who, who, region),
			201);
		http_response_free(&r);
	}
	ck_assert_int_eq(e2e_event(PORT, b, "referral.sent",
				   "2025-05-02T09:00:00+02:00",
				   "{\"to_level\":\"clinic\",\"to_unit\":"
				   "\"c-1\"}",
				   NULL),
			 201);
	/* c's wait paused at the patient's request (Denmark's assessment). */
	ck_assert_int_eq(e2e_event(PORT, c, "referral.sent",
				   "2025-05-02T09:00:00+02:00",
				   "{\"to_level\":\"clinic\",\"to_unit\":"
				   "\"c-1\"}",
				   NULL),
			 201);
	ck_assert_int_eq(e2e_event(PORT, c, "referral.received",
				   "2025-05-03T09:00:00+02:00", "{}", NULL),
			 201);
	ck_assert_int_eq(e2e_event(PORT, c, "clock.paused",
				   "2025-05-04T09:00:00+02:00",
				   "{\"rule\":\"assessment\",\"reason\":"
				   "\"patient_requested\"}",
				   NULL),
			 201);
	snprintf(lines[3], sizeof(lines[3]),
		 "painpath_waits_paused{region=\"%s\"} 1\n", region);
	snprintf(lines[0], sizeof(lines[0]),
		 "painpath_open_pathways{region=\"%s\",phase=\"active\","
		 "level=\"gp\"} 1\n",
		 region);
	snprintf(lines[1], sizeof(lines[1]),
		 "painpath_open_pathways{region=\"%s\",phase=\"referred\","
		 "level=\"gp\"} 1\n",
		 region);
	snprintf(lines[2], sizeof(lines[2]),
		 "painpath_clocks_overdue{region=\"%s\",rule=\"transit\"} "
		 "1\n",
		 region);
	while (!(seen = metrics_show(want, 4, last, sizeof(last))) &&
	       now_s() < give_up)
		nanosleep(&poll, NULL);
	ck_assert_msg(seen, "metrics never showed %s: %.2000s", lines[0], last);
}
END_TEST

/* A keep-alive connection that has sent one request and stays open. */
static int open_kept(int port, int *status)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	char buf[2048];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	ck_assert(write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	*status = n > 12 ? atoi(buf + 9) : 0;
	return fd;
}

START_TEST(connection_limit_refuses_then_recovers)
{
	struct daemon_instance d;
	static const char *const two[] = {
		"--config", "test/data/two-connections.conf", NULL};
	int a, b, c, status;
	bool recovered = false;

	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, two));
	a = open_kept(d.port, &status);
	ck_assert_int_eq(status, 200);
	b = open_kept(d.port, &status);
	ck_assert_int_eq(status, 200);
	c = open_kept(d.port, &status);
	ck_assert_int_eq(status, 503);
	close(c);
	close(a);
	/* The closed connection's slot comes back. */
	for (int waited = 0; waited < POLL_LIMIT_MS && !recovered;
	     waited += 20) {
		c = open_kept(d.port, &status);
		close(c);
		recovered = status == 200;
		if (!recovered)
			nap();
	}
	ck_assert(recovered);
	close(b);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	ck_assert_int_eq(system(cmd), 0);
}

static int model_count(int port)
{
	struct http_response r;
	int n;

	ck_assert_int_eq(e2e_get(port, &r, "/v1/models"), 200);
	n = (int)json_array_size(e2e_at(r.json, "models"));
	http_response_free(&r);
	return n;
}

START_TEST(sighup_applies_valid_and_keeps_running_on_invalid)
{
	char dir[] = "/tmp/painpath-reload-XXXXXX", conf[128], models[128],
	     path[192], text[512];
	static const char *flags[3] = {"--config", NULL, NULL};
	struct daemon_instance d;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(models, sizeof(models), "%s/models", dir);
	ck_assert_int_eq(mkdir(models, 0755), 0);
	snprintf(path, sizeof(path), "%s/dk.json", models);
	copy_file("config/models/dk.json", path);
	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	snprintf(text, sizeof(text), "models_dir = %s\nreport_enabled = 0\n",
		 models);
	write_text(conf, text);
	flags[1] = conf;
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, flags));
	ck_assert_int_eq(model_count(d.port), 1);

	/* A valid change: a second model. */
	snprintf(path, sizeof(path), "%s/no.json", models);
	copy_file("config/models/no.json", path);
	kill(d.pid, SIGHUP);
	ck_assert(metric_reaches(
		d.port, "painpath_reloads_total{result=\"applied\"} ", 1));
	ck_assert_int_eq(model_count(d.port), 2);

	/* A broken model: refused, the two models stay, serving goes on. */
	snprintf(path, sizeof(path), "%s/se-adult.json", models);
	write_text(path, "{\"key\": \"se-adult\", \"levels\": 7}");
	kill(d.pid, SIGHUP);
	ck_assert(metric_reaches(
		d.port, "painpath_reloads_total{result=\"refused\"} ", 1));
	ck_assert_int_eq(model_count(d.port), 2);
	/* A broken config file too. */
	unlink(path);
	write_text(conf, "no_such_setting = 1\n");
	kill(d.pid, SIGHUP);
	ck_assert(metric_reaches(
		d.port, "painpath_reloads_total{result=\"refused\"} ", 2));
	ck_assert_int_eq(model_count(d.port), 2);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	snprintf(text, sizeof(text), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(text), 0);
}
END_TEST

START_TEST(sigterm_drains_requests_in_flight)
{
	struct daemon_instance d;
	struct http_response r;
	char *body = malloc(600 * 1024), p[64];
	size_t used;
	int fd;

	/* A batch of 500 events takes long enough to be caught in flight. */
	e2e_id(p, sizeof(p), "drain");
	used = (size_t)sprintf(body, "{\"events\":[");
	for (int i = 0; i < 500; i++)
		used += (size_t)sprintf(
			body + used,
			"%s{\"event_id\":\"%s-%d\",\"type\":\"pathway.opened\","
			"\"patient_id\":\"%s-%d\",\"occurred_at\":"
			"\"2025-01-07T09:00:00Z\",\"model\":\"dk\","
			"\"region\":\"drain\"}",
			i ? "," : "", p, i, p, i);
	sprintf(body + used, "]}");
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, NULL));
	/* Writes to transitions wait on this lock, so the batch is still in
	 * flight when the signal comes, however fast the machine. */
	PGconn *locker = PQconnectdb(e2e_pg.conninfo);
	ck_assert_int_eq(PQstatus(locker), CONNECTION_OK);
	PQclear(PQexec(locker, "BEGIN"));
	PQclear(PQexec(locker, "LOCK TABLE transitions IN EXCLUSIVE MODE"));
	fd = http_begin(d.port, "POST", "/v1/events", body, NULL);
	ck_assert_int_ge(fd, 0);
	/* The batch and the metrics request itself. */
	ck_assert(metric_reaches(d.port, "painpath_http_in_flight ", 2));
	kill(d.pid, SIGTERM);
	PQclear(PQexec(locker, "COMMIT"));
	PQfinish(locker);
	ck_assert_int_eq(http_end(fd, &r), 200);
	ck_assert_int_eq(json_array_size(e2e_at(r.json, "results")), 500);
	for (int i = 0; i < 500; i++) {
		char path[32];
		snprintf(path, sizeof(path), "results.%d.status", i);
		ck_assert_int_eq(json_integer_value(e2e_at(r.json, path)), 201);
	}
	http_response_free(&r);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	free(body);
}
END_TEST

START_TEST(coordinator_reads_can_go_to_a_replica)
{
	struct pg_instance primary, standby;
	struct daemon_instance d;
	struct http_response r;
	char read_flag[PATH_MAX + 64], p[64], pw[160], path[256];
	const char *flags[3] = {"--db-read", read_flag, NULL};
	bool seen = false;

	ck_assert(harness_pg_start(&primary));
	ck_assert(harness_pg_start_standby(&primary, &standby));
	snprintf(read_flag, sizeof(read_flag), "%s", standby.conninfo);
	ck_assert(harness_daemon_start(&d, primary.conninfo, flags));
	e2e_id(p, sizeof(p), "replica");
	e2e_open(d.port, p, "dk", NULL, pw, sizeof(pw));
	/* Streaming replication is asynchronous: the read shows the pathway
	 * once the standby has replayed it. */
	snprintf(path, sizeof(path), "/v1/pathways/%s", pw);
	for (int waited = 0; waited < POLL_LIMIT_MS && !seen; waited += 20) {
		http_request(d.port, "GET", path, NULL, NULL, &r);
		seen = r.status == 200;
		http_response_free(&r);
		if (!seen)
			nap();
	}
	ck_assert(seen);
	/* The read came from the replica; its audit row went to the
	 * primary (a standby refuses writes). */
	ck_assert(e2e_metric(d.port,
			     "painpath_db_queries_total{pool=\"read\"} ") > 0);
	/* A read by id is keyed: the standby's session planned it so. */
	ck_assert(
		e2e_metric(d.port,
			   "painpath_db_plan_switches_total{pool=\"read\"} ") >
		0);
	char *audited =
		harness_psql(&primary, "SELECT count(*) FROM audit_log WHERE "
				       "route = '/v1/pathways/:id'");
	ck_assert_ptr_nonnull(audited);
	ck_assert_int_ge(atoi(audited), 1);
	free(audited);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	harness_pg_destroy(&standby);
	harness_pg_destroy(&primary);
}
END_TEST

void e2e_add_ops_tests(Suite *s)
{
	TCase *tc = e2e_tcase("ops");

	tcase_add_test(tc, metrics_count_requests_and_events);
	tcase_add_test(tc, metrics_split_each_group_into_its_phases);
	tcase_add_test(tc, metrics_count_open_pathways_and_overdue_clocks);
	tcase_add_test(tc, connection_limit_refuses_then_recovers);
	tcase_add_test(tc, sighup_applies_valid_and_keeps_running_on_invalid);
	tcase_add_test(tc, sigterm_drains_requests_in_flight);
	tcase_add_test(tc, coordinator_reads_can_go_to_a_replica);
	suite_add_tcase(s, tc);
}
