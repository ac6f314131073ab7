#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void textbuf_init(struct textbuf *t)
{
	memset(t, 0, sizeof(*t));
}

static bool reserve(struct textbuf *t, size_t more)
{
	size_t cap;
	char *grown;

	if (t->failed)
		return false;
	if (t->len + more + 1 <= t->cap)
		return true;
	cap = (t->cap + more + 1) * 2;
	grown = realloc(t->buf, cap);
	if (grown == NULL) {
		t->failed = true;
		return false;
	}
	t->buf = grown;
	t->cap = cap;
	return true;
}

void textbuf_add(struct textbuf *t, const char *s, size_t n)
{
	if (!reserve(t, n))
		return;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

void textbuf_printf(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(t, (size_t)n)) {
		t->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void textbuf_csv_field(struct textbuf *t, const char *s, bool last)
{
	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") == NULL) {
		textbuf_add(t, s, strlen(s));
	} else {
		textbuf_add(t, "\"", 1);
		for (const char *c = s; *c; c++)
			textbuf_add(t, *c == '"' ? "\"\"" : c,
				    *c == '"' ? 2 : 1);
		textbuf_add(t, "\"", 1);
	}
	textbuf_add(t, last ? "\r\n" : ",", last ? 2 : 1);
}

char *textbuf_take(struct textbuf *t)
{
	char *out;

	if (t->failed) {
		textbuf_free(t);
		return NULL;
	}
	out = t->buf ? t->buf : strdup("");
	textbuf_init(t);
	return out;
}

void textbuf_free(struct textbuf *t)
{
	free(t->buf);
	textbuf_init(t);
}
