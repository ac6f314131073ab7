#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calendar.h"

enum log_level log_current_level = LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};

bool log_level_parse(const char *s, enum log_level *out)
{
	static const char *const lower[] = {"error", "warning", "info",
					    "debug"};

	for (int i = 0; i < 4; i++)
		if (strcmp(s, lower[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	return false;
}

void log_write(enum log_level level, const char *context, const char *fmt, ...)
{
	char stamp[CAL_TIMESTAMP_LEN], line[2048];
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	calendar_format_timestamp(
		(cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, stamp);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line, so lines of concurrent daemons sharing a
	 * terminal do not interleave. */
	fprintf(stderr, "%s %s [%s] %s\n", stamp, level_names[level],
		context ? context : "-", line);
}
