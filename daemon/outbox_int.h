/*
 * The outbox's insides, shared by outbox.c (claims, leases, outcomes) and
 * outbox_render.c (what one row sends, and the regions' report
 * endpoints).
 */
#ifndef PAINPATHD_OUTBOX_INT_H
#define PAINPATHD_OUTBOX_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "domain.h"
#include "fhir_config.h"
#include "fhir_subscription.h"

struct app;

/* One claimed row on its way. */
struct outbox_job {
	struct outbox_job *prev, *next;
	struct db_conn *conn;
	/* the row */
	char id[24], kind[16], sub[64], pathway[ID_MAX + 1], seq[16];
	char region[ID_MAX + 1], date[16];
	int attempts;
	/* what it sends, once rendered */
	char endpoint[FHIR_URL_MAX];
	char *body;
	size_t len;
	const char *content_type;
	char signature[FHIR_SIGNATURE_LEN];
	json_t *headers; /* the subscription's own header lines */
	enum fhir_sub_status status;
	/* its audit row */
	char token[ID_MAX + 8];
	char *patients; /* text[] literal */
	char *regions;	/* text[] literal, or NULL */
	/* the outcome to record */
	bool delivered;
	char done[16];	/* "delivered", "dropped", or "": retry */
	char delay[16]; /* ms until the next try */
	char error[160];
};

/* The queries that load what row job needs into q; returns how many. */
int outbox_render_queries(struct outbox_job *job, struct db_query *q);

enum outbox_render {
	OUTBOX_SEND, /* job's body, endpoint and signature are set */
	OUTBOX_DROP, /* nothing of it concerns the receiver */
	OUTBOX_FAIL, /* it cannot be rendered (say why in the log) */
};
enum outbox_render outbox_render(struct app *app, struct outbox_job *job,
				 PGresult **res, int n);

/* The regions' report endpoints (report_endpoints_file): "region
 * endpoint json|csv secret" per line. */
bool outbox_reports_load(const char *path, char *err, size_t len)
	__attribute__((warn_unused_result));
void outbox_reports_free(void);
/* Their regions and formats as text[] literals (malloc'd). */
bool outbox_reports_literals(char **regions, char **formats)
	__attribute__((warn_unused_result));

#endif
