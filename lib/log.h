/*
 * log: leveled, printf-checked log lines to stderr, in one of two formats:
 *
 *   text  2025-03-03T09:15:00.123Z INFO [context] message key=value ...
 *   json  {"ts":"2025-03-03T09:15:00.123Z","level":"info",
 *          "context":"...","msg":"...","key":value,...}   (one a line)
 *
 * Whatever is logged, no control character reaches the output raw: a
 * newline becomes \n, ESC \x1b (text) or \u001b (json), bytes that are not
 * UTF-8 \xHH; a trailing newline (libpq ends its messages with one) is
 * dropped.  So each call is exactly one line, written with one write(2).
 *
 * The macros test the level before evaluating their arguments, so debug
 * lines cost nothing when off.
 */
#ifndef PAINPATH_LOG_H
#define PAINPATH_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

extern enum log_level log_current_level;
extern enum log_format log_current_format;

bool log_level_parse(const char *s, enum log_level *out)
	__attribute__((warn_unused_result));
bool log_format_parse(const char *s, enum log_format *out)
	__attribute__((warn_unused_result));
/* Where lines go: stderr (2) unless a test says otherwise. */
void log_set_output(int fd);

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

/* A structured field after the message.  Everything is borrowed. */
enum log_field_type {
	LOG_FIELD_STR,	/* str; NULL is written as null (json), - (text) */
	LOG_FIELD_INT,	/* num */
	LOG_FIELD_REAL, /* real, with one decimal */
	LOG_FIELD_LIST, /* list[0..count-1], strings */
};

struct log_field {
	const char *name; /* a plain word: [a-z_]+ */
	enum log_field_type type;
	const char *str;
	long long num;
	double real;
	const char *const *list;
	size_t count;
};

/* A line with fields: text "msg name=value ..." (values with blanks,
 * quotes or '=' in double quotes; a list comma-separated), json members
 * after "msg".  Long values and lists are cut (a list says how many it
 * left out). */
void log_fields(enum log_level level, const char *context, const char *msg,
		const struct log_field *fields, size_t nfields);

/* What an operator needs about one HTTP request, and nothing about the
 * patient: no patient or pathway ids, no query string, no credential.
 * Everything is borrowed; NULL strings are left out. */
struct log_request_fields {
	const char *request_id;
	const char *method;
	const char *route; /* the route's pattern, "/v1/pathways/{id}" */
	int status;
	double duration_ms;
	const char *token_id; /* the token's name in tokens_file */
	const char *const *event_ids;
	size_t event_count;
	const char *error_code; /* "illegal_transition", ... */
};

/* One INFO line, context "http", message "request". */
void log_request(const struct log_request_fields *f);

/* A libpq notice processor (PQsetNoticeProcessor(conn, log_pq_notice,
 * "db")): the notice as one WARNING line with arg as its context. */
void log_pq_notice(void *arg, const char *message);

#endif
