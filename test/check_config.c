/*
 * The settings table: every type's syntax and bounds, refusals that keep
 * the old value, unknown keys with file:line, the reload diff, and the
 * painpath.conf(5) page listing exactly the table's keys.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "suites.h"

#ifndef PAINPATH_SOURCE_DIR
#define PAINPATH_SOURCE_DIR "."
#endif

static struct config cfg;

static void setup(void)
{
	config_defaults(&cfg);
}

static void teardown(void)
{
	config_free(&cfg);
}

static char *temp_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/painpath-conf-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	return path;
}

/* Sets key to value; on success returns the value as formatted back. */
static const char *set(const char *key, const char *value, bool want)
{
	static char out[512];
	char err[256] = "";
	bool ok = config_set(&cfg, key, value, err, sizeof(err));

	ck_assert_msg(ok == want, "%s = \"%s\": want %s, got %s (%s)", key,
		      value, want ? "accepted" : "refused",
		      ok ? "accepted" : "refused", err);
	if (!ok) {
		ck_assert_msg(strstr(err, key) != NULL,
			      "the refusal of %s does not name it: %s", key,
			      err);
		return NULL;
	}
	config_format(&cfg, config_key_find(key), out, sizeof(out));
	return out;
}

START_TEST(defaults_are_the_documented_ones)
{
	ck_assert_str_eq(cfg.listen, "127.0.0.1");
	ck_assert_int_eq(cfg.port, 8080);
	ck_assert_int_eq(cfg.request_timeout_s, 30);
	ck_assert_int_eq(cfg.acquire_timeout_ms, 5000);
	ck_assert_str_eq(cfg.report_time, "02:00");
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_str_eq(cfg.log_format, "text");
	ck_assert_int_eq(cfg.behind_tls_proxy, 0);
	ck_assert_str_eq(cfg.metrics_allow, "");
	ck_assert_str_eq(cfg.tls_cert_file, "");
	ck_assert_int_eq(cfg.report_enabled, 1);
}
END_TEST

/* The shipped file, with the spellings it has always had. */
START_TEST(shipped_config_loads)
{
	char err[512];

	ck_assert_msg(config_load_file(
			      &cfg, PAINPATH_SOURCE_DIR "/config/painpath.conf",
			      err, sizeof(err)),
		      "%s", err);
	ck_assert_int_eq(cfg.request_timeout_s, 30);
	ck_assert_str_eq(cfg.report_time, "02:00");
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_str_eq(cfg.models_dir, "config/models");
}
END_TEST

START_TEST(bool_words)
{
	static const char *const yes[] = {"1",	"yes", "true",
					  "on", "ON",  "True"};
	static const char *const no[] = {"0", "no", "false", "off", "Off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_str_eq(set("behind_tls_proxy", yes[i], true), "1");
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_str_eq(set("behind_tls_proxy", no[i], true), "0");
	set("audit_durable", "2", false);
	set("audit_durable", "maybe", false);
	set("audit_durable", "", false);
	ck_assert_int_eq(cfg.audit_durable, 1);
}
END_TEST

START_TEST(integer_bounds)
{
	ck_assert_str_eq(set("port", "0", true), "0");
	ck_assert_str_eq(set("port", "65535", true), "65535");
	set("port", "65536", false);
	set("port", "-1", false);
	set("port", "80x", false);
	set("port", "0x50", false);
	set("port", "+80", false);
	set("port", "", false);
	set("port", "99999999999999999999999", false);
	/* A refusal keeps what was there. */
	ck_assert_int_eq(cfg.port, 65535);
	set("pool_size", "0", false);
	ck_assert_str_eq(set("pool_size", "256", true), "256");
	set("pool_size", "257", false);
}
END_TEST

/* A plain number keeps the key's unit; a suffix converts, exactly. */
START_TEST(durations_in_the_key_unit)
{
	ck_assert_str_eq(set("request_timeout_s", "30", true), "30");
	ck_assert_str_eq(set("request_timeout_s", "2min", true), "120");
	ck_assert_str_eq(set("request_timeout_s", "1h", true), "3600");
	ck_assert_str_eq(set("request_timeout_s", "2000ms", true), "2");
	ck_assert_str_eq(set("request_timeout_s", "45 s", true), "45");
	set("request_timeout_s", "1500ms", false);
	set("request_timeout_s", "3601", false);
	set("request_timeout_s", "1d", false);
	set("request_timeout_s", "0", false);
	set("request_timeout_s", "10 years", false);
	set("request_timeout_s", "s", false);
	ck_assert_int_eq(cfg.request_timeout_s, 45);
	ck_assert_str_eq(set("acquire_timeout_ms", "250", true), "250");
	ck_assert_str_eq(set("acquire_timeout_ms", "5s", true), "5000");
	ck_assert_str_eq(set("acquire_timeout_ms", "10min", true), "600000");
	set("acquire_timeout_ms", "11min", false);
	ck_assert_str_eq(set("shutdown_grace_s", "0", true), "0");
	/* Large enough to overflow if multiplied before checking. */
	set("statement_timeout_ms", "9223372036854775807d", false);
}
END_TEST

START_TEST(times_of_day)
{
	ck_assert_str_eq(set("report_time", "2:00", true), "02:00");
	ck_assert_str_eq(set("report_time", "23:59", true), "23:59");
	ck_assert_str_eq(set("report_time", "00:00", true), "00:00");
	set("report_time", "24:00", false);
	set("report_time", "12:60", false);
	set("report_time", "12:5", false);
	set("report_time", "1200", false);
	set("report_time", "012:00", false);
	set("report_time", "-1:00", false);
	set("report_time", "12:00:00", false);
	ck_assert_str_eq(cfg.report_time, "00:00");
}
END_TEST

START_TEST(enums_list_their_words)
{
	char err[256];

	ck_assert_str_eq(set("log_level", "debug", true), "debug");
	ck_assert_str_eq(set("log_format", "json", true), "json");
	ck_assert(!config_set(&cfg, "log_format", "xml", err, sizeof(err)));
	ck_assert_msg(strstr(err, "text") && strstr(err, "json"), "%s", err);
	set("log_level", "DEBUG", false);
	set("log_level", "loud", false);
	ck_assert_str_eq(cfg.log_level, "debug");
}
END_TEST

START_TEST(strings_with_their_own_checks)
{
	ck_assert_str_eq(set("report_zone", "Europe/Copenhagen", true),
			 "Europe/Copenhagen");
	set("report_zone", "Mars/Olympus_Mons", false);
	ck_assert_str_eq(set("metrics_allow", "10.0.0.0/8, ::1", true),
			 "10.0.0.0/8, ::1");
	set("metrics_allow", "10.0.0.0/33", false);
	set("metrics_allow", "prometheus.local", false);
	ck_assert_str_eq(cfg.metrics_allow, "10.0.0.0/8, ::1");
	set("tls_cert_file", "/etc/x\n.pem", false);
	set("listen", "127.0.0.1\x1b[2J", false);
	ck_assert_str_eq(set("tls_cert_file", "/etc/painpath/cert.pem", true),
			 "/etc/painpath/cert.pem");
}
END_TEST

START_TEST(unknown_key_names_file_and_line)
{
	char err[512], want[128];
	const char *path =
		temp_file("# comment\n\nport = 9090\nrequest_timeout = 30\n");

	ck_assert(!config_load_file(&cfg, path, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s:4: unknown setting "
		 "\"request_timeout\"",
		 path);
	ck_assert_str_eq(err, want);
	unlink(path);
}
END_TEST

START_TEST(bad_lines_name_file_and_line)
{
	char err[512], want[128];
	const char *path = temp_file("port = 9090\nport 9091\n");

	ck_assert(!config_load_file(&cfg, path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: expected key = value", path);
	ck_assert_str_eq(err, want);
	unlink(path);
	path = temp_file("\n\nlog_format = yaml\n");
	ck_assert(!config_load_file(&cfg, path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:3: log_format must be", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	unlink(path);
}
END_TEST

START_TEST(tls_files_go_together)
{
	char err[256];

	ck_assert(config_validate(&cfg, err, sizeof(err)));
	set("tls_cert_file", "/c.pem", true);
	ck_assert(!config_validate(&cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "tls_key_file") != NULL, "%s", err);
	set("tls_key_file", "/k.pem", true);
	ck_assert(config_validate(&cfg, err, sizeof(err)));
}
END_TEST

/* What --print-config writes loads back to the same settings. */
START_TEST(printed_config_loads_back)
{
	struct config again;
	char path[] = "/tmp/painpath-conf-XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	set("report_time", "7:30", true);
	set("metrics_allow", "192.0.2.0/24", true);
	set("request_timeout_s", "2min", true);
	ck_assert_ptr_nonnull(f);
	config_print(&cfg, f);
	fclose(f);
	config_defaults(&again);
	ck_assert_msg(config_load_file(&again, path, err, sizeof(err)), "%s",
		      err);
	ck_assert_uint_eq(config_diff(&cfg, &again, NULL, 0), 0);
	config_free(&again);
	unlink(path);
}
END_TEST

START_TEST(reload_diff_tells_restart_keys)
{
	struct config next;
	struct config_change changes[8];
	size_t n;

	config_defaults(&next);
	ck_assert_uint_eq(config_diff(&cfg, &next, changes, 8), 0);
	ck_assert(config_set(&next, "port", "9090", NULL, 0));
	ck_assert(config_set(&next, "max_batch", "10", NULL, 0));
	ck_assert(config_set(&next, "db", "dbname=other", NULL, 0));
	ck_assert(config_set(&next, "log_format", "json", NULL, 0));
	n = config_diff(&cfg, &next, changes, 8);
	ck_assert_uint_eq(n, 4);
	/* In table order. */
	ck_assert_str_eq(changes[0].key, "port");
	ck_assert(changes[0].restart);
	ck_assert_str_eq(changes[1].key, "db");
	ck_assert(changes[1].restart);
	ck_assert_str_eq(changes[2].key, "max_batch");
	ck_assert(!changes[2].restart);
	ck_assert_str_eq(changes[3].key, "log_format");
	ck_assert(!changes[3].restart);
	/* Only max written, the count is still the whole. */
	ck_assert_uint_eq(config_diff(&cfg, &next, changes, 1), 4);

	ck_assert(config_keep_restart_keys(&next, &cfg));
	ck_assert_int_eq(next.port, 8080);
	ck_assert_str_eq(next.db, "dbname=painpath");
	ck_assert_int_eq(next.max_batch, 10);
	ck_assert_str_eq(next.log_format, "json");
	n = config_diff(&cfg, &next, changes, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert(!changes[0].restart && !changes[1].restart);
	config_free(&next);
}
END_TEST

/* The keys a reload cannot apply, by what the daemon does with them. */
START_TEST(restart_flags_where_they_belong)
{
	static const char *const restart[] = {
		"listen",	   "port",	  "db",
		"db_read",	   "pool_size",	  "schema_dir",
		"db_wait_s",	   "max_waiting", "statement_timeout_ms",
		"behind_tls_proxy"};
	static const char *const reload[] = {"models_dir",    "tokens_file",
					     "log_level",     "log_format",
					     "tls_cert_file", "tls_key_file",
					     "metrics_allow", "max_body_bytes"};

	for (size_t i = 0; i < sizeof(restart) / sizeof(restart[0]); i++)
		ck_assert_msg(config_key_find(restart[i])->flags &
				      CONFIG_RESTART,
			      "%s", restart[i]);
	for (size_t i = 0; i < sizeof(reload) / sizeof(reload[0]); i++)
		ck_assert_msg(
			!(config_key_find(reload[i])->flags & CONFIG_RESTART),
			"%s", reload[i]);
}
END_TEST

static char *read_man_page(void)
{
	FILE *f = fopen(PAINPATH_SOURCE_DIR "/man/painpath.conf.5", "re");
	char *text;
	long len;

	ck_assert_msg(f != NULL, "man/painpath.conf.5 is missing");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), len);
	fclose(f);
	return text;
}

/*
 * Each key is documented as ".TP\n.B key\n" followed by a line saying its
 * type and, for keys a reload does not apply, "restart".  Both ways: no
 * key undocumented, no documented key that is not in the table.
 */
START_TEST(man_page_lists_every_key)
{
	char *page = read_man_page(), entry[128];
	size_t count;
	const struct config_key *keys = config_keys(&count);

	for (size_t i = 0; i < count; i++) {
		char *at, *eol, line[512];

		snprintf(entry, sizeof(entry), ".TP\n.B %s\n", keys[i].key);
		at = strstr(page, entry);
		ck_assert_msg(at != NULL, "painpath.conf(5) lacks %s",
			      keys[i].key);
		at += strlen(entry);
		eol = strchr(at, '\n');
		snprintf(line, sizeof(line), "%.*s",
			 (int)(eol ? eol - at : (long)strlen(at)), at);
		ck_assert_msg(strstr(line, config_type_name(keys[i].type)),
			      "%s: the line after it does not say \"%s\": %s",
			      keys[i].key, config_type_name(keys[i].type),
			      line);
		ck_assert_msg(
			(strstr(line, "restart") != NULL) ==
				((keys[i].flags & CONFIG_RESTART) != 0),
			"%s: the man page and the table disagree on restart: "
			"%s",
			keys[i].key, line);
	}
	for (char *at = strstr(page, ".TP\n.B "); at;
	     at = strstr(at + 1, ".TP\n.B ")) {
		char key[64];

		if (sscanf(at, ".TP\n.B %63[a-z_]\n", key) == 1 &&
		    strchr(at + 7, '\n') == at + 7 + strlen(key))
			ck_assert_msg(config_key_find(key) != NULL,
				      "painpath.conf(5) documents \"%s\", "
				      "which is no setting",
				      key);
	}
	free(page);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_are_the_documented_ones);
	tcase_add_test(tc, shipped_config_loads);
	tcase_add_test(tc, bool_words);
	tcase_add_test(tc, integer_bounds);
	tcase_add_test(tc, durations_in_the_key_unit);
	tcase_add_test(tc, times_of_day);
	tcase_add_test(tc, enums_list_their_words);
	tcase_add_test(tc, strings_with_their_own_checks);
	tcase_add_test(tc, unknown_key_names_file_and_line);
	tcase_add_test(tc, bad_lines_name_file_and_line);
	tcase_add_test(tc, tls_files_go_together);
	tcase_add_test(tc, printed_config_loads_back);
	suite_add_tcase(s, tc);
	tc = tcase_create("reload");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reload_diff_tells_restart_keys);
	tcase_add_test(tc, restart_flags_where_they_belong);
	suite_add_tcase(s, tc);
	tc = tcase_create("man_page");
	tcase_add_test(tc, man_page_lists_every_key);
	suite_add_tcase(s, tc);
	return s;
}
