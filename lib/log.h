/*
 * log: leveled, printf-checked log lines to stderr,
 * "2025-03-03T09:15:00.123Z LEVEL [context] message".  The macros test the
 * level before evaluating their arguments, so debug lines cost nothing when
 * off.
 */
#ifndef PAINPATH_LOG_H
#define PAINPATH_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

extern enum log_level log_current_level;

bool log_level_parse(const char *s, enum log_level *out)
	__attribute__((warn_unused_result));
void log_write(enum log_level level, const char *context, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_at(level, ctx, ...)                                                \
	do {                                                                   \
		if ((level) <= log_current_level)                              \
			log_write((level), (ctx), __VA_ARGS__);                \
	} while (0)
#define log_error(ctx, ...)   log_at(LOG_ERROR, ctx, __VA_ARGS__)
#define log_warning(ctx, ...) log_at(LOG_WARNING, ctx, __VA_ARGS__)
#define log_info(ctx, ...)    log_at(LOG_INFO, ctx, __VA_ARGS__)
#define log_debug(ctx, ...)   log_at(LOG_DEBUG, ctx, __VA_ARGS__)

#endif
