/*
 * textbuf: a growing text, for answers composed from stored JSON texts
 * (no parse and re-encode) and for CSV and metrics.  Out of memory marks it
 * failed; textbuf_take then returns NULL.
 */
#ifndef PAINPATH_TEXTBUF_H
#define PAINPATH_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *buf;
	size_t len, cap;
	bool failed;
};

void textbuf_init(struct textbuf *t);
void textbuf_add(struct textbuf *t, const char *s, size_t n);
void textbuf_printf(struct textbuf *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One RFC 4180 field: quoted when it holds a comma, a quote or a line
 * break; last ends the record with CRLF. */
void textbuf_csv_field(struct textbuf *t, const char *s, bool last);
/* The text (malloc'd, NUL-terminated; "" if empty), or NULL if building
 * failed; t is empty afterwards. */
char *textbuf_take(struct textbuf *t);
void textbuf_free(struct textbuf *t);

#endif
