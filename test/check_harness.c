/*
 * Tests of the test harness itself: the private cluster, the daemon
 * launcher (against a fake daemon script) and the HTTP client (against
 * canned responses from a forked listener), so that e2e failures can be
 * trusted to be painpathd's.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "suites.h"

/* ---- the cluster ---- */

static struct pg_instance pg;
static bool pg_ok;

/* Unchecked (runs once in the runner), so one cluster serves every test. */
static void pg_setup(void)
{
	pg_ok = harness_pg_start(&pg);
}

static void pg_teardown(void)
{
	harness_pg_destroy(&pg);
	pg_ok = false;
}

START_TEST(test_pg_select_1)
{
	char *out;

	ck_assert_msg(pg_ok, "harness_pg_start failed");
	ck_assert(pg.running);
	ck_assert_ptr_nonnull(strstr(pg.conninfo, "dbname=painpath"));
	ck_assert_ptr_nonnull(strstr(pg.conninfo, pg.dir));
	ck_assert_int_eq(strncmp(pg.dir, "/tmp/", 5), 0);
	out = harness_psql(&pg, "select 1");
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "1");
	free(out);
}
END_TEST

START_TEST(test_pg_psql_multirow_and_error)
{
	char *out;

	ck_assert_msg(pg_ok, "harness_pg_start failed");
	out = harness_psql(&pg, "select g from generate_series(1, 3) g");
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "1\n2\n3");
	free(out);
	out = harness_psql(&pg, "select current_database()");
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "painpath");
	free(out);
	/* Only unix sockets: nothing may listen on TCP. */
	out = harness_psql(&pg, "show listen_addresses");
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_ptr_null(harness_psql(&pg, "select * from no_such_table"));
}
END_TEST

static void restart_keeps_data(bool fast)
{
	const char *table = fast ? "kept_fast" : "kept_immediate";
	char sql[256];
	char *out;

	ck_assert_msg(pg_ok, "harness_pg_start failed");
	snprintf(sql, sizeof(sql),
		 "create table %s (n int); insert into %s values (1), (2), (3)",
		 table, table);
	out = harness_psql(&pg, sql);
	ck_assert_ptr_nonnull(out);
	free(out);
	ck_assert(harness_pg_stop_server(&pg, fast));
	ck_assert(!pg.running);
	ck_assert_ptr_null(harness_psql(&pg, "select 1"));
	ck_assert(harness_pg_start_server(&pg));
	ck_assert(pg.running);
	snprintf(sql, sizeof(sql), "select count(*) from %s", table);
	out = harness_psql(&pg, sql);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "3");
	free(out);
}

START_TEST(test_pg_restart_fast)
{
	restart_keeps_data(true);
}
END_TEST

START_TEST(test_pg_restart_immediate)
{
	restart_keeps_data(false);
}
END_TEST

static bool dir_exists(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0;
}

START_TEST(test_pg_destroy_removes_all)
{
	struct pg_instance p2;
	char dir[PATH_MAX];

	ck_assert(harness_pg_start(&p2));
	snprintf(dir, sizeof(dir), "%s", p2.dir);
	ck_assert(dir_exists(dir));
	harness_pg_destroy(&p2);
	ck_assert(!dir_exists(dir));
	ck_assert_str_eq(p2.dir, "");
	harness_pg_destroy(&p2); /* twice is harmless */
}
END_TEST

/* Starts a cluster in a child that exits without destroying it, through
 * exit() (atexit clean-up) or _exit() (left behind); returns its dir. */
static void orphan_cluster(bool use_exit, char *dir, size_t size)
{
	int p[2];
	pid_t pid;
	ssize_t n;
	int st;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pg_instance c;

		close(p[0]);
		if (!harness_pg_start(&c))
			_exit(1);
		if (write(p[1], c.dir, strlen(c.dir)) < 0)
			_exit(2);
		if (use_exit)
			exit(0);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], dir, size - 1);
	close(p[0]);
	ck_assert_int_gt(n, 0);
	dir[n] = '\0';
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(test_pg_atexit_cleans_up)
{
	char dir[PATH_MAX];

	orphan_cluster(true, dir, sizeof(dir));
	ck_assert_msg(!dir_exists(dir), "%s left behind", dir);
}
END_TEST

START_TEST(test_pg_stale_cluster_reaped)
{
	struct pg_instance p2;
	char dir[PATH_MAX];

	orphan_cluster(false, dir, sizeof(dir));
	ck_assert(dir_exists(dir));
	/* The next start notices the dead creator and removes its cluster. */
	ck_assert(harness_pg_start(&p2));
	ck_assert_msg(!dir_exists(dir), "stale %s not reaped", dir);
	harness_pg_destroy(&p2);
}
END_TEST

/* ---- the daemon launcher, against a fake daemon ---- */

static char fake_dir[PATH_MAX];
static char fake_path[PATH_MAX + 32];

/* Checks its arguments, reports a port on the ready fd and waits for
 * SIGTERM, exiting 3.  MODE=eof exits without a port; MODE=exec becomes
 * the sleep itself, so that SIGKILL leaves no orphan behind. */
static const char fake_script[] =
	"#!/bin/bash\n"
	"[ \"$1 $2 $3 $4 $5 $6 $7\" = "
	"\"--listen 127.0.0.1 --port 0 --db host=x --ready-fd\" ] || exit 9\n"
	"[ \"${9:-}\" = --extra ] || exit 10\n"
	"[ \"${MODE:-}\" = eof ] && exit 4\n"
	"echo \"fake daemon started\" >&2\n"
	"trap 'kill $child 2>/dev/null; exit 3' TERM\n"
	"echo 4242 >&\"$8\"\n"
	"eval \"exec $8>&-\"\n"
	"[ \"${MODE:-}\" = exec ] && exec sleep 600\n"
	"sleep 600 & child=$!\n"
	"wait\n";

static void fake_setup(void)
{
	int fd;

	snprintf(fake_dir, sizeof(fake_dir), "/tmp/painpath-fake-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fake_dir));
	snprintf(fake_path, sizeof(fake_path), "%s/fake", fake_dir);
	fd = open(fake_path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, fake_script, sizeof(fake_script) - 1),
			 (ssize_t)sizeof(fake_script) - 1);
	close(fd);
	setenv("PAINPATHD", fake_path, 1);
}

static void fake_teardown(void)
{
	char log[PATH_MAX + 32];

	snprintf(log, sizeof(log), "%s/log", fake_dir);
	unlink(log);
	unlink(fake_path);
	rmdir(fake_dir);
	/* Under CK_FORK=no the environment outlives the test. */
	unsetenv("PAINPATHD");
	unsetenv("PAINPATH_TEST_LOG");
	unsetenv("MODE");
}

static const char *const fake_extra[] = {"--extra", NULL};

START_TEST(test_daemon_start_stop)
{
	struct daemon_instance d;
	char log[PATH_MAX + 32], buf[256] = "";
	int fd;

	snprintf(log, sizeof(log), "%s/log", fake_dir);
	setenv("PAINPATH_TEST_LOG", log, 1);
	ck_assert(harness_daemon_start(&d, "host=x", fake_extra));
	ck_assert_int_eq(d.port, 4242);
	ck_assert_int_gt(d.pid, 0);
	ck_assert_int_eq(kill(d.pid, 0), 0);
	ck_assert_int_eq(harness_daemon_stop(&d), 3);
	fd = open(log, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	ck_assert_ptr_nonnull(strstr(buf, "fake daemon started"));
}
END_TEST

START_TEST(test_daemon_kill)
{
	struct daemon_instance d;
	pid_t pid;

	setenv("MODE", "exec", 1);
	ck_assert(harness_daemon_start(&d, "host=x", fake_extra));
	pid = d.pid;
	harness_daemon_kill(&d);
	ck_assert_int_eq(d.pid, 0);
	ck_assert_int_eq(kill(pid, 0), -1);
}
END_TEST

START_TEST(test_daemon_no_port_fails)
{
	struct daemon_instance d;

	setenv("MODE", "eof", 1);
	ck_assert(!harness_daemon_start(&d, "host=x", fake_extra));
	unsetenv("MODE");
	/* Wrong arguments: the fake exits early, which must fail too. */
	ck_assert(!harness_daemon_start(&d, "host=x", NULL));
	setenv("PAINPATHD", "/nonexistent/painpathd", 1);
	ck_assert(!harness_daemon_start(&d, "host=x", NULL));
}
END_TEST

/* ---- the HTTP client, against canned responses ---- */

struct canned {
	int port;
	pid_t pid;
	int req_fd; /* read end: the request bytes the listener received */
};

static int listen_any(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Reads one request: headers plus Content-Length bytes of body. */
static size_t read_request(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		char *end, *cl;

		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "content-length:");
		if (!cl ||
		    got >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			break;
	}
	buf[got] = '\0';
	return got;
}

/* Serves nconn connections: reads each request, then answers them in
 * reverse order of arrival (so they must all be in flight at once), or
 * never when response is NULL, waiting for the client to give up. */
static void canned_start(struct canned *c, const char *response, int nconn)
{
	int lfd = listen_any(&c->port), p[2];

	ck_assert_int_eq(pipe(p), 0);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		int conns[8];
		char buf[8192];

		close(p[0]);
		for (int i = 0; i < nconn; i++) {
			size_t n;

			conns[i] = accept(lfd, NULL, NULL);
			if (conns[i] < 0)
				_exit(1);
			n = read_request(conns[i], buf, sizeof(buf));
			if (write(p[1], buf, n) < 0)
				_exit(2);
		}
		close(p[1]);
		for (int i = nconn - 1; i >= 0; i--) {
			if (response) {
				size_t len = strlen(response);

				/* Two writes: the reader must not stop at
				 * the first segment. */
				if (write(conns[i], response, len / 2) < 0 ||
				    write(conns[i], response + len / 2,
					  len - len / 2) < 0)
					_exit(3);
			} else {
				while (read(conns[i], buf, sizeof(buf)) > 0)
					;
			}
			close(conns[i]);
		}
		_exit(0);
	}
	close(lfd);
	close(p[1]);
	c->req_fd = p[0];
}

/* Returns what the listener received (caller frees), reaping it. */
static char *canned_finish(struct canned *c)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t n;
	int st;

	ck_assert_ptr_nonnull(buf);
	while ((n = read(c->req_fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(c->req_fd);
	ck_assert_int_eq(waitpid(c->pid, &st, 0), c->pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return buf;
}

START_TEST(test_http_content_length_json)
{
	static const char resp[] = "HTTP/1.1 201 Created\r\n"
				   "Content-Type: application/json\r\n"
				   "X-Thing:   spaced value  \r\n"
				   "Content-Length: 15\r\n"
				   "\r\n"
				   "{\"id\": 7, \"a\":1}";
	struct http_response r;
	struct canned c;
	char *req, *v;

	canned_start(&c, resp, 1);
	ck_assert_int_eq(http_request(c.port, "POST", "/v1/things", "{\"x\":1}",
				      "X-Req: yes\r\n", &r),
			 201);
	req = canned_finish(&c);
	ck_assert_ptr_nonnull(strstr(req, "POST /v1/things HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(req, "Connection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(req, "Content-Length: 7\r\n"));
	ck_assert_ptr_nonnull(
		strstr(req, "Content-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(req, "X-Req: yes\r\n"));
	ck_assert_ptr_nonnull(strstr(req, "\r\n\r\n{\"x\":1}"));
	free(req);

	ck_assert_int_eq(r.status, 201);
	/* Content-Length wins over the extra byte the server sent. */
	ck_assert_uint_eq(r.body_len, 15);
	ck_assert_str_eq(r.body, "{\"id\": 7, \"a\":1");
	ck_assert_ptr_null(r.json); /* truncated, so not JSON */
	v = http_header(&r, "x-thing");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "spaced value");
	free(v);
	v = http_header(&r, "content-type");
	ck_assert_str_eq(v, "application/json");
	free(v);
	ck_assert_ptr_null(http_header(&r, "X-Missing"));
	ck_assert_ptr_null(http_header(&r, "X-Thin"));
	http_response_free(&r);
	ck_assert_ptr_null(r.body);
}
END_TEST

START_TEST(test_http_json_body)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
				   "Content-Length: 16\r\n"
				   "\r\n"
				   "{\"id\": 7, \"a\":1}";
	struct http_response r;
	struct canned c;

	canned_start(&c, resp, 1);
	ck_assert_int_eq(http_request(c.port, "GET", "/x", NULL, NULL, &r),
			 200);
	free(canned_finish(&c));
	ck_assert_ptr_nonnull(r.json);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "id")), 7);
	http_response_free(&r);
}
END_TEST

START_TEST(test_http_get_sends_no_body)
{
	static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
	struct http_response r;
	struct canned c;
	char *req;

	canned_start(&c, resp, 1);
	ck_assert_int_eq(http_request(c.port, "GET", "/a?b=c", NULL, NULL, &r),
			 204);
	req = canned_finish(&c);
	ck_assert_ptr_nonnull(strstr(req, "GET /a?b=c HTTP/1.1\r\n"));
	ck_assert_ptr_null(strcasestr(req, "content-length"));
	ck_assert_ptr_null(strcasestr(req, "content-type"));
	free(req);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_str_eq(r.body, "");
	ck_assert_ptr_null(r.json);
	http_response_free(&r);
}
END_TEST

START_TEST(test_http_chunked)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
				   "Content-Type: application/json\r\n"
				   "Transfer-Encoding: chunked\r\n"
				   "\r\n"
				   "5\r\n[1,2,\r\n"
				   "a;ext=1\r\n3,4,5,6,7]\r\n"
				   "0\r\n"
				   "\r\n";
	struct http_response r;
	struct canned c;

	canned_start(&c, resp, 1);
	ck_assert_int_eq(http_request(c.port, "DELETE", "/x", NULL, NULL, &r),
			 200);
	free(canned_finish(&c));
	ck_assert_str_eq(r.body, "[1,2,3,4,5,6,7]");
	ck_assert_uint_eq(r.body_len, 15);
	ck_assert_ptr_nonnull(r.json);
	ck_assert(json_is_array(r.json));
	ck_assert_uint_eq(json_array_size(r.json), 7);
	http_response_free(&r);
}
END_TEST

START_TEST(test_http_body_to_eof_not_json)
{
	static const char resp[] = "HTTP/1.0 404 Not Found\r\n"
				   "\r\n"
				   "no such thing\n";
	struct http_response r;
	struct canned c;

	canned_start(&c, resp, 1);
	ck_assert_int_eq(http_request(c.port, "GET", "/x", NULL, NULL, &r),
			 404);
	free(canned_finish(&c));
	ck_assert_str_eq(r.body, "no such thing\n");
	ck_assert_ptr_null(r.json);
	ck_assert_str_eq(r.headers, "");
	http_response_free(&r);
}
END_TEST

START_TEST(test_http_in_flight_together)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
				   "Content-Length: 2\r\n"
				   "\r\n"
				   "{}";
	struct http_response r1, r2;
	struct canned c;
	int fd1, fd2;
	char *req;

	canned_start(&c, resp, 2);
	fd1 = http_begin(c.port, "POST", "/one", "{}", NULL);
	fd2 = http_begin(c.port, "PUT", "/two", NULL, NULL);
	ck_assert_int_ge(fd1, 0);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(http_end(fd1, &r1), 200);
	ck_assert_int_eq(http_end(fd2, &r2), 200);
	req = canned_finish(&c);
	ck_assert_ptr_nonnull(strstr(req, "POST /one"));
	ck_assert_ptr_nonnull(strstr(req, "PUT /two"));
	/* A body-less PUT still says so explicitly. */
	ck_assert_ptr_nonnull(strstr(req, "Content-Length: 0\r\n"));
	free(req);
	ck_assert(json_is_object(r1.json));
	ck_assert(json_is_object(r2.json));
	http_response_free(&r1);
	http_response_free(&r2);
}
END_TEST

START_TEST(test_http_raw_and_timeout)
{
	static const char garbage[] = "NOT HTTP AT ALL\r\n\r\n";
	struct http_response r;
	struct canned c;
	char *req;

	/* A listener that never answers: http_raw returns at its timeout. */
	canned_start(&c, NULL, 1);
	ck_assert_int_eq(
		http_raw(c.port, garbage, sizeof(garbage) - 1, 300, &r), 0);
	req = canned_finish(&c);
	ck_assert_str_eq(req, garbage);
	free(req);
	ck_assert_str_eq(r.body, "");
	http_response_free(&r);

	canned_start(&c, "HTTP/1.1 400 Bad Request\r\n\r\n", 1);
	ck_assert_int_eq(
		http_raw(c.port, garbage, sizeof(garbage) - 1, 5000, NULL),
		400);
	free(canned_finish(&c));
}
END_TEST

START_TEST(test_http_refused)
{
	struct http_response r;
	int port, fd = listen_any(&port);

	close(fd);
	ck_assert_int_eq(http_request(port, "GET", "/", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(r.body);
	ck_assert_ptr_null(r.json);
	http_response_free(&r);
}
END_TEST

Suite *harness_suite(void)
{
	Suite *s = suite_create("harness");
	TCase *tc;

	tc = tcase_create("pg");
	tcase_add_unchecked_fixture(tc, pg_setup, pg_teardown);
	/* initdb and server starts, slower still under sanitizers. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pg_select_1);
	tcase_add_test(tc, test_pg_psql_multirow_and_error);
	tcase_add_test(tc, test_pg_restart_fast);
	tcase_add_test(tc, test_pg_restart_immediate);
	tcase_add_test(tc, test_pg_destroy_removes_all);
	tcase_add_test(tc, test_pg_atexit_cleans_up);
	tcase_add_test(tc, test_pg_stale_cluster_reaped);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_daemon_start_stop);
	tcase_add_test(tc, test_daemon_kill);
	tcase_add_test(tc, test_daemon_no_port_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("http");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_http_content_length_json);
	tcase_add_test(tc, test_http_json_body);
	tcase_add_test(tc, test_http_get_sends_no_body);
	tcase_add_test(tc, test_http_chunked);
	tcase_add_test(tc, test_http_body_to_eof_not_json);
	tcase_add_test(tc, test_http_in_flight_together);
	tcase_add_test(tc, test_http_raw_and_timeout);
	tcase_add_test(tc, test_http_refused);
	suite_add_tcase(s, tc);
	return s;
}
