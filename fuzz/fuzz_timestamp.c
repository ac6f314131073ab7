/*
 * fuzz_timestamp: calendar_parse_timestamp and calendar_parse_date on
 * untrusted text (occurred_at, data.deadline, dates in query strings).
 *
 * Invariants (abort() when broken):
 *  - parse(format(parse(x))) == parse(x) for timestamps and dates;
 *  - a date the parser accepts is already in the form the formatter writes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn))
fail(const char *what, const char *input, const char *formatted)
{
	fprintf(stderr, "fuzz: invariant broken: %s\ninput: \"%s\"\n", what,
		input);
	if (formatted != NULL)
		fprintf(stderr, "formatted: \"%s\"\n", formatted);
	abort();
}

static void timestamp(const char *text)
{
	char buf[CAL_TIMESTAMP_LEN];
	cal_millis t, again;

	if (!calendar_parse_timestamp(text, &t))
		return;
	calendar_format_timestamp(t, buf);
	if (!calendar_parse_timestamp(buf, &again))
		fail("a formatted timestamp does not parse", text, buf);
	if (again != t)
		fail("a timestamp changes in a round trip", text, buf);
}

static void date(const char *text)
{
	char buf[CAL_DATE_LEN];
	cal_date d, again;

	if (!calendar_parse_date(text, &d))
		return;
	calendar_format_date(d, buf);
	if (!calendar_parse_date(buf, &again))
		fail("a formatted date does not parse", text, buf);
	if (again != d)
		fail("a date changes in a round trip", text, buf);
	if (strcmp(buf, text) != 0)
		fail("an accepted date is not in canonical form", text, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	timestamp(text);
	date(text);
	free(text);
	return 0;
}
