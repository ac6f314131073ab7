#include "pgarray.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pgarray_init(struct pgarray *a)
{
	memset(a, 0, sizeof(*a));
}

static bool reserve(struct pgarray *a, size_t more)
{
	size_t cap;
	char *grown;

	if (a->failed)
		return false;
	if (a->len + more + 2 <= a->cap)
		return true;
	cap = (a->cap + more + 2) * 2;
	grown = realloc(a->buf, cap);
	if (grown == NULL) {
		a->failed = true;
		return false;
	}
	a->buf = grown;
	a->cap = cap;
	return true;
}

void pgarray_add(struct pgarray *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* Worst case every byte escaped, plus quotes and a comma. */
	if (!reserve(a, 2 * n + 4))
		return;
	a->buf[a->len++] = a->count++ ? ',' : '{';
	if (s == NULL) {
		memcpy(a->buf + a->len, "NULL", 4);
		a->len += 4;
		return;
	}
	a->buf[a->len++] = '"';
	/* Runs without a quote or backslash are copied whole: JSON texts are
	 * most of what goes through here, and they hold a quote every few
	 * bytes but long runs between. */
	for (size_t i = 0; i < n;) {
		size_t run = strcspn(s + i, "\"\\");
		memcpy(a->buf + a->len, s + i, run);
		a->len += run;
		i += run;
		if (i < n) {
			a->buf[a->len++] = '\\';
			a->buf[a->len++] = s[i++];
		}
	}
	a->buf[a->len++] = '"';
}

void pgarray_addf(struct pgarray *a, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small)) {
		a->failed = true;
		return;
	}
	pgarray_add(a, small);
}

const char *pgarray_text(struct pgarray *a)
{
	if (!reserve(a, 2))
		return NULL;
	if (a->count == 0)
		memcpy(a->buf, "{}", 3);
	else
		memcpy(a->buf + a->len, "}", 2);
	return a->buf;
}

void pgarray_free(struct pgarray *a)
{
	free(a->buf);
	pgarray_init(a);
}
