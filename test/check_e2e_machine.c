/*
 * The machine room (issue 15), end to end: SIGHUP applies the settings
 * that reload and names those that wait for a restart; log_format = json
 * makes every line of the daemon's log one JSON object, control
 * characters from clients included; --print-config and --version; the
 * command-line tool naming the argument at fault.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "e2e.h"
#include "harness.h"

static int post_batch(int port, int n, struct http_response *r)
{
	char body[4096], id[64];
	size_t used = (size_t)snprintf(body, sizeof(body), "{\"events\":[");

	for (int i = 0; i < n; i++) {
		e2e_id(id, sizeof(id), "machine");
		used += (size_t)snprintf(
			body + used, sizeof(body) - used,
			"%s{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
			"\"patient_id\":\"%s\",\"occurred_at\":"
			"\"2025-01-07T09:00:00Z\",\"model\":\"dk\","
			"\"region\":\"r1\"}",
			i ? "," : "", id, id);
	}
	snprintf(body + used, sizeof(body) - used, "]}");
	return http_request(port, "POST", "/v1/events", body, NULL, r);
}

/* SIGHUP: max_batch (reloads) takes effect; port and pool_size (restart)
 * keep their running values and the log names each of them. */
START_TEST(sighup_applies_reloadable_and_names_restart_keys)
{
	char dir[64], conf[128], log[128], text[512];
	const char *flags[] = {"--config", conf, NULL};
	struct daemon_instance d;
	struct http_response r;

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	setenv("PAINPATH_TEST_LOG", log, 1);
	e2e_write_text(conf,
		       "max_batch = 5\nreport_enabled = 0\npool_size = 4\n");
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, flags));
	ck_assert_int_eq(post_batch(d.port, 3, &r), 200);
	http_response_free(&r);

	snprintf(text, sizeof(text),
		 "max_batch = 2min\n"); /* wrong type: the reload is refused */
	e2e_write_text(conf, text);
	kill(d.pid, SIGHUP);
	e2e_wait_log(log, "reload refused");
	ck_assert(e2e_log_has(log, "max_batch must be an integer"));
	ck_assert_int_eq(post_batch(d.port, 3, &r), 200);
	http_response_free(&r);

	e2e_write_text(conf,
		       "max_batch = 2\nreport_enabled = 0\npool_size = 9\n"
		       "port = 1\n");
	kill(d.pid, SIGHUP);
	e2e_wait_log(log, "reloaded:");
	ck_assert(e2e_log_has(log, "reload: max_batch changed\n"));
	ck_assert(e2e_log_has(log, "reload: pool_size changed: ignored until "
				   "restart"));
	/* --port on the command line overrides the file: no change. */
	ck_assert(!e2e_log_has(log, "reload: port changed"));
	ck_assert_int_eq(post_batch(d.port, 3, &r), 413);
	ck_assert_msg(strstr(r.body, "at most 2 events") != NULL, "%s", r.body);
	http_response_free(&r);
	ck_assert_int_eq(post_batch(d.port, 2, &r), 200);
	http_response_free(&r);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	e2e_remove_dir(dir);
}
END_TEST

/* Every line of a JSON log parses, whatever clients sent and whatever
 * happened (start, requests, a refused request line, a refused and an
 * applied reload, drain), and control characters arrive escaped. */
START_TEST(json_log_is_one_object_per_line)
{
	char dir[64], conf[128], log[128], *text, *save = NULL;
	const char *flags[] = {"--config", conf, NULL};
	static const char raw[] = "GET /v1/pathways/x\x1b[2J\x1b]0;owned\x07 "
				  "HTTP/1.1\r\nHost: a\r\nAuthorization: "
				  "Bearer dev-admin\r\nConnection: "
				  "close\r\n\r\n";
	struct daemon_instance d;
	struct http_response r;
	int lines = 0;

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	setenv("PAINPATH_TEST_LOG", log, 1);
	e2e_write_text(conf, "log_format = json\nlog_level = debug\n"
			     "report_enabled = 0\n");
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, flags));
	http_raw(d.port, raw, sizeof(raw) - 1, 5000, &r);
	http_response_free(&r);
	ck_assert_int_eq(post_batch(d.port, 1, &r), 200);
	http_response_free(&r);
	/* Text an operator wrote, logged back: a key with terminal escapes
	 * is refused and named in the log. */
	e2e_write_text(conf, "log_format = json\n\x1b]0;owned\x07 = 1\n");
	kill(d.pid, SIGHUP);
	e2e_wait_log(log, "reload refused");
	e2e_write_text(conf, "log_format = json\nreport_enabled = 0\n");
	kill(d.pid, SIGHUP);
	e2e_wait_log(log, "\"msg\":\"reloaded:");
	ck_assert_int_eq(harness_daemon_stop(&d), 0);

	text = e2e_read_text(log);
	ck_assert_msg(strchr(text, '\x1b') == NULL &&
			      strchr(text, '\x07') == NULL,
		      "a raw control character in the log");
	/* The client's request line was logged (refused), the operator's
	 * bad key too, escaped. */
	ck_assert_msg(strstr(text, "-> 400") || strstr(text, "\"status\":400"),
		      "%s", text);
	ck_assert_msg(strstr(text, "unknown setting \\\"\\u001b]0;owned"
				   "\\u0007\\\""),
		      "%s", text);
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t error;
		json_t *j = json_loads(line, 0, &error);

		ck_assert_msg(j != NULL, "not JSON (%s): %s", error.text, line);
		ck_assert_msg(
			json_is_string(json_object_get(j, "ts")) &&
				json_is_string(json_object_get(j, "level")) &&
				json_is_string(json_object_get(j, "msg")),
			"without ts, level or msg: %s", line);
		json_decref(j);
		lines++;
	}
	/* Start, requests, reload and stop each said something. */
	ck_assert_int_ge(lines, 6);
	free(text);
	e2e_remove_dir(dir);
}
END_TEST

/* Runs argv, returning the exit status; stdout and stderr into out. */
static int run(const char *const *argv, char *out, size_t len)
{
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *cli(void)
{
	const char *bin = getenv("PAINPATH_CLI");

	return bin ? bin : "build/painpath";
}

static const char *daemon_bin(void)
{
	const char *bin = getenv("PAINPATHD");

	return bin ? bin : "build/painpathd";
}

/* Each refusal names what is wrong (a regression: `report --date
 * 2026-13-01` printed only the usage). */
START_TEST(cli_names_the_wrong_argument)
{
	static const struct {
		const char *args[6];
		const char *says;
	} cases[] = {
		{{"report", "--date", "2026-13-01"},
		 "painpath: report: --date \"2026-13-01\" is not a date"},
		{{"report", "--date", "2025-02-29"},
		 "--date \"2025-02-29\" is not a date"},
		{{"report"}, "painpath: report: --date is required"},
		{{"report", "--date", "2025-01-01", "--format", "xml"},
		 "--format must be json or csv, not \"xml\""},
		{{"report", "--date"},
		 "painpath: report: --date needs a value"},
		{{"report", "--bogus"}, "unknown option \"--bogus\""},
		{{"report", "--date", "2025-01-01", "extra"},
		 "unexpected argument \"extra\""},
		{{"migrate", "stray"},
		 "painpath: migrate: unexpected argument"},
		{{"hash-token"}, "painpath: hash-token: takes exactly one"},
		{{"check-models", "a", "b"}, "unexpected argument \"b\""},
		{{"frobnicate"}, "painpath: frobnicate: unknown command"},
	};
	char out[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[8] = {cli()};

		for (int k = 0; cases[i].args[k]; k++)
			argv[k + 1] = cases[i].args[k];
		ck_assert_int_eq(run(argv, out, sizeof(out)), 2);
		ck_assert_msg(strstr(out, cases[i].says) != NULL,
			      "case %zu: want \"%s\" in: %s", i, cases[i].says,
			      out);
		ck_assert_msg(strstr(out, "usage:") != NULL, "no usage: %s",
			      out);
	}
}
END_TEST

START_TEST(both_binaries_say_one_version)
{
	const char *d[] = {daemon_bin(), "--version", NULL};
	const char *c[] = {cli(), "--version", NULL};
	char dv[256], cv[256];

	ck_assert_int_eq(run(d, dv, sizeof(dv)), 0);
	ck_assert_int_eq(run(c, cv, sizeof(cv)), 0);
	ck_assert_msg(strncmp(dv, "painpathd ", 10) == 0, "%s", dv);
	ck_assert_msg(strncmp(cv, "painpath ", 9) == 0, "%s", cv);
	ck_assert_str_eq(dv + 10, cv + 9);
	ck_assert_msg(strlen(dv + 10) > 1 && dv[strlen(dv) - 1] == '\n', "%s",
		      dv);
}
END_TEST

/* What the daemon makes of a file and the flags, without starting. */
START_TEST(print_config_shows_effective_values)
{
	char dir[64], conf[128], out[8192];
	const char *argv[] = {daemon_bin(), "--config",	      conf, "--port",
			      "9191",	    "--print-config", NULL};

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	e2e_write_text(conf, "request_timeout_s = 2min\nreport_time = 7:30\n"
			     "port = 1\nbehind_tls_proxy = yes\n");
	ck_assert_int_eq(run(argv, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "\nrequest_timeout_s = 120\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nreport_time = 07:30\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nport = 9191\n"), "%s", out);
	ck_assert_msg(strstr(out, "\nbehind_tls_proxy = 1\n"), "%s", out);
	e2e_write_text(conf, "\nrequest_timeout_s = 1500ms\n");
	ck_assert_int_eq(run(argv, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "painpath.conf:2: request_timeout_s must be "
				  "a whole number of seconds"),
		      "%s", out);
	e2e_remove_dir(dir);
}
END_TEST

void e2e_add_machine_tests(Suite *s)
{
	TCase *tc = e2e_tcase("machine");

	tcase_add_test(tc, sighup_applies_reloadable_and_names_restart_keys);
	tcase_add_test(tc, json_log_is_one_object_per_line);
	tcase_add_test(tc, cli_names_the_wrong_argument);
	tcase_add_test(tc, both_binaries_say_one_version);
	tcase_add_test(tc, print_config_shows_effective_values);
	suite_add_tcase(s, tc);
}
