/* The FHIR front-end's shared parts, metadata and reads by id
 * (fhir_serve.h). */
#include "fhir_serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "fhir_capability.h"
#include "fhir_id.h"
#include "http.h"
#include "store.h"

#define REGIONS_LEN 4096
#define SOFTWARE    "painpath"
/* The parameters every search route takes beside the table's. */
#define PAGING_PARAMS "_count cursor"

static cal_millis started_at;

/* --- helpers --------------------------------------------------------------
 */

void fhir_route_type(const struct request *r, char type[32])
{
	const char *p = r->route->pattern + strlen("/fhir/");
	size_t n = strcspn(p, "/");

	snprintf(type, 32, "%.*s", (int)(n < 31 ? n : 31), p);
}

enum handled fhir_reply_error(struct reply *out, const struct app *app,
			      const struct fhir_error *e)
{
	return reply_json(out, error_http_status(e->error.code),
			  fhir_outcome(&app->fhir, e));
}

void fhir_answer_error(struct answer *a, const struct app *app,
		       const struct fhir_error *e)
{
	a->rep.status = error_http_status(e->error.code);
	answer_json(a, fhir_outcome(&app->fhir, e));
}

void fhir_answer_resource(struct answer *a, int status, json_t *resource)
{
	const char *version = json_string_value(json_object_get(
		json_object_get(resource, "meta"), "versionId"));

	if (version != NULL)
		snprintf(a->rep.etag, sizeof(a->rep.etag), "W/\"%s\"", version);
	a->rep.status = status;
	answer_json(a, resource);
}

bool fhir_pathway_load(struct fhir_pathway *p, const struct app *app,
		       const PGresult *res, int row)
{
	const struct model *m =
		model_set_find(&app->models, PQgetvalue(res, row, 4));

	memset(p, 0, sizeof(*p));
	p->pathway = column_json(res, row, 0);
	p->transitions = column_json(res, row, 1);
	if (m == NULL || p->pathway == NULL || p->transitions == NULL)
		return false;
	p->loaded = fhir_view_load(&p->view, &app->fhir, m, p->pathway,
				   p->transitions);
	return p->loaded;
}

void fhir_pathway_free(struct fhir_pathway *p)
{
	if (p->loaded)
		fhir_view_free(&p->view);
	json_decref(p->pathway);
	json_decref(p->transitions);
	memset(p, 0, sizeof(*p));
}

/* --- the route table against the capability table --------------------------
 */

static const struct route *find(const char *method_path)
{
	static const char *const names[] = {"GET", "POST", "PUT", "DELETE"};
	char want[160];

	for (unsigned i = 0; i < app_route_count; i++) {
		const struct route *rt = &app_routes[i];
		if (rt->method > METHOD_DELETE)
			continue;
		snprintf(want, sizeof(want), "%s %s", names[rt->method],
			 rt->pattern);
		if (strcmp(want, method_path) == 0)
			return rt;
	}
	return NULL;
}

/* The query parameters a search route must take: the table's, the
 * :identifier form of each reference, _include if any, and paging. */
static void search_params_of(const struct fhir_resource_row *row, char *out,
			     size_t len)
{
	size_t used = 0;

	for (const struct fhir_search_param *p = row->params; p->name != NULL;
	     p++) {
		used += (size_t)snprintf(out + used, len - used, "%s ",
					 p->name);
		if (p->type == FHIR_PARAM_REFERENCE)
			used += (size_t)snprintf(out + used, len - used,
						 "%s:identifier ", p->name);
	}
	if (row->includes != NULL)
		used += (size_t)snprintf(out + used, len - used, "_include ");
	snprintf(out + used, len - used, PAGING_PARAMS);
}

/* Same words, any order. */
static bool same_words(const char *a, const char *b)
{
	char buf[1024], *save = NULL;
	size_t na = 0, nb = 0;

	snprintf(buf, sizeof(buf), "%s", a ? a : "");
	for (char *w = strtok_r(buf, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save), na++) {
		const char *at = b ? strstr(b, w) : NULL;
		size_t n = strlen(w);
		while (at != NULL && !((at == b || at[-1] == ' ') &&
				       (at[n] == ' ' || at[n] == '\0')))
			at = strstr(at + 1, w);
		if (at == NULL)
			return false;
	}
	snprintf(buf, sizeof(buf), "%s", b ? b : "");
	save = NULL;
	for (char *w = strtok_r(buf, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save))
		nb++;
	return na == nb;
}

/* Each interaction's method and whether its path ends in an id. */
static const struct {
	const char *method;
	bool by_id;
} interaction_route[FHIR_INTERACTION_COUNT] = {
	{"GET", true}, {"GET", false},	 {"POST", false},
	{"PUT", true}, {"DELETE", true},
};

static bool row_routes_ok(const struct fhir_resource_row *row, char *why,
			  size_t len, unsigned *expected)
{
	char want[160], params[1024];

	for (int i = 0; i < FHIR_INTERACTION_COUNT; i++) {
		const struct route *rt;
		if (!(row->interactions & (1u << i)))
			continue;
		snprintf(want, sizeof(want), "%s /fhir/%s%s",
			 interaction_route[i].method, row->type,
			 interaction_route[i].by_id ? "/:id" : "");
		rt = find(want);
		if (rt == NULL || rt->frontend != FRONTEND_FHIR) {
			snprintf(why, len, "no FHIR route for %s", want);
			return false;
		}
		(*expected)++;
		if (i != 1)
			continue;
		search_params_of(row, params, sizeof(params));
		if (!same_words(params, rt->query)) {
			snprintf(why, len, "%s takes \"%s\", the table \"%s\"",
				 want, rt->query ? rt->query : "", params);
			return false;
		}
	}
	return true;
}

/* The routes outside the resource rows: metadata, the system Bundle and
 * the SearchParameter the statement's definition resolves to. */
#define SYSTEM_ROUTES 3

static bool routes_match_table(char *why, size_t len)
{
	unsigned expected = SYSTEM_ROUTES, fhir_routes = 0;

	for (size_t i = 0; i < fhir_capability_resource_count; i++)
		if (!row_routes_ok(&fhir_capability_resources[i], why, len,
				   &expected))
			return false;
	if (find("GET /fhir/metadata") == NULL || find("POST /fhir") == NULL ||
	    find("GET /fhir/SearchParameter/:id") == NULL) {
		snprintf(why, len, "a system route of /fhir is missing");
		return false;
	}
	for (unsigned i = 0; i < app_route_count; i++)
		fhir_routes += app_routes[i].frontend == FRONTEND_FHIR;
	if (fhir_routes != expected) {
		snprintf(why, len,
			 "%u FHIR routes, but the capability table lists %u",
			 fhir_routes, expected);
		return false;
	}
	return true;
}

bool fhir_serve_init(struct app *app, int port, char *why, size_t len)
{
	char base[FHIR_BASE_MAX + 1];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	started_at = (cal_millis)ts.tv_sec * 1000;
	if (app->cfg.fhir_base_url[0] != '\0')
		snprintf(base, sizeof(base), "%s", app->cfg.fhir_base_url);
	else
		snprintf(base, sizeof(base), "%s://%s:%d/fhir",
			 app->tls != NULL ? "https" : "http",
			 strchr(app->cfg.listen, ':') ? "[::1]"
						      : app->cfg.listen,
			 port);
	if (!fhir_config_init(&app->fhir, base, why, len))
		return false;
	return routes_match_table(why, len);
}

/* --- metadata and the SearchParameter -------------------------------------
 */

enum handled fhir_metadata_get(struct request *r, struct reply *out)
{
	json_t *cs =
		fhir_capability_statement(&r->app->fhir, SOFTWARE, started_at);

	if (cs == NULL)
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	out->cache_control = "no-cache";
	return reply_json(out, 200, cs);
}

enum handled fhir_search_parameter_get(struct request *r, struct reply *out)
{
	char type[32] = "", name[64] = "";
	const char *dash = strchr(r->params[0], '-');
	json_t *sp = NULL;

	if (dash != NULL && dash - r->params[0] < 32 && strlen(dash) < 64) {
		snprintf(type, sizeof(type), "%.*s", (int)(dash - r->params[0]),
			 r->params[0]);
		snprintf(name, sizeof(name), "%s", dash + 1);
		sp = fhir_capability_search_parameter(&r->app->fhir, type,
						      name);
	}
	if (sp == NULL)
		return reply_error(out, ERR_NOT_FOUND, NULL,
				   "no such SearchParameter");
	out->cache_control = "no-cache";
	return reply_json(out, 200, sp);
}

/* --- reads by id ----------------------------------------------------------
 */

static void render_read(struct request *r, PGresult **res, int n,
			struct answer *a)
{
	struct fhir_pathway p;
	struct fhir_error e;
	char type[32];
	json_t *resource = NULL;

	(void)n;
	fhir_route_type(r, type);
	if (PQntuples(res[0]) > 0 && !fhir_pathway_load(&p, r->app, res[0], 0))
		return fhir_pathway_free(&p),
		       answer_error(a, ERR_INTERNAL, NULL,
				    "the pathway does not render");
	if (PQntuples(res[0]) > 0) {
		resource = fhir_resource_read(&p.view, type, r->params[0]);
		if (resource != NULL)
			answer_pathway(a, p.view.patient_id, p.view.region);
		fhir_pathway_free(&p);
	}
	if (resource == NULL) {
		fhir_error_set(&e, ERR_NOT_FOUND, NULL, "no such %s", type);
		return fhir_answer_error(a, r->app, &e);
	}
	fhir_answer_resource(a, 200, resource);
}

enum handled fhir_read_get(struct request *r, struct reply *out)
{
	struct fhir_id_parts parts;
	char regions[REGIONS_LEN], type[32];
	struct fhir_error e;

	fhir_route_type(r, type);
	if (!fhir_id_valid(r->params[0]) ||
	    !fhir_id_parse(r->params[0], &parts) ||
	    (parts.seq == 0) != (strcmp(type, "EpisodeOfCare") == 0)) {
		fhir_error_set(&e, ERR_NOT_FOUND, NULL, "no such %s", type);
		return fhir_reply_error(out, r->app, &e);
	}
	struct db_query q = {
		.stmt = parts.hashed ? STMT_FHIR_VIEW_HASH : STMT_FHIR_VIEW,
		.nparams = 3,
		.params = {parts.hashed ? parts.hash : parts.pathway_id,
			   request_regions(r, regions, sizeof(regions)), NULL}};
	return read_query(r, &q, render_read);
}
