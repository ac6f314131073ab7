#include "tsv.h"

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void tsv_open(struct tsv *t, const char *name)
{
	char path[1024];

	memset(t, 0, sizeof(*t));
	t->name = name;
	snprintf(path, sizeof(path), "test/data/%s", name);
	t->file = fopen(path, "r");
#ifdef PAINPATH_SOURCE_DIR
	/* Lets a runner work from another directory too. */
	if (t->file == NULL) {
		snprintf(path, sizeof(path), "%s/test/data/%s",
			 PAINPATH_SOURCE_DIR, name);
		t->file = fopen(path, "r");
	}
#endif
	ck_assert_msg(t->file != NULL, "cannot open test/data/%s", name);
}

static void split(struct tsv *t)
{
	char *rest = t->line;

	t->cols = 0;
	while (rest != NULL && t->cols < TSV_MAX_COLS)
		t->col[t->cols++] = strsep(&rest, "\t");
	ck_assert_msg(rest == NULL, "%s:%d: more than %d columns", t->name,
		      t->line_number, TSV_MAX_COLS);
	for (int i = 0; i < t->cols; i++)
		if (strcmp(t->col[i], "<empty>") == 0)
			t->col[i] = t->col[i] + strlen(t->col[i]);
}

bool tsv_next(struct tsv *t, int min_cols, int max_cols)
{
	while (fgets(t->line, sizeof(t->line), t->file) != NULL) {
		size_t len = strlen(t->line);

		t->line_number++;
		ck_assert_msg(len < sizeof(t->line) - 1 || feof(t->file),
			      "%s:%d: line too long", t->name, t->line_number);
		while (len > 0 &&
		       (t->line[len - 1] == '\n' || t->line[len - 1] == '\r'))
			t->line[--len] = '\0';
		if (len == 0 || t->line[0] == '#')
			continue;
		split(t);
		ck_assert_msg(t->cols >= min_cols && t->cols <= max_cols,
			      "%s:%d: %d columns, want %d to %d", t->name,
			      t->line_number, t->cols, min_cols, max_cols);
		t->rows++;
		return true;
	}
	return false;
}

static void vfail(struct tsv *t, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void vfail(struct tsv *t, const char *fmt, va_list ap)
{
	char msg[500];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s:%d: %s\n", t->name, t->line_number, msg);
	if (t->failures++ == 0)
		snprintf(t->first_failure, sizeof(t->first_failure),
			 "%s:%d: %s", t->name, t->line_number, msg);
}

void tsv_fail(struct tsv *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(t, fmt, ap);
	va_end(ap);
}

bool tsv_check(struct tsv *t, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	va_start(ap, fmt);
	vfail(t, fmt, ap);
	va_end(ap);
	return false;
}

void tsv_close(struct tsv *t, int min_rows)
{
	fclose(t->file);
	t->file = NULL;
	ck_assert_msg(t->failures == 0, "%s: %d of %d rows failed; first: %s",
		      t->name, t->failures, t->rows, t->first_failure);
	ck_assert_msg(t->rows >= min_rows, "%s: %d rows, expected at least %d",
		      t->name, t->rows, min_rows);
}

char *tsv_unescape(const char *s, size_t *len)
{
	size_t cap = strlen(s) + 1, n = 0;
	char *out = malloc(cap);
	unsigned count;
	char c, close;

	ck_assert_ptr_nonnull(out);
	for (; *s != '\0'; s++) {
		if (sscanf(s, "<%u*%c%c", &count, &c, &close) == 3 &&
		    close == '>') {
			cap += count;
			out = realloc(out, cap);
			ck_assert_ptr_nonnull(out);
			memset(out + n, c, count);
			n += count;
			s = strchr(s, '>');
		} else if (*s != '\\' || s[1] == '\0') {
			out[n++] = *s;
		} else if (s[1] == 'x' && s[2] != '\0' && s[3] != '\0') {
			char hex[3] = {s[2], s[3], '\0'};
			out[n++] = (char)strtol(hex, NULL, 16);
			s += 3;
		} else {
			s++;
			out[n++] = *s == 'r'   ? '\r'
				   : *s == 'n' ? '\n'
				   : *s == 't' ? '\t'
					       : *s;
		}
	}
	out[n] = '\0';
	*len = n;
	return out;
}
