/*
 * Inside the read machinery (reads.h): a read's job, shared by query.c
 * (reads of one statement each, and the audit writer) and read_groups.c
 * (reads by key gathered into one statement).
 */
#ifndef PAINPATHD_READS_INT_H
#define PAINPATHD_READS_INT_H

#include "reads.h"

#define READ_MAX_BATCH 4

struct read_job {
	struct request *req;
	struct db_conn *conn;
	/* while waiting for its audit row */
	char *audit_patients;
	char *audit_uri;
	char *audit_regions;
	char audit_status[8];
	char audit_remote[80];
	struct read_job *next_audit;
	struct db_query q[READ_MAX_BATCH];
	int n;
	char *copies[READ_MAX_BATCH][DB_MAX_PARAMS];
	render_fn render;
	struct answer a;
};

/* The job of a read, its parameters copied; NULL (and the request
 * answered) when out of memory. */
struct read_job *read_job_new(struct request *r, const struct db_query *q,
			      int n);
/* Reads may go to a streaming replica; writes never do. */
struct db_pool *read_pool_for(const struct request *r);
/* Sends the answer, gives the connection back, frees the job. */
void read_finish(struct read_job *job);
void read_fail(struct read_job *job, enum err_code code, const char *msg);
/* After the render: an answer that shows a patient waits for its audit
 * row (the writer's next batch); any other leaves at once. */
void read_answered(struct read_job *job);
/* Where the read came from, as its audit row names it: the URI escaped
 * (audit_uri) and the client's address or "-" (audit_remote).  False when
 * out of memory. */
bool read_audit_origin(struct read_job *job);
/* The reader as the audit row names it: its token's id, or "-". */
const char *read_audit_token(const struct request *r);

#endif
