/*
 * calendar: civil dates, Nordic public holidays, working days, time zones and
 * RFC 3339 timestamps.  Pure computation, no I/O, no global state, no tables
 * of dates that run out: Easter is computed for any Gregorian year.
 *
 * A date is a count of days since 1970-01-01 (proleptic Gregorian), so date
 * arithmetic is integer arithmetic.  Timestamps are milliseconds since the
 * Unix epoch, UTC.
 */
#ifndef PAINPATH_CALENDAR_H
#define PAINPATH_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t cal_date;
typedef int64_t cal_millis;

/* Buffer sizes for the formatters, including the NUL. */
#define CAL_DATE_LEN	  11 /* "YYYY-MM-DD" */
#define CAL_TIMESTAMP_LEN 32 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */

enum cal_country {
	CAL_COUNTRY_NO,
	CAL_COUNTRY_DK,
	CAL_COUNTRY_SE,
	CAL_COUNTRY_COUNT
};

/* A time zone the calendar knows: a standard offset and whether the EU
 * daylight-saving rule applies (last Sunday of March 01:00 UTC to last
 * Sunday of October 01:00 UTC). */
struct cal_zone {
	int standard_offset_minutes;
	bool eu_summer_time;
};

/* "NO", "DK", "SE" (upper case). */
bool calendar_country_parse(const char *code, enum cal_country *out)
	__attribute__((warn_unused_result));
const char *calendar_country_code(enum cal_country country);

/* "Europe/Oslo", "Europe/Copenhagen", "Europe/Stockholm", "Europe/Helsinki",
 * "Europe/Berlin", "UTC".  Unknown names return false. */
bool calendar_zone_parse(const char *name, struct cal_zone *out)
	__attribute__((warn_unused_result));

cal_date calendar_date(int year, int month, int day);
void calendar_ymd(cal_date date, int *year, int *month, int *day);
/* 0 = Monday ... 6 = Sunday. */
int calendar_weekday(cal_date date);
/* Easter Sunday of a Gregorian year. */
cal_date calendar_easter(int year);

/* Strict "YYYY-MM-DD", a real calendar day, years 1900..2999. */
bool calendar_parse_date(const char *text, cal_date *out)
	__attribute__((warn_unused_result));
void calendar_format_date(cal_date date, char out[CAL_DATE_LEN]);

/* Holidays as domain.md lists them, including the Swedish eves (Midsummer
 * Eve, 24 and 31 December) and the Danish Great Prayer Day up to 2023.
 * name, when not NULL, receives a static English name of the holiday. */
bool calendar_is_holiday(enum cal_country country, cal_date date,
			 const char **name);
/* Monday to Friday and not a holiday. */
bool calendar_is_working_day(enum cal_country country, cal_date date);
/* The n-th working day after start (start itself never counts; n >= 1).
 * n == 0 returns start. */
cal_date calendar_add_working_days(enum cal_country country, cal_date start,
				   int n);
/* Calendar months, clamped to the end of the target month
 * (31 January + 1 month = 28/29 February). */
cal_date calendar_add_months(cal_date start, int months);
/* Working days strictly after from, up to and including to (0 if to <= from).
 */
int calendar_working_days_between(enum cal_country country, cal_date from,
				  cal_date to);

/* RFC 3339 with a mandatory offset ("Z" or "+hh:mm"/"-hh:mm"), optional
 * fraction of a second (kept to the millisecond), the instant in UTC within
 * years 1900..2999.
 * Rejects anything else, including out-of-range fields. */
bool calendar_parse_timestamp(const char *text, cal_millis *out)
	__attribute__((warn_unused_result));
/* UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ" (milliseconds always printed). */
void calendar_format_timestamp(cal_millis t, char out[CAL_TIMESTAMP_LEN]);
/* The local calendar date of an instant in a zone. */
cal_date calendar_local_date(const struct cal_zone *zone, cal_millis t);
/* Minutes since local midnight of an instant in a zone (0..1439). */
int calendar_minute_of_day(const struct cal_zone *zone, cal_millis t);

#endif
