#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"

enum log_level log_current_level = LOG_INFO;
enum log_format log_current_format = LOG_FORMAT_TEXT;

static int output_fd = 2;

static const char *const level_upper[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
static const char *const level_lower[] = {"error", "warning", "info", "debug"};

/* Each value is cut there; a line stays of a size a log shipper takes. */
#define VALUE_MAX 2048
#define LIST_MAX  8192

bool log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_lower[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	return false;
}

bool log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return false;
	return true;
}

void log_set_output(int fd)
{
	output_fd = fd;
}

/* --- a growing line buffer ----------------------------------------------- */

struct line {
	char *p;
	size_t len, cap;
	bool failed; /* out of memory: the line is written as far as it got */
	char local[4096];
};

static void line_init(struct line *l)
{
	l->p = l->local;
	l->len = 0;
	l->cap = sizeof(l->local);
	l->failed = false;
}

static void put(struct line *l, const char *s, size_t n)
{
	if (l->failed)
		return;
	if (l->len + n + 1 > l->cap) {
		size_t cap = (l->len + n + 1) * 2;
		char *p = l->p == l->local ? malloc(cap) : realloc(l->p, cap);

		if (p == NULL) {
			l->failed = true;
			return;
		}
		if (l->p == l->local)
			memcpy(p, l->local, l->len);
		l->p = p;
		l->cap = cap;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void line_write(struct line *l)
{
	size_t off = 0;

	put(l, "\n", 1);
	/* On a failed allocation the buffer has what fitted, without the
	 * newline: end the line anyway. */
	if (l->failed)
		l->p[l->len > 0 ? l->len - 1 : 0] = '\n';
	while (off < l->len) {
		ssize_t n = write(output_fd, l->p + off, l->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (l->p != l->local)
		free(l->p);
}

/* --- escaping ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * s[0..n) into the line: JSON string contents when json, else text where
 * quoted says whether '"' and '\' need a backslash.  `extra` lists
 * characters escaped as \xHH besides the control characters (the list
 * separator).  C1 controls (U+0080..U+009F) count as control characters:
 * some terminals act on them as on ESC.
 */
static void put_escaped(struct line *l, const char *text, size_t n, bool json,
			bool quoted, const char *extra)
{
	const unsigned char *s = (const unsigned char *)text;
	char esc[8];

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = utf8_len(s + i, n - i);

		if (len == 2 && c == 0xc2 && s[i + 1] < 0xa0) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i + 1]);
			puts_(l, esc);
		} else if (len > 1) {
			put(l, text + i, len);
		} else if (len == 0) {
			puts_(l, json ? "\\\\x" : "\\x");
			snprintf(esc, sizeof(esc), "%02x", c);
			puts_(l, esc);
			len = 1;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			puts_(l, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
		} else if (c < 0x20 || c == 0x7f ||
			   (extra != NULL && c != '\0' && strchr(extra, c))) {
			snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x",
				 c);
			puts_(l, esc);
		} else if ((c == '"' || c == '\\') && (json || quoted)) {
			put(l, "\\", 1);
			put(l, text + i, 1);
		} else {
			put(l, text + i, 1);
		}
		i += len;
	}
}

/* Without the newlines and blanks libpq and strerror texts end with. */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 &&
	       (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	return n;
}

static void put_json_string(struct line *l, const char *s, size_t max)
{
	size_t n = trimmed_len(s);

	put(l, "\"", 1);
	put_escaped(l, s, n < max ? n : max, true, true, NULL);
	if (n > max)
		puts_(l, "...");
	put(l, "\"", 1);
}

static bool needs_quotes(const char *s, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '"' || s[i] == '=')
			return true;
	return false;
}

static void put_text_value(struct line *l, const char *s, const char *extra)
{
	size_t n = trimmed_len(s), cut = n < VALUE_MAX ? n : VALUE_MAX;
	bool quoted = needs_quotes(s, cut);

	if (quoted)
		put(l, "\"", 1);
	put_escaped(l, s, cut, false, quoted, extra);
	if (n > cut)
		puts_(l, "...");
	if (quoted)
		put(l, "\"", 1);
}

/* --- lines --------------------------------------------------------------- */

static void put_head(struct line *l, enum log_level level, const char *context,
		     const char *msg)
{
	char stamp[CAL_TIMESTAMP_LEN];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	calendar_format_timestamp(
		(cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, stamp);
	if (context == NULL)
		context = "-";
	if (log_current_format == LOG_FORMAT_JSON) {
		puts_(l, "{\"ts\":\"");
		puts_(l, stamp);
		puts_(l, "\",\"level\":\"");
		puts_(l, level_lower[level]);
		puts_(l, "\",\"context\":");
		put_json_string(l, context, VALUE_MAX);
		puts_(l, ",\"msg\":");
		put_json_string(l, msg, SIZE_MAX);
		return;
	}
	puts_(l, stamp);
	put(l, " ", 1);
	puts_(l, level_upper[level]);
	puts_(l, " [");
	put_escaped(l, context, trimmed_len(context), false, false, NULL);
	puts_(l, "] ");
	put_escaped(l, msg, trimmed_len(msg), false, false, NULL);
}

static void put_list(struct line *l, const struct log_field *f, bool json)
{
	size_t start = l->len, shown = 0;
	char count[32];

	if (json)
		put(l, "[", 1);
	for (; shown < f->count && l->len - start < LIST_MAX; shown++) {
		if (shown > 0)
			put(l, ",", 1);
		if (json)
			put_json_string(l, f->list[shown], VALUE_MAX);
		else
			/* A comma inside an id must not split it in two. */
			put_text_value(l, f->list[shown], ",");
	}
	if (json)
		put(l, "]", 1);
	if (shown == f->count)
		return;
	snprintf(count, sizeof(count), "%zu", f->count - shown);
	puts_(l, json ? ",\"" : " ");
	puts_(l, f->name);
	puts_(l, json ? "_omitted\":" : "_omitted=");
	puts_(l, count);
}

static void put_field(struct line *l, const struct log_field *f)
{
	bool json = log_current_format == LOG_FORMAT_JSON;
	char num[64];

	if (json) {
		puts_(l, ",\"");
		puts_(l, f->name);
		puts_(l, "\":");
	} else {
		put(l, " ", 1);
		puts_(l, f->name);
		put(l, "=", 1);
	}
	switch (f->type) {
	case LOG_FIELD_STR:
		if (f->str == NULL)
			puts_(l, json ? "null" : "-");
		else if (json)
			put_json_string(l, f->str, VALUE_MAX);
		else
			put_text_value(l, f->str, NULL);
		break;
	case LOG_FIELD_INT:
		snprintf(num, sizeof(num), "%lld", f->num);
		puts_(l, num);
		break;
	case LOG_FIELD_REAL:
		snprintf(num, sizeof(num), "%.1f", f->real);
		puts_(l, num);
		break;
	case LOG_FIELD_LIST:
		put_list(l, f, json);
		break;
	}
}

static void emit(enum log_level level, const char *context, const char *msg,
		 const struct log_field *fields, size_t nfields)
{
	struct line l;

	line_init(&l);
	put_head(&l, level, context, msg);
	for (size_t i = 0; i < nfields; i++)
		put_field(&l, &fields[i]);
	if (log_current_format == LOG_FORMAT_JSON)
		put(&l, "}", 1);
	line_write(&l);
}

void log_write(enum log_level level, const char *context, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, context, msg, NULL, 0);
}

void log_fields(enum log_level level, const char *context, const char *msg,
		const struct log_field *fields, size_t nfields)
{
	if (level <= log_current_level)
		emit(level, context, msg, fields, nfields);
}

void log_request(const struct log_request_fields *f)
{
	struct log_field fields[8];
	size_t n = 0;

	if (LOG_INFO > log_current_level)
		return;
#define STR_FIELD(name_, value_)                                               \
	if ((value_) != NULL)                                                  \
	fields[n++] = (struct log_field){                                      \
		.name = name_, .type = LOG_FIELD_STR, .str = (value_)}
	STR_FIELD("request_id", f->request_id);
	STR_FIELD("method", f->method);
	STR_FIELD("route", f->route);
	fields[n++] = (struct log_field){
		.name = "status", .type = LOG_FIELD_INT, .num = f->status};
	fields[n++] = (struct log_field){.name = "duration_ms",
					 .type = LOG_FIELD_REAL,
					 .real = f->duration_ms};
	STR_FIELD("token_id", f->token_id);
	if (f->event_count > 0)
		fields[n++] = (struct log_field){.name = "event_ids",
						 .type = LOG_FIELD_LIST,
						 .list = f->event_ids,
						 .count = f->event_count};
	STR_FIELD("error_code", f->error_code);
#undef STR_FIELD
	emit(LOG_INFO, "http", "request", fields, n);
}

void log_pq_notice(void *arg, const char *message)
{
	log_at(LOG_WARNING, arg != NULL ? (const char *)arg : "db", "%s",
	       message);
}
