/*
 * Unit tests for lib/calendar.c.  The expectations live in test/data (TSV,
 * '#' starts a comment line) and were produced independently of the code, so
 * a mistake in a holiday rule cannot be copied into its own test.
 */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "tsv.h"

Suite *calendar_suite(void);

#define MAX_HOLIDAYS	 512
#define FIRST_TABLE_YEAR 2020
#define LAST_TABLE_YEAR	 2040

/* For hot loops: ck_assert records a mark point on every pass, a write per
 * call when tests fork, which makes sweeps of ~10^5 checks slow. */
#define EXPECT(condition, ...)                                                 \
	do {                                                                   \
		if (!(condition))                                              \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

static cal_date date_field(const struct tsv *t, int index)
{
	cal_date date;
	ck_assert_msg(calendar_parse_date(t->col[index], &date),
		      "%s:%d: bad date '%s'", t->name, t->line_number,
		      t->col[index]);
	return date;
}

static enum cal_country country_field(const struct tsv *t, int index)
{
	enum cal_country country;
	ck_assert_msg(calendar_country_parse(t->col[index], &country),
		      "%s:%d: bad country '%s'", t->name, t->line_number,
		      t->col[index]);
	return country;
}

static int int_field(const struct tsv *t, int index)
{
	char *end;
	long value = strtol(t->col[index], &end, 10);
	ck_assert_msg(*t->col[index] != '\0' && *end == '\0' &&
			      value >= INT_MIN && value <= INT_MAX,
		      "%s:%d: bad number '%s'", t->name, t->line_number,
		      t->col[index]);
	return (int)value;
}

static const char *show(cal_date date, char buffer[CAL_DATE_LEN])
{
	calendar_format_date(date, buffer);
	return buffer;
}

/* ---- holidays ---------------------------------------------------------- */

struct holiday_list {
	int count;
	cal_date date[MAX_HOLIDAYS];
	char name[MAX_HOLIDAYS][40];
};

static bool listed_with_name(const struct holiday_list *list, cal_date date,
			     const char *name)
{
	for (int i = 0; i < list->count; i++) {
		if (list->date[i] == date && name &&
		    strcmp(list->name[i], name) == 0)
			return true;
	}
	return false;
}

static bool listed(const struct holiday_list *list, cal_date date)
{
	for (int i = 0; i < list->count; i++) {
		if (list->date[i] == date)
			return true;
	}
	return false;
}

/* Every listed day is a holiday, under one of the names listed for it. */
static void check_listed_holidays(enum cal_country country, const char *file,
				  struct holiday_list *list)
{
	struct tsv t;
	tsv_open(&t, file);
	while (tsv_next(&t, 2, 2)) {
		ck_assert_int_lt(list->count, MAX_HOLIDAYS);
		list->date[list->count] = date_field(&t, 0);
		snprintf(list->name[list->count], sizeof list->name[0], "%s",
			 t.col[1]);
		list->count++;
	}
	fclose(t.file);
	for (int i = 0; i < list->count; i++) {
		const char *name = NULL;
		char shown[CAL_DATE_LEN];
		bool holiday =
			calendar_is_holiday(country, list->date[i], &name);
		ck_assert_msg(
			holiday && listed_with_name(list, list->date[i], name),
			"%s: %s (%s) -> holiday %d, name %s", file,
			show(list->date[i], shown), list->name[i], holiday,
			name ? name : "(null)");
		ck_assert(!calendar_is_working_day(country, list->date[i]));
	}
	ck_assert_int_ge(list->count, 21 * 9);
}

/* Every weekday not listed is a working day; so is no weekend day. */
static void check_other_days(enum cal_country country, const char *file,
			     const struct holiday_list *list)
{
	cal_date first = calendar_date(FIRST_TABLE_YEAR, 1, 1);
	cal_date last = calendar_date(LAST_TABLE_YEAR, 12, 31);
	int working = 0;
	for (cal_date d = first; d <= last; d++) {
		char shown[CAL_DATE_LEN];
		const char *name = "unset";
		bool weekend = calendar_weekday(d) >= 5;
		bool expected = !weekend && !listed(list, d);
		EXPECT(calendar_is_working_day(country, d) == expected,
		       "%s: %s working should be %d", file, show(d, shown),
		       expected);
		if (!listed(list, d))
			EXPECT(!calendar_is_holiday(country, d, &name) &&
				       name == NULL,
			       "%s: %s is not listed but is %s", file,
			       show(d, shown), name ? name : "(null)");
		working += expected;
	}
	ck_assert_int_eq(
		calendar_working_days_between(country, first - 1, last),
		working);
}

static const struct {
	enum cal_country country;
	const char *file;
} holiday_files[] = {
	{CAL_COUNTRY_NO, "holidays_no.tsv"},
	{CAL_COUNTRY_DK, "holidays_dk.tsv"},
	{CAL_COUNTRY_SE, "holidays_se.tsv"},
};

START_TEST(test_holidays_2020_to_2040)
{
	static struct holiday_list list;
	memset(&list, 0, sizeof list);
	check_listed_holidays(holiday_files[_i].country, holiday_files[_i].file,
			      &list);
	check_other_days(holiday_files[_i].country, holiday_files[_i].file,
			 &list);
}
END_TEST

START_TEST(test_easter_table)
{
	struct tsv t;
	tsv_open(&t, "calendar_easter.tsv");
	while (tsv_next(&t, 2, 2)) {
		char got[CAL_DATE_LEN];
		cal_date easter = calendar_easter(int_field(&t, 0));
		tsv_check(&t, easter == date_field(&t, 1), "Easter %s, got %s",
			  t.col[1], show(easter, got));
		tsv_check(&t, calendar_weekday(easter) == 6, "not a Sunday");
	}
	tsv_close(&t, 21 + 4);
}
END_TEST

/* Easter falls on 22 March .. 25 April in every year of the 5,700,000-year
 * cycle; sampled widely to catch arithmetic slips far from the table. */
START_TEST(test_easter_always_a_spring_sunday)
{
	for (int year = 1583; year <= 9999; year++) {
		cal_date easter = calendar_easter(year);
		EXPECT(calendar_weekday(easter) == 6 &&
			       easter >= calendar_date(year, 3, 22) &&
			       easter <= calendar_date(year, 4, 25),
		       "Easter %d", year);
	}
}
END_TEST

/* ---- deadlines --------------------------------------------------------- */

static cal_date apply_deadline(const struct tsv *t, enum cal_country country,
			       cal_date start, int n)
{
	const char *unit = t->col[3];
	if (strcmp(unit, "working_days") == 0)
		return calendar_add_working_days(country, start, n);
	if (strcmp(unit, "days") == 0)
		return start + n;
	ck_assert_msg(strcmp(unit, "months") == 0, "%s:%d: bad unit '%s'",
		      t->name, t->line_number, unit);
	return calendar_add_months(start, n);
}

START_TEST(test_deadlines)
{
	struct tsv t;
	tsv_open(&t, "deadlines.tsv");
	while (tsv_next(&t, 5, 5)) {
		enum cal_country country = country_field(&t, 0);
		cal_date start = date_field(&t, 1);
		int n = int_field(&t, 2);
		char got[CAL_DATE_LEN];
		cal_date due = apply_deadline(&t, country, start, n);
		tsv_check(&t, due == date_field(&t, 4),
			  "%s + %d %s: %s, got %s", t.col[1], n, t.col[3],
			  t.col[4], show(due, got));
		if (strcmp(t.col[3], "working_days") == 0 && n > 0) {
			tsv_check(&t, calendar_is_working_day(country, due),
				  "due date is not a working day");
			tsv_check(&t,
				  calendar_working_days_between(country, start,
								due) == n,
				  "working_days_between disagrees");
		}
	}
	tsv_close(&t, 60);
}
END_TEST

START_TEST(test_working_days_between_table)
{
	struct tsv t;
	tsv_open(&t, "calendar_between.tsv");
	while (tsv_next(&t, 4, 4)) {
		int got = calendar_working_days_between(country_field(&t, 0),
							date_field(&t, 1),
							date_field(&t, 2));
		tsv_check(&t, got == int_field(&t, 3), "expected %s, got %d",
			  t.col[3], got);
	}
	tsv_close(&t, 15);
}
END_TEST

/* The two functions must agree on every start day and n, weekends and
 * holidays included. */
START_TEST(test_add_and_between_agree)
{
	enum cal_country country = (enum cal_country)_i;
	cal_date first = calendar_date(2023, 1, 1);
	for (cal_date start = first; start < first + 3 * 366; start++) {
		for (int n = 1; n <= 25; n += 6) {
			cal_date due =
				calendar_add_working_days(country, start, n);
			EXPECT(calendar_is_working_day(country, due) &&
				       calendar_working_days_between(
					       country, start, due) == n &&
				       calendar_working_days_between(
					       country, start, due - 1) ==
					       n - 1,
			       "start %d, n %d", start, n);
		}
	}
}
END_TEST

/* ---- time zones and timestamps ----------------------------------------- */

/* A known name, or "<minutes>[/eu]" for a synthetic zone. */
static struct cal_zone zone_field(const struct tsv *t, int index)
{
	struct cal_zone zone;
	const char *text = t->col[index];
	if (text[0] == '-' || text[0] == '+') {
		char *end;
		zone.standard_offset_minutes = (int)strtol(text, &end, 10);
		zone.eu_summer_time = strcmp(end, "/eu") == 0;
		ck_assert_msg(*end == '\0' || zone.eu_summer_time,
			      "%s:%d: bad zone '%s'", t->name, t->line_number,
			      text);
		return zone;
	}
	ck_assert_msg(calendar_zone_parse(text, &zone), "%s:%d: bad zone '%s'",
		      t->name, t->line_number, text);
	return zone;
}

START_TEST(test_local_dates)
{
	struct tsv t;
	tsv_open(&t, "timestamps.tsv");
	while (tsv_next(&t, 3, 3)) {
		cal_millis instant;
		char got[CAL_DATE_LEN];
		struct cal_zone zone = zone_field(&t, 1);
		ck_assert_msg(calendar_parse_timestamp(t.col[0], &instant),
			      "timestamps.tsv:%d: bad instant", t.line_number);
		cal_date local = calendar_local_date(&zone, instant);
		tsv_check(&t, local == date_field(&t, 2),
			  "%s in %s: %s, got %s", t.col[0], t.col[1], t.col[2],
			  show(local, got));
	}
	tsv_close(&t, 40);
}
END_TEST

static void check_timestamp_row(struct tsv *t)
{
	cal_millis parsed = 0, reparsed = 0;
	char formatted[CAL_TIMESTAMP_LEN] = "";
	bool ok = calendar_parse_timestamp(t->col[1], &parsed);
	if (strcmp(t->col[2], "reject") == 0) {
		tsv_check(t, !ok, "'%s' accepted", t->col[1]);
		return;
	}
	if (ok)
		calendar_format_timestamp(parsed, formatted);
	tsv_check(t, ok && strcmp(formatted, t->col[2]) == 0,
		  "'%s' -> '%s', expected '%s'", t->col[1], formatted,
		  t->col[2]);
	/* An offset can carry an instant just outside the accepted years. */
	int year = atoi(formatted);
	if (year >= 1900 && year <= 2999)
		tsv_check(t,
			  calendar_parse_timestamp(formatted, &reparsed) &&
				  reparsed == parsed,
			  "'%s' does not parse back", formatted);
}

static void check_date_row(struct tsv *t)
{
	cal_date parsed = 0;
	char formatted[CAL_DATE_LEN] = "";
	bool ok = calendar_parse_date(t->col[1], &parsed);
	if (strcmp(t->col[2], "reject") == 0) {
		tsv_check(t, !ok, "'%s' accepted", t->col[1]);
		return;
	}
	if (ok)
		calendar_format_date(parsed, formatted);
	tsv_check(t, ok && strcmp(formatted, t->col[2]) == 0,
		  "'%s' -> '%s', expected '%s'", t->col[1], formatted,
		  t->col[2]);
}

START_TEST(test_parse_table)
{
	struct tsv t;
	tsv_open(&t, "calendar_parse.tsv");
	while (tsv_next(&t, 3, 3)) {
		if (strcmp(t.col[0], "timestamp") == 0)
			check_timestamp_row(&t);
		else if (strcmp(t.col[0], "date") == 0)
			check_date_row(&t);
		else
			tsv_check(&t, false, "bad kind '%s'", t.col[0]);
	}
	tsv_close(&t, 80);
}
END_TEST

/* Every millisecond-aligned instant the formatter prints must parse back to
 * itself; stepping by a prime covers all fields without a table. */
START_TEST(test_timestamp_round_trip_sweep)
{
	cal_millis first = INT64_C(-2208988800000); /* 1900-01-01 */
	cal_millis last = INT64_C(32503680000000);  /* 3000-01-01 */
	for (cal_millis t = first; t < last; t += INT64_C(7919) * 3600001) {
		char text[CAL_TIMESTAMP_LEN];
		cal_millis back;
		calendar_format_timestamp(t, text);
		EXPECT(calendar_parse_timestamp(text, &back) && back == t, "%s",
		       text);
	}
}
END_TEST

/* ---- small functions and hostile input ---------------------------------- */

START_TEST(test_dates_and_weekdays)
{
	int year, month, day;
	ck_assert_int_eq(calendar_date(1970, 1, 1), 0);
	ck_assert_int_eq(calendar_date(2000, 3, 1), 11017);
	ck_assert_int_eq(calendar_date(1900, 1, 1), -25567);
	ck_assert_int_eq(calendar_weekday(calendar_date(2025, 4, 20)), 6);
	ck_assert_int_eq(calendar_weekday(calendar_date(1900, 1, 1)), 0);
	ck_assert_int_eq(calendar_weekday(calendar_date(1969, 12, 31)), 2);
	ck_assert_int_eq(calendar_date(2025, 13, 1), calendar_date(2026, 1, 1));
	ck_assert_int_eq(calendar_date(2025, 0, 1), calendar_date(2024, 12, 1));
	for (cal_date d = calendar_date(1600, 1, 1);
	     d < calendar_date(2500, 1, 1); d++) {
		calendar_ymd(d, &year, &month, &day);
		/* 1970-01-01 was a Thursday */
		EXPECT(calendar_date(year, month, day) == d &&
			       calendar_weekday(d) == ((d % 7) + 7 + 3) % 7,
		       "day %d", d);
	}
	calendar_ymd(calendar_date(2024, 2, 29), NULL, NULL, &day);
	ck_assert_int_eq(day, 29);
}
END_TEST

START_TEST(test_countries_and_zones)
{
	enum cal_country country;
	struct cal_zone zone;
	for (int c = 0; c < CAL_COUNTRY_COUNT; c++) {
		ck_assert(calendar_country_parse(calendar_country_code(c),
						 &country));
		ck_assert_int_eq(country, c);
	}
	ck_assert(!calendar_country_parse("no", &country));
	ck_assert(!calendar_country_parse("FI", &country));
	ck_assert(!calendar_country_parse("NOR", &country));
	ck_assert(!calendar_country_parse("", &country));
	ck_assert(!calendar_country_parse(NULL, &country));
	ck_assert_ptr_null(calendar_country_code(CAL_COUNTRY_COUNT));
	ck_assert_ptr_null(calendar_country_code((enum cal_country) - 1));

	ck_assert(calendar_zone_parse("Europe/Helsinki", &zone));
	ck_assert_int_eq(zone.standard_offset_minutes, 120);
	ck_assert(zone.eu_summer_time);
	ck_assert(calendar_zone_parse("UTC", &zone));
	ck_assert_int_eq(zone.standard_offset_minutes, 0);
	ck_assert(!zone.eu_summer_time);
	ck_assert(!calendar_zone_parse("europe/oslo", &zone));
	ck_assert(!calendar_zone_parse("Europe/Oslo ", &zone));
	ck_assert(!calendar_zone_parse("CET", &zone));
	ck_assert(!calendar_zone_parse(NULL, &zone));
}
END_TEST

START_TEST(test_null_and_unknown_arguments)
{
	const char *name = "unset";
	cal_date date = calendar_date(2025, 12, 25);
	ck_assert(!calendar_parse_date(NULL, &date));
	ck_assert(!calendar_parse_timestamp(NULL, NULL));
	ck_assert(calendar_parse_timestamp("2025-01-01T00:00:00Z", NULL));
	ck_assert(!calendar_is_holiday(CAL_COUNTRY_COUNT, date, &name));
	ck_assert_ptr_null(name);
	ck_assert(calendar_is_holiday(CAL_COUNTRY_NO, date, NULL));
	ck_assert(calendar_is_working_day(CAL_COUNTRY_COUNT, date));
	ck_assert_int_eq(calendar_local_date(NULL, 0), 0);
}
END_TEST

/* Extreme arguments must neither overflow (UBSan watches) nor take long, and
 * results stay printable within 0000-01-01 .. 9999-12-31. */
START_TEST(test_extreme_arguments)
{
	char text[CAL_TIMESTAMP_LEN];
	cal_date start = calendar_date(2025, 1, 1);
	cal_date end = calendar_date(9999, 12, 31);
	ck_assert_int_eq(
		calendar_add_working_days(CAL_COUNTRY_SE, start, INT_MAX), end);
	ck_assert_int_eq(calendar_add_working_days(CAL_COUNTRY_SE, start, -5),
			 start);
	ck_assert_int_eq(calendar_add_months(start, INT_MAX), end);
	ck_assert_int_eq(calendar_add_months(start, INT_MIN),
			 calendar_date(0, 1, 1));
	ck_assert_int_gt(calendar_working_days_between(CAL_COUNTRY_NO,
						       INT32_MIN, INT32_MAX),
			 2000000);
	(void)calendar_is_holiday(CAL_COUNTRY_DK, INT32_MAX, NULL);
	(void)calendar_is_holiday(CAL_COUNTRY_DK, INT32_MIN, NULL);
	(void)calendar_easter(INT_MAX);
	(void)calendar_easter(INT_MIN);
	(void)calendar_date(INT_MAX, INT_MAX, INT_MAX);
	(void)calendar_date(INT_MIN, INT_MIN, INT_MIN);
	calendar_format_date(INT32_MAX, text);
	ck_assert_str_eq(text, "9999-12-31");
	calendar_format_date(INT32_MIN, text);
	ck_assert_str_eq(text, "0000-01-01");
	calendar_format_timestamp(INT64_MAX, text);
	ck_assert_str_eq(text, "9999-12-31T23:59:59.999Z");
	calendar_format_timestamp(INT64_MIN, text);
	ck_assert_str_eq(text, "0000-01-01T00:00:00.000Z");
	calendar_format_timestamp(-1, text);
	ck_assert_str_eq(text, "1969-12-31T23:59:59.999Z");
	struct cal_zone wild = {INT_MAX, true};
	(void)calendar_local_date(&wild, INT64_MAX);
	wild.standard_offset_minutes = INT_MIN;
	(void)calendar_local_date(&wild, INT64_MIN);
}
END_TEST

Suite *calendar_suite(void)
{
	Suite *suite = suite_create("calendar");
	TCase *tables = tcase_create("tables");
	TCase *units = tcase_create("units");
	tcase_set_timeout(tables, 60);
	tcase_add_loop_test(tables, test_holidays_2020_to_2040, 0,
			    sizeof holiday_files / sizeof holiday_files[0]);
	tcase_add_test(tables, test_easter_table);
	tcase_add_test(tables, test_deadlines);
	tcase_add_test(tables, test_working_days_between_table);
	tcase_add_test(tables, test_local_dates);
	tcase_add_test(tables, test_parse_table);
	tcase_add_loop_test(tables, test_add_and_between_agree, 0,
			    CAL_COUNTRY_COUNT);
	tcase_add_test(units, test_easter_always_a_spring_sunday);
	tcase_add_test(units, test_timestamp_round_trip_sweep);
	tcase_add_test(units, test_dates_and_weekdays);
	tcase_add_test(units, test_countries_and_zones);
	tcase_add_test(units, test_null_and_unknown_arguments);
	tcase_add_test(units, test_extreme_arguments);
	suite_add_tcase(suite, tables);
	suite_add_tcase(suite, units);
	return suite;
}
