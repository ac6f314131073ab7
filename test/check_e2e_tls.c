/*
 * What the daemon shows to the network (issue 15, issue 10 #8): HTTPS with
 * a certificate the test makes under a CA of its own, seen by stock clients
 * (curl --cacert, openssl s_client); the certificate read again on SIGHUP,
 * a broken one refused with the running one kept; plain HTTP beyond
 * loopback refused unless a TLS proxy is said to be in front; /metrics
 * behind a token unless metrics_allow names the scraper's network.
 */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"
#include "harness.h"

/* One region-bound token stored as a hash (test/data/tokens.conf), so a
 * daemon off loopback accepts the file. */
#define HASHED_TOKEN                                                           \
	"coord-vest coordinator helse-vest "                                   \
	"sha256:6f0c5b6961134d51f790ffc4294e01bed0349631cb629138e3ea396df91c2" \
	"3b4\n"

static int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int shell(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first line a command prints, or "" (never NULL). */
static void shell_line(char *out, size_t len, const char *cmd)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	ck_assert_ptr_nonnull(p);
	if (fgets(out, (int)len, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* A CA, and a server certificate for 127.0.0.1 named cn, signed by it:
 * dir/ca.pem, dir/<name>.pem, dir/<name>.key. */
static void make_ca(const char *dir)
{
	ck_assert_int_eq(
		shell("cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
		      "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
		      "/CN=painpath-test-ca -keyout ca.key -out ca.pem "
		      ">/dev/null 2>&1",
		      dir),
		0);
}

static void make_cert(const char *dir, const char *name)
{
	ck_assert_int_eq(
		shell("cd '%s' && printf 'subjectAltName=IP:127.0.0.1\\n' "
		      ">san.ext && openssl req -newkey ec -pkeyopt "
		      "ec_paramgen_curve:prime256v1 -nodes -subj /CN=%s "
		      "-keyout %s.key -out %s.csr >/dev/null 2>&1 && openssl "
		      "x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
		      "-CAcreateserial -days 2 -extfile san.ext -out %s.pem "
		      ">/dev/null 2>&1",
		      dir, name, name, name, name, name),
		0);
}

/* The subject of the certificate the daemon presents, verified by the
 * test's CA ("" when the handshake or the verification fails). */
static void served_subject(const char *dir, int port, char *out, size_t len)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "openssl s_client -connect 127.0.0.1:%d -CAfile '%s/ca.pem' "
		 "-verify_return_error </dev/null 2>/dev/null | openssl x509 "
		 "-noout -subject 2>/dev/null",
		 port, dir);
	shell_line(out, len, cmd);
}

static int curl_status(const char *dir, int port, const char *options)
{
	char cmd[512], line[64];

	snprintf(cmd, sizeof(cmd),
		 "curl -s -o /dev/null -w '%%{http_code}' --cacert "
		 "'%s/ca.pem' %s https://127.0.0.1:%d/healthz",
		 dir, options, port);
	shell_line(line, sizeof(line), cmd);
	return atoi(line);
}

/* A daemon with dir/painpath.conf holding config, logging to
 * dir/daemon.log; false when it did not start. */
static bool try_start(struct daemon_instance *d, const char *dir,
		      const char *config, const char *listen)
{
	char conf[128], log[128];
	const char *flags[] = {"--config", conf, "--listen", listen, NULL};

	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	e2e_write_text(conf, config);
	setenv("PAINPATH_TEST_LOG", log, 1);
	return harness_daemon_start(d, e2e_pg.conninfo, flags);
}

static void start_with_config(struct daemon_instance *d, const char *dir,
			      const char *config, const char *listen)
{
	ck_assert_msg(try_start(d, dir, config, listen),
		      "the daemon did not start");
}

START_TEST(https_with_a_certificate_the_test_made)
{
	char dir[64], config[512], subject[256], log[128];
	struct daemon_instance d;
	struct http_response r;

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	make_ca(dir);
	make_cert(dir, "one");
	make_cert(dir, "two");
	ck_assert_int_eq(shell("cp '%s/one.pem' '%s/cert.pem' && cp "
			       "'%s/one.key' '%s/key.pem'",
			       dir, dir, dir, dir),
			 0);
	snprintf(config, sizeof(config),
		 "report_enabled = 0\ntls_cert_file = %s/cert.pem\n"
		 "tls_key_file = %s/key.pem\n",
		 dir, dir);
	start_with_config(&d, dir, config, "127.0.0.1");

	ck_assert_int_eq(curl_status(dir, d.port, ""), 200);
	served_subject(dir, d.port, subject, sizeof(subject));
	ck_assert_str_eq(subject, "subject=CN = one");
	/* TLS 1.2 at the least; plain HTTP gets no answer. */
	ck_assert_int_ne(curl_status(dir, d.port, "--tls-max 1.1"), 200);
	ck_assert_int_ne(
		http_request(d.port, "GET", "/healthz", NULL, NULL, &r), 200);
	http_response_free(&r);

	/* A renewed certificate at the same paths, on SIGHUP. */
	ck_assert_int_eq(shell("cp '%s/two.pem' '%s/cert.pem' && cp "
			       "'%s/two.key' '%s/key.pem'",
			       dir, dir, dir, dir),
			 0);
	kill(d.pid, SIGHUP);
	e2e_wait_log(log, "reload: certificate read from");
	served_subject(dir, d.port, subject, sizeof(subject));
	ck_assert_str_eq(subject, "subject=CN = two");

	/* A key that does not match: refused, the running pair kept. */
	ck_assert_int_eq(shell("cp '%s/one.key' '%s/key.pem'", dir, dir), 0);
	kill(d.pid, SIGHUP);
	e2e_wait_log(log, "keeping the running certificate");
	served_subject(dir, d.port, subject, sizeof(subject));
	ck_assert_str_eq(subject, "subject=CN = two");
	ck_assert_int_eq(curl_status(dir, d.port, ""), 200);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	e2e_remove_dir(dir);
}
END_TEST

START_TEST(plain_http_beyond_loopback_needs_a_tls_proxy)
{
	char dir[64], config[512], tokens[128], log[128];
	struct daemon_instance d;
	struct http_response r;

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(tokens, sizeof(tokens), "%s/tokens.conf", dir);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	e2e_write_text(tokens, HASHED_TOKEN);
	snprintf(config, sizeof(config),
		 "report_enabled = 0\ntokens_file = %s\n", tokens);
	ck_assert(!try_start(&d, dir, config, "0.0.0.0"));
	ck_assert(e2e_log_has(log, "listening on 0.0.0.0 without TLS"));

	snprintf(config, sizeof(config),
		 "report_enabled = 0\ntokens_file = %s\nbehind_tls_proxy = 1\n",
		 tokens);
	start_with_config(&d, dir, config, "0.0.0.0");
	ck_assert_int_eq(
		http_request(d.port, "GET", "/healthz", NULL, NULL, &r), 200);
	http_response_free(&r);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	e2e_remove_dir(dir);
}
END_TEST

static int metrics_without_token(int port)
{
	struct http_response r;
	int status = http_request(port, "GET", "/metrics", NULL,
				  "Authorization:\r\n", &r);

	http_response_free(&r);
	return status;
}

/* /metrics answered anyone who could connect (issue 10, #8). */
START_TEST(regression_metrics_answer_without_a_token)
{
	char dir[64], conf[128], log[128];
	struct daemon_instance d;
	struct http_response r;

	ck_assert_int_eq(metrics_without_token(PORT), 401);
	ck_assert_int_eq(http_request(PORT, "GET", "/metrics", NULL, NULL, &r),
			 200);
	http_response_free(&r);

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	start_with_config(&d, dir,
			  "report_enabled = 0\nmetrics_allow = 10.0.0.0/8\n",
			  "127.0.0.1");
	ck_assert_int_eq(metrics_without_token(d.port), 401);
	e2e_write_text(conf, "report_enabled = 0\n"
			     "metrics_allow = 10.0.0.0/8, 127.0.0.1\n");
	kill(d.pid, SIGHUP);
	e2e_wait_log(log, "reload: metrics_allow changed");
	ck_assert_int_eq(metrics_without_token(d.port), 200);
	/* The scraper's network opens /metrics, nothing else. */
	ck_assert_int_eq(http_request(d.port, "GET", "/v1/models", NULL,
				      "Authorization:\r\n", &r),
			 401);
	http_response_free(&r);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	e2e_remove_dir(dir);
}
END_TEST

void e2e_add_tls_tests(Suite *s)
{
	TCase *tc = e2e_tcase("tls");

	tcase_add_test(tc, https_with_a_certificate_the_test_made);
	tcase_add_test(tc, plain_http_beyond_loopback_needs_a_tls_proxy);
	tcase_add_test(tc, regression_metrics_answer_without_a_token);
	suite_add_tcase(s, tc);
}
