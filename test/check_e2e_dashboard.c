/*
 * The coordinators' page and the public page in a real browser (issue
 * 14): Debian's chromium driven by test/browser/dashboard.mjs and
 * public.mjs (puppeteer-core), against a daemon of this test's own (so
 * the public page's few-minutes cache starts empty) on the suite's
 * database.
 *
 * The test writes pathways of Norway, Denmark and Sweden into the region
 * "dash", and one into "dash-hidden", with dates counted back from today;
 * keeps the pathway each last answer returned; and from those alone
 * computes what a coordinator must see: the tiles (running and overdue
 * clocks per model and rule), the by-unit rows (waiting, median and 90th
 * percentile wait, share within the limit, overdue), the histogram, the
 * deadlines of the next 14 days, an escalation of the night's report to
 * acknowledge, a unit's worklist, and for the public page the medians of
 * started treatments with figures from fewer than 5 patients suppressed.
 * The drivers compare the page with these and exit 0 only when all hold.
 * Screenshots go to build/screenshots/.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "calendar.h"
#include "e2e.h"

#define REGION	    "dash"
#define HIDDEN	    "dash-hidden"
#define EHR	    "Authorization: Bearer dev-ehr\r\n"
#define ADMIN	    "Authorization: Bearer dev-admin\r\n"
#define SHOTS	    "build/screenshots"
#define MAX_SEEDED  40
#define UNIT_NO	    "dash-bergen-smerteklinikk"
#define UNIT_DK	    "dash-odense-smerteklinik"
#define UNIT_SE	    "dash-sthlm-smartmottagning"
#define UNIT_HIDDEN "dash-hidden-unit"

struct dash {
	int port;
	cal_date today;
	char today_text[CAL_DATE_LEN];
	json_t *pathways[MAX_SEEDED]; /* each one's last state */
	int n;
	/* Treatments started: their unit and days waited (receipt to
	 * start, both at 10:00 UTC: the same local days everywhere). */
	const char *started_unit[MAX_SEEDED];
	int started_wait[MAX_SEEDED];
	int nstarted;
	char stamp[32]; /* makes this run's patient ids new */
};

/* --- writing ------------------------------------------------------------- */

static void at_day(const struct dash *d, int days_ago, char *out, size_t len)
{
	char date[CAL_DATE_LEN];

	calendar_format_date(d->today - days_ago, date);
	snprintf(out, len, "%sT10:00:00Z", date);
}

/* Posts one event; returns the pathway the answer holds (new ref). */
static json_t *event(struct dash *d, const char *patient, int seq,
		     const char *type, int days_ago, const char *extra)
{
	char body[1024], when[32];
	struct http_response r;
	json_t *pw;

	at_day(d, days_ago, when, sizeof(when));
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s-%d\",\"type\":\"%s\",\"patient_id\":"
		 "\"%s\",\"occurred_at\":\"%s\"%s}",
		 patient, seq, type, patient, when, extra ? extra : "");
	http_request(d->port, "POST", "/v1/events", body, EHR, &r);
	ck_assert_msg(r.status == 201, "%s: %d %s", type, r.status, r.body);
	pw = json_incref(json_object_get(r.json, "pathway"));
	http_response_free(&r);
	return pw;
}

struct plan {
	const char *region, *model, *unit;
	int received;	 /* days ago, or -1: never referred */
	int accepted;	 /* days ago, or -1 */
	int deadline_in; /* days on from today (Norway) */
	int started;	 /* days ago, or -1 */
};

static void seed(struct dash *d, const char *name, const struct plan *p)
{
	char patient[96], extra[256];
	json_t *pw;
	int seq = 1;

	snprintf(patient, sizeof(patient), "%s-%s-%s", p->region, name,
		 d->stamp);
	snprintf(extra, sizeof(extra),
		 ",\"model\":\"%s\",\"region\":\"%s\",\"unit\":\"gp-%s\","
		 "\"data\":{\"age\":48}",
		 p->model, p->region, p->region);
	pw = event(d, patient, seq++, "pathway.opened", 200, extra);
	if (p->received >= 0) {
		snprintf(extra, sizeof(extra),
			 ",\"data\":{\"to_level\":\"clinic\",\"to_unit\":"
			 "\"%s\"}",
			 p->unit);
		json_decref(pw);
		pw = event(d, patient, seq++, "referral.sent", p->received + 1,
			   extra);
		json_decref(pw);
		pw = event(d, patient, seq++, "referral.received", p->received,
			   NULL);
	}
	if (p->accepted >= 0) {
		char deadline[CAL_DATE_LEN];
		calendar_format_date(d->today + p->deadline_in, deadline);
		snprintf(extra, sizeof(extra),
			 ",\"data\":{\"deadline\":\"%s\"}", deadline);
		json_decref(pw);
		pw = event(d, patient, seq++, "referral.accepted", p->accepted,
			   strcmp(p->model, "no") == 0 ? extra : NULL);
	}
	if (p->started >= 0) {
		json_decref(pw);
		pw = event(d, patient, seq++, "treatment.started", p->started,
			   NULL);
		d->started_unit[d->nstarted] = p->unit;
		d->started_wait[d->nstarted++] = p->received - p->started;
	}
	ck_assert_int_lt(d->n, MAX_SEEDED);
	d->pathways[d->n++] = pw;
}

/* Norway at a clinic in Bergen (waiting, overdue, five receipts whose
 * tenth working day falls about today, five treated), Denmark in Odense,
 * Sweden in Stockholm, a GP's patient never referred, and one pathway of
 * another region. */
static void seed_all(struct dash *d)
{
	static const struct {
		const char *name;
		struct plan p;
	} plans[] = {
		{"no-1", {REGION, "no", UNIT_NO, 2, -1, 0, -1}},
		{"no-2", {REGION, "no", UNIT_NO, 6, -1, 0, -1}},
		{"no-3", {REGION, "no", UNIT_NO, 10, -1, 0, -1}},
		{"no-4", {REGION, "no", UNIT_NO, 11, -1, 0, -1}},
		{"no-5", {REGION, "no", UNIT_NO, 12, -1, 0, -1}},
		{"no-6", {REGION, "no", UNIT_NO, 13, -1, 0, -1}},
		{"no-7", {REGION, "no", UNIT_NO, 14, -1, 0, -1}},
		{"no-8", {REGION, "no", UNIT_NO, 30, -1, 0, -1}},
		{"no-9", {REGION, "no", UNIT_NO, 20, 18, 10, -1}},
		{"no-10", {REGION, "no", UNIT_NO, 60, 55, -5, -1}},
		{"no-t1", {REGION, "no", UNIT_NO, 45, 44, -10, 6}},
		{"no-t2", {REGION, "no", UNIT_NO, 50, 48, 0, 7}},
		{"no-t3", {REGION, "no", UNIT_NO, 58, 50, 5, 8}},
		{"no-t4", {REGION, "no", UNIT_NO, 61, 60, -2, 9}},
		{"no-t5", {REGION, "no", UNIT_NO, 75, 70, -20, 10}},
		{"dk-1", {REGION, "dk", UNIT_DK, 3, -1, 0, -1}},
		{"dk-2", {REGION, "dk", UNIT_DK, 10, -1, 0, -1}},
		{"dk-3", {REGION, "dk", UNIT_DK, 35, 33, 0, -1}},
		{"se-1", {REGION, "se-adult", UNIT_SE, 100, 98, 0, -1}},
		{"se-2", {REGION, "se-adult", UNIT_SE, 50, 45, 0, -1}},
		{"se-3", {REGION, "se-adult", UNIT_SE, 80, -1, 0, -1}},
		{"gp-1", {REGION, "no", NULL, -1, -1, 0, -1}},
		{"x-1", {HIDDEN, "no", UNIT_HIDDEN, 5, -1, 0, -1}},
	};

	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
		seed(d, plans[i].name, &plans[i].p);
}

/* --- what the page must show, from the pathways alone --------------------- */

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool in_region(json_t *pw)
{
	return strcmp(str(pw, "region"), REGION) == 0;
}

static cal_date date_of(json_t *v)
{
	cal_date d = 0;

	ck_assert(calendar_parse_date(json_string_value(v), &d));
	return d;
}

/* Days waited on today since the local day (in the model's zone) the
 * referral was received; -1 when the pathway is not waiting. */
static int waited(const struct dash *d, json_t *pw)
{
	static const struct {
		const char *model, *zone;
	} zones[] = {{"no", "Europe/Oslo"},
		     {"dk", "Europe/Copenhagen"},
		     {"se-adult", "Europe/Stockholm"}};
	const char *phase = str(pw, "phase");
	const char *at = str(json_object_get(pw, "referral"), "received_at");
	struct cal_zone zone;
	cal_millis t;
	bool found = false;

	if (at == NULL ||
	    (strcmp(phase, "assessing") != 0 && strcmp(phase, "waiting") != 0))
		return -1;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strcmp(zones[i].model, str(pw, "model")) == 0)
			found = calendar_zone_parse(zones[i].zone, &zone);
	ck_assert(found);
	ck_assert(calendar_parse_timestamp(at, &t));
	return (int)(d->today - calendar_local_date(&zone, t));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* PostgreSQL's percentile_cont: linear between the nearest ranks. */
static json_t *percentile(double *v, int n, double p)
{
	double pos, lo;

	if (n == 0)
		return json_null();
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	pos = p * (n - 1);
	lo = floor(pos);
	return json_real(v[(int)lo] +
			 (pos - lo) * (v[(int)ceil(pos)] - v[(int)lo]));
}

static json_t *share(int part, int whole)
{
	return whole > 0 ? json_real((double)part / whole) : json_null();
}

static void add_one(json_t *obj, const char *key)
{
	json_object_set_new(
		obj, key,
		json_integer(json_integer_value(json_object_get(obj, key)) +
			     1));
}

/* Tiles: every running clock of the region's pathways by model and rule;
 * overdue when due before today. */
static json_t *expected_tiles(const struct dash *d)
{
	json_t *by = json_object(), *tiles = json_array(), *t, *c;
	const char *key;
	size_t k;

	for (int i = 0; i < d->n; i++) {
		json_t *pw = d->pathways[i];
		if (!in_region(pw))
			continue;
		json_array_foreach(json_object_get(pw, "deadlines"), k, c)
		{
			char name[96];
			snprintf(name, sizeof(name), "%s/%s", str(pw, "model"),
				 str(c, "rule"));
			t = json_object_get(by, name);
			if (t == NULL) {
				t = json_pack("{s:s, s:s, s:i, s:i}", "model",
					      str(pw, "model"), "rule",
					      str(c, "rule"), "running", 0,
					      "overdue", 0);
				json_object_set_new(by, name, t);
			}
			add_one(t, "running");
			if (date_of(json_object_get(c, "due")) < d->today)
				add_one(t, "overdue");
		}
	}
	json_object_foreach(by, key, t)
	{
		int running =
			(int)json_integer_value(json_object_get(t, "running"));
		int overdue =
			(int)json_integer_value(json_object_get(t, "overdue"));
		json_object_set_new(t, "share",
				    share(running - overdue, running));
		json_array_append(tiles, t);
	}
	json_decref(by);
	return tiles;
}

/* The by-unit row of one unit: who waits, how long, how many overdue. */
static json_t *expected_unit(const struct dash *d, const char *unit)
{
	double waits[MAX_SEEDED];
	int n = 0, clocked = 0, overdue = 0;

	for (int i = 0; i < d->n; i++) {
		json_t *pw = d->pathways[i], *c;
		int w = waited(d, pw);
		cal_date next = 0;
		size_t k;
		if (!in_region(pw) || w < 0 ||
		    strcmp(str(json_object_get(pw, "referral"), "to_unit"),
			   unit) != 0)
			continue;
		waits[n++] = w;
		json_array_foreach(json_object_get(pw, "deadlines"), k, c)
		{
			cal_date due = date_of(json_object_get(c, "due"));
			if (next == 0 || due < next)
				next = due;
		}
		clocked += next != 0;
		overdue += next != 0 && next < d->today;
	}
	return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:i}", "region",
			 REGION, "level", "clinic", "unit", unit, "waiting", n,
			 "median", percentile(waits, n, 0.5), "p90",
			 percentile(waits, n, 0.9), "share",
			 share(clocked - overdue, clocked), "overdue", overdue);
}

static json_t *expected_histogram(const struct dash *d)
{
	double waits[MAX_SEEDED];
	int n = 0, counts[64] = {0};
	json_t *bands = json_array();

	for (int i = 0; i < d->n; i++) {
		int w = waited(d, d->pathways[i]);
		if (!in_region(d->pathways[i]) || w < 0)
			continue;
		waits[n++] = w;
		ck_assert_int_lt(w / 7, 64);
		counts[w / 7]++;
	}
	for (int b = 0; b < 64; b++)
		json_array_append_new(bands,
				      json_pack("{s:i, s:i}", "from_days",
						b * 7, "count", counts[b]));
	return json_pack("{s:i, s:o, s:o, s:o}", "waiting", n, "median_days",
			 percentile(waits, n, 0.5), "p90_days",
			 percentile(waits, n, 0.9), "bands", bands);
}

/* Pathways with a clock due today to 14 days on. */
static json_t *expected_deadlines(const struct dash *d)
{
	json_t *ids = json_array(), *c;
	size_t k;

	for (int i = 0; i < d->n; i++) {
		bool soon = false;
		if (!in_region(d->pathways[i]))
			continue;
		json_array_foreach(json_object_get(d->pathways[i], "deadlines"),
				   k, c)
		{
			cal_date due = date_of(json_object_get(c, "due"));
			soon = soon ||
			       (due >= d->today && due <= d->today + 14);
		}
		if (soon)
			json_array_append_new(
				ids,
				json_string(str(d->pathways[i], "pathway_id")));
	}
	return ids;
}

/* The open pathways waiting for unit: the worklist its row opens. */
static json_t *worklist_of(const struct dash *d, const char *unit)
{
	json_t *ids = json_array(), *ref;

	for (int i = 0; i < d->n; i++) {
		ref = json_object_get(d->pathways[i], "referral");
		if (in_region(d->pathways[i]) && json_is_object(ref) &&
		    strcmp(str(ref, "to_unit"), unit) == 0)
			json_array_append_new(
				ids,
				json_string(str(d->pathways[i], "pathway_id")));
	}
	return ids;
}

/* The night's report, run for today: an item of the region due in the
 * next 14 days, not yet acknowledged. */
static json_int_t escalation_to_acknowledge(const struct dash *d)
{
	struct http_response r;
	char path[160];
	json_t *it;
	json_int_t id = -1;
	size_t i;

	snprintf(path, sizeof(path), "/v1/escalations/run?date=%s",
		 d->today_text);
	ck_assert_int_eq(http_request(d->port, "POST", path, NULL, ADMIN, &r),
			 200);
	http_response_free(&r);
	snprintf(path, sizeof(path),
		 "/v1/escalations?date=%s&region=%s&unacknowledged=true",
		 d->today_text, REGION);
	ck_assert_int_eq(http_request(d->port, "GET", path, NULL, ADMIN, &r),
			 200);
	json_array_foreach(json_object_get(r.json, "items"), i, it)
	{
		cal_date due = date_of(json_object_get(it, "due"));
		if (id < 0 && due >= d->today && due <= d->today + 14)
			id = json_integer_value(json_object_get(it, "id"));
	}
	http_response_free(&r);
	ck_assert_msg(id >= 0, "the night's report holds no item due soon");
	return id;
}

static json_t *dashboard_expectations(const struct dash *d)
{
	json_t *hidden = json_array();

	for (int i = 0; i < d->n; i++)
		if (!in_region(d->pathways[i]))
			json_array_append_new(
				hidden,
				json_string(str(d->pathways[i], "patient_id")));
	json_array_append_new(hidden, json_string(UNIT_HIDDEN));
	return json_pack(
		"{s:s, s:s, s:s, s:[s], s:[s], s:o, s:o, s:b, s:[o, o, o], "
		"s:b, s:o, s:{s:i, s:o, s:b}, s:{s:I, s:s, s:s}, "
		"s:{s:s, s:o}, s:s}",
		"lang", "en", "as_of", d->today_text, "token_id", "e2e-dash",
		"regions_visible", REGION, "regions_hidden", HIDDEN,
		"texts_hidden", hidden, "tiles", expected_tiles(d),
		"tiles_exact", true, "units", expected_unit(d, UNIT_NO),
		expected_unit(d, UNIT_DK), expected_unit(d, UNIT_SE),
		"units_exact", true, "histogram", expected_histogram(d),
		"deadlines", "within_days", 14, "pathway_ids",
		expected_deadlines(d), "exact", true, "acknowledge",
		"escalation_id", escalation_to_acknowledge(d), "note",
		"called the clinic, they book this week", "by", "e2e-dash",
		"worklist", "unit", UNIT_NO, "pathway_ids",
		worklist_of(d, UNIT_NO), "switch_lang", "nb");
}

/* The public row of a unit: started treatments of the last 90 days and
 * who waits now, each figure null when drawn from fewer than 5. */
static json_t *expected_public(const struct dash *d, const char *unit)
{
	double waits[MAX_SEEDED];
	int n = 0, waiting = 0;
	bool shown;

	for (int i = 0; i < d->nstarted; i++)
		if (strcmp(d->started_unit[i], unit) == 0)
			waits[n++] = d->started_wait[i];
	for (int i = 0; i < d->n; i++) {
		json_t *ref = json_object_get(d->pathways[i], "referral");
		if (in_region(d->pathways[i]) && json_is_object(ref) &&
		    waited(d, d->pathways[i]) >= 0 &&
		    strcmp(str(ref, "to_unit"), unit) == 0)
			waiting++;
	}
	shown = n >= 5;
	return json_pack(
		"{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "region", REGION,
		"level", "clinic", "unit", unit, "median_days",
		shown ? percentile(waits, n, 0.5) : json_null(), "p90_days",
		shown ? percentile(waits, n, 0.9) : json_null(), "started",
		shown ? json_integer(n) : json_null(), "waiting_now",
		waiting >= 5 ? json_integer(waiting) : json_null());
}

static json_t *public_expectations(const struct dash *d)
{
	json_t *hidden = json_array();

	for (int i = 0; i < d->n; i++)
		json_array_append_new(
			hidden, json_string(str(d->pathways[i], "patient_id")));
	return json_pack("{s:s, s:[o, o, o], s:o}", "lang", "sv", "rows",
			 expected_public(d, UNIT_NO),
			 expected_public(d, UNIT_DK),
			 expected_public(d, UNIT_SE), "texts_hidden", hidden);
}

/* The nightly summary, built now: the trend then shows who waited at
 * the end of each past month (the pathways were written just now). */
static void build_summary(const struct dash *d)
{
	struct http_response r;

	ck_assert_int_eq(http_request(d->port, "POST", "/v1/stats/build", NULL,
				      ADMIN, &r),
			 200);
	http_response_free(&r);
}

/* --- running the drivers ------------------------------------------------ */

static void write_json(const char *path, json_t *doc)
{
	ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(2)), 0);
	json_decref(doc);
}

/* Runs a driver; its TAP lines but the passing ones go to stderr. */
static int run_driver(const char *script, int port, const char *expect,
		      const char *env)
{
	char cmd[1024], line[2048];
	FILE *out;
	int status;

	snprintf(cmd, sizeof(cmd),
		 "%s node test/browser/%s --url http://127.0.0.1:%d "
		 "--expect %s --screenshots " SHOTS " 2>&1",
		 env, script, port, expect);
	out = popen(cmd, "r");
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), out) != NULL)
		if (strncmp(line, "ok ", 3) != 0)
			fprintf(stderr, "%s: %s", script, line);
	status = pclose(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(the_page_in_a_browser)
{
	struct daemon_instance daemon;
	struct dash d = {0};
	struct cal_zone oslo;
	struct timespec now;
	char expect[] = "/tmp/painpath-dash-XXXXXX", path[128];

	/* Today where the daemon's default report zone is. */
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert(calendar_zone_parse("Europe/Oslo", &oslo));
	d.today = calendar_local_date(&oslo, (cal_millis)now.tv_sec * 1000);
	calendar_format_date(d.today, d.today_text);
	snprintf(d.stamp, sizeof(d.stamp), "%ld", (long)now.tv_sec);
	ck_assert(harness_daemon_start(&daemon, e2e_pg.conninfo, NULL));
	d.port = daemon.port;
	seed_all(&d);
	build_summary(&d);
	ck_assert_ptr_nonnull(mkdtemp(expect));
	mkdir("build", 0755);
	mkdir(SHOTS, 0755);

	snprintf(path, sizeof(path), "%s/dashboard.json", expect);
	write_json(path, dashboard_expectations(&d));
	ck_assert_int_eq(run_driver("dashboard.mjs", d.port, path,
				    "PAINPATH_TOKEN=e2e-dash"),
			 0);
	snprintf(path, sizeof(path), "%s/public.json", expect);
	write_json(path, public_expectations(&d));
	ck_assert_int_eq(run_driver("public.mjs", d.port, path, ""), 0);

	snprintf(path, sizeof(path), "rm -rf '%s'", expect);
	ck_assert_int_eq(system(path), 0);
	for (int i = 0; i < d.n; i++)
		json_decref(d.pathways[i]);
	ck_assert_int_eq(harness_daemon_stop(&daemon), 0);
}
END_TEST

void e2e_add_dashboard_tests(Suite *s)
{
	TCase *tc = e2e_tcase("browser");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, the_page_in_a_browser);
	suite_add_tcase(s, tc);
}
