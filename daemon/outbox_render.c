/*
 * What one outbox row sends: a Subscription's notification (the pathway
 * rendered as it stood right after the event, and right before it, so
 * the changed resources can be told; lib/fhir_notify), or a region's
 * night report (JSON or CSV, lib/report).  And the regions' report
 * endpoints, read from report_endpoints_file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "fhir_notify.h"
#include "log.h"
#include "outbox_int.h"
#include "pgarray.h"
#include "report.h"
#include "store_report.h"
#include "store.h"

#define CTX	      "outbox"
#define MAX_ENDPOINTS 256

struct report_endpoint {
	char region[ID_MAX + 1];
	char url[FHIR_URL_MAX];
	bool csv;
	char secret[FHIR_SUB_SECRET_MAX + 1];
};

static struct report_endpoint *endpoints;
static int nendpoints;

/* --- the report endpoints
 * -----------------------------------------------------
 */

static bool endpoint_line(char *line, struct report_endpoint *e, char *err,
			  size_t len)
{
	char *save = NULL, *region = strtok_r(line, " \t\r\n", &save);
	char *url = strtok_r(NULL, " \t\r\n", &save);
	char *format = strtok_r(NULL, " \t\r\n", &save);
	char *secret = strtok_r(NULL, " \t\r\n", &save);
	char why[128];

	if (secret == NULL || strtok_r(NULL, " \t\r\n", &save) != NULL)
		return snprintf(err, len,
				"expected: region endpoint json|csv "
				"secret"),
		       false;
	if (!domain_valid_id(region))
		return snprintf(err, len, "%s is not a region id", region),
		       false;
	if (strlen(url) >= sizeof(e->url) ||
	    !fhir_subscription_endpoint_ok(url, why, sizeof(why)))
		return snprintf(err, len, "endpoint: %s", why), false;
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
		return snprintf(err, len, "the format is json or csv"), false;
	if (strlen(secret) < FHIR_SUB_SECRET_MIN ||
	    strlen(secret) > FHIR_SUB_SECRET_MAX)
		return snprintf(err, len, "the secret is 32..256 characters"),
		       false;
	snprintf(e->region, sizeof(e->region), "%s", region);
	snprintf(e->url, sizeof(e->url), "%s", url);
	e->csv = strcmp(format, "csv") == 0;
	snprintf(e->secret, sizeof(e->secret), "%s", secret);
	return true;
}

bool outbox_reports_load(const char *path, char *err, size_t len)
{
	FILE *f;
	char line[2048], why[256];
	int lineno = 0;

	outbox_reports_free();
	if (path == NULL || path[0] == '\0')
		return true;
	if ((f = fopen(path, "r")) == NULL)
		return snprintf(err, len, "%s: %s", path, strerror(errno)),
		       false;
	endpoints = calloc(MAX_ENDPOINTS, sizeof(*endpoints));
	while (endpoints != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *s = line + strspn(line, " \t");
		lineno++;
		if (*s == '#' || *s == '\n' || *s == '\0')
			continue;
		if (nendpoints == MAX_ENDPOINTS ||
		    !endpoint_line(s, &endpoints[nendpoints], why,
				   sizeof(why))) {
			snprintf(err, len, "%s:%d: %s", path, lineno,
				 nendpoints == MAX_ENDPOINTS ? "too many lines"
							     : why);
			fclose(f);
			outbox_reports_free();
			return false;
		}
		nendpoints++;
	}
	fclose(f);
	return endpoints != NULL ||
	       (snprintf(err, len, "out of memory"), false);
}

void outbox_reports_free(void)
{
	free(endpoints);
	endpoints = NULL;
	nendpoints = 0;
}

bool outbox_reports_literals(char **regions, char **formats)
{
	struct pgarray r, f;

	pgarray_init(&r);
	pgarray_init(&f);
	for (int i = 0; i < nendpoints; i++) {
		pgarray_add(&r, endpoints[i].region);
		pgarray_add(&f, endpoints[i].csv ? "csv" : "json");
	}
	*regions = pgarray_text(&r) ? strdup(pgarray_text(&r)) : NULL;
	*formats = pgarray_text(&f) ? strdup(pgarray_text(&f)) : NULL;
	pgarray_free(&r);
	pgarray_free(&f);
	return *regions != NULL && *formats != NULL;
}

static const struct report_endpoint *endpoint_of(const char *region)
{
	for (int i = 0; i < nendpoints; i++)
		if (strcmp(endpoints[i].region, region) == 0)
			return &endpoints[i];
	return NULL;
}

/* --- loading ---------------------------------------------------------------
 */

int outbox_render_queries(struct outbox_job *job, struct db_query *q)
{
	if (strcmp(job->kind, "report") == 0) {
		q[0] = (struct db_query){.sql = report_items_sql,
					 .nparams = 7,
					 .params = {job->date, job->region,
						    NULL, "false", NULL, NULL,
						    NULL}};
		return 1;
	}
	q[0] = (struct db_query){.stmt = STMT_OUTBOX_SUBSCRIPTION,
				 .nparams = 1,
				 .params = {job->sub}};
	q[1] = (struct db_query){.stmt = STMT_OUTBOX_HISTORY,
				 .nparams = 2,
				 .params = {job->pathway, job->seq}};
	return 2;
}

static bool sign(struct outbox_job *job, const char *secret)
{
	return job->body != NULL &&
	       fhir_subscription_sign(secret, job->body, job->len,
				      job->signature);
}

/* A text[] literal of the keys of set (malloc'd), or NULL. */
static char *set_literal(json_t *set)
{
	struct pgarray a;
	const char *key;
	json_t *v;
	char *text;

	pgarray_init(&a);
	json_object_foreach(set, key, v)
	{
		pgarray_add(&a, key);
	}
	text = pgarray_text(&a) ? strdup(pgarray_text(&a)) : NULL;
	pgarray_free(&a);
	return text;
}

/* The audit row names the patients shown and their pathways' regions, as
 * a read's does (query.c): a region's admin sees what went out of its
 * region. */
static void audit_patients(struct outbox_job *job, json_t *set, json_t *regions)
{
	job->patients = set_literal(set);
	job->regions = set_literal(regions);
}

/* --- a region's night report ------------------------------------------------
 */

static enum outbox_render render_report(struct outbox_job *job, PGresult *res)
{
	const struct report_endpoint *e = endpoint_of(job->region);
	json_t *doc, *patients = json_object(), *regions, *item;
	cal_date night;
	size_t i;

	if (e == NULL || !calendar_parse_date(job->date, &night)) {
		json_decref(patients);
		log_warning(CTX, "report %s of %s: no endpoint configured",
			    job->date, job->region);
		return OUTBOX_DROP;
	}
	doc = report_json(res, night);
	json_array_foreach(json_object_get(doc, "items"), i, item)
	{
		json_object_set_new(
			patients,
			json_string_value(json_object_get(item, "patient_id")),
			json_true());
	}
	json_object_set_new(doc, "region", json_string(job->region));
	job->body =
		e->csv ? report_csv(res, night) : json_dumps(doc, JSON_COMPACT);
	job->len = job->body ? strlen(job->body) : 0;
	job->content_type =
		e->csv ? "text/csv; charset=utf-8" : "application/json";
	snprintf(job->endpoint, sizeof(job->endpoint), "%s", e->url);
	snprintf(job->token, sizeof(job->token), "report:%s", job->region);
	regions = json_pack("{s:b}", job->region, 1);
	audit_patients(job, patients, regions);
	json_decref(regions);
	json_decref(patients);
	json_decref(doc);
	return sign(job, e->secret) && job->patients && job->regions
		       ? OUTBOX_SEND
		       : OUTBOX_FAIL;
}

/* --- a Subscription's notification ------------------------------------------
 */

/* The pathway as it stood after transition upto (its doc and the
 * transitions up to it), from STMT_OUTBOX_HISTORY's rows. */
static bool view_at(struct app *app, const PGresult *res, int upto,
		    struct fhir_view *v, json_t **pathway, json_t **transitions)
{
	const struct model *m = NULL;
	int rows = PQntuples(res);

	*pathway = NULL;
	*transitions = json_array();
	for (int r = 0; r < rows; r++) {
		int seq = atoi(PQgetvalue(res, r, 0));
		if (seq > upto)
			break;
		json_array_append_new(
			*transitions,
			json_loads(PQgetvalue(res, r, 1), 0, NULL));
		if (seq == upto && !PQgetisnull(res, r, 2))
			*pathway = json_loads(PQgetvalue(res, r, 2), 0, NULL);
		m = model_set_find(&app->models, PQgetvalue(res, r, 3));
	}
	return *pathway != NULL && m != NULL &&
	       fhir_view_load(v, &app->fhir, m, *pathway, *transitions);
}

struct rendered {
	struct fhir_view after, before;
	json_t *docs[4];
	bool has_after, has_before;
};

static void rendered_free(struct rendered *rd)
{
	if (rd->has_after)
		fhir_view_free(&rd->after);
	if (rd->has_before)
		fhir_view_free(&rd->before);
	for (int i = 0; i < 4; i++)
		json_decref(rd->docs[i]);
}

/* The changed resources that concern sub (a new array), or NULL. */
static json_t *matching(struct app *app, struct outbox_job *job,
			const struct fhir_subscription *sub,
			const PGresult *hist)
{
	struct rendered rd = {0};
	int seq = atoi(job->seq);
	json_t *changed, *kept = json_array(), *r;
	const char *gp;
	size_t i;

	rd.has_after =
		view_at(app, hist, seq, &rd.after, &rd.docs[0], &rd.docs[1]);
	rd.has_before = rd.has_after && seq > 1 &&
			view_at(app, hist, seq - 1, &rd.before, &rd.docs[2],
				&rd.docs[3]);
	changed = rd.has_after ? fhir_notify_changed(&rd.after,
						     rd.has_before ? &rd.before
								   : NULL)
			       : NULL;
	gp = json_string_value(json_object_get(rd.docs[0], "gp_unit"));
	json_array_foreach(changed, i, r)
	{
		if (fhir_notify_matches(sub, r,
					strcmp(job->kind, "decision") == 0, gp))
			json_array_append(kept, r);
	}
	if (changed == NULL) {
		json_decref(kept);
		kept = NULL;
	}
	json_decref(changed);
	rendered_free(&rd);
	return kept;
}

static bool subscription_of(struct app *app, const PGresult *res,
			    struct fhir_subscription *sub,
			    enum fhir_sub_status *status)
{
	json_t *doc = json_loads(PQgetvalue(res, 0, 8), 0, NULL);
	struct fhir_error err;
	const char *s = PQgetvalue(res, 0, 6);
	bool ok = doc != NULL &&
		  fhir_subscription_parse(&app->fhir, doc, sub, &err);

	json_decref(doc);
	*status = strcmp(s, "active") == 0  ? FHIR_SUB_ACTIVE
		  : strcmp(s, "error") == 0 ? FHIR_SUB_ERROR
		  : strcmp(s, "off") == 0   ? FHIR_SUB_OFF
					    : FHIR_SUB_REQUESTED;
	return ok;
}

static enum outbox_render render_change(struct app *app, struct outbox_job *job,
					PGresult **res)
{
	struct fhir_subscription *sub = calloc(1, sizeof(*sub));
	json_t *kept, *bundle, *patients, *regions;
	enum outbox_render out = OUTBOX_FAIL;

	if (sub == NULL || PQntuples(res[0]) == 0 || PQntuples(res[1]) == 0 ||
	    !subscription_of(app, res[0], sub, &job->status))
		goto done;
	kept = matching(app, job, sub, res[1]);
	if (kept == NULL)
		goto done;
	if (json_array_size(kept) == 0) {
		json_decref(kept);
		out = OUTBOX_DROP;
		goto done;
	}
	bundle = fhir_notify_bundle(&app->fhir, kept, sub->full_payload);
	job->body = bundle ? json_dumps(bundle, JSON_COMPACT) : NULL;
	job->len = job->body ? strlen(job->body) : 0;
	json_decref(bundle);
	job->content_type = "application/fhir+json";
	snprintf(job->endpoint, sizeof(job->endpoint), "%s", sub->endpoint);
	job->headers = json_loads(PQgetvalue(res[0], 0, 4), 0, NULL);
	snprintf(job->token, sizeof(job->token), "%s",
		 PQgetvalue(res[0], 0, 7));
	/* The pathway's patient and region (not the registrant's regions:
	 * an all-region registrant's row was nobody's region's). */
	patients = json_pack("{s:b}", PQgetvalue(res[1], 0, 4), 1);
	regions = json_pack("{s:b}", PQgetvalue(res[1], 0, 5), 1);
	audit_patients(job, patients, regions);
	json_decref(patients);
	json_decref(regions);
	if (sign(job, PQgetvalue(res[0], 0, 5)) && job->patients != NULL &&
	    job->regions != NULL)
		out = OUTBOX_SEND;
done:
	free(sub);
	return out;
}

enum outbox_render outbox_render(struct app *app, struct outbox_job *job,
				 PGresult **res, int n)
{
	if (strcmp(job->kind, "report") == 0)
		return n == 1 ? render_report(job, res[0]) : OUTBOX_FAIL;
	/* A deleted subscription takes its rows with it; one gone since the
	 * claim has nothing to send. */
	if (n == 2 && PQntuples(res[0]) == 0)
		return OUTBOX_DROP;
	return n == 2 ? render_change(app, job, res) : OUTBOX_FAIL;
}
