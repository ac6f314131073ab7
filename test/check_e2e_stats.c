/*
 * The coordinators' figures and exports end to end (issue 14): whoami,
 * the statistics endpoints (values, scoping to the token's regions, 403
 * for an explicit other region, no audit row for aggregates), the
 * deadlines (audited), the CSV forms (streamed, RFC 4180, equal to the
 * JSON), the registry export (admin, NDJSON, corrections marked, one
 * audit row, the CLI's equal, held back by a client that reads nothing),
 * the pages and the public waiting times.
 *
 * Each test has a region of its own; "outside" regions are written with
 * a development token the suite's scoped tokens do not share.
 */
#include <check.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "e2e.h"

#define COORD	  "Authorization: Bearer e2e-coord\r\n"
#define EHR_ALL	  "Authorization: Bearer dev-ehr\r\n"
#define COORD_ALL "Authorization: Bearer dev-coordinator\r\n"
#define EHR	  "Authorization: Bearer e2e-ehr\r\n"

/* --- seeding ---------------------------------------------------------------
 */

static void post_as(const char *auth, const char *body)
{
	struct http_response r;

	http_request(PORT, "POST", "/v1/events", body, auth, &r);
	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	http_response_free(&r);
}

/* A pathway of model in region sent to unit (a clinic) on sent, received
 * on received (NULL: not), accepted on accepted (with the Norwegian
 * deadline), started on started; dates are RFC 3339. */
struct seed {
	const char *region, *patient, *model, *unit;
	const char *received, *accepted, *deadline, *started;
	const char *auth; /* NULL: the suite's default */
};

static void seed(const struct seed *s)
{
	char body[1024];
	const char *auth = s->auth;

	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-1\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-01-02T09:00:00+01:00\",\"model\":\"%s\",\"region\":"
		 "\"%s\",\"unit\":\"gp-1\",\"data\":{\"age\":50}}",
		 s->patient, s->patient, s->model, s->region);
	post_as(auth, body);
	if (s->received == NULL)
		return;
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-2\",\"type\":\"referral.sent\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\",\"data\":"
		 "{\"to_level\":\"clinic\",\"to_unit\":\"%s\"}}",
		 s->patient, s->patient, s->received, s->unit);
	post_as(auth, body);
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-3\",\"type\":\"referral.received\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\"}",
		 s->patient, s->patient, s->received);
	post_as(auth, body);
	if (s->accepted == NULL)
		return;
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-4\",\"type\":\"referral.accepted\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\",\"data\":%s}",
		 s->patient, s->patient, s->accepted,
		 s->deadline ? s->deadline : "{}");
	post_as(auth, body);
	if (s->started == NULL)
		return;
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-5\",\"type\":\"treatment.started\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\"}",
		 s->patient, s->patient, s->started);
	post_as(auth, body);
}

static int get_as(const char *auth, struct http_response *r, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));

static int get_as(const char *auth, struct http_response *r, const char *fmt,
		  ...)
{
	char path[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return http_request(PORT, "GET", path, NULL, auth, r);
}

static json_t *find_by(json_t *list, const char *key, const char *value)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(json_object_get(v, key));
		if (s != NULL && strcmp(s, value) == 0)
			return v;
	}
	return NULL;
}

static double num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

/* --- whoami and the figures ------------------------------------------------
 */

START_TEST(whoami_names_the_token)
{
	struct http_response r;

	ck_assert_int_eq(get_as(COORD, &r, "/v1/whoami"), 200);
	ck_assert_str_eq(e2e_str(r.json, "token_id"), "e2e-coord");
	ck_assert_str_eq(e2e_str(r.json, "role"), "coordinator");
	ck_assert(json_is_array(json_object_get(r.json, "regions")));
	ck_assert_ptr_nonnull(strstr(r.body, "\"r1\""));
	http_response_free(&r);
	ck_assert_int_eq(get_as(COORD_ALL, &r, "/v1/whoami"), 200);
	ck_assert_str_eq(e2e_str(r.json, "regions"), "*");
	http_response_free(&r);
	ck_assert_int_eq(
		get_as("Authorization: Bearer nope\r\n", &r, "/v1/whoami"),
		401);
	http_response_free(&r);
}
END_TEST

/*
 * One region, as of 2025-05-21 (Norway, Europe/Oslo):
 *   a: received 1 May, waiting, 20 days, assessment overdue (due 15 May)
 *   b: received 11 May, accepted 12 May with deadline 20 May: overdue
 *   c: received 19 May, 2 days, assessment due 3 June (the tenth
 *      working day: Ascension Day, 29 May, is a holiday)
 *   d: received 1 April, started 2 May with deadline 10 May: 31 days,
 *      within
 */
static void seed_region(const char *region, const char *unit)
{
	char a[96], b[96], c[96], d[96];

	snprintf(a, sizeof(a), "%s-a", region);
	snprintf(b, sizeof(b), "%s-b", region);
	snprintf(c, sizeof(c), "%s-c", region);
	snprintf(d, sizeof(d), "%s-d", region);
	seed(&(struct seed){.region = region,
			    .patient = a,
			    .model = "no",
			    .unit = unit,
			    .received = "2025-05-01T09:00:00+02:00"});
	seed(&(struct seed){.region = region,
			    .patient = b,
			    .model = "no",
			    .unit = unit,
			    .received = "2025-05-11T09:00:00+02:00",
			    .accepted = "2025-05-12T09:00:00+02:00",
			    .deadline = "{\"deadline\":\"2025-05-20\"}"});
	seed(&(struct seed){.region = region,
			    .patient = c,
			    .model = "no",
			    .unit = unit,
			    .received = "2025-05-19T09:00:00+02:00"});
	seed(&(struct seed){.region = region,
			    .patient = d,
			    .model = "no",
			    .unit = unit,
			    .received = "2025-04-01T09:00:00+02:00",
			    .accepted = "2025-04-02T09:00:00+02:00",
			    .deadline = "{\"deadline\":\"2025-05-10\"}",
			    .started = "2025-05-02T09:00:00+02:00"});
}

START_TEST(figures_of_a_region)
{
	char region[64], unit[96];
	struct http_response r;
	json_t *rule, *u, *m, *w;

	e2e_region(region, sizeof(region), "wait");
	snprintf(unit, sizeof(unit), "%s-clinic", region);
	seed_region(region, unit);

	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/stats/clocks?region=%s&as_of=2025-05-21",
				region),
			 200);
	ck_assert_str_eq(e2e_str(r.json, "as_of"), "2025-05-21");
	rule = find_by(json_object_get(r.json, "rules"), "rule", "assessment");
	ck_assert_ptr_nonnull(rule);
	/* a and c assess; a's 10 working days ended 15 May. */
	ck_assert_int_eq(num(rule, "running"), 2);
	ck_assert_int_eq(num(rule, "overdue"), 1);
	ck_assert(num(rule, "within_limit_share") == 0.5);
	ck_assert_str_eq(e2e_str(rule, "limit.unit"), "working_days");
	rule = find_by(json_object_get(r.json, "rules"), "rule", "treatment");
	ck_assert_int_eq(num(rule, "running"), 1);
	ck_assert_int_eq(num(rule, "overdue"), 1);
	ck_assert(json_is_null(json_object_get(rule, "limit")));
	http_response_free(&r);

	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/stats/waiting?region=%s&as_of=2025-05-21",
				region),
			 200);
	u = find_by(json_object_get(r.json, "units"), "unit", unit);
	/* Waiting 20, 10, 2: median 10, 90th 10 + 0.8 * 10 = 18. */
	ck_assert_int_eq(num(u, "waiting_now"), 3);
	ck_assert(num(u, "waiting_now_median_days") == 10);
	ck_assert(num(u, "waiting_now_p90_days") == 18);
	ck_assert_int_eq(num(u, "overdue"), 2);
	/* a's and b's clocks overdue, c's running: one in three. */
	ck_assert(num(u, "within_limit_share") > 0.3332 &&
		  num(u, "within_limit_share") < 0.3334);
	ck_assert_int_eq(num(u, "completed_90d"), 1);
	ck_assert(num(u, "completed_median_days") == 31);
	ck_assert(num(u, "completed_within_limit_share") == 1);
	http_response_free(&r);

	ck_assert_int_eq(
		get_as(COORD, &r,
		       "/v1/stats/histogram?region=%s&as_of=2025-05-21&model=no"
		       "&rule=assessment",
		       region),
		200);
	/* a (20 days) and c (2): bands 0-6 and 14-20. */
	ck_assert_int_eq(num(r.json, "waiting"), 2);
	ck_assert(num(r.json, "median_days") == 11);
	ck_assert_int_eq(num(r.json, "limit_days"), 14);
	ck_assert_int_eq(num(r.json, "band_days"), 7);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "bands")), 3);
	ck_assert_int_eq(num(e2e_at(r.json, "bands.2"), "from_days"), 14);
	ck_assert_int_eq(num(e2e_at(r.json, "bands.2"), "count"), 1);
	http_response_free(&r);

	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/stats/trend?region=%s&as_of=2025-05-21"
				"&months=2",
				region),
			 200);
	m = e2e_at(r.json, "months.1");
	ck_assert_str_eq(e2e_str(m, "month"), "2025-05");
	ck_assert_int_eq(num(m, "started"), 1);
	ck_assert(num(m, "median_days") == 31);
	ck_assert_int_eq(num(m, "waiting_at_end"), 3);
	http_response_free(&r);
	/* Who waited at the end of a month after the summary's and before
	 * as_of's is not known; as_of's month ends on as_of. */
	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/stats/trend?region=%s&as_of=2099-12-31"
				"&months=2",
				region),
			 200);
	ck_assert(json_is_null(e2e_at(r.json, "months.0.waiting_at_end")));
	ck_assert_int_eq(num(e2e_at(r.json, "months.1"), "waiting_at_end"), 3);
	http_response_free(&r);

	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/stats/flow?region=%s&as_of=2025-05-21"
				"&weeks=4",
				region),
			 200);
	/* 28 April - 4 May (W18): a received, d started. */
	w = e2e_at(r.json, "weeks.0");
	ck_assert_str_eq(e2e_str(w, "week"), "2025-W18");
	ck_assert_int_eq(num(w, "received"), 1);
	ck_assert_int_eq(num(w, "started"), 1);
	/* 19-25 May (W21): c received. */
	w = e2e_at(r.json, "weeks.3");
	ck_assert_str_eq(e2e_str(w, "week"), "2025-W21");
	ck_assert_int_eq(num(w, "received"), 1);
	http_response_free(&r);
}
END_TEST

/* Another region's pathways never show, and asking for it is refused. */
START_TEST(figures_stay_in_the_token_regions)
{
	static const char *const routes[] = {
		"/v1/stats/clocks", "/v1/stats/waiting", "/v1/stats/histogram",
		"/v1/stats/trend",  "/v1/stats/flow",	 "/v1/deadlines",
		"/v1/pathways",	    "/v1/escalations"};
	char outside[64], unit[96], p[96];
	struct http_response r;

	e2e_id(outside, sizeof(outside), "outside");
	snprintf(unit, sizeof(unit), "%s-clinic", outside);
	snprintf(p, sizeof(p), "%s-p", outside);
	seed(&(struct seed){.region = outside,
			    .patient = p,
			    .model = "no",
			    .unit = unit,
			    .received = "2025-05-19T09:00:00+02:00",
			    .auth = EHR_ALL});
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		ck_assert_int_eq(
			get_as(COORD, &r, "%s?region=%s", routes[i], outside),
			403);
		ck_assert_str_eq(e2e_str(r.json, "error.code"), "forbidden");
		http_response_free(&r);
	}
	/* The data is there: a token of every region sees it. */
	ck_assert_int_eq(
		get_as(COORD_ALL, &r, "/v1/stats/waiting?as_of=2025-05-21"),
		200);
	ck_assert_ptr_nonnull(
		find_by(json_object_get(r.json, "units"), "unit", unit));
	http_response_free(&r);
	/* Not to the scoped token, in no answer. */
	ck_assert_int_eq(
		get_as(COORD, &r, "/v1/stats/waiting?as_of=2025-05-21"), 200);
	ck_assert_ptr_null(strstr(r.body, outside));
	http_response_free(&r);
	ck_assert_int_eq(get_as(COORD, &r, "/v1/stats/clocks?unit=%s", unit),
			 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rules")), 0);
	http_response_free(&r);
	ck_assert_int_eq(
		get_as(COORD, &r, "/v1/deadlines?within_days=14&unit=%s", unit),
		200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
	http_response_free(&r);
	ck_assert_int_eq(get_as(COORD_ALL, &r,
				"/v1/deadlines?within_days=14&unit=%s"
				"&as_of=2025-05-21",
				unit),
			 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
	http_response_free(&r);
}
END_TEST

/* Deadlines name patients: an audit row each; aggregates none. */
START_TEST(deadlines_are_audited_figures_are_not)
{
	char region[64], unit[96], sql[512], patient[96];
	struct http_response r;
	int before;

	e2e_region(region, sizeof(region), "wait");
	snprintf(unit, sizeof(unit), "%s-clinic", region);
	seed_region(region, unit);
	snprintf(patient, sizeof(patient), "%s-c", region);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE route LIKE "
		 "'/v1/stats/%%' AND uri LIKE '%%%s%%'",
		 region);
	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/stats/waiting?region=%s&as_of=2025-05-21",
				region),
			 200);
	http_response_free(&r);
	ck_assert_int_eq(e2e_count(sql), 0);

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE route = '/v1/deadlines' "
		 "AND token_id = 'e2e-coord' AND patient_ids @> ARRAY['%s']",
		 patient);
	before = e2e_count(sql);
	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/deadlines?region=%s&within_days=14"
				"&as_of=2025-05-21",
				region),
			 200);
	/* c's assessment is due 3 June, 13 days on. */
	ck_assert_ptr_nonnull(find_by(json_object_get(r.json, "items"),
				      "patient_id", patient));
	ck_assert_int_eq(num(find_by(json_object_get(r.json, "items"),
				     "patient_id", patient),
			     "days_left"),
			 13);
	http_response_free(&r);
	ck_assert_int_eq(e2e_count(sql), before + 1);
}
END_TEST

START_TEST(bad_parameters_are_refused)
{
	static const char *const paths[] = {
		"/v1/deadlines?within_days=9",	"/v1/stats/trend?months=0",
		"/v1/stats/flow?weeks=53",	"/v1/stats/histogram?rule=soon",
		"/v1/stats/clocks?level=top",	"/v1/stats/clocks?as_of=today",
		"/v1/stats/clocks?colour=red",	"/v1/export?from=2025-02-01",
		"/v1/deadlines?limit=0",	"/v1/whoami?as_of=2025-05-21",
		"/public/waiting-times?unit=x",
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ck_assert_int_eq(e2e_get(PORT, &r, "%s", paths[i]), 400);
		ck_assert_str_eq(e2e_str(r.json, "error.code"),
				 "invalid_request");
		http_response_free(&r);
	}
	/* Checked before a build is started. */
	ck_assert_int_eq(http_request(PORT, "POST",
				      "/v1/stats/build?cutoff=2999-01-01", NULL,
				      NULL, &r),
			 400);
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "cutoff");
	http_response_free(&r);
}
END_TEST

/* Without a token 401; a role the route does not take 403. */
START_TEST(routes_refuse_by_token_and_role)
{
	static const struct {
		const char *method, *path, *role_refused;
	} routes[] = {
		{"GET", "/v1/stats/clocks", EHR},
		{"GET", "/v1/stats/histogram", EHR},
		{"GET", "/v1/stats/trend", EHR},
		{"GET", "/v1/stats/flow", EHR},
		{"GET", "/v1/deadlines", EHR},
		{"GET", "/v1/export?from=2025-03-01&to=2025-03-31", COORD},
		{"POST", "/v1/stats/build", COORD},
		{"GET", "/v1/whoami", NULL},
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		ck_assert_int_eq(http_request(PORT, routes[i].method,
					      routes[i].path, NULL,
					      "Authorization:\r\n", &r),
				 401);
		ck_assert_str_eq(e2e_str(r.json, "error.code"), "unauthorized");
		http_response_free(&r);
		if (routes[i].role_refused == NULL)
			continue;
		ck_assert_int_eq(http_request(PORT, routes[i].method,
					      routes[i].path, NULL,
					      routes[i].role_refused, &r),
				 403);
		ck_assert_str_eq(e2e_str(r.json, "error.code"), "forbidden");
		http_response_free(&r);
	}
}
END_TEST

/* --- CSV ---------------------------------------------------------------------
 */

/* The fields of one RFC 4180 record starting at *p (quoted fields, doubled
 * quotes); *p moves past its CRLF.  Returns the count. */
static int csv_record(char **p, char **fields, int max)
{
	char *in = *p, *out;
	int n = 0;

	if (*in == '\0')
		return 0;
	for (;;) {
		out = in;
		if (n < max)
			fields[n] = out;
		if (*in == '"') {
			for (in++; *in != '\0'; in++) {
				if (*in == '"' && in[1] == '"')
					*out++ = '"', in++;
				else if (*in == '"')
					break;
				else
					*out++ = *in;
			}
			in++;
		} else {
			while (*in != ',' && *in != '\r' && *in != '\0')
				*out++ = *in++;
		}
		n++;
		/* The field ends in place: read its terminator first. */
		char end = *in;
		*out = '\0';
		if (end == ',') {
			in++;
			continue;
		}
		if (end == '\r')
			in += 2;
		*p = in;
		return n;
	}
}

START_TEST(worklist_csv_equals_the_json)
{
	char region[64], unit[96], *cur, *f[32], *te;
	struct http_response r, page;
	json_t *ids = json_object();
	int rows = 0, n;

	e2e_region(region, sizeof(region), "wl");
	snprintf(unit, sizeof(unit), "%s-clinic", region);
	seed_region(region, unit);
	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/pathways?region=%s&format=csv&limit=1",
				region),
			 200);
	te = http_header(&r, "Transfer-Encoding");
	ck_assert_ptr_nonnull(te);
	ck_assert_ptr_nonnull(strstr(te, "chunked"));
	free(te);
	te = http_header(&r, "Content-Type");
	ck_assert_ptr_nonnull(strstr(te, "text/csv"));
	free(te);
	cur = r.body;
	n = csv_record(&cur, f, 32);
	ck_assert_int_eq(n, 17);
	ck_assert_str_eq(f[0], "pathway_id");
	ck_assert_str_eq(f[7], "opened_at");
	while ((n = csv_record(&cur, f, 32)) > 0) {
		ck_assert_int_eq(n, 17);
		ck_assert_str_eq(f[3], region);
		/* ISO 8601, UTC. */
		ck_assert_int_eq(strlen(f[7]), 24);
		ck_assert_int_eq(f[7][10], 'T');
		json_object_set_new(ids, f[0], json_true());
		rows++;
	}
	http_response_free(&r);
	/* Every pathway of the JSON worklist, over all its pages. */
	for (char cursor[512] = "", path[768];;) {
		size_t i;
		json_t *item;
		snprintf(path, sizeof(path),
			 "/v1/pathways?region=%s&limit=3%s%s", region,
			 cursor[0] ? "&cursor=" : "", cursor);
		ck_assert_int_eq(
			http_request(PORT, "GET", path, NULL, COORD, &page),
			200);
		json_array_foreach(json_object_get(page.json, "items"), i, item)
		{
			ck_assert_ptr_nonnull(json_object_get(
				ids, e2e_str(item, "pathway_id")));
			rows--;
		}
		if (e2e_str(page.json, "next_cursor") == NULL) {
			http_response_free(&page);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s",
			 e2e_str(page.json, "next_cursor"));
		http_response_free(&page);
	}
	ck_assert_int_eq(rows, 0);
	ck_assert_int_eq(json_object_size(ids), 4);
	json_decref(ids);
}
END_TEST

START_TEST(waiting_csv_is_a_table_of_units)
{
	char region[64], unit[96], *cur, *f[32];
	struct http_response r;
	bool found = false;
	int n;

	e2e_region(region, sizeof(region), "wait");
	snprintf(unit, sizeof(unit), "%s-clinic", region);
	seed_region(region, unit);
	ck_assert_int_eq(http_request(PORT, "GET",
				      "/v1/stats/waiting?as_of=2025-05-21",
				      NULL, COORD "Accept: text/csv\r\n", &r),
			 200);
	cur = r.body;
	ck_assert_int_eq(csv_record(&cur, f, 32), 15);
	ck_assert_str_eq(f[0], "region");
	ck_assert_str_eq(f[14], "completed_within_limit_share");
	while ((n = csv_record(&cur, f, 32)) > 0) {
		ck_assert_int_eq(n, 15);
		if (strcmp(f[2], unit) != 0)
			continue;
		found = true;
		ck_assert_str_eq(f[3], "3");
		ck_assert_str_eq(f[4], "10");
		ck_assert_str_eq(f[5], "18");
	}
	ck_assert(found);
	http_response_free(&r);
}
END_TEST

/* Escalations as CSV: streamed, audited once, a note with a comma and a
 * quote quoted as RFC 4180 says. */
START_TEST(escalations_csv_quotes_and_audits)
{
	char region[64], unit[96], sql[512], path[256], *cur, *f[32], due[16];
	struct http_response r;
	json_t *item, *v;
	size_t i;
	long id = -1;
	int n, before;

	e2e_region(region, sizeof(region), "esc");
	snprintf(unit, sizeof(unit), "%s-clinic", region);
	seed_region(region, unit);
	ck_assert_int_eq(http_request(PORT, "POST",
				      "/v1/escalations/run?date=2025-05-21",
				      NULL, NULL, &r),
			 200);
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/escalations?date=2025-05-21&region=%s",
				 region),
			 200);
	id = (long)json_integer_value(e2e_at(r.json, "items.0.id"));
	snprintf(due, sizeof(due), "%s", e2e_str(r.json, "items.0.due"));
	http_response_free(&r);
	snprintf(path, sizeof(path), "/v1/escalations/%ld/ack", id);
	ck_assert_int_eq(http_request(PORT, "POST", path,
				      "{\"note\":\"called, \\\"twice\\\"\"}",
				      COORD, &r),
			 200);
	http_response_free(&r);
	/* The deadlines name the night's escalation of a clock, and who
	 * acknowledged it. */
	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/deadlines?region=%s&as_of=%s"
				"&within_days=7",
				region, due),
			 200);
	item = NULL;
	json_array_foreach(json_object_get(r.json, "items"), i, v)
	{
		if (json_integer_value(json_object_get(v, "escalation_id")) ==
		    id)
			item = v;
	}
	ck_assert_ptr_nonnull(item);
	ck_assert_int_eq(num(item, "days_left"), 0);
	ck_assert_str_eq(e2e_str(item, "acknowledged.by"), "e2e-coord");
	ck_assert_str_eq(e2e_str(item, "acknowledged.note"),
			 "called, \"twice\"");
	http_response_free(&r);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE route = "
		 "'/v1/escalations' AND uri LIKE '%%format=csv%%%s%%'",
		 region);
	before = e2e_count(sql);
	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/escalations?format=csv&date=2025-05-21"
				"&region=%s",
				region),
			 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"called, \"\"twice\"\"\""));
	cur = r.body;
	ck_assert_int_eq(csv_record(&cur, f, 32), 19);
	n = 0;
	while (csv_record(&cur, f, 32) > 0)
		if (atol(f[0]) == id) {
			ck_assert_str_eq(f[18], "called, \"twice\"");
			ck_assert_str_eq(f[13], "e2e-coord");
			n++;
		}
	ck_assert_int_eq(n, 1);
	http_response_free(&r);
	ck_assert_int_eq(e2e_count(sql), before + 1);
	ck_assert_int_eq(
		get_as(COORD, &r, "/v1/escalations?format=csv&date=2001-01-01"),
		404);
	http_response_free(&r);
}
END_TEST

/* --- the registry export ----------------------------------------------------
 */

/* A pathway with a retracted and a corrected event, and one touched only
 * before the period. */
static void seed_history(const char *region, char *kept, size_t len)
{
	char p[96], q[96], body[1024];

	snprintf(p, sizeof(p), "%s-kept", region);
	snprintf(q, sizeof(q), "%s-old", region);
	seed(&(struct seed){.region = region,
			    .patient = p,
			    .model = "dk",
			    .unit = "u-x",
			    .received = "2025-03-03T09:00:00+01:00",
			    .accepted = "2025-03-04T09:00:00+01:00"});
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-pro\",\"type\":\"pro.reported\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-03-05T09:00:00+01:00\",\"data\":{\"instrument\":\"x\","
		 "\"scores\":{\"a\":1}}}",
		 p, p);
	post_as(NULL, body);
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-retract\",\"type\":\"event.retracted\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-03-06T09:00:00+01:00\",\"data\":{\"event_id\":"
		 "\"%s-pro\",\"reason\":\"wrong patient\"}}",
		 p, p, p);
	post_as(NULL, body);
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-fix\",\"type\":\"event.corrected\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-03-07T09:00:00+01:00\",\"data\":{\"event_id\":"
		 "\"%s-3\",\"reason\":\"typo\",\"occurred_at\":"
		 "\"2025-03-03T10:00:00+01:00\"}}",
		 p, p, p);
	post_as(NULL, body);
	seed(&(struct seed){
		.region = region, .patient = q, .model = "dk", .unit = NULL});
	snprintf(kept, len, "%s", p);
}

START_TEST(registry_export_ndjson)
{
	char region[64], kept[96], sql[512], *line, *save = NULL, outside[64];
	struct http_response r;
	int lines = 0, before;
	bool retracted = false, corrected = false;

	e2e_region(region, sizeof(region), "t");
	seed_history(region, kept, sizeof(kept));
	/* Coordinators may not; an admin's token only for its regions. */
	ck_assert_int_eq(get_as(COORD, &r,
				"/v1/export?from=2025-03-01"
				"&to=2025-03-31"),
			 403);
	http_response_free(&r);
	e2e_id(outside, sizeof(outside), "outside");
	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/export?from=2025-03-01&to=2025-03-31"
				 "&region=%s",
				 outside),
			 403);
	http_response_free(&r);
	ck_assert_int_eq(
		e2e_get(PORT, &r, "/v1/export?from=2025-03-31&to=2025-03-01"),
		400);
	http_response_free(&r);

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE route = '/v1/export' "
		 "AND patient_ids = ARRAY['%s']",
		 kept);
	before = e2e_count(sql);
	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/export?from=2025-03-01&to=2025-03-31"
				 "&region=%s",
				 region),
			 200);
	{
		char *type = http_header(&r, "Content-Type");
		ck_assert_ptr_nonnull(type);
		ck_assert_ptr_nonnull(strstr(type, "application/x-ndjson"));
		free(type);
	}
	for (line = strtok_r(r.body, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		json_t *doc = json_loads(line, 0, NULL), *t;
		size_t i;
		ck_assert_ptr_nonnull(doc);
		ck_assert_str_eq(e2e_str(doc, "pathway.patient_id"), kept);
		json_array_foreach(json_object_get(doc, "transitions"), i, t)
		{
			if (json_object_get(t, "retracted_by"))
				retracted = true;
			if (json_object_get(t, "corrected_by"))
				corrected = true;
		}
		ck_assert_int_eq(
			json_array_size(json_object_get(doc, "transitions")),
			7);
		json_decref(doc);
	}
	http_response_free(&r);
	/* The old pathway was touched in January only. */
	ck_assert_int_eq(lines, 1);
	ck_assert(retracted && corrected);
	ck_assert_int_eq(e2e_count(sql), before + 1);
}
END_TEST

START_TEST(cli_export_matches_the_daemon)
{
	char region[64], kept[96], cmd[8192], buf[65536];
	const char *cli = getenv("PAINPATH_CLI");
	struct http_response r;
	FILE *out;
	size_t n;

	e2e_region(region, sizeof(region), "t");
	seed_history(region, kept, sizeof(kept));
	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/export?from=2025-03-01&to=2025-03-31"
				 "&region=%s",
				 region),
			 200);
	snprintf(cmd, sizeof(cmd),
		 "%s export --from 2025-03-01 --to 2025-03-31 --region %s "
		 "--db '%s' 2>/dev/null",
		 cli ? cli : "build/painpath", region, e2e_pg.conninfo);
	out = popen(cmd, "r");
	ck_assert_ptr_nonnull(out);
	n = fread(buf, 1, sizeof(buf) - 1, out);
	buf[n] = '\0';
	ck_assert_int_eq(pclose(out), 0);
	ck_assert_str_eq(buf, r.body);
	http_response_free(&r);
}
END_TEST

/* A client that leaves mid-export frees its slot: afterwards more exports
 * than EXPORT_MAX_RUNNING still run. */
START_TEST(export_client_leaving_frees_its_slot)
{
	struct http_response r;
	char head[256];

	for (int i = 0; i < 3; i++) {
		int fd = http_begin(
			PORT, "GET", "/v1/export?from=2000-01-01&to=2030-01-01",
			NULL, "Authorization: Bearer dev-admin\r\n");
		ck_assert_int_ge(fd, 0);
		ck_assert_int_gt(recv(fd, head, sizeof(head), 0), 0);
		close(fd);
	}
	/* Each left; the daemon ends their jobs at their next step. */
	for (int i = 0, ok = 0; ok < 3; i++) {
		ck_assert_int_lt(i, 200);
		e2e_get(PORT, &r, "/v1/export?from=2000-01-01&to=2000-01-02");
		ok += r.status == 200;
		ck_assert(r.status == 200 || r.status == 503);
		http_response_free(&r);
	}
	ck_assert_int_eq(e2e_get(PORT, &r, "/healthz"), 200);
	http_response_free(&r);
}
END_TEST

/* Polls until the SELECT counts want (the daemon's statements show in
 * pg_stat_activity as it runs them). */
static void wait_count(const char *sql, int want)
{
	const struct timespec pause = {0, 20 * 1000 * 1000};
	int n = -1;

	for (int waited = 0; waited < E2E_POLL_LIMIT_MS; waited += 20) {
		if ((n = e2e_count(sql)) == want)
			return;
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("%s: %d, not %d", sql, n, want);
}

/* At most two exports run at once: a third is 503 with Retry-After.  The
 * two are held where they read the pathways (the test locks the table),
 * so both run when the third comes; released, both end (two audited
 * exports need four connections of the long-work pool at once). */
START_TEST(a_third_export_is_refused)
{
	static const char path[] = "/v1/export?from=2025-03-01&to=2025-03-31";
	PGconn *lock = PQconnectdb(e2e_pg.conninfo);
	struct http_response r;
	PGresult *res;
	char *retry;
	int fd[2];

	ck_assert_int_eq(PQstatus(lock), CONNECTION_OK);
	res = PQexec(lock, "BEGIN; LOCK TABLE pathways IN ACCESS EXCLUSIVE "
			   "MODE");
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	for (int i = 0; i < 2; i++) {
		fd[i] = http_begin(PORT, "GET", path, NULL, NULL);
		ck_assert_int_ge(fd[i], 0);
	}
	wait_count("SELECT count(*) FROM pg_stat_activity WHERE "
		   "wait_event_type = 'Lock' AND query LIKE "
		   "'DECLARE painpath_export%'",
		   2);
	ck_assert_int_eq(e2e_get(PORT, &r, "%s", path), 503);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "unavailable");
	retry = http_header(&r, "Retry-After");
	ck_assert_ptr_nonnull(retry);
	free(retry);
	http_response_free(&r);
	res = PQexec(lock, "COMMIT");
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(lock);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(http_end(fd[i], &r), 200);
		http_response_free(&r);
	}
}
END_TEST

/* --- back-pressure ---------------------------------------------------------
 */

/* Rows per fetch of the registry export (daemon/export_registry.c). */
#define REGISTRY_FETCH_ROWS 100
/* Pathways in the stalled export: 8 MB of it (4 kB a line), four times
 * what the kernel's socket buffers took off the daemon on loopback (2 MB,
 * the sender's buffer grown for a handful of 64 kB segments) before the
 * export stalled. */
#define STALL_PATHWAYS	 2000
#define STALL_NAME_BYTES 3000

/* What /metrics says of the exports, in one answer. */
struct export_gauges {
	long long running, waiting, queued, rows;
};

static long long metric_line(const char *text, const char *name)
{
	char key[96];
	const char *at;

	/* From the line's start: "# HELP name" must not match. */
	snprintf(key, sizeof(key), "\n%s ", name);
	at = strstr(text, key);
	ck_assert_msg(at != NULL, "/metrics has no %s", name);
	return strtoll(at + strlen(key), NULL, 10);
}

static void export_gauges(struct export_gauges *g)
{
	struct http_response r;

	ck_assert_int_eq(http_request(PORT, "GET", "/metrics", NULL, NULL, &r),
			 200);
	g->running = metric_line(r.body, "painpath_exports_running");
	g->waiting = metric_line(r.body, "painpath_exports_waiting_for_client");
	g->queued = metric_line(r.body, "painpath_export_bytes_queued");
	g->rows = metric_line(r.body, "painpath_export_rows_total");
	http_response_free(&r);
}

/* Polls until no export runs (an earlier test's clients that left end
 * theirs at its next step), into g. */
static void wait_exports_idle(struct export_gauges *g)
{
	const struct timespec pause = {0, 20 * 1000 * 1000};

	for (int waited = 0; waited < E2E_POLL_LIMIT_MS; waited += 20) {
		export_gauges(g);
		if (g->running == 0 && g->waiting == 0 && g->queued == 0)
			return;
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("exports still running: %lld, %lld waiting, %lld bytes",
		     g->running, g->waiting, g->queued);
}

/* The i-th stalled pathway's opening, or its report: one instrument's
 * long name makes each pathway's line some kilobytes, so that few
 * events make megabytes of export. */
static int stall_event(char *out, const char *region, int i, bool report)
{
	char name[STALL_NAME_BYTES + 1] = "";

	if (!report)
		return sprintf(out,
			       "{\"event_id\":\"%s-%d\",\"type\":"
			       "\"pathway.opened\",\"patient_id\":\"%s-%d\","
			       "\"occurred_at\":\"2025-01-02T09:00:00+01:00\","
			       "\"model\":\"dk\",\"region\":\"%s\",\"unit\":"
			       "\"gp-1\",\"data\":{\"age\":50}}",
			       region, i, region, i, region);
	memset(name, 'x', STALL_NAME_BYTES);
	return sprintf(out,
		       "{\"event_id\":\"%s-%d-pro\",\"type\":"
		       "\"pro.reported\",\"patient_id\":\"%s-%d\","
		       "\"occurred_at\":\"2025-01-03T09:00:00+01:00\","
		       "\"data\":{\"instrument\":\"%s\",\"scores\":"
		       "{\"pain\":5}}}",
		       region, i, region, i, name);
}

/* The stalled pathways' openings, or their reports, in batches: one
 * event a request would take most of the test's time.  A batch of
 * reports stays under max_body_bytes (4 MiB). */
static void post_stall_events(const char *region, bool report)
{
	const int batch = report ? 500 : 1000;
	char *body = malloc((size_t)batch * (STALL_NAME_BYTES + 512));
	struct http_response r;

	ck_assert_ptr_nonnull(body);
	for (int from = 0; from < STALL_PATHWAYS; from += batch) {
		int used = sprintf(body, "{\"events\":[");
		for (int i = from; i < STALL_PATHWAYS && i < from + batch;
		     i++) {
			if (i > from)
				body[used++] = ',';
			used += stall_event(body + used, region, i, report);
		}
		sprintf(body + used, "]}");
		ck_assert_int_eq(http_request(PORT, "POST", "/v1/events", body,
					      NULL, &r),
				 200);
		ck_assert_msg(strstr(r.body, "\"error\":{") == NULL, "%.500s",
			      r.body);
		http_response_free(&r);
	}
	free(body);
}

/* Asks for path and never reads the answer.  The receive buffer is set
 * small before connecting, as the window the handshake offers follows
 * it, so the kernel takes little of the answer off the daemon. */
static int stalled_client(const char *path)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;
	char req[1024];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)),
		0);
	to.sin_port = htons((uint16_t)PORT);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
		 http_default_headers);
	ck_assert(http_send(fd, req, strlen(req), 5000));
	return fd;
}

/* Polls until the export waits for its client, which must hold at most
 * bound bytes in the daemon then; fails when it fetched every row
 * first.  from is the gauges before the export. */
static void wait_stalled(const struct export_gauges *from, long long bound)
{
	const struct timespec pause = {0, 20 * 1000 * 1000};
	struct export_gauges g;

	for (int waited = 0; waited < E2E_POLL_LIMIT_MS; waited += 20) {
		export_gauges(&g);
		ck_assert_msg(g.rows - from->rows < STALL_PATHWAYS,
			      "the export fetched all %d rows from the "
			      "database without waiting for a client that "
			      "reads nothing (%lld bytes queued in the daemon, "
			      "%lld exports running)",
			      STALL_PATHWAYS, g.queued, g.running);
		ck_assert_msg(g.queued <= bound,
			      "the daemon holds %lld bytes of the export for "
			      "a client that reads nothing (at most %lld: two "
			      "fetches), having fetched %lld rows, waiting: "
			      "%lld",
			      g.queued, bound, g.rows - from->rows, g.waiting);
		if (g.waiting == 1 && g.running == 1)
			return;
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("the export never waited for its client: %lld running, "
		     "%lld rows fetched, %lld bytes queued",
		     g.running, g.rows - from->rows, g.queued);
}

/* 799f7e3: on_fetched read the length written after textbuf_free had
 * zeroed it, so it fetched the next rows at once, every time, and an
 * export to a client that read slowly or not at all piled up in the
 * daemon (420-580 MB at a million pathways).  The client here reads
 * nothing: the export must stop with at most a fetch or two in the
 * daemon's buffers, and end when the client leaves. */
START_TEST(export_fetches_again_only_after_the_socket_took_the_last_rows)
{
	char region[64], path[256];
	struct export_gauges before, after;
	struct http_response r;
	long long lines = 0, longest = 0;
	int fd;

	e2e_region(region, sizeof(region), "t");
	post_stall_events(region, false);
	post_stall_events(region, true);
	snprintf(path, sizeof(path),
		 "/v1/export?from=2025-01-01&to=2025-01-31&region=%s", region);
	/* Read whole, by a client that reads: the longest line is the
	 * bound's unit. */
	ck_assert_int_eq(e2e_get(PORT, &r, "%s", path), 200);
	for (const char *l = r.body, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
		lines++;
		if (nl + 1 - l > longest)
			longest = nl + 1 - l;
	}
	http_response_free(&r);
	ck_assert_int_eq(lines, STALL_PATHWAYS);

	wait_exports_idle(&before);
	fd = stalled_client(path);
	wait_stalled(&before, 2 * REGISTRY_FETCH_ROWS * longest + 1024);
	close(fd);
	/* Gone, the client's job ends; the daemon serves on. */
	wait_exports_idle(&after);
	ck_assert_int_lt(after.rows - before.rows, STALL_PATHWAYS);
	ck_assert_int_eq(e2e_get(PORT, &r, "/healthz"), 200);
	http_response_free(&r);
}
END_TEST

/* --- the pages -------------------------------------------------------------
 */

START_TEST(pages_are_served_with_their_headers)
{
	struct http_response r;
	char *etag, *v, inm[160];

	ck_assert_int_eq(
		http_request(PORT, "GET", "/", NULL, "Authorization: \r\n", &r),
		200);
	ck_assert_ptr_nonnull(strstr(r.body, "<!doctype html>"));
	v = http_header(&r, "Content-Type");
	ck_assert_ptr_nonnull(strstr(v, "text/html"));
	free(v);
	v = http_header(&r, "Content-Security-Policy");
	ck_assert_ptr_nonnull(strstr(v, "default-src 'none'"));
	ck_assert_ptr_nonnull(strstr(v, "script-src 'self'"));
	ck_assert_ptr_nonnull(strstr(v, "frame-ancestors 'none'"));
	free(v);
	v = http_header(&r, "X-Content-Type-Options");
	ck_assert_str_eq(v, "nosniff");
	free(v);
	v = http_header(&r, "Cache-Control");
	ck_assert_str_eq(v, "no-cache");
	free(v);
	etag = http_header(&r, "ETag");
	ck_assert_ptr_nonnull(etag);
	http_response_free(&r);
	snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
	ck_assert_int_eq(
		http_request(PORT, "GET", "/index.html", NULL, inm, &r), 304);
	ck_assert_int_eq(r.body_len, 0);
	http_response_free(&r);
	free(etag);
	ck_assert_int_eq(e2e_get(PORT, &r, "/js/dashboard.js"), 200);
	v = http_header(&r, "Content-Type");
	ck_assert_ptr_nonnull(strstr(v, "javascript"));
	free(v);
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r, "/public.html"), 200);
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r, "/no-such-page.html"), 404);
	http_response_free(&r);
	ck_assert_int_eq(e2e_get(PORT, &r, "/js/../index.html"), 404);
	http_response_free(&r);
}
END_TEST

/* No token; aggregates only, small figures null; cacheable. */
START_TEST(public_waiting_times)
{
	struct http_response r;
	char *etag, inm[160], *v;
	json_t *u;
	size_t i;

	ck_assert_int_eq(http_request(PORT, "GET", "/public/waiting-times",
				      NULL, "Authorization: \r\n", &r),
			 200);
	ck_assert_int_eq(num(r.json, "window_days"), 90);
	ck_assert_int_eq(num(r.json, "min_patients"), 5);
	ck_assert_ptr_nonnull(e2e_str(r.json, "generated_at"));
	json_array_foreach(json_object_get(r.json, "units"), i, u)
	{
		json_t *started = json_object_get(u, "started");
		json_t *waiting = json_object_get(u, "waiting_now");
		ck_assert(json_is_null(started) ||
			  json_integer_value(started) >= 5);
		ck_assert(json_is_null(waiting) ||
			  json_integer_value(waiting) >= 5);
		if (json_is_null(started)) {
			ck_assert(json_is_null(
				json_object_get(u, "median_days")));
			ck_assert(json_is_null(json_object_get(u, "p90_days")));
		}
		ck_assert_ptr_null(json_object_get(u, "patient_id"));
	}
	v = http_header(&r, "Cache-Control");
	ck_assert_ptr_nonnull(strstr(v, "max-age="));
	free(v);
	etag = http_header(&r, "ETag");
	http_response_free(&r);
	snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
	ck_assert_int_eq(http_request(PORT, "GET", "/public/waiting-times",
				      NULL, inm, &r),
			 304);
	http_response_free(&r);
	free(etag);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static double metric(int port, const char *prefix)
{
	struct http_response r;
	const char *at;
	double v = -1;

	if (http_request(port, "GET", "/metrics", NULL, NULL, &r) == 200 &&
	    (at = strstr(r.body, prefix)) != NULL)
		v = atof(at + strlen(prefix));
	http_response_free(&r);
	return v;
}

static void page_is(int port, const char *want)
{
	struct http_response r;

	ck_assert_int_eq(http_request(port, "GET", "/", NULL, NULL, &r), 200);
	ck_assert_str_eq(r.body, want);
	http_response_free(&r);
}

/* --- the whole country's snapshot ---------------------------------------- */

/* The four figures of the whole country, as an all-regions coordinator
 * reads them (today, no filter): bodies[i] owned, and whether each came
 * from a snapshot (its snapshot_at, removed from the body, into at). */
static const char *const country_paths[] = {
	"/v1/stats/clocks", "/v1/stats/waiting", "/v1/stats/histogram",
	"/v1/stats/trend?months=12"};
#define COUNTRY_READS (sizeof(country_paths) / sizeof(*country_paths))

static void read_country(int port, json_t *bodies[COUNTRY_READS],
			 char at[COUNTRY_READS][32])
{
	for (size_t i = 0; i < COUNTRY_READS; i++) {
		struct http_response r;
		json_t *snap;

		http_request(port, "GET", country_paths[i], NULL, COORD_ALL,
			     &r);
		ck_assert_msg(r.status == 200, "%s: %d", country_paths[i],
			      r.status);
		snap = json_object_get(r.json, "snapshot_at");
		snprintf(at[i], 32, "%s", snap ? json_string_value(snap) : "");
		json_object_del(r.json, "snapshot_at");
		bodies[i] = json_incref(r.json);
		http_response_free(&r);
	}
}

static void free_country(json_t *bodies[COUNTRY_READS])
{
	for (size_t i = 0; i < COUNTRY_READS; i++)
		json_decref(bodies[i]);
}

/*
 * Schema 008: a daemon told to snapshot from 0 pathways computes the
 * whole country's figures; an all-regions read of today without a filter
 * answers them with snapshot_at, and they equal the figures counted live
 * just before.  A pathway received after it shows at once in a read of
 * its region, and in the whole country's only with the next snapshot.
 * Without the snapshots the reads count live again.  The suite's daemon
 * (stats_snapshot_pathways at its default) never writes one.
 */
START_TEST(whole_country_answers_from_a_fresh_snapshot)
{
	char region[64], unit[96], dir[64], conf[128], log[128];
	char live_at[COUNTRY_READS][32], snap_at[COUNTRY_READS][32];
	char later_at[COUNTRY_READS][32];
	const char *flags[] = {"--config", conf, NULL};
	struct daemon_options o = {.extra = flags, .log_path = log};
	json_t *live[COUNTRY_READS], *snap[COUNTRY_READS];
	json_t *later[COUNTRY_READS];
	struct daemon_instance d;
	struct http_response r;

	e2e_region(region, sizeof(region), "wait");
	snprintf(unit, sizeof(unit), "%s-clinic", region);
	seed_region(region, unit);
	read_country(PORT, live, live_at);
	for (size_t i = 0; i < COUNTRY_READS; i++)
		ck_assert_msg(live_at[i][0] == '\0', "%s from a snapshot",
			      country_paths[i]);

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	e2e_write_text(conf,
		       "report_enabled = 0\nstats_snapshot_pathways = 0\n");
	ck_assert_msg(harness_daemon_start_with(&d, e2e_pg.conninfo, &o),
		      "see %s", log);
	wait_count("SELECT count(*) FROM stats_snapshots", 4);
	read_country(PORT, snap, snap_at);
	for (size_t i = 0; i < COUNTRY_READS; i++) {
		ck_assert_msg(snap_at[i][0] != '\0', "%s counted live",
			      country_paths[i]);
		ck_assert_msg(json_equal(snap[i], live[i]),
			      "%s: the snapshot differs from the live count",
			      country_paths[i]);
	}

	/* One more waiting: its region's read counts it now. */
	seed(&(struct seed){.region = region,
			    .patient = "snapshot-e",
			    .model = "no",
			    .unit = unit,
			    .received = "2025-05-20T09:00:00+02:00"});
	ck_assert_int_eq(
		get_as(COORD, &r, "/v1/stats/waiting?region=%s", region), 200);
	ck_assert_ptr_null(json_object_get(r.json, "snapshot_at"));
	ck_assert_int_eq(
		num(find_by(json_object_get(r.json, "units"), "unit", unit),
		    "waiting_now"),
		4);
	http_response_free(&r);
	/* The whole country's: the same snapshot, or a newer one with it. */
	read_country(PORT, later, later_at);
	for (size_t i = 0; i < COUNTRY_READS; i++)
		ck_assert_msg(strcmp(later_at[i], snap_at[i]) == 0
				      ? json_equal(later[i], snap[i])
				      : !json_equal(later[i], snap[i]),
			      "%s: snapshot %s then %s", country_paths[i],
			      snap_at[i], later_at[i]);
	free_country(later);

	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	ck_assert_int_eq(e2e_count("WITH d AS (DELETE FROM stats_snapshots "
				   "RETURNING 1) SELECT count(*) FROM d"),
			 4);
	read_country(PORT, later, later_at);
	for (size_t i = 0; i < COUNTRY_READS; i++)
		ck_assert_msg(later_at[i][0] == '\0', "%s from a snapshot",
			      country_paths[i]);
	free_country(later);
	free_country(snap);
	free_country(live);
	e2e_remove_dir(dir);
}
END_TEST

/* SIGHUP reads the web root again; one that cannot be read leaves the
 * pages served as they were.  The reload counter tells when it ran. */
START_TEST(web_root_reloads_and_keeps_the_old_on_failure)
{
	char dir[] = "/tmp/painpath-web-XXXXXX", path[256], moved[160];
	struct daemon_instance d;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/index.html", dir);
	write_text(path, "one");
	setenv("PAINPATH_WEB_ROOT", dir, 1);
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, NULL));
	unsetenv("PAINPATH_WEB_ROOT");
	page_is(d.port, "one");
	write_text(path, "two");
	kill(d.pid, SIGHUP);
	for (int i = 0; metric(d.port, "painpath_reloads_total{result=\""
				       "applied\"} ") < 1;
	     i++)
		ck_assert_int_lt(i, 100000);
	page_is(d.port, "two");
	/* The root gone: the pages stay. */
	snprintf(moved, sizeof(moved), "%s-moved", dir);
	ck_assert_int_eq(rename(dir, moved), 0);
	kill(d.pid, SIGHUP);
	for (int i = 0; metric(d.port, "painpath_reloads_total{result=\""
				       "applied\"} ") < 2;
	     i++)
		ck_assert_int_lt(i, 100000);
	page_is(d.port, "two");
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	snprintf(path, sizeof(path), "%s/index.html", moved);
	unlink(path);
	rmdir(moved);
}
END_TEST

void e2e_add_stats_tests(Suite *s)
{
	TCase *stats = e2e_tcase("stats");
	TCase *exports = e2e_tcase("exports");
	TCase *pages = e2e_tcase("pages");

	tcase_add_test(stats, whoami_names_the_token);
	tcase_add_test(stats, figures_of_a_region);
	tcase_add_test(stats, figures_stay_in_the_token_regions);
	tcase_add_test(stats, deadlines_are_audited_figures_are_not);
	tcase_add_test(stats, bad_parameters_are_refused);
	tcase_add_test(stats, routes_refuse_by_token_and_role);
	tcase_add_test(stats, whole_country_answers_from_a_fresh_snapshot);
	suite_add_tcase(s, stats);
	tcase_add_test(exports, worklist_csv_equals_the_json);
	tcase_add_test(exports, waiting_csv_is_a_table_of_units);
	tcase_add_test(exports, escalations_csv_quotes_and_audits);
	tcase_add_test(exports, registry_export_ndjson);
	tcase_add_test(exports, cli_export_matches_the_daemon);
	tcase_add_test(exports, export_client_leaving_frees_its_slot);
	tcase_add_test(exports, a_third_export_is_refused);
	tcase_add_test(
		exports,
		export_fetches_again_only_after_the_socket_took_the_last_rows);
	suite_add_tcase(s, exports);
	tcase_add_test(pages, pages_are_served_with_their_headers);
	tcase_add_test(pages, public_waiting_times);
	tcase_add_test(pages, web_root_reloads_and_keeps_the_old_on_failure);
	suite_add_tcase(s, pages);
}
