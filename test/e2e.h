/* Shared helpers of the end-to-end suites (check_e2e*.c). */
#ifndef PAINPATH_TEST_E2E_H
#define PAINPATH_TEST_E2E_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "harness.h"

extern struct pg_instance e2e_pg;
extern struct daemon_instance e2e_daemon;

#define PORT (e2e_daemon.port)

/* The browser test's regions (check_e2e_dashboard.c), which no other test
 * writes: its token, e2e-dash, covers exactly these, so every figure the
 * page shows is of that test's pathways. */
#define E2E_DASH_REGIONS "helse-sor-ost,region-syddanmark,region-stockholm"

/* A fresh identifier: prefix-pid-counter. */
void e2e_id(char *out, size_t len, const char *prefix);
/* A region of the test's own, which the suite's scoped tokens cover:
 * prefix-N from a small pool (esc, wl, wait, t). */
void e2e_region(char *out, size_t len, const char *prefix);
int e2e_post(int port, struct http_response *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int e2e_get(int port, struct http_response *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The event body posted again with token (a header line) answers 200,
 * Idempotent-Replay: true, and the first answer byte for byte. */
void e2e_assert_replayed(int port, const char *token, const char *body,
			 const struct http_response *first);
/* Dotted path into JSON ("pathway.deadlines.0.due"); NULL if absent. */
const char *e2e_str(json_t *j, const char *path);
json_t *e2e_at(json_t *j, const char *path);
/* An opening's body: printf format of its event_id and patient_id (region
 * r1, model dk). */
#define E2E_OPENING                                                            \
	"{\"event_id\":\"%s\",\"type\":\"pathway.opened\","                    \
	"\"patient_id\":\"%s\",\"occurred_at\":\"2025-01-07T09:00:00Z\","      \
	"\"model\":\"dk\",\"region\":\"r1\"}"
void e2e_open(int port, const char *patient, const char *model,
	      const char *extra_data, char *pathway_id, size_t len);
int e2e_event(int port, const char *patient, const char *type,
	      const char *occurred_at, const char *data,
	      struct http_response *out);
/* SELECT returning one integer, through psql. */
int e2e_count(const char *sql);
/* The value of the /metrics line starting with prefix, or -1. */
double e2e_metric(int port, const char *prefix);
TCase *e2e_tcase(const char *name);

/* A test's own daemon: its config, log and files in a private directory. */
#define E2E_POLL_LIMIT_MS 20000
void e2e_write_text(const char *path, const char *text);
char *e2e_read_text(const char *path); /* malloc'd */
void e2e_temp_dir(char *dir, size_t len);
void e2e_remove_dir(const char *dir);
bool e2e_log_has(const char *path, const char *text);
/* Polls the log for text: the daemon writes it from its own loop. */
void e2e_wait_log(const char *path, const char *text);

void e2e_add_core_tests(Suite *s);
void e2e_add_model_tests(Suite *s);
void e2e_add_hostile_tests(Suite *s);
void e2e_add_report_tests(Suite *s);
void e2e_add_auth_tests(Suite *s);
void e2e_add_ops_tests(Suite *s);
void e2e_add_fault_tests(Suite *s);
void e2e_add_http_tests(Suite *s);
void e2e_add_review_tests(Suite *s);
void e2e_add_correction_tests(Suite *s);
void e2e_add_fhir_tests(Suite *s);
void e2e_add_machine_tests(Suite *s);
void e2e_add_tls_tests(Suite *s);
void e2e_add_stats_tests(Suite *s);
void e2e_add_dashboard_tests(Suite *s);
void e2e_add_openapi_tests(Suite *s);

#endif
