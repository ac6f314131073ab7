/*
 * tsv: the one reader of the tables in test/data (pgbouncer's
 * hba_test.rules, in tab-separated form).  Tab-separated columns, a '#'
 * line is a comment, blank lines are skipped, "<empty>" stands for an
 * empty column.  Failing rows are counted and printed with their line, so
 * one run shows every wrong row; tsv_close fails the test at the end, with
 * the first of them in the message.
 */
#ifndef PAINPATH_TEST_TSV_H
#define PAINPATH_TEST_TSV_H

#include <stdbool.h>
#include <stdio.h>

#define TSV_MAX_COLS 16

struct tsv {
	const char *name; /* as given to tsv_open, for messages */
	FILE *file;
	int line_number;
	int rows;
	int failures;
	char first_failure[600];
	char line[8192];
	char *col[TSV_MAX_COLS]; /* into line */
	int cols;
};

/* Opens test/data/<name> (relative to the working directory, else to
 * PAINPATH_SOURCE_DIR); a missing file fails the test. */
void tsv_open(struct tsv *t, const char *name);
/* The next row: false at the end of the file.  A row with fewer than
 * min_cols or more than max_cols columns, or a line too long for the
 * buffer, fails the test at once: the table itself is wrong. */
bool tsv_next(struct tsv *t, int min_cols, int max_cols);
/* Records the current row as failed. */
void tsv_fail(struct tsv *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* tsv_fail unless ok; returns ok. */
bool tsv_check(struct tsv *t, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A cell's bytes, decoded into a malloc'd buffer (NUL-terminated; *len
 * excludes the NUL): C escapes \r \n \t \\ \xHH, and <N*c> for N copies
 * of the character c (a long line without a long line). */
char *tsv_unescape(const char *cell, size_t *len);
/* Closes the file; fails the test if a row failed, or if fewer than
 * min_rows were read (an empty or cut file must not pass). */
void tsv_close(struct tsv *t, int min_rows);

#endif
