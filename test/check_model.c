/*
 * Unit tests for lib/model.c: the four shipped pathway models, strict
 * loading of broken ones (test/data/models_bad, expected messages in
 * models_bad/errors.tsv) and clock due dates.  Expected dates were counted
 * by hand from domain.md.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"
#include "model.h"
#include "suites.h"
#include "tsv.h"

#define BAD_DIR "test/data/models_bad"

static cal_date date(const char *text)
{
	cal_date d;

	ck_assert_msg(calendar_parse_date(text, &d), "bad date %s", text);
	return d;
}

static void date_eq(cal_date got, const char *want, const char *what)
{
	char buf[CAL_DATE_LEN];

	calendar_format_date(got, buf);
	ck_assert_msg(strcmp(buf, want) == 0, "%s: %s, want %s", what, buf,
		      want);
}

/* --- the shipped models --------------------------------------------------- */

static const struct {
	const char *file;
	const char *key;
	const char *country_code;
	enum cal_country country;
	const char *zone;
	const char *gp_en, *centre_en; /* domain.md's level table */
	int min_age, max_age;
	unsigned guards;
	bool notify;
	/* rules with a clock (bit per enum rule) */
	unsigned clocks;
} shipped[] = {
	{"config/models/dk.json", "dk", "DK", CAL_COUNTRY_DK,
	 "Europe/Copenhagen", "general practice",
	 "interdisciplinary pain centre", -1, -1, GUARD_FREE_CHOICE, false,
	 1u << RULE_TRANSIT | 1u << RULE_ASSESSMENT | 1u << RULE_FREE_CHOICE |
		 1u << RULE_LEVEL_REVIEW},
	{"config/models/no.json", "no", "NO", CAL_COUNTRY_NO, "Europe/Oslo",
	 "regular GP", "regional pain centre", 18, -1,
	 GUARD_ACCEPT_REQUIRES_DEADLINE, true,
	 1u << RULE_TRANSIT | 1u << RULE_ASSESSMENT | 1u << RULE_TREATMENT |
		 1u << RULE_LEVEL_REVIEW},
	{"config/models/se-adult.json", "se-adult", "SE", CAL_COUNTRY_SE,
	 "Europe/Stockholm", "primary care, first instance",
	 "regional multidisciplinary pain centre with beds", 18, -1,
	 GUARD_CENTRE_REQUIRES_CLINIC, false,
	 1u << RULE_TRANSIT | 1u << RULE_TREATMENT | 1u << RULE_LEVEL_REVIEW},
	{"config/models/se-child.json", "se-child", "SE", CAL_COUNTRY_SE,
	 "Europe/Stockholm", "primary care, first instance",
	 "regional pain centre with beds", -1, 17, GUARD_CENTRE_REQUIRES_CLINIC,
	 false,
	 1u << RULE_TRANSIT | 1u << RULE_TREATMENT | 1u << RULE_LEVEL_REVIEW},
};

#define SHIPPED (sizeof(shipped) / sizeof(shipped[0]))

START_TEST(test_shipped_model)
{
	struct model m;
	char err[1024] = "";
	const int i = _i;

	ck_assert_msg(model_load_file(shipped[i].file, &m, err, sizeof(err)),
		      "%s: %s", shipped[i].file, err);
	ck_assert_str_eq(m.key, shipped[i].key);
	ck_assert_str_eq(m.country_code, shipped[i].country_code);
	ck_assert_int_eq(m.country, shipped[i].country);
	ck_assert_str_eq(m.time_zone, shipped[i].zone);
	/* All three zones are CET/CEST. */
	ck_assert_int_eq(m.zone.standard_offset_minutes, 60);
	ck_assert(m.zone.eu_summer_time);
	for (int l = 0; l < LEVEL_COUNT; l++) {
		ck_assert_msg(m.level_name[l] != NULL &&
				      m.level_name[l][0] != '\0',
			      "%s: level %s has no name", m.key,
			      domain_level_name(l));
		ck_assert_msg(m.level_name_en[l] != NULL, "%s: level %s", m.key,
			      domain_level_name(l));
	}
	ck_assert_str_eq(m.level_name_en[LEVEL_GP], shipped[i].gp_en);
	ck_assert_str_eq(m.level_name_en[LEVEL_CENTRE], shipped[i].centre_en);
	ck_assert_int_eq(m.min_age, shipped[i].min_age);
	ck_assert_int_eq(m.max_age, shipped[i].max_age);
	ck_assert_uint_eq(m.guards, shipped[i].guards);
	ck_assert_int_eq(m.notify_decisions, shipped[i].notify);
	for (int r = 0; r < RULE_COUNT; r++)
		ck_assert_msg(m.clocks[r].enabled ==
				      !!(shipped[i].clocks & (1u << r)),
			      "%s: clock %s enabled=%d", m.key,
			      domain_rule_name(r), m.clocks[r].enabled);
	/* The default warning window of every model: 3 working days. */
	ck_assert_int_eq(m.warning.unit, DUR_WORKING_DAYS);
	ck_assert_int_eq(m.warning.n, 3);
	ck_assert_str_eq(m.path, shipped[i].file);
	model_free(&m);
}
END_TEST

START_TEST(test_shipped_clock_rules)
{
	/* The numbers of domain.md's clock table, as the models give them. */
	struct model_set set;
	char err[1024] = "";
	const struct model *no, *dk, *se;

	ck_assert_msg(
		model_set_load_dir("config/models", &set, err, sizeof(err)),
		"%s", err);
	no = model_set_find(&set, "no");
	dk = model_set_find(&set, "dk");
	se = model_set_find(&set, "se-adult");
	ck_assert(no != NULL && dk != NULL && se != NULL);

	ck_assert_int_eq(no->clocks[RULE_ASSESSMENT].duration.unit,
			 DUR_WORKING_DAYS);
	ck_assert_int_eq(no->clocks[RULE_ASSESSMENT].duration.n, 10);
	ck_assert_int_eq(no->clocks[RULE_TREATMENT].duration.unit,
			 DUR_DEADLINE);
	ck_assert_int_eq(no->clocks[RULE_TREATMENT].starts_at,
			 EV_REFERRAL_ACCEPTED);
	ck_assert_int_eq(dk->clocks[RULE_FREE_CHOICE].duration.unit, DUR_DAYS);
	ck_assert_int_eq(dk->clocks[RULE_FREE_CHOICE].duration.n, 30);
	ck_assert_int_eq(dk->clocks[RULE_ASSESSMENT].duration.unit, DUR_DAYS);
	ck_assert_int_eq(dk->clocks[RULE_ASSESSMENT].duration.n, 30);
	ck_assert_int_eq(se->clocks[RULE_TREATMENT].duration.unit, DUR_DAYS);
	ck_assert_int_eq(se->clocks[RULE_TREATMENT].duration.n, 90);
	ck_assert_int_eq(se->clocks[RULE_TREATMENT].starts_at,
			 EV_REFERRAL_RECEIVED);
	ck_assert_uint_eq(se->clocks[RULE_TREATMENT].levels,
			  1u << LEVEL_CLINIC | 1u << LEVEL_CENTRE);
	for (size_t i = 0; i < set.count; i++) {
		const struct model *m = &set.models[i];
		ck_assert_int_eq(m->clocks[RULE_TRANSIT].duration.unit,
				 DUR_WORKING_DAYS);
		ck_assert_int_eq(m->clocks[RULE_TRANSIT].duration.n, 5);
		ck_assert_int_eq(m->clocks[RULE_LEVEL_REVIEW].duration.unit,
				 DUR_MONTHS);
		ck_assert_int_eq(m->clocks[RULE_LEVEL_REVIEW].duration.n, 6);
	}
	model_set_free(&set);
}
END_TEST

START_TEST(test_load_dir)
{
	static const char *const keys[] = {"dk", "no", "se-adult", "se-child"};
	struct model_set set;
	char err[1024] = "";

	ck_assert_msg(
		model_set_load_dir("config/models", &set, err, sizeof(err)),
		"%s", err);
	ck_assert_uint_eq(set.count, 4);
	/* sorted by file name */
	for (size_t i = 0; i < 4; i++)
		ck_assert_str_eq(set.models[i].key, keys[i]);
	for (size_t i = 0; i < 4; i++)
		ck_assert_ptr_eq(model_set_find(&set, keys[i]), &set.models[i]);
	ck_assert_ptr_null(model_set_find(&set, "se"));
	ck_assert_ptr_null(model_set_find(&set, "DK"));
	ck_assert_ptr_null(model_set_find(&set, NULL));
	model_set_free(&set);
	ck_assert_uint_eq(set.count, 0);
}
END_TEST

/* --- broken models ------------------------------------------------------ */

START_TEST(test_bad_models)
{
	struct tsv t;

	tsv_open(&t, "models_bad/errors.tsv");
	while (tsv_next(&t, 2, 8)) {
		char path[512], err[1024] = "";
		struct model m;

		snprintf(path, sizeof(path), BAD_DIR "/%s", t.col[0]);
		memset(&m, 0x5a, sizeof(m));
		if (model_load_file(path, &m, err, sizeof(err))) {
			tsv_fail(&t, "%s: loaded, want refused", t.col[0]);
			model_free(&m);
			continue;
		}
		if (!tsv_check(&t, strstr(err, path) != NULL,
			       "%s: error does not name the file: %s", t.col[0],
			       err))
			continue;
		for (int i = 1; i < t.cols; i++)
			if (!tsv_check(&t, strstr(err, t.col[i]) != NULL,
				       "%s: error lacks \"%s\": %s", t.col[0],
				       t.col[i], err))
				break;
	}
	tsv_close(&t, 25);
}
END_TEST

START_TEST(test_bad_models_all_listed)
{
	/* Every *.json in models_bad has its row in errors.tsv (so none is
	 * left untested), and the directory as a whole does not load. */
	struct model_set set;
	char err[1024] = "", tsv[65536] = "";
	FILE *f = fopen(BAD_DIR "/errors.tsv", "r");
	DIR *d = opendir(BAD_DIR);
	struct dirent *de;
	size_t len;
	int files = 0;

	ck_assert(f != NULL && d != NULL);
	len = fread(tsv + 1, 1, sizeof(tsv) - 2, f);
	tsv[0] = '\n';
	tsv[len + 1] = '\0';
	fclose(f);
	while ((de = readdir(d)) != NULL) {
		char needle[300];
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		files++;
		snprintf(needle, sizeof(needle), "\n%s\t", de->d_name);
		ck_assert_msg(strstr(tsv, needle) != NULL,
			      BAD_DIR "/%s has no row in errors.tsv",
			      de->d_name);
	}
	closedir(d);
	ck_assert_int_ge(files, 25);
	ck_assert(!model_set_load_dir(BAD_DIR, &set, err, sizeof(err)));
	ck_assert_msg(strstr(err, BAD_DIR "/") != NULL, "%s", err);
	ck_assert_uint_eq(set.count, 0);
	ck_assert_ptr_null(set.models);
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	ck_assert(f != NULL && buf != NULL);
	ck_assert(fread(buf, 1, 65535, f) > 0);
	fclose(f);
	return buf;
}

static void remove_dir(const char *dir, const char *const *names)
{
	char path[512];

	for (size_t i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

START_TEST(test_duplicate_key_in_dir)
{
	static const char *const names[] = {"a.json", "b.json", "c.txt", NULL};
	char dir[] = "/tmp/painpath-models-XXXXXX";
	char path_b[600], err[1024] = "";
	char *dk = read_all("config/models/dk.json");
	struct model_set set;

	ck_assert(mkdtemp(dir) != NULL);
	write_file(dir, "a.json", dk);
	write_file(dir, "c.txt", "not a model, not *.json: ignored");
	/* one file alone loads; non-.json files are ignored */
	ck_assert_msg(model_set_load_dir(dir, &set, err, sizeof(err)), "%s",
		      err);
	ck_assert_uint_eq(set.count, 1);
	model_set_free(&set);

	write_file(dir, "b.json", dk);
	ck_assert(!model_set_load_dir(dir, &set, err, sizeof(err)));
	snprintf(path_b, sizeof(path_b), "%s/b.json", dir);
	ck_assert_msg(strstr(err, path_b) != NULL, "names b.json: %s", err);
	ck_assert_msg(strstr(err, "$.key") != NULL, "names $.key: %s", err);
	ck_assert_msg(strstr(err, "dk") != NULL, "names dk: %s", err);
	ck_assert_uint_eq(set.count, 0);
	remove_dir(dir, names);
	free(dk);
}
END_TEST

START_TEST(test_empty_dir)
{
	static const char *const names[] = {NULL};
	char dir[] = "/tmp/painpath-models-XXXXXX";
	char err[1024] = "";
	struct model_set set;

	ck_assert(mkdtemp(dir) != NULL);
	ck_assert(!model_set_load_dir(dir, &set, err, sizeof(err)));
	ck_assert_msg(strstr(err, dir) != NULL, "%s", err);
	remove_dir(dir, names);
	ck_assert(!model_set_load_dir("/nonexistent/painpath/models", &set, err,
				      sizeof(err)));
}
END_TEST

START_TEST(test_load_json_origin)
{
	/* model_load_json names its origin and the JSON path too. */
	json_t *doc = json_load_file("config/models/no.json", 0, NULL);
	struct model m;
	char err[512] = "";

	ck_assert(doc != NULL);
	json_object_set_new(json_object_get(doc, "clocks"), "assessment",
			    json_pack("{s:i, s:{s:{s:s}}}", "working_days", 10,
				      "flags", "elderly", "days", "7"));
	ck_assert(!model_load_json(doc, "inline-doc", &m, err, sizeof(err)));
	ck_assert_msg(strstr(err, "inline-doc") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "$.clocks.assessment.flags.elderly") != NULL,
		      "%s", err);
	json_decref(doc);
}
END_TEST

/* --- due dates ------------------------------------------------------------ */

static void load(const char *key, struct model *m)
{
	char path[256], err[1024] = "";

	snprintf(path, sizeof(path), "config/models/%s.json", key);
	ck_assert_msg(model_load_file(path, m, err, sizeof(err)), "%s", err);
}

START_TEST(test_clock_due)
{
	struct model no, dk, se;
	const unsigned young = 1u << FLAG_YOUNG_ADULT_AT_RISK;
	const unsigned trauma = 1u << FLAG_TRAUMA;

	load("no", &no);
	load("dk", &dk);
	load("se-adult", &se);
	/* Norway: 10 working days after Maundy Thursday 2025 (17, 18, 21
	 * April and 1 May are holidays) */
	date_eq(model_clock_due(&no, RULE_ASSESSMENT, date("2025-04-17"), 0),
		"2025-05-06", "no assessment");
	date_eq(model_clock_due(&no, RULE_ASSESSMENT, date("2025-04-17"),
				young),
		"2025-04-28", "no assessment, young adult");
	date_eq(model_clock_due(&no, RULE_ASSESSMENT, date("2025-04-17"),
				trauma),
		"2025-05-06", "no assessment, trauma (no change)");
	date_eq(model_clock_due(&no, RULE_ASSESSMENT, date("2025-04-17"),
				young | trauma),
		"2025-04-28", "no assessment, young adult + trauma");
	/* Saturday start: the 10th working day after the Saturday */
	date_eq(model_clock_due(&no, RULE_ASSESSMENT, date("2025-03-08"), 0),
		"2025-03-21", "no assessment from Saturday");
	/* Denmark: 30 calendar days */
	date_eq(model_clock_due(&dk, RULE_ASSESSMENT, date("2025-03-03"), 0),
		"2025-04-02", "dk assessment");
	date_eq(model_clock_due(&dk, RULE_FREE_CHOICE, date("2025-03-03"),
				young),
		"2025-04-02", "dk free_choice (flags change nothing)");
	/* Great Prayer Day, 5 May 2023 */
	date_eq(model_clock_due(&dk, RULE_TRANSIT, date("2023-05-01"), 0),
		"2023-05-09", "dk transit 2023");
	/* Sweden: 90 days; months for level_review */
	date_eq(model_clock_due(&se, RULE_TREATMENT, date("2025-03-03"), 0),
		"2025-06-01", "se treatment");
	date_eq(model_clock_due(&se, RULE_LEVEL_REVIEW, date("2024-09-15"), 0),
		"2025-03-15", "se level_review");
	/* Midsummer Eve 20 June 2025 */
	date_eq(model_clock_due(&se, RULE_TRANSIT, date("2025-06-16"), 0),
		"2025-06-24", "se transit");
	model_free(&no);
	model_free(&dk);
	model_free(&se);
}
END_TEST

START_TEST(test_clock_due_shortest)
{
	/* A flag only shortens: the shortest of the base and the flags'. */
	json_t *doc = json_load_file("config/models/dk.json", 0, NULL);
	struct model m;
	char err[512] = "";

	ck_assert(doc != NULL);
	json_object_set_new(json_object_get(doc, "clocks"), "assessment",
			    json_pack("{s:i, s:{s:{s:i}, s:{s:i}, s:{s:i}}}",
				      "days", 30, "flags", "elderly", "days",
				      45, "trauma", "days", 14, "dependence",
				      "working_days", 5));
	ck_assert_msg(model_load_json(doc, "inline", &m, err, sizeof(err)),
		      "%s", err);
	date_eq(model_clock_due(&m, RULE_ASSESSMENT, date("2025-03-03"),
				1u << FLAG_ELDERLY),
		"2025-04-02", "longer flag ignored");
	date_eq(model_clock_due(&m, RULE_ASSESSMENT, date("2025-03-03"),
				1u << FLAG_TRAUMA | 1u << FLAG_ELDERLY),
		"2025-03-17", "trauma 14 days");
	date_eq(model_clock_due(&m, RULE_ASSESSMENT, date("2025-03-03"),
				1u << FLAG_TRAUMA | 1u << FLAG_DEPENDENCE),
		"2025-03-10", "dependence 5 working days");
	model_free(&m);
	json_decref(doc);
}
END_TEST

START_TEST(test_model_to_json)
{
	struct model m;
	json_t *j;

	load("no", &m);
	j = model_to_json(&m);
	ck_assert(j != NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "key")), "no");
	ck_assert_str_eq(json_string_value(json_object_get(j, "source")),
			 "config/models/no.json");
	json_decref(j);
	model_free(&m);
}
END_TEST

Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc;

	tc = tcase_create("shipped");
	tcase_add_loop_test(tc, test_shipped_model, 0, (int)SHIPPED);
	tcase_add_test(tc, test_shipped_clock_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("load_dir");
	tcase_add_test(tc, test_load_dir);
	tcase_add_test(tc, test_duplicate_key_in_dir);
	tcase_add_test(tc, test_empty_dir);
	suite_add_tcase(s, tc);

	tc = tcase_create("broken");
	tcase_add_test(tc, test_bad_models);
	tcase_add_test(tc, test_bad_models_all_listed);
	tcase_add_test(tc, test_load_json_origin);
	suite_add_tcase(s, tc);

	tc = tcase_create("due");
	tcase_add_test(tc, test_clock_due);
	tcase_add_test(tc, test_clock_due_shortest);
	tcase_add_test(tc, test_model_to_json);
	suite_add_tcase(s, tc);
	return s;
}
