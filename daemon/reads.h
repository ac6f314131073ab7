/*
 * reads: the machinery every read route shares.  A batch of queries runs on
 * a leased connection; a render function turns the results into an answer
 * and names the patients the answer shows; if it shows any, an audit row
 * (who, what, which patients, from where) is written before the answer
 * leaves, and if that write fails the answer does not leave.
 */
#ifndef PAINPATHD_READS_H
#define PAINPATHD_READS_H

#include <stdbool.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "error.h"
#include "reply.h"

struct request;

/* Room for the text[] literal of a token's regions. */
#define REGIONS_LEN 4096

/* A read's answer, and the patients it shows (for the audit row). */
struct answer {
	struct reply rep; /* status 200 unless set otherwise */
	json_t *patients; /* owned set (object keys) of patient ids shown */
	json_t *regions;  /* and of the regions of the pathways shown */
};

/* Called with every result of the batch successful; fills a. */
typedef void (*render_fn)(struct request *r, PGresult **res, int n,
			  struct answer *a);

/* Copies the queries' parameters, runs them as one batch, renders, audits
 * and answers (or answers 503/500 itself): always HANDLED_LATER. */
enum handled read_batch(struct request *r, const struct db_query *q, int n,
			render_fn render);
enum handled read_query(struct request *r, const struct db_query *q,
			render_fn render);

/* The rows of one read gathered with others: nrows from row first. */
typedef void (*render_rows_fn)(struct request *r, const PGresult *res,
			       int first, int nrows, struct answer *a);

/* Reads that many requests can share: stmt takes $1 the keys (text[]) and
 * $2 for each the regions of its reader's token (text[] of text[]
 * literals, NULL for all); its rows begin with their key's place (from 1),
 * in order. */
struct read_group_kind {
	const char *name;
	int stmt;
	/* Or 0: the same statement writing the audit row of each read that
	 * finds a row, with status 200, on the primary; its render must
	 * answer 200, showing that row's patient and region, exactly then. */
	int stmt_audited;
	render_rows_fn render;
};

/* A read of key (valid: domain_valid_id) as read_query's, run in a group
 * with the others of its kind waiting for a connection. */
enum handled read_by_key(struct request *r, const struct read_group_kind *kind,
			 const char *key);

struct read_stats {
	unsigned long long groups; /* statements sent for reads by key */
	unsigned long long reads;  /* the reads they answered */
	/* From a group's first read to its statement sent (gathering, and
	 * waiting for a connection), then to the statement's answer. */
	double gather_seconds, statement_seconds;
	unsigned long long answered; /* statements answered */
};
void read_stats(struct read_stats *out);

/* Helpers for render functions. */
void answer_json(struct answer *a, json_t *body);
void answer_error(struct answer *a, enum err_code code, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A JSON text as the answer (stolen): texts the daemon stored, sent
 * without parsing. */
void answer_raw_json(struct answer *a, char *text);
void answer_patient(struct answer *a, const char *patient_id);
/* A patient shown, and the region of the pathway shown. */
void answer_pathway(struct answer *a, const char *patient_id,
		    const char *region);
/* Adds the "patient_id" and "region" of every object in list. */
void answer_patients_of(struct answer *a, json_t *list);

/* Parses a JSON text column; NULL for SQL NULL or bad JSON. */
json_t *column_json(const PGresult *res, int row, int col);
/* A decimal number 0..max in text, for query parameters. */
bool parse_count(const char *s, long max, long *out)
	__attribute__((warn_unused_result));
/* The request's token's regions as a text[] literal, or NULL for all.
 * buf must live as long as the query. */
const char *request_regions(const struct request *r, char *buf, size_t len);

#endif
