/*
 * calendar: see calendar.h.
 *
 * Dates are days since 1970-01-01 in the proleptic Gregorian calendar,
 * converted with Howard Hinnant's days_from_civil / civil_from_days, done in
 * 64 bits so that any int argument is safe.  Every range-sensitive result is
 * kept within 0000-01-01 .. 9999-12-31: outside it a date cannot be printed
 * with a four-digit year, and the working-day searches would not be bounded.
 *
 * Lower-case 't' and 'z' are accepted in timestamps (RFC 3339 section 5.6
 * allows them); a space instead of 'T' is not (only the RFC's NOTE allows it).
 */
#include "calendar.h"

#include <limits.h>
#include <string.h>

#define MINUTES_PER_DAY	 (24 * 60)
#define MS_PER_MINUTE	 INT64_C(60000)
#define MS_PER_DAY	 (MS_PER_MINUTE * MINUTES_PER_DAY)
#define FIRST_YEAR	 0
#define LAST_YEAR	 9999
#define PARSE_FIRST_YEAR 1900
#define PARSE_LAST_YEAR	 2999
#define SUNDAY		 6
#define SATURDAY	 5
#define MAX_RULES	 16

/* Division that rounds toward minus infinity, so that dates and instants
 * before 1970 land on the right day. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static int64_t clamp64(int64_t value, int64_t low, int64_t high)
{
	return value < low ? low : value > high ? high : value;
}

/* month 1..12 */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day)
{
	year -= month <= 2;
	int64_t era = floor_div(year, 400);
	int64_t year_of_era = year - era * 400;
	int64_t shifted_month = (month + 9) % 12; /* March = 0 */
	int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 -
			     year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	days += 719468;
	int64_t era = floor_div(days, 146097);
	int64_t day_of_era = days - era * 146097;
	int64_t year_of_era = (day_of_era - day_of_era / 1460 +
			       day_of_era / 36524 - day_of_era / 146096) /
			      365;
	int64_t day_of_year =
		day_of_era -
		(365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	int64_t shifted_month = (5 * day_of_year + 2) / 153;
	*day = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
	*month = (int)(shifted_month < 10 ? shifted_month + 3
					  : shifted_month - 9);
	*year = year_of_era + era * 400 + (*month <= 2);
}

static bool is_leap_year(int64_t year)
{
	return floor_mod(year, 4) == 0 &&
	       (floor_mod(year, 100) != 0 || floor_mod(year, 400) == 0);
}

static int days_in_month(int64_t year, int month)
{
	static const int lengths[12] = {31, 28, 31, 30, 31, 30,
					31, 31, 30, 31, 30, 31};
	return month == 2 && is_leap_year(year) ? 29 : lengths[month - 1];
}

static cal_date first_date(void)
{
	return (cal_date)days_from_civil(FIRST_YEAR, 1, 1);
}

static cal_date last_date(void)
{
	return (cal_date)days_from_civil(LAST_YEAR, 12, 31);
}

static cal_date clamp_date(int64_t days)
{
	return (cal_date)clamp64(days, first_date(), last_date());
}

/* Months outside 1..12 carry into the year, so callers can do arithmetic. */
static int64_t days_from_any_month(int64_t year, int64_t month, int64_t day)
{
	int64_t month_index = month - 1;
	return days_from_civil(year + floor_div(month_index, 12),
			       floor_mod(month_index, 12) + 1, day);
}

cal_date calendar_date(int year, int month, int day)
{
	return (cal_date)clamp64(days_from_any_month(year, month, day),
				 INT32_MIN, INT32_MAX);
}

void calendar_ymd(cal_date date, int *year, int *month, int *day)
{
	int64_t full_year;
	int m, d;
	civil_from_days(date, &full_year, &m, &d);
	if (year)
		*year = (int)full_year;
	if (month)
		*month = m;
	if (day)
		*day = d;
}

int calendar_weekday(cal_date date)
{
	return (int)floor_mod((int64_t)date + 3, 7); /* 1970-01-01: Thursday */
}

/* Anonymous Gregorian algorithm (Meeus, Astronomical Algorithms), with
 * floored arithmetic so that it stays defined for any year. */
cal_date calendar_easter(int year)
{
	int64_t golden = floor_mod(year, 19);
	int64_t century = floor_div(year, 100);
	int64_t year_in_century = floor_mod(year, 100);
	int64_t moon_correction = floor_div(century + 8, 25);
	int64_t moon_shift = floor_div(century - moon_correction + 1, 3);
	int64_t epact = floor_mod(
		19 * golden + century - floor_div(century, 4) - moon_shift + 15,
		30);
	int64_t to_sunday = floor_mod(32 + 2 * floor_mod(century, 4) +
					      2 * (year_in_century / 4) -
					      epact - year_in_century % 4,
				      7);
	int64_t late = (golden + 11 * epact + 22 * to_sunday) / 451;
	int64_t month_day = epact + to_sunday - 7 * late + 114;
	return calendar_date(year, (int)(month_day / 31),
			     (int)(month_day % 31 + 1));
}

bool calendar_zone_parse(const char *name, struct cal_zone *out)
{
	static const struct {
		const char *name;
		struct cal_zone zone;
	} zones[] = {
		{"Europe/Oslo", {60, true}},
		{"Europe/Copenhagen", {60, true}},
		{"Europe/Stockholm", {60, true}},
		{"Europe/Helsinki", {120, true}},
		{"Europe/Berlin", {60, true}},
		{"UTC", {0, false}},
	};
	for (size_t i = 0; name && i < sizeof zones / sizeof zones[0]; i++) {
		if (strcmp(name, zones[i].name) == 0) {
			if (out)
				*out = zones[i].zone;
			return true;
		}
	}
	return false;
}

/* ---- holidays ---------------------------------------------------------- */

enum rule_kind { RULE_FIXED, RULE_EASTER, RULE_MIDSUMMER_EVE };

/* How a holiday is found in a year, never the date itself: the rules work
 * for any year. */
struct holiday_rule {
	enum rule_kind kind;
	int month;
	int day; /* day of month, or days after Easter Sunday */
	int last_year;
	const char *name;
};

#define FIXED(m, d, name)                                                      \
	{                                                                      \
		RULE_FIXED, (m), (d), INT_MAX, (name)                          \
	}
#define EASTER(off, name)                                                      \
	{                                                                      \
		RULE_EASTER, 0, (off), INT_MAX, (name)                         \
	}
#define COMMON_HOLIDAYS                                                        \
	FIXED(1, 1, "New Year's Day"), EASTER(-2, "Good Friday"),              \
		EASTER(0, "Easter Sunday"), EASTER(1, "Easter Monday"),        \
		EASTER(39, "Ascension Day"), EASTER(49, "Whit Sunday"),        \
		FIXED(12, 25, "Christmas Day"), FIXED(12, 26, "Boxing Day")

static const struct holiday_rule norway[] = {
	COMMON_HOLIDAYS,
	EASTER(-3, "Maundy Thursday"),
	EASTER(50, "Whit Monday"),
	FIXED(5, 1, "Labour Day"),
	FIXED(5, 17, "Constitution Day"),
};

/* Store Bededag was abolished from 2024 by Act no. 203 of 2023. */
static const struct holiday_rule denmark[] = {
	COMMON_HOLIDAYS,
	EASTER(-3, "Maundy Thursday"),
	EASTER(50, "Whit Monday"),
	{RULE_EASTER, 0, 26, 2023, "Great Prayer Day"},
};

/* Whit Monday gave way to 6 June in 2005; the eves are de facto days off
 * and the design counts them as holidays. */
static const struct holiday_rule sweden[] = {
	COMMON_HOLIDAYS,
	FIXED(1, 6, "Epiphany"),
	FIXED(5, 1, "Labour Day"),
	FIXED(6, 6, "National Day"),
	{RULE_MIDSUMMER_EVE, 0, 0, INT_MAX, "Midsummer Eve"},
	FIXED(12, 24, "Christmas Eve"),
	FIXED(12, 31, "New Year's Eve"),
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A country is one row: its code and its holidays. */
static const struct country {
	const char *code;
	const struct holiday_rule *holidays;
	size_t nholidays;
} countries[CAL_COUNTRY_COUNT] = {
	[CAL_COUNTRY_NO] = {"NO", norway, COUNT_OF(norway)},
	[CAL_COUNTRY_DK] = {"DK", denmark, COUNT_OF(denmark)},
	[CAL_COUNTRY_SE] = {"SE", sweden, COUNT_OF(sweden)},
};

static const struct holiday_rule *rules_of(enum cal_country country,
					   size_t *count)
{
	if ((int)country < 0 || country >= CAL_COUNTRY_COUNT) {
		*count = 0;
		return NULL;
	}
	*count = countries[country].nholidays;
	return countries[country].holidays;
}

bool calendar_country_parse(const char *code, enum cal_country *out)
{
	for (int c = 0; code && c < CAL_COUNTRY_COUNT; c++) {
		if (strcmp(code, countries[c].code) == 0) {
			if (out)
				*out = c;
			return true;
		}
	}
	return false;
}

const char *calendar_country_code(enum cal_country country)
{
	if ((int)country < 0 || country >= CAL_COUNTRY_COUNT)
		return NULL;
	return countries[country].code;
}

/* The Friday from 19 to 25 June. */
static int64_t midsummer_eve(int64_t year)
{
	int64_t june_19 = days_from_civil(year, 6, 19);
	return june_19 + floor_mod(4 - calendar_weekday((cal_date)june_19), 7);
}

static int64_t rule_date(const struct holiday_rule *rule, int year,
			 cal_date easter)
{
	switch (rule->kind) {
	case RULE_EASTER:
		return (int64_t)easter + rule->day;
	case RULE_MIDSUMMER_EVE:
		return midsummer_eve(year);
	case RULE_FIXED:
	default:
		return days_from_civil(year, rule->month, rule->day);
	}
}

/* The distinct holiday dates of a year (two feasts may share a day, like
 * Whit Monday and 17 May in Norway 2027). */
static size_t holidays_of_year(enum cal_country country, int year,
			       int64_t dates[MAX_RULES])
{
	size_t rule_count, found = 0;
	const struct holiday_rule *rules = rules_of(country, &rule_count);
	cal_date easter = calendar_easter(year);
	for (size_t r = 0; r < rule_count; r++) {
		if (year > rules[r].last_year)
			continue;
		int64_t date = rule_date(&rules[r], year, easter);
		size_t seen = 0;
		while (seen < found && dates[seen] != date)
			seen++;
		if (seen == found)
			dates[found++] = date;
	}
	return found;
}

bool calendar_is_holiday(enum cal_country country, cal_date date,
			 const char **name)
{
	int year;
	size_t rule_count;
	const struct holiday_rule *rules = rules_of(country, &rule_count);
	calendar_ymd(date, &year, NULL, NULL);
	cal_date easter = calendar_easter(year);
	for (size_t r = 0; r < rule_count; r++) {
		if (year <= rules[r].last_year &&
		    rule_date(&rules[r], year, easter) == date) {
			if (name)
				*name = rules[r].name;
			return true;
		}
	}
	if (name)
		*name = NULL;
	return false;
}

static bool is_weekend(int64_t date)
{
	return calendar_weekday((cal_date)date) >= SATURDAY;
}

bool calendar_is_working_day(enum cal_country country, cal_date date)
{
	return !is_weekend(date) && !calendar_is_holiday(country, date, NULL);
}

/* Monday to Friday in [1970-01-05, before), negative before that Monday;
 * only differences of it mean anything. */
static int64_t weekdays_before(int64_t before)
{
	int64_t since_monday = before - 4;
	int64_t weeks = floor_div(since_monday, 7);
	int64_t rest = since_monday - weeks * 7;
	return weeks * 5 + (rest < 5 ? rest : 5);
}

/* Holidays on Monday to Friday within [first, last]. */
static int64_t weekday_holidays(enum cal_country country, int64_t first,
				int64_t last)
{
	int64_t first_year, last_year, count = 0;
	int month, day;
	civil_from_days(first, &first_year, &month, &day);
	civil_from_days(last, &last_year, &month, &day);
	for (int64_t year = first_year; year <= last_year; year++) {
		int64_t dates[MAX_RULES];
		size_t found = holidays_of_year(country, (int)year, dates);
		for (size_t i = 0; i < found; i++)
			count += dates[i] >= first && dates[i] <= last &&
				 !is_weekend(dates[i]);
	}
	return count;
}

static int64_t working_days_in(enum cal_country country, int64_t from,
			       int64_t to)
{
	if (to <= from)
		return 0;
	return weekdays_before(to + 1) - weekdays_before(from + 1) -
	       weekday_holidays(country, from + 1, to);
}

int calendar_working_days_between(enum cal_country country, cal_date from,
				  cal_date to)
{
	int64_t count =
		working_days_in(country, clamp_date(from), clamp_date(to));
	return (int)clamp64(count, 0, INT_MAX);
}

/* The working-day count after start only grows, and grows exactly on
 * working days, so the answer is the first day it reaches n: found by
 * doubling then bisection, which keeps a hostile n cheap.  A negative n,
 * outside the contract, is treated as 0. */
cal_date calendar_add_working_days(enum cal_country country, cal_date start,
				   int n)
{
	if (n <= 0)
		return start;
	int64_t from = clamp_date(start), last = last_date();
	int64_t low = from, high = from + n;
	while (working_days_in(country, from, clamp64(high, from, last)) < n) {
		if (high >= last)
			return (cal_date)last;
		low = high;
		high = from + 2 * (high - from);
	}
	high = clamp64(high, from, last);
	while (high - low > 1) {
		int64_t middle = low + (high - low) / 2;
		if (working_days_in(country, from, middle) >= n)
			high = middle;
		else
			low = middle;
	}
	return (cal_date)high;
}

cal_date calendar_add_months(cal_date start, int months)
{
	int64_t year;
	int month, day;
	civil_from_days(start, &year, &month, &day);
	int64_t month_index = year * 12 + (month - 1) + months;
	int64_t target_year = floor_div(month_index, 12);
	int target_month = (int)floor_mod(month_index, 12) + 1;
	if (target_year < FIRST_YEAR || target_year > LAST_YEAR)
		return target_year < FIRST_YEAR ? first_date() : last_date();
	int last_day = days_in_month(target_year, target_month);
	return (cal_date)days_from_civil(target_year, target_month,
					 day < last_day ? day : last_day);
}

/* ---- text -------------------------------------------------------------- */

/* Exactly count ASCII digits; stops at the NUL, which is not a digit. */
static bool read_number(const char **text, int count, int *value)
{
	int result = 0;
	for (int i = 0; i < count; i++) {
		char c = (*text)[i];
		if (c < '0' || c > '9')
			return false;
		result = result * 10 + (c - '0');
	}
	*text += count;
	*value = result;
	return true;
}

static bool read_field(const char **text, int count, int low, int high,
		       int *value)
{
	return read_number(text, count, value) && *value >= low &&
	       *value <= high;
}

static bool read_char(const char **text, char expected)
{
	if (**text != expected)
		return false;
	(*text)++;
	return true;
}

static bool read_either(const char **text, char upper, char lower)
{
	return read_char(text, upper) || read_char(text, lower);
}

static bool read_date(const char **text, int64_t *days)
{
	int year, month, day;
	if (!read_field(text, 4, PARSE_FIRST_YEAR, PARSE_LAST_YEAR, &year) ||
	    !read_char(text, '-') || !read_field(text, 2, 1, 12, &month) ||
	    !read_char(text, '-') ||
	    !read_field(text, 2, 1, days_in_month(year, month), &day))
		return false;
	*days = days_from_civil(year, month, day);
	return true;
}

bool calendar_parse_date(const char *text, cal_date *out)
{
	int64_t days;
	if (!text || !read_date(&text, &days) || *text != '\0')
		return false;
	if (out)
		*out = (cal_date)days;
	return true;
}

/* A second of 60 is a leap second: *leap is set and the time is taken
 * as the last millisecond of second 59. */
static bool read_time_of_day(const char **text, int64_t *millis, bool *leap)
{
	int hour, minute, second;
	if (!read_field(text, 2, 0, 23, &hour) || !read_char(text, ':') ||
	    !read_field(text, 2, 0, 59, &minute) || !read_char(text, ':') ||
	    !read_field(text, 2, 0, 60, &second))
		return false;
	*leap = second == 60;
	if (*leap)
		second = 59;
	*millis = ((hour * INT64_C(60) + minute) * 60 + second) * 1000;
	return true;
}

/* Leap seconds are inserted at the end of a UTC 30 June or 31 December
 * (IERS); one anywhere else is an error in the text. */
static bool leap_second_possible(int64_t utc_millis)
{
	int64_t days = floor_div(utc_millis, MS_PER_DAY);
	int64_t year;
	int month, day;

	if (utc_millis - days * MS_PER_DAY != MS_PER_DAY - 1)
		return false;
	civil_from_days(days, &year, &month, &day);
	return (month == 6 && day == 30) || (month == 12 && day == 31);
}

/* Digits past the millisecond are truncated, however many there are. */
static bool read_fraction(const char **text, int64_t *millis)
{
	int scale = 100, digits = 0;
	*millis = 0;
	if (!read_char(text, '.'))
		return true;
	for (; **text >= '0' && **text <= '9'; (*text)++, digits++) {
		*millis += (**text - '0') * scale;
		scale /= 10;
	}
	return digits > 0;
}

static bool read_offset(const char **text, int64_t *minutes)
{
	int sign, hours, mins;
	if (read_either(text, 'Z', 'z')) {
		*minutes = 0;
		return true;
	}
	if (read_char(text, '+'))
		sign = 1;
	else if (read_char(text, '-'))
		sign = -1;
	else
		return false;
	if (!read_field(text, 2, 0, 23, &hours) || !read_char(text, ':') ||
	    !read_field(text, 2, 0, 59, &mins))
		return false;
	*minutes = sign * (hours * 60 + mins);
	return true;
}

bool calendar_parse_timestamp(const char *text, cal_millis *out)
{
	int64_t days, time_of_day, fraction, offset;
	bool leap = false;
	if (!text || !read_date(&text, &days) ||
	    !read_either(&text, 'T', 't') ||
	    !read_time_of_day(&text, &time_of_day, &leap) ||
	    !read_fraction(&text, &fraction) || !read_offset(&text, &offset) ||
	    *text != '\0')
		return false;
	/* 23:59:60 becomes 23:59:59.999: the instant stays in its day and
	 * before the next second, whatever fraction the text gave. */
	if (leap)
		fraction = 999;
	int64_t t = days * MS_PER_DAY + time_of_day + fraction -
		    offset * MS_PER_MINUTE;
	if (leap && !leap_second_possible(t))
		return false;
	/* The range holds for the instant in UTC, not only for the local
	 * text: what is accepted must format and parse back. */
	if (t < days_from_civil(PARSE_FIRST_YEAR, 1, 1) * MS_PER_DAY ||
	    t >= days_from_civil(PARSE_LAST_YEAR + 1, 1, 1) * MS_PER_DAY)
		return false;
	if (out)
		*out = t;
	return true;
}

/* Zero-padded; value is within 0 .. 10^width - 1. */
static char *put_number(char *out, int64_t value, int width)
{
	for (int i = width - 1; i >= 0; i--, value /= 10)
		out[i] = (char)('0' + value % 10);
	return out + width;
}

static char *put_date(char *out, int64_t days)
{
	int64_t year;
	int month, day;
	civil_from_days(days, &year, &month, &day);
	out = put_number(out, year, 4);
	*out++ = '-';
	out = put_number(out, month, 2);
	*out++ = '-';
	return put_number(out, day, 2);
}

void calendar_format_date(cal_date date, char out[CAL_DATE_LEN])
{
	*put_date(out, clamp_date(date)) = '\0';
}

void calendar_format_timestamp(cal_millis t, char out[CAL_TIMESTAMP_LEN])
{
	int64_t clamped = clamp64(t, first_date() * MS_PER_DAY,
				  (last_date() + INT64_C(1)) * MS_PER_DAY - 1);
	int64_t days = floor_div(clamped, MS_PER_DAY);
	int64_t millis = clamped - days * MS_PER_DAY;
	char *p = put_date(out, days);
	*p++ = 'T';
	p = put_number(p, millis / 3600000, 2);
	*p++ = ':';
	p = put_number(p, millis / 60000 % 60, 2);
	*p++ = ':';
	p = put_number(p, millis / 1000 % 60, 2);
	*p++ = '.';
	p = put_number(p, millis % 1000, 3);
	*p++ = 'Z';
	*p = '\0';
}

/* Summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC
 * on the last Sunday of October, the same instant in every EU zone. */
static int64_t last_sunday_1am(int64_t year, int month)
{
	int64_t last_day = days_from_civil(year, month + 1, 1) - 1;
	int64_t sunday = last_day - floor_mod(last_day + 3 - SUNDAY, 7);
	return sunday * MS_PER_DAY + 60 * MS_PER_MINUTE;
}

static int64_t utc_offset_minutes(const struct cal_zone *zone, int64_t t)
{
	int64_t offset = clamp64(zone->standard_offset_minutes,
				 -(MINUTES_PER_DAY - 1), MINUTES_PER_DAY - 1);
	if (!zone->eu_summer_time)
		return offset;
	int64_t year;
	int month, day;
	civil_from_days(floor_div(t, MS_PER_DAY), &year, &month, &day);
	bool summer =
		t >= last_sunday_1am(year, 3) && t < last_sunday_1am(year, 10);
	return offset + (summer ? 60 : 0);
}

int calendar_minute_of_day(const struct cal_zone *zone, cal_millis t)
{
	static const struct cal_zone utc = {0, false};
	int64_t offset = utc_offset_minutes(zone ? zone : &utc, t);
	int64_t local = t + offset * MS_PER_MINUTE;

	return (int)(floor_mod(local, MS_PER_DAY) / MS_PER_MINUTE);
}

cal_date calendar_local_date(const struct cal_zone *zone, cal_millis t)
{
	static const struct cal_zone utc = {0, false};
	int64_t clamped = clamp64(t, first_date() * MS_PER_DAY,
				  (last_date() + INT64_C(1)) * MS_PER_DAY - 1);
	int64_t offset = utc_offset_minutes(zone ? zone : &utc, clamped);
	return (cal_date)floor_div(clamped + offset * MS_PER_MINUTE,
				   MS_PER_DAY);
}
