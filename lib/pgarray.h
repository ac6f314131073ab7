/*
 * pgarray: a PostgreSQL array literal built element by element, for
 * statements that take a whole group's values as one text[] parameter
 * (unnest).  Every element is quoted and escaped, so any text -- "NULL",
 * "a,b", quotes, backslashes -- arrives as itself; NULL elements are SQL
 * NULLs (issue 10: an unquoted literal made the patient "NULL" a NULL).
 */
#ifndef PAINPATH_PGARRAY_H
#define PAINPATH_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>

struct pgarray {
	char *buf;
	size_t len, cap;
	size_t count;
	bool failed; /* out of memory: the literal is not usable */
};

void pgarray_init(struct pgarray *a);
/* Appends one element; s NULL appends a NULL. */
void pgarray_add(struct pgarray *a, const char *s);
void pgarray_addf(struct pgarray *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The literal ("{...}"), owned by a; NULL if building failed. */
const char *pgarray_text(struct pgarray *a);
void pgarray_free(struct pgarray *a);

#endif
