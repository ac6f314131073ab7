/*
 * Log lines in both formats: one line per call whatever the text holds
 * (control characters, libpq's multi-line messages, bytes that are not
 * UTF-8), JSON that parses back to what was logged, and request lines with
 * exactly the fields an operator needs.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "suites.h"

static int pipe_fds[2];

static void setup(void)
{
	ck_assert_int_eq(pipe2(pipe_fds, O_NONBLOCK), 0);
	log_set_output(pipe_fds[1]);
	log_current_level = LOG_INFO;
	log_current_format = LOG_FORMAT_TEXT;
}

static void teardown(void)
{
	log_set_output(2);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* Everything written since the last call (caller frees). */
static char *output(void)
{
	static char buf[1 << 16];
	ssize_t n = read(pipe_fds[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return strdup(buf);
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static bool has_raw_control(const char *s)
{
	size_t len = strlen(s);

	/* The one newline that ends the line is allowed. */
	for (size_t i = 0; i + 1 < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* One line: one newline, at the end, and no other control character. */
static char *one_line(void)
{
	char *out = output();

	ck_assert_msg(count_char(out, '\n') == 1, "not one line: [%s]", out);
	ck_assert_msg(out[strlen(out) - 1] == '\n', "no newline at the end");
	ck_assert_msg(!has_raw_control(out), "raw control in [%s]", out);
	return out;
}

static json_t *one_json_line(void)
{
	char *out = one_line();
	json_error_t error;
	json_t *j = json_loads(out, 0, &error);

	ck_assert_msg(j != NULL, "not JSON (%s): %s", error.text, out);
	ck_assert_msg(json_is_object(j), "not an object: %s", out);
	free(out);
	return j;
}

static const char *jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

START_TEST(text_line_shape)
{
	char *out;

	log_info("main", "serving on %s:%d", "127.0.0.1", 8080);
	out = one_line();
	/* 2025-03-03T09:15:00.123Z INFO [main] serving on ... */
	ck_assert_msg(strlen(out) > 25 && out[10] == 'T' && out[23] == 'Z',
		      "%s", out);
	ck_assert_str_eq(out + 24, " INFO [main] serving on 127.0.0.1:8080\n");
	free(out);
}
END_TEST

START_TEST(text_escapes_controls)
{
	char *out;

	log_warning("http", "uri /x\x1b[2Jy\r\nz\tq\x7f end");
	out = one_line();
	ck_assert_msg(strstr(out, "/x\\x1b[2Jy\\r\\nz\\tq\\x7f end\n"), "%s",
		      out);
	free(out);
	/* The context too. */
	log_warning("a\nb", "m");
	out = one_line();
	ck_assert_msg(strstr(out, "[a\\nb] m"), "%s", out);
	free(out);
}
END_TEST

/* Some terminals act on C1 controls (U+009B is CSI) as on ESC; other
 * UTF-8 passes as it is, bytes that are not UTF-8 are shown as hex. */
START_TEST(text_utf8_and_bytes)
{
	char *out;

	log_info("t", "Tromsø \xc2\x9b"
		      "31m \xff\xfe \xe2\x82 \xed\xa0\x80 \xc0\xaf");
	out = one_line();
	ck_assert_msg(strstr(out, "Tromsø \\u009b31m \\xff\\xfe \\xe2\\x82 "
				  "\\xed\\xa0\\x80 \\xc0\\xaf\n"),
		      "%s", out);
	free(out);
}
END_TEST

/* libpq's messages end with a newline and may have DETAIL/HINT lines. */
START_TEST(libpq_messages_become_one_line)
{
	char *out;

	log_error("db", "database: %s",
		  "ERROR:  duplicate key value\nDETAIL:  Key (event_id)=(x) "
		  "already exists.\n");
	out = one_line();
	ck_assert_msg(strstr(out, "ERROR [db] database: ERROR:  duplicate key "
				  "value\\nDETAIL:  Key (event_id)=(x) "
				  "already exists.\n"),
		      "%s", out);
	free(out);
	log_pq_notice("migrate", "NOTICE:  relation \"x\" already exists, "
				 "skipping\n");
	out = one_line();
	ck_assert_msg(strstr(out, " WARNING [migrate] NOTICE:  relation \"x\" "
				  "already exists, skipping\n"),
		      "%s", out);
	free(out);
}
END_TEST

START_TEST(level_filters)
{
	char *out;

	log_current_level = LOG_WARNING;
	log_info("t", "hidden");
	log_debug("t", "hidden");
	log_request(
		&(struct log_request_fields){.method = "GET", .status = 200});
	log_fields(LOG_INFO, "t", "hidden", NULL, 0);
	log_warning("t", "shown");
	out = one_line();
	ck_assert_msg(strstr(out, "shown") && !strstr(out, "hidden"), "%s",
		      out);
	free(out);
}
END_TEST

START_TEST(json_line_fields)
{
	json_t *j;

	log_current_format = LOG_FORMAT_JSON;
	log_error("main", "cannot listen on %s", "[::1]:80");
	j = one_json_line();
	ck_assert_uint_eq(json_object_size(j), 4);
	ck_assert_str_eq(jstr(j, "level"), "error");
	ck_assert_str_eq(jstr(j, "context"), "main");
	ck_assert_str_eq(jstr(j, "msg"), "cannot listen on [::1]:80");
	ck_assert_int_eq((int)strlen(jstr(j, "ts")), 24);
	json_decref(j);
}
END_TEST

/* Valid UTF-8, quotes and controls come back as they were logged. */
START_TEST(json_round_trips)
{
	static const char text[] = "a \"quoted\" \\path\\ \x1b[31m\ttab "
				   "\x01\x1f\x7f Tromsø \xc2\x9b end";
	json_t *j;

	log_current_format = LOG_FORMAT_JSON;
	log_info("ctx\"x", "%s", text);
	j = one_json_line();
	ck_assert_str_eq(jstr(j, "msg"), text);
	ck_assert_str_eq(jstr(j, "context"), "ctx\"x");
	json_decref(j);
}
END_TEST

START_TEST(json_stays_valid_on_bad_bytes)
{
	json_t *j;

	log_current_format = LOG_FORMAT_JSON;
	log_info("t", "bad \xff\xc3 end\n");
	j = one_json_line();
	ck_assert_str_eq(jstr(j, "msg"), "bad \\xff\\xc3 end");
	json_decref(j);
}
END_TEST

static const char *const two_ids[] = {"ehr-1", "ehr 2,x"};

static const struct log_request_fields request = {
	.request_id = "r-17",
	.method = "POST",
	.route = "/v1/events",
	.status = 409,
	.duration_ms = 3.5,
	.token_id = "ehr-vest",
	.event_ids = two_ids,
	.event_count = 2,
	.error_code = "illegal_transition",
};

START_TEST(request_line_text)
{
	char *out;

	log_request(&request);
	out = one_line();
	ck_assert_msg(strstr(out, " INFO [http] request request_id=r-17 "
				  "method=POST route=/v1/events status=409 "
				  "duration_ms=3.5 token_id=ehr-vest "
				  "event_ids=ehr-1,\"ehr 2\\x2cx\" "
				  "error_code=illegal_transition\n"),
		      "%s", out);
	free(out);
}
END_TEST

/* Exactly these members: nothing else about the request can leak in. */
START_TEST(request_line_json)
{
	static const char *const members[] = {
		"ts",	       "level",	   "context",	"msg",
		"request_id",  "method",   "route",	"status",
		"duration_ms", "token_id", "event_ids", "error_code"};
	json_t *j, *ids;

	log_current_format = LOG_FORMAT_JSON;
	log_request(&request);
	j = one_json_line();
	ck_assert_uint_eq(json_object_size(j),
			  sizeof(members) / sizeof(members[0]));
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		ck_assert_msg(json_object_get(j, members[i]) != NULL, "no %s",
			      members[i]);
	ck_assert_str_eq(jstr(j, "msg"), "request");
	ck_assert_str_eq(jstr(j, "context"), "http");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 409);
	ck_assert(json_real_value(json_object_get(j, "duration_ms")) == 3.5);
	ids = json_object_get(j, "event_ids");
	ck_assert_uint_eq(json_array_size(ids), 2);
	ck_assert_str_eq(json_string_value(json_array_get(ids, 1)), "ehr 2,x");
	json_decref(j);
}
END_TEST

/* Fields left NULL are left out; a request without events has no list. */
START_TEST(request_line_optional_fields)
{
	json_t *j;

	log_current_format = LOG_FORMAT_JSON;
	log_request(&(struct log_request_fields){
		.method = "GET", .route = "/healthz", .status = 200});
	j = one_json_line();
	ck_assert_ptr_null(json_object_get(j, "token_id"));
	ck_assert_ptr_null(json_object_get(j, "event_ids"));
	ck_assert_ptr_null(json_object_get(j, "error_code"));
	ck_assert_ptr_null(json_object_get(j, "request_id"));
	json_decref(j);
}
END_TEST

/* A batch of thousands of events: the list is cut and says how much. */
START_TEST(long_lists_are_cut)
{
	static const char *ids[5000];
	struct log_request_fields f = request;
	json_t *j;
	size_t shown;

	for (size_t i = 0; i < 5000; i++)
		ids[i] = "an-event-id-of-some-length";
	f.event_ids = ids;
	f.event_count = 5000;
	log_current_format = LOG_FORMAT_JSON;
	log_request(&f);
	j = one_json_line();
	shown = json_array_size(json_object_get(j, "event_ids"));
	ck_assert(shown > 100 && shown < 5000);
	ck_assert_int_eq(
		json_integer_value(json_object_get(j, "event_ids_omitted")),
		(json_int_t)(5000 - shown));
	json_decref(j);
}
END_TEST

START_TEST(text_values_with_blanks_are_quoted)
{
	struct log_field fields[] = {
		{.name = "who", .type = LOG_FIELD_STR, .str = "anna k"},
		{.name = "q", .type = LOG_FIELD_STR, .str = "say \"hi\""},
		{.name = "none", .type = LOG_FIELD_STR, .str = NULL},
		{.name = "empty", .type = LOG_FIELD_STR, .str = ""},
		{.name = "n", .type = LOG_FIELD_INT, .num = -5},
	};
	char *out;

	log_fields(LOG_INFO, "t", "m", fields, 5);
	out = one_line();
	ck_assert_msg(strstr(out, "] m who=\"anna k\" q=\"say \\\"hi\\\"\" "
				  "none=- empty=\"\" n=-5\n"),
		      "%s", out);
	free(out);
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("text");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, text_line_shape);
	tcase_add_test(tc, text_escapes_controls);
	tcase_add_test(tc, text_utf8_and_bytes);
	tcase_add_test(tc, libpq_messages_become_one_line);
	tcase_add_test(tc, level_filters);
	tcase_add_test(tc, text_values_with_blanks_are_quoted);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, json_line_fields);
	tcase_add_test(tc, json_round_trips);
	tcase_add_test(tc, json_stays_valid_on_bad_bytes);
	suite_add_tcase(s, tc);
	tc = tcase_create("requests");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, request_line_text);
	tcase_add_test(tc, request_line_json);
	tcase_add_test(tc, request_line_optional_fields);
	tcase_add_test(tc, long_lists_are_cut);
	suite_add_tcase(s, tc);
	return s;
}
