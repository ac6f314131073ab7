/*
 * The coordinators' page and the public page in a real browser (issue
 * 14): Debian's chromium driven by test/browser/dashboard.mjs and
 * public.mjs (puppeteer-core), against a daemon of this test's own (so
 * the public page's few-minutes cache starts empty) on the suite's
 * database.
 *
 * The test writes a year of pathways into a region of each country -- a
 * Norwegian health region (Helse Sør-Øst), a Danish region (Syddanmark)
 * and a Swedish one (Stockholm), two clinics each -- and one into a
 * Danish region the page's token does not cover (Hovedstaden): referrals in
 * transit (sent, not yet received), under assessment, accepted and
 * waiting for treatment, some of each overdue, a rejected referral,
 * treatments started over the last twelve months (at least the public
 * page's threshold of them in each country's first clinic in the last 90
 * days), and patients at their GP.  Dates count back from today.  It
 * keeps the pathway each last answer returned and the plan it followed,
 * and from those alone computes what a coordinator must see: the tiles
 * (running and overdue clocks per model and rule, with the rule's limit),
 * the by-unit rows, the histogram, the 12-month trend, the weekly flow,
 * the deadlines of the next 14 days, an escalation of the night's report
 * to acknowledge and a unit's worklist, for all three regions together
 * and for each region chosen in the page's own region filter (each shown
 * in its country's language and screenshotted as country-no.png,
 * country-dk.png, country-se.png); and for the public page the figures of
 * started treatments, those from too few patients suppressed.  The
 * drivers compare the page with these and exit 0 only when all hold.
 * Screenshots go to build/screenshots/.
 */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "calendar.h"
#include "e2e.h"

#define HIDDEN	     "region-hovedstaden"
#define EHR	     "Authorization: Bearer dev-ehr\r\n"
#define ADMIN	     "Authorization: Bearer dev-admin\r\n"
#define SHOTS	     "build/screenshots"
#define MAX_SEEDED   128
#define MONTHS	     12
#define WEEKS	     12
#define UNIT_NO	     "ous-smerteklinikk"
#define UNIT_NO_2    "ahus-smerteklinikk"
#define UNIT_DK	     "ouh-smerteklinik"
#define UNIT_DK_2    "vejle-smerteklinik"
#define UNIT_SE	     "karolinska-smartmottagning"
#define UNIT_SE_2    "sodersjukhuset-smartmottagning"
#define UNIT_HIDDEN  "rigshospitalet-smerteklinik"
#define HIDDEN_MODEL "dk"
#define HIDDEN_GP    "laegehuset-norrebro"
#define HIDDEN_ZONE  "Europe/Copenhagen"

/* The token's regions, one per country (E2E_DASH_REGIONS), each in its
 * country's language on the page. */
static const struct country {
	const char *code; /* the screenshot's name */
	const char *region, *model, *gp_unit, *zone, *lang;
} countries[] = {
	{"no", "helse-sor-ost", "no", "fastlege-grunerlokka", "Europe/Oslo",
	 "nb"},
	{"dk", "region-syddanmark", "dk", "laegehuset-odense-c",
	 "Europe/Copenhagen", "da"},
	{"se", "region-stockholm", "se-adult", "vardcentralen-sodermalm",
	 "Europe/Stockholm", "sv"},
};
#define NCOUNTRIES ((int)(sizeof(countries) / sizeof(countries[0])))
enum { NO, DK, SE, HIDDEN_REGION = -1 };

/* One pathway's course, in days before today (-1: never). */
struct plan {
	int country;	  /* index into countries, or HIDDEN_REGION */
	const char *unit; /* the clinic referred to; NULL: never referred */
	int sent, received, accepted;
	int deadline_in; /* the clinic's deadline, days on from today (no) */
	int rejected, started;
	int pain_onset; /* starts the level review at the GP */
};

#define TRANSIT(c, u, s)                                                       \
	{                                                                      \
		c, u, s, -1, -1, 0, -1, -1, -1                                 \
	}
#define ASSESSING(c, u, r)                                                     \
	{                                                                      \
		c, u, (r) + 1, r, -1, 0, -1, -1, -1                            \
	}
#define WAITING(c, u, r, a, dl)                                                \
	{                                                                      \
		c, u, (r) + 1, r, a, dl, -1, -1, -1                            \
	}
#define REJECTED(c, u, r, x)                                                   \
	{                                                                      \
		c, u, (r) + 1, r, -1, 0, x, -1, -1                             \
	}
#define TREATED(c, u, r, a, dl, s)                                             \
	{                                                                      \
		c, u, (r) + 1, r, a, dl, -1, s, -1                             \
	}
#define AT_GP(c, onset)                                                        \
	{                                                                      \
		c, NULL, -1, -1, -1, 0, -1, -1, onset                          \
	}

struct dash {
	int port;
	cal_date today;
	char today_text[CAL_DATE_LEN];
	json_t *pathways[MAX_SEEDED];  /* each one's last state */
	struct plan plans[MAX_SEEDED]; /* and what it was written from */
	int n;
	json_t *models[NCOUNTRIES]; /* config/models/<model>.json */
	int min_patients;	    /* the public page's threshold */
	int window_days;	    /* and its window of started treatments */
	char stamp[32];		    /* makes this run's patient ids new */
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

static const char *plan_region(const struct plan *p)
{
	return p->country == HIDDEN_REGION ? HIDDEN
					   : countries[p->country].region;
}

static const char *plan_model(const struct plan *p)
{
	return p->country == HIDDEN_REGION ? HIDDEN_MODEL
					   : countries[p->country].model;
}

/* The next event of a pathway: the last answer's state replaces the one
 * kept. */
static void step(struct dash *d, json_t **pw, const char *patient, int *seq,
		 const char *type, int days_ago, const char *extra)
{
	json_decref(*pw);
	*pw = event(d, patient, (*seq)++, type, days_ago, extra);
}

static void seed(struct dash *d, int index, const struct plan *p)
{
	char patient[96], extra[256], onset[CAL_DATE_LEN] = "";
	const char *model = plan_model(p), *region = plan_region(p);
	json_t *pw = NULL;
	int seq = 1;

	snprintf(patient, sizeof(patient), "%s-%d-%s", region, index + 1,
		 d->stamp);
	if (p->pain_onset >= 0)
		calendar_format_date(d->today - p->pain_onset, onset);
	snprintf(extra, sizeof(extra),
		 ",\"model\":\"%s\",\"region\":\"%s\",\"unit\":\"%s\","
		 "\"data\":{\"age\":48%s%s%s}",
		 model, region,
		 p->country == HIDDEN_REGION ? HIDDEN_GP
					     : countries[p->country].gp_unit,
		 onset[0] ? ",\"pain_onset\":\"" : "", onset,
		 onset[0] ? "\"" : "");
	step(d, &pw, patient, &seq, "pathway.opened",
	     p->sent >= 0 ? p->sent + 14 : 60, extra);
	if (p->sent >= 0) {
		snprintf(extra, sizeof(extra),
			 ",\"data\":{\"to_level\":\"clinic\",\"to_unit\":"
			 "\"%s\"}",
			 p->unit);
		step(d, &pw, patient, &seq, "referral.sent", p->sent, extra);
	}
	if (p->received >= 0)
		step(d, &pw, patient, &seq, "referral.received", p->received,
		     NULL);
	if (p->accepted >= 0) {
		char deadline[CAL_DATE_LEN];
		calendar_format_date(d->today + p->deadline_in, deadline);
		snprintf(extra, sizeof(extra),
			 ",\"data\":{\"deadline\":\"%s\"}", deadline);
		step(d, &pw, patient, &seq, "referral.accepted", p->accepted,
		     strcmp(model, "no") == 0 ? extra : NULL);
	}
	if (p->rejected >= 0)
		step(d, &pw, patient, &seq, "referral.rejected", p->rejected,
		     ",\"data\":{\"reason\":\"the GP has not yet tried "
		     "the first-line treatment\",\"advice\":\"refer again "
		     "after twelve weeks of it\"}");
	if (p->started >= 0)
		step(d, &pw, patient, &seq, "treatment.started", p->started,
		     NULL);
	ck_assert_int_lt(d->n, MAX_SEEDED);
	d->plans[d->n] = *p;
	d->pathways[d->n++] = pw;
}

/*
 * A year of each country, from today back.  Norway (assessment within 10
 * working days of receipt, treatment by the deadline the clinic sets):
 * referrals in transit, receipts whose tenth working day falls about
 * today, one clinic with enough treatments for the public page and one
 * with too few.  Denmark (assessment and extended free choice within 30
 * days) and Sweden (the care guarantee's 90 days to treatment) the same
 * way.  Some within their limits and some not, one referral rejected in
 * each, patients at their GP (one with a level review running), and one
 * pathway in a region the page's token does not cover.
 */
static void seed_all(struct dash *d)
{
	static const struct plan plans[] = {
		TRANSIT(NO, UNIT_NO, 1),
		TRANSIT(NO, UNIT_NO, 3),
		TRANSIT(NO, UNIT_NO_2, 12),
		ASSESSING(NO, UNIT_NO, 2),
		ASSESSING(NO, UNIT_NO, 6),
		ASSESSING(NO, UNIT_NO, 10),
		ASSESSING(NO, UNIT_NO, 12),
		ASSESSING(NO, UNIT_NO, 13),
		ASSESSING(NO, UNIT_NO, 14),
		ASSESSING(NO, UNIT_NO, 21),
		ASSESSING(NO, UNIT_NO_2, 5),
		ASSESSING(NO, UNIT_NO_2, 30),
		WAITING(NO, UNIT_NO, 20, 15, 10),
		WAITING(NO, UNIT_NO, 45, 38, 25),
		WAITING(NO, UNIT_NO, 70, 60, -4),
		WAITING(NO, UNIT_NO_2, 35, 30, 40),
		REJECTED(NO, UNIT_NO, 28, 22),
		TREATED(NO, UNIT_NO, 50, 44, -10, 6),
		TREATED(NO, UNIT_NO, 48, 40, -5, 12),
		TREATED(NO, UNIT_NO, 70, 62, -20, 25),
		TREATED(NO, UNIT_NO, 90, 80, -30, 45),
		TREATED(NO, UNIT_NO, 100, 95, -40, 60),
		TREATED(NO, UNIT_NO, 120, 110, -70, 65),
		TREATED(NO, UNIT_NO_2, 80, 70, -20, 30),
		TREATED(NO, UNIT_NO_2, 110, 100, -50, 75),
		TREATED(NO, UNIT_NO, 150, 140, -95, 100),
		TREATED(NO, UNIT_NO, 170, 160, -120, 130),
		TREATED(NO, UNIT_NO, 200, 190, -150, 160),
		TREATED(NO, UNIT_NO, 230, 220, -190, 185),
		TREATED(NO, UNIT_NO, 260, 250, -200, 215),
		TREATED(NO, UNIT_NO_2, 290, 280, -240, 245),
		TREATED(NO, UNIT_NO, 320, 310, -270, 275),
		TREATED(NO, UNIT_NO, 350, 340, -300, 305),
		TREATED(NO, UNIT_NO, 380, 370, -330, 335),
		AT_GP(NO, -1),
		AT_GP(NO, 170),

		TRANSIT(DK, UNIT_DK, 2),
		TRANSIT(DK, UNIT_DK_2, 9),
		ASSESSING(DK, UNIT_DK, 4),
		ASSESSING(DK, UNIT_DK, 12),
		ASSESSING(DK, UNIT_DK, 25),
		ASSESSING(DK, UNIT_DK, 40),
		ASSESSING(DK, UNIT_DK_2, 8),
		WAITING(DK, UNIT_DK, 35, 20, 0),
		WAITING(DK, UNIT_DK, 18, 10, 0),
		WAITING(DK, UNIT_DK_2, 26, 15, 0),
		REJECTED(DK, UNIT_DK_2, 15, 11),
		TREATED(DK, UNIT_DK, 30, 20, 0, 5),
		TREATED(DK, UNIT_DK, 45, 30, 0, 10),
		TREATED(DK, UNIT_DK, 40, 25, 0, 20),
		TREATED(DK, UNIT_DK, 60, 40, 0, 33),
		TREATED(DK, UNIT_DK, 80, 60, 0, 50),
		TREATED(DK, UNIT_DK, 95, 75, 0, 62),
		TREATED(DK, UNIT_DK_2, 70, 55, 0, 44),
		TREATED(DK, UNIT_DK, 130, 115, 0, 100),
		TREATED(DK, UNIT_DK, 160, 140, 0, 128),
		TREATED(DK, UNIT_DK_2, 200, 180, 0, 170),
		TREATED(DK, UNIT_DK, 240, 225, 0, 212),
		TREATED(DK, UNIT_DK, 290, 270, 0, 258),
		TREATED(DK, UNIT_DK, 330, 310, 0, 301),
		AT_GP(DK, -1),

		TRANSIT(SE, UNIT_SE, 1),
		TRANSIT(SE, UNIT_SE, 4),
		TRANSIT(SE, UNIT_SE_2, 15),
		ASSESSING(SE, UNIT_SE, 7),
		ASSESSING(SE, UNIT_SE, 30),
		ASSESSING(SE, UNIT_SE, 95),
		ASSESSING(SE, UNIT_SE_2, 20),
		WAITING(SE, UNIT_SE, 60, 40, 0),
		WAITING(SE, UNIT_SE, 100, 70, 0),
		WAITING(SE, UNIT_SE, 85, 50, 0),
		WAITING(SE, UNIT_SE_2, 50, 45, 0),
		REJECTED(SE, UNIT_SE, 40, 33),
		TREATED(SE, UNIT_SE, 80, 50, 0, 3),
		TREATED(SE, UNIT_SE, 120, 90, 0, 15),
		TREATED(SE, UNIT_SE, 70, 40, 0, 22),
		TREATED(SE, UNIT_SE, 110, 60, 0, 35),
		TREATED(SE, UNIT_SE, 150, 100, 0, 52),
		TREATED(SE, UNIT_SE, 110, 90, 0, 70),
		TREATED(SE, UNIT_SE_2, 100, 80, 0, 40),
		TREATED(SE, UNIT_SE, 200, 150, 0, 110),
		TREATED(SE, UNIT_SE, 230, 180, 0, 140),
		TREATED(SE, UNIT_SE_2, 260, 220, 0, 190),
		TREATED(SE, UNIT_SE, 300, 250, 0, 230),
		TREATED(SE, UNIT_SE, 330, 290, 0, 270),
		TREATED(SE, UNIT_SE, 380, 330, 0, 310),
		AT_GP(SE, -1),

		ASSESSING(HIDDEN_REGION, UNIT_HIDDEN, 5),
	};

	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
		seed(d, (int)i, &plans[i]);
}

/* --- what the page must show, from the pathways and plans alone ----------- */

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int country_of(const char *region)
{
	for (int c = 0; c < NCOUNTRIES; c++)
		if (strcmp(countries[c].region, region) == 0)
			return c;
	return HIDDEN_REGION;
}

/* Within the view of one region, or (region NULL) of every region the
 * token covers. */
static bool in_view(const char *region, const char *of)
{
	return region ? strcmp(region, of) == 0
		      : country_of(of) != HIDDEN_REGION;
}

static bool pw_in_view(json_t *pw, const char *region)
{
	return in_view(region, str(pw, "region"));
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
	const char *phase = str(pw, "phase");
	const char *at = str(json_object_get(pw, "referral"), "received_at");
	int c = country_of(str(pw, "region"));
	struct cal_zone zone;
	cal_millis t;

	if (at == NULL ||
	    (strcmp(phase, "assessing") != 0 && strcmp(phase, "waiting") != 0))
		return -1;
	ck_assert(calendar_zone_parse(
		c == HIDDEN_REGION ? HIDDEN_ZONE : countries[c].zone, &zone));
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

/* The model a country's pathways follow, as the daemon reads it. */
static json_t *load_model(const char *key)
{
	char path[128];
	json_error_t err;
	json_t *m;

	snprintf(path, sizeof(path), "config/models/%s.json", key);
	m = json_load_file(path, 0, &err);
	ck_assert_msg(m != NULL, "%s: %s", path, err.text);
	return m;
}

static json_t *model_of(const struct dash *d, const char *key)
{
	for (int c = 0; c < NCOUNTRIES; c++)
		if (strcmp(countries[c].model, key) == 0)
			return d->models[c];
	ck_abort_msg("no model %s", key);
	return NULL;
}

/* A rule's limit from the model: {"unit", "n"} in days, working days or
 * months, or null (a deadline the clinic sets). */
static json_t *rule_limit(const struct dash *d, const char *model,
			  const char *rule)
{
	static const char *const units[] = {"days", "working_days", "months"};
	json_t *clock = json_object_get(
		json_object_get(model_of(d, model), "clocks"), rule);

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (json_is_integer(json_object_get(clock, units[i])))
			return json_pack("{s:s, s:O}", "unit", units[i], "n",
					 json_object_get(clock, units[i]));
	return json_null();
}

/* Tiles: every running clock of the view's pathways by model and rule;
 * overdue when due before today. */
static json_t *expected_tiles(const struct dash *d, const char *region)
{
	json_t *by = json_object(), *tiles = json_array(), *t, *c;
	const char *key;
	size_t k;

	for (int i = 0; i < d->n; i++) {
		json_t *pw = d->pathways[i];
		if (!pw_in_view(pw, region))
			continue;
		json_array_foreach(json_object_get(pw, "deadlines"), k, c)
		{
			char name[96];
			snprintf(name, sizeof(name), "%s/%s", str(pw, "model"),
				 str(c, "rule"));
			t = json_object_get(by, name);
			if (t == NULL) {
				t = json_pack("{s:s, s:s, s:i, s:i, s:o}",
					      "model", str(pw, "model"), "rule",
					      str(c, "rule"), "running", 0,
					      "overdue", 0, "limit",
					      rule_limit(d, str(pw, "model"),
							 str(c, "rule")));
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

static json_t *find_tile(json_t *tiles, const char *model, const char *rule)
{
	json_t *t;
	size_t i;

	json_array_foreach(tiles, i, t)
	{
		if (strcmp(str(t, "model"), model) == 0 &&
		    strcmp(str(t, "rule"), rule) == 0)
			return t;
	}
	return NULL;
}

/* The by-unit row of one unit: who waits, how long, how many overdue. */
static json_t *expected_unit(const struct dash *d, const char *region,
			     const char *unit)
{
	double waits[MAX_SEEDED];
	int n = 0, clocked = 0, overdue = 0;

	for (int i = 0; i < d->n; i++) {
		json_t *pw = d->pathways[i], *c;
		int w = waited(d, pw);
		cal_date next = 0;
		size_t k;
		if (strcmp(str(pw, "region"), region) != 0 || w < 0 ||
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
			 region, "level", "clinic", "unit", unit, "waiting", n,
			 "median", percentile(waits, n, 0.5), "p90",
			 percentile(waits, n, 0.9), "share",
			 share(clocked - overdue, clocked), "overdue", overdue);
}

/* A started treatment counts on the public page and in the by-unit rows'
 * completed figures within the window (today included). */
static bool started_in_window(const struct dash *d, const struct plan *p)
{
	return p->started >= 0 && p->started < d->window_days;
}

/* The units with a row: someone waits there, or a treatment started there
 * within the window. */
static json_t *expected_units(const struct dash *d, const char *region)
{
	json_t *rows = json_array(), *seen = json_object();

	for (int i = 0; i < d->n; i++) {
		const struct plan *p = &d->plans[i];
		char key[160];
		if (p->unit == NULL || !in_view(region, plan_region(p)) ||
		    (waited(d, d->pathways[i]) < 0 && !started_in_window(d, p)))
			continue;
		snprintf(key, sizeof(key), "%s/%s", plan_region(p), p->unit);
		if (json_object_get(seen, key) != NULL)
			continue;
		json_object_set_new(seen, key, json_true());
		json_array_append_new(
			rows, expected_unit(d, plan_region(p), p->unit));
	}
	json_decref(seen);
	return rows;
}

static json_t *expected_histogram(const struct dash *d, const char *region)
{
	double waits[MAX_SEEDED];
	int n = 0, counts[64] = {0};
	json_t *bands = json_array();

	for (int i = 0; i < d->n; i++) {
		int w;
		if (!pw_in_view(d->pathways[i], region))
			continue;
		w = waited(d, d->pathways[i]);
		if (w < 0)
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

/* Whether a started treatment kept its model's limit: the treatment
 * clock's, else the free choice's, in days from receipt; a deadline the
 * clinic sets, by that date.  -1: no limit applies. */
static int started_within(const struct dash *d, const struct plan *p)
{
	json_t *clocks = json_object_get(model_of(d, plan_model(p)), "clocks");
	json_t *c = json_object_get(clocks, "treatment");
	json_t *levels;

	if (c == NULL)
		c = json_object_get(clocks, "free_choice");
	if (c == NULL)
		return -1;
	levels = json_object_get(c, "levels");
	if (levels != NULL) {
		bool applies = false;
		json_t *l;
		size_t i;
		json_array_foreach(levels, i, l)
		{
			applies = applies ||
				  strcmp(json_string_value(l), "clinic") == 0;
		}
		if (!applies)
			return -1;
	}
	if (json_is_string(json_object_get(c, "due")))
		return p->accepted >= 0 ? -p->started <= p->deadline_in : -1;
	ck_assert(json_is_integer(json_object_get(c, "days")));
	return p->received - p->started <=
	       json_integer_value(json_object_get(c, "days"));
}

/* The day a wait that began on received ended: the treatment started,
 * the referral was rejected; 0 while it runs. */
static cal_date wait_ended(const struct dash *d, const struct plan *p)
{
	if (p->started >= 0)
		return d->today - p->started;
	if (p->rejected >= 0)
		return d->today - p->rejected;
	return 0;
}

/*
 * The last 12 months, oldest first: who waited at the end of each past
 * month (received by then, their wait not yet ended) and who waits now
 * for today's month; the treatments started in the month, their median
 * and 90th-percentile waits and the share within the limit.
 */
static json_t *expected_trend(const struct dash *d, const char *region)
{
	json_t *months = json_array();
	int y, m, day, waiting_now = 0;
	cal_date first;

	for (int i = 0; i < d->n; i++)
		if (pw_in_view(d->pathways[i], region) &&
		    waited(d, d->pathways[i]) >= 0)
			waiting_now++;
	calendar_ymd(d->today, &y, &m, &day);
	first = calendar_date(y, m, 1);
	for (int k = MONTHS - 1; k >= 0; k--) {
		cal_date from = calendar_add_months(first, -k);
		cal_date last = calendar_add_months(from, 1) - 1;
		double waits[MAX_SEEDED];
		int started = 0, limited = 0, within = 0, at_end = 0;
		char label[CAL_DATE_LEN];

		for (int i = 0; i < d->n; i++) {
			const struct plan *p = &d->plans[i];
			cal_date on = d->today - p->started, ended;
			int w;
			if (!in_view(region, plan_region(p)))
				continue;
			ended = wait_ended(d, p);
			if (p->received >= 0 &&
			    d->today - p->received <= last &&
			    (ended == 0 || ended > last))
				at_end++;
			if (p->started < 0 || on < from || on > last)
				continue;
			waits[started++] = p->received - p->started;
			w = started_within(d, p);
			limited += w >= 0;
			within += w == 1;
		}
		calendar_format_date(from, label);
		label[7] = '\0';
		json_array_append_new(
			months,
			json_pack("{s:s, s:i, s:i, s:o, s:o, s:o}", "month",
				  label, "waiting_at_end",
				  k == 0 ? waiting_now : at_end, "started",
				  started, "median_days",
				  percentile(waits, started, 0.5), "p90_days",
				  percentile(waits, started, 0.9),
				  "within_limit_share",
				  share(within, limited)));
	}
	return months;
}

/* ISO 8601 week of a Monday: "2026-W05". */
static void iso_week(cal_date monday, char *out, size_t len)
{
	int y, m, day, week;
	cal_date thursday = monday + 3;

	calendar_ymd(thursday, &y, &m, &day);
	week = (int)(thursday - calendar_date(y, 1, 1)) / 7 + 1;
	snprintf(out, len, "%04d-W%02d", y, week);
}

static int count_on(const struct dash *d, const char *region, cal_date from,
		    cal_date to, size_t field)
{
	int n = 0;

	for (int i = 0; i < d->n; i++) {
		const struct plan *p = &d->plans[i];
		int ago = *(const int *)((const char *)p + field);
		if (in_view(region, plan_region(p)) && ago >= 0 &&
		    d->today - ago >= from && d->today - ago <= to)
			n++;
	}
	return n;
}

/* The last 12 ISO weeks, oldest first: referrals received, accepted and
 * rejected, and treatments started, by the local day of each. */
static json_t *expected_flow(const struct dash *d, const char *region)
{
	json_t *weeks = json_array();
	cal_date monday = d->today - calendar_weekday(d->today);

	for (int k = WEEKS - 1; k >= 0; k--) {
		cal_date from = monday - 7 * k;
		char week[32], date[CAL_DATE_LEN];
		iso_week(from, week, sizeof(week));
		calendar_format_date(from, date);
		json_array_append_new(
			weeks,
			json_pack("{s:s, s:s, s:i, s:i, s:i, s:i}", "week",
				  week, "from", date, "received",
				  count_on(d, region, from, from + 6,
					   offsetof(struct plan, received)),
				  "accepted",
				  count_on(d, region, from, from + 6,
					   offsetof(struct plan, accepted)),
				  "rejected",
				  count_on(d, region, from, from + 6,
					   offsetof(struct plan, rejected)),
				  "started",
				  count_on(d, region, from, from + 6,
					   offsetof(struct plan, started))));
	}
	return weeks;
}

/* Pathways with a clock due today to 14 days on. */
static json_t *expected_deadlines(const struct dash *d)
{
	json_t *ids = json_array(), *c;
	size_t k;

	for (int i = 0; i < d->n; i++) {
		bool soon = false;
		if (!pw_in_view(d->pathways[i], NULL))
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

/* The open pathways referred to unit: the worklist its row opens. */
static json_t *worklist_of(const struct dash *d, const char *region,
			   const char *unit)
{
	json_t *ids = json_array(), *ref;

	for (int i = 0; i < d->n; i++) {
		ref = json_object_get(d->pathways[i], "referral");
		if (pw_in_view(d->pathways[i], region) && json_is_object(ref) &&
		    strcmp(str(ref, "to_unit"), unit) == 0)
			json_array_append_new(
				ids,
				json_string(str(d->pathways[i], "pathway_id")));
	}
	return ids;
}

/* The night's report, run for today: an item of region due in the next
 * 14 days, not yet acknowledged. */
static json_int_t escalation_to_acknowledge(const struct dash *d,
					    const char *region)
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
		 d->today_text, region);
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

/* What one region's view must show, in its country's language; the seeded
 * data must hold what the screenshot is for: a referral in transit, one
 * overdue, started treatments. */
static json_t *country_expectations(const struct dash *d, int c)
{
	const char *region = countries[c].region;
	json_t *tiles = expected_tiles(d, region);
	json_t *transit = find_tile(tiles, countries[c].model, "transit");
	char shot[64];

	ck_assert_msg(transit != NULL, "%s: no referral in transit", region);
	ck_assert_int_gt(
		json_integer_value(json_object_get(transit, "overdue")), 0);
	ck_assert_int_gt(
		json_integer_value(json_object_get(transit, "running")),
		json_integer_value(json_object_get(transit, "overdue")));
	snprintf(shot, sizeof(shot), "country-%s", countries[c].code);
	return json_pack("{s:s, s:s, s:s, s:o, s:b, s:[s], s:o, s:b, s:o, "
			 "s:{s:o}, s:{s:o}}",
			 "region", region, "lang", countries[c].lang, "shot",
			 shot, "tiles", tiles, "tiles_exact", true,
			 "tiles_required", "transit", "units",
			 expected_units(d, region), "units_exact", true,
			 "histogram", expected_histogram(d, region), "trend",
			 "months", expected_trend(d, region), "flow", "weeks",
			 expected_flow(d, region));
}

static json_t *dashboard_expectations(const struct dash *d)
{
	json_t *hidden = json_array(), *visible = json_array(), *views;

	for (int i = 0; i < d->n; i++)
		if (!pw_in_view(d->pathways[i], NULL))
			json_array_append_new(
				hidden,
				json_string(str(d->pathways[i], "patient_id")));
	json_array_append_new(hidden, json_string(UNIT_HIDDEN));
	views = json_array();
	for (int c = 0; c < NCOUNTRIES; c++) {
		json_array_append_new(visible,
				      json_string(countries[c].region));
		json_array_append_new(views, country_expectations(d, c));
	}
	return json_pack(
		"{s:s, s:s, s:s, s:o, s:[s], s:o, s:o, s:b, s:[s], s:o, s:b, "
		"s:o, s:{s:o}, s:{s:o}, s:{s:i, s:o, s:b}, "
		"s:{s:I, s:s, s:s}, s:{s:s, s:o}, s:s, s:o}",
		"lang", "en", "as_of", d->today_text, "token_id", "e2e-dash",
		"regions_visible", visible, "regions_hidden", HIDDEN,
		"texts_hidden", hidden, "tiles", expected_tiles(d, NULL),
		"tiles_exact", true, "tiles_required", "transit", "units",
		expected_units(d, NULL), "units_exact", true, "histogram",
		expected_histogram(d, NULL), "trend", "months",
		expected_trend(d, NULL), "flow", "weeks",
		expected_flow(d, NULL), "deadlines", "within_days", 14,
		"pathway_ids", expected_deadlines(d), "exact", true,
		"acknowledge", "escalation_id",
		escalation_to_acknowledge(d, countries[NO].region), "note",
		"called the clinic, they book this week", "by", "e2e-dash",
		"worklist", "unit", UNIT_NO, "pathway_ids",
		worklist_of(d, countries[NO].region, UNIT_NO), "switch_lang",
		"nb", "countries", views);
}

/* The public row of a unit: started treatments of the window and who
 * waits now, each figure null when drawn from fewer than the threshold. */
static json_t *expected_public(const struct dash *d, const char *region,
			       const char *unit)
{
	double waits[MAX_SEEDED];
	int n = 0, waiting = 0;
	bool shown;

	for (int i = 0; i < d->n; i++) {
		const struct plan *p = &d->plans[i];
		json_t *ref = json_object_get(d->pathways[i], "referral");
		if (p->unit == NULL || strcmp(plan_region(p), region) != 0 ||
		    strcmp(p->unit, unit) != 0)
			continue;
		if (started_in_window(d, p))
			waits[n++] = p->received - p->started;
		if (json_is_object(ref) && waited(d, d->pathways[i]) >= 0)
			waiting++;
	}
	shown = n >= d->min_patients;
	return json_pack(
		"{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "region", region,
		"level", "clinic", "unit", unit, "median_days",
		shown ? percentile(waits, n, 0.5) : json_null(), "p90_days",
		shown ? percentile(waits, n, 0.9) : json_null(), "started",
		shown ? json_integer(n) : json_null(), "waiting_now",
		waiting >= d->min_patients ? json_integer(waiting)
					   : json_null());
}

/* Every unit with a row; the first clinic of each country must show its
 * figures (the page is shown for each country), and some figure somewhere
 * must be suppressed (the wording of suppression is checked). */
static json_t *public_expectations(const struct dash *d)
{
	json_t *hidden = json_array(), *rows = json_array(), *units, *u;
	bool suppressed = false;
	size_t i;

	for (int k = 0; k < d->n; k++)
		json_array_append_new(
			hidden, json_string(str(d->pathways[k], "patient_id")));
	units = expected_units(d, NULL);
	json_array_foreach(units, i, u)
	{
		json_t *row =
			expected_public(d, str(u, "region"), str(u, "unit"));
		bool first = strcmp(str(u, "unit"), UNIT_NO) == 0 ||
			     strcmp(str(u, "unit"), UNIT_DK) == 0 ||
			     strcmp(str(u, "unit"), UNIT_SE) == 0;
		if (first)
			ck_assert_msg(
				json_is_number(
					json_object_get(row, "median_days")) &&
					json_is_integer(json_object_get(
						row, "waiting_now")),
				"%s: the public figures would be suppressed",
				str(u, "unit"));
		suppressed = suppressed ||
			     json_is_null(json_object_get(row, "started"));
		json_array_append_new(rows, row);
	}
	json_decref(units);
	ck_assert_msg(suppressed, "no public figure is suppressed");
	return json_pack("{s:s, s:o, s:o}", "lang", "sv", "rows", rows,
			 "texts_hidden", hidden);
}

/*
 * The year of history as if each event had been posted when it happened:
 * the test writes it in seconds, but the nightly summary leaves out
 * events recorded in the last minutes before it is built (they are added
 * a few minutes later), and a past month's treatments are read from the
 * summary only (README, "How the figures stay fast").  So the test's
 * transitions get their occurred_at as recorded_at, through the database
 * (the append-only trigger is a user trigger, which the replica role does
 * not fire), before the summary is built.
 */
static void recorded_as_it_happened(const struct dash *d)
{
	char sql[512], pattern[64], *out;
	int all = 0, before = 0;

	snprintf(pattern, sizeof(pattern), "%%-%s", d->stamp);
	snprintf(sql, sizeof(sql),
		 "SET session_replication_role = replica; "
		 "UPDATE transitions t SET recorded_at = least(t.occurred_at, "
		 "now() - interval '10 minutes') FROM pathways p WHERE "
		 "p.pathway_id = t.pathway_id AND p.patient_id LIKE '%s'; "
		 "SELECT count(*), count(*) FILTER (WHERE t.recorded_at < "
		 "now() - interval '10 minutes') FROM transitions t JOIN "
		 "pathways p USING (pathway_id) WHERE p.patient_id LIKE '%s'",
		 pattern, pattern);
	out = harness_psql(&e2e_pg, sql);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sscanf(out, "%d|%d", &all, &before), 2);
	ck_assert_int_gt(all, d->n);
	ck_assert_int_eq(before, all);
	free(out);
}

/* The nightly summary, built now: the trend then shows who waited at
 * the end of each past month and the treatments started in it. */
static void build_summary(const struct dash *d)
{
	struct http_response r;

	ck_assert_int_eq(http_request(d->port, "POST", "/v1/stats/build", NULL,
				      ADMIN, &r),
			 200);
	http_response_free(&r);
}

/* The public page's threshold and window, from its own answer (only
 * these: its figures are what the browser compares). */
static void public_parameters(struct dash *d)
{
	struct http_response r;

	ck_assert_int_eq(http_request(d->port, "GET", "/public/waiting-times",
				      NULL, NULL, &r),
			 200);
	d->min_patients = (int)json_integer_value(
		json_object_get(r.json, "min_patients"));
	d->window_days =
		(int)json_integer_value(json_object_get(r.json, "window_days"));
	http_response_free(&r);
	ck_assert_int_gt(d->min_patients, 0);
	ck_assert_int_gt(d->window_days, 0);
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
	for (int c = 0; c < NCOUNTRIES; c++)
		d.models[c] = load_model(countries[c].model);
	ck_assert(harness_daemon_start(&daemon, e2e_pg.conninfo, NULL));
	d.port = daemon.port;
	seed_all(&d);
	recorded_as_it_happened(&d);
	build_summary(&d);
	public_parameters(&d);
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
	for (int c = 0; c < NCOUNTRIES; c++)
		json_decref(d.models[c]);
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
