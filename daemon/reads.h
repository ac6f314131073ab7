/*
 * reads: one query on a leased connection, answered by a render function.
 * Shared by the GET routes.
 */
#ifndef PAINPATHD_READS_H
#define PAINPATHD_READS_H

#include <stdbool.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"

struct request;

/* Called with a successful result; must reply. */
typedef void (*render_fn)(struct request *r, const PGresult *res);

/* Copies q (and its parameter strings), runs it, then calls render, or
 * answers 503/500 itself. */
void read_query(struct request *r, const struct db_query *q, render_fn render);

/* Parses a JSON text column; NULL for SQL NULL or bad JSON. */
json_t *column_json(const PGresult *res, int row, int col);
/* A decimal number 0..max in text, for query parameters. */
bool parse_count(const char *s, long max, long *out)
	__attribute__((warn_unused_result));

#endif
