/*
 * FHIR searches: GET /fhir/{EpisodeOfCare,ServiceRequest,Task}?...
 *
 * SQL over indexes finds the pathways that may hold matches (a superset:
 * by id, patient, business identifier, phase, unit, last update, next
 * due date, and always the token's regions), in keyset order (opened_at,
 * pathway_id); each is rendered and its resources kept when
 * fhir_search_matches says so, so the SQL only narrows and one
 * definition decides.  An EpisodeOfCare search is exact in SQL, so its
 * Bundle has a total; a ServiceRequest or Task search has none.
 *
 * A page holds up to _count matches; the next link's cursor names the
 * last resource shown (pathway and referral seq), so a page can end
 * inside a pathway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "app.h"
#include "fhir_bundle.h"
#include "fhir_id.h"
#include "fhir_map.h"
#include "fhir_search.h"
#include "fhir_serve.h"
#include "http.h"
#include "pgarray.h"
#include "store.h"

#define MAX_QUERY   32
#define REGIONS_LEN 4096
#define NO_SEQ	    0x7fffffff

/* The request's query as name/value pairs (borrowed from it). */
static size_t query_pairs(const struct request *r, struct fhir_query_param *out,
			  size_t max, bool with_cursor)
{
	const struct evkeyval *kv;
	size_t n = 0;

	TAILQ_FOREACH(kv, r->query, next)
	{
		if (n < max &&
		    (with_cursor || strcmp(kv->key, FHIR_CURSOR_PARAM) != 0))
			out[n++] =
				(struct fhir_query_param){kv->key, kv->value};
	}
	return n;
}

static bool parse(const struct request *r, struct fhir_search *s,
		  struct fhir_error *err)
{
	struct fhir_query_param qp[MAX_QUERY];
	char type[32];
	size_t n = query_pairs(r, qp, MAX_QUERY, true);

	fhir_route_type(r, type);
	return fhir_search_parse(type, qp, n, s, err);
}

/* --- narrowing ---------------------------------------------------------------
 */

/* The SQL filters (store.h, store_fhir_search_sql), each NULL when it
 * does not narrow. */
struct narrow {
	struct pgarray ids, hashes, patients, phases, units, ref_units,
		identifiers;
	bool use[7];
	char updated_from[CAL_TIMESTAMP_LEN], updated_to[CAL_TIMESTAMP_LEN];
	char due_by[CAL_DATE_LEN];
	const char *identifier_type;
	char regions[REGIONS_LEN];
	char keyset_micros[24], limit[16];
};

enum { N_IDS, N_HASHES, N_PATIENTS, N_PHASES, N_UNITS, N_REF, N_IDENT };

/* The value after "system|" (or the whole of it); NULL for "system|",
 * which names no value. */
static const char *bare(const char *v)
{
	const char *bar = strchr(v, '|');

	if (bar == NULL)
		return v;
	return bar[1] != '\0' ? bar + 1 : NULL;
}

static void narrow_ids(const struct fhir_search *s, struct narrow *n)
{
	const struct fhir_search_term *t = fhir_search_term(s, "_id");
	struct fhir_id_parts parts;

	if (t == NULL)
		t = fhir_search_term(s, "focus");
	if (t == NULL)
		return;
	n->use[N_IDS] = n->use[N_HASHES] = true;
	for (size_t i = 0; i < t->value_count; i++) {
		const char *v = t->values[i];
		const char *slash = strrchr(v, '/');
		if (slash != NULL)
			v = slash + 1;
		if (!fhir_id_parse(v, &parts))
			continue;
		if (parts.hashed)
			pgarray_add(&n->hashes, parts.hash);
		else
			pgarray_add(&n->ids, parts.pathway_id);
	}
	/* Only the kinds given narrow; both empty: nothing matches. */
	if (n->ids.count == 0 && n->hashes.count > 0)
		n->use[N_IDS] = false;
	if (n->hashes.count == 0)
		n->use[N_HASHES] = false;
}

/* Values of a term without their systems; false (no narrowing) when one
 * names a whole system. */
static bool bare_values(const struct fhir_search_term *t, struct pgarray *a)
{
	for (size_t i = 0; t != NULL && i < t->value_count; i++) {
		if (bare(t->values[i]) == NULL)
			return false;
		pgarray_add(a, bare(t->values[i]));
	}
	return t != NULL;
}

/* The phases a status term can mean: EpisodeOfCare's from the map; a
 * Task's only while every status is an open referral's. */
static bool status_phases(const struct fhir_search *s, struct pgarray *a)
{
	const struct fhir_search_term *t = fhir_search_term(s, "status");
	static const char *const open_phases[] = {"referred", "assessing",
						  "waiting"};
	bool episode = strcmp(s->type, "EpisodeOfCare") == 0;

	if (t == NULL || strcmp(s->type, "ServiceRequest") == 0)
		return false;
	for (size_t i = 0; i < t->value_count; i++) {
		const char *code = bare(t->values[i]), *phases[8];
		size_t k = 0;
		if (code == NULL)
			return false;
		if (episode)
			k = fhir_map_phases_of_status(code, phases, 8);
		for (size_t p = 0; !episode && p < 3; p++)
			if (strcmp(fhir_map_open_task_status(open_phases[p]),
				   code) == 0)
				phases[k++] = open_phases[p];
		if (!episode && k == 0)
			return false;
		for (size_t p = 0; p < k; p++)
			pgarray_add(a, phases[p]);
	}
	return true;
}

/* Every status of a Task search is one of a referral still open or in
 * treatment. */
static bool live_statuses(const struct fhir_search *s)
{
	static const char *const live[] = {"requested", "received", "accepted",
					   "in-progress"};
	const struct fhir_search_term *t = fhir_search_term(s, "status");

	if (t == NULL || strcmp(s->type, "Task") != 0)
		return false;
	for (size_t i = 0; i < t->value_count; i++) {
		const char *code = bare(t->values[i]);
		size_t k = 0;
		while (code != NULL && k < 4 && strcmp(live[k], code) != 0)
			k++;
		if (code == NULL || k == 4)
			return false;
	}
	return true;
}

static void narrow_identifiers(const struct fhir_search *s, struct narrow *n,
			       const struct fhir_config *cfg)
{
	const struct fhir_search_term *t = fhir_search_term(s, "identifier");
	bool episode = strcmp(s->type, "EpisodeOfCare") == 0;
	size_t sys_len = strlen(cfg->pathway_id_system);

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->value_count; i++) {
		const char *v = t->values[i];
		/* An episode's identifier is its pathway id or its opening's
		 * event id: a value without a system may be either. */
		if (episode && strchr(v, '|') == NULL)
			return;
		if (bare(v) == NULL)
			return;
	}
	n->identifier_type = episode ? "pathway.opened" : "referral.sent";
	for (size_t i = 0; i < t->value_count; i++) {
		const char *v = t->values[i];
		if (episode &&
		    strncmp(v, cfg->pathway_id_system, sys_len) == 0 &&
		    v[sys_len] == '|') {
			pgarray_add(&n->ids, bare(v));
			n->use[N_IDS] = true;
		} else {
			pgarray_add(&n->identifiers, bare(v));
			n->use[N_IDENT] = true;
		}
	}
	if (n->use[N_IDS] && n->use[N_IDENT]) /* both kinds: either */
		n->use[N_IDS] = n->use[N_IDENT] = false;
}

static void narrow_dates(const struct fhir_search *s, struct narrow *n)
{
	const struct fhir_search_term *t = fhir_search_term(s, "_lastUpdated");
	const struct fhir_search_term *d = fhir_search_term(s, "deadline");
	/* A second either way: the resource's instant has its own
	 * precision (fhir_search_matches decides). */
	const cal_millis slack = 1000;

	if (t != NULL && t->prefix != FHIR_DATE_LT && t->prefix != FHIR_DATE_LE)
		calendar_format_timestamp(
			(t->prefix == FHIR_DATE_GT ? t->hi : t->lo) - slack,
			n->updated_from);
	if (t != NULL && t->prefix != FHIR_DATE_GT && t->prefix != FHIR_DATE_GE)
		calendar_format_timestamp(
			(t->prefix == FHIR_DATE_LT ? t->lo : t->hi) + slack,
			n->updated_to);
	/* next_due is at or before every running deadline of the pathway. */
	if (d != NULL && d->prefix != FHIR_DATE_GT && d->prefix != FHIR_DATE_GE)
		calendar_format_date(
			(cal_date)((d->prefix == FHIR_DATE_LT ? d->lo : d->hi) /
				   86400000LL),
			n->due_by);
}

static void narrow_build(const struct request *r, const struct fhir_search *s,
			 struct narrow *n)
{
	bool episode = strcmp(s->type, "EpisodeOfCare") == 0;
	const struct fhir_search_term *owner = fhir_search_term(s, "owner");

	narrow_ids(s, n);
	n->use[N_PATIENTS] =
		bare_values(fhir_search_term(s, "patient"), &n->patients);
	n->use[N_PHASES] = status_phases(s, &n->phases);
	if (episode)
		n->use[N_UNITS] = bare_values(
			fhir_search_term(s, "organization"), &n->units);
	/* An open referral's owner is its receiving unit, one in progress
	 * the pathway's unit (treating); an ended one's may be neither. */
	if (!episode && owner != NULL && live_statuses(s))
		n->use[N_REF] = bare_values(owner, &n->ref_units);
	narrow_identifiers(s, n, &r->app->fhir);
	narrow_dates(s, n);
	request_regions(r, n->regions, sizeof(n->regions));
	if (s->has_cursor)
		snprintf(n->keyset_micros, sizeof(n->keyset_micros), "%lld",
			 s->cursor_micros);
	snprintf(n->limit, sizeof(n->limit), "%d", s->count + 1);
}

static const char *arr(struct narrow *n, int which, struct pgarray *a)
{
	if (!n->use[which])
		return NULL;
	return pgarray_text(a);
}

static void narrow_params(const struct request *r, struct narrow *n,
			  const struct fhir_search *s, struct db_query *q)
{
	q->nparams = 15;
	q->params[0] = arr(n, N_IDS, &n->ids);
	q->params[1] = arr(n, N_HASHES, &n->hashes);
	q->params[2] = arr(n, N_PATIENTS, &n->patients);
	q->params[3] = arr(n, N_PHASES, &n->phases);
	q->params[4] = arr(n, N_UNITS, &n->units);
	q->params[5] = arr(n, N_REF, &n->ref_units);
	q->params[6] = n->updated_from[0] ? n->updated_from : NULL;
	q->params[7] = n->updated_to[0] ? n->updated_to : NULL;
	q->params[8] = arr(n, N_IDENT, &n->identifiers);
	q->params[9] = n->identifier_type;
	q->params[10] = n->due_by[0] ? n->due_by : NULL;
	q->params[11] = r->token ? n->regions : NULL;
	if (r->token != NULL && r->token->all_regions)
		q->params[11] = NULL;
	q->params[12] = s->has_cursor ? n->keyset_micros : NULL;
	q->params[13] = s->has_cursor ? s->cursor_pathway : NULL;
	q->params[14] = n->limit;
}

static void narrow_free(struct narrow *n)
{
	pgarray_free(&n->ids);
	pgarray_free(&n->hashes);
	pgarray_free(&n->patients);
	pgarray_free(&n->phases);
	pgarray_free(&n->units);
	pgarray_free(&n->ref_units);
	pgarray_free(&n->identifiers);
}

/* --- the page ---------------------------------------------------------------
 */

struct page {
	const struct fhir_search *s;
	json_t *bundle;
	struct answer *a;
	const struct app *app;
	int shown;
	bool full; /* _count matches shown and more may follow */
	char cursor[2 * (ID_MAX + 48) + 1];
};

/* Adds resource (stolen) if it matches; false once the page is full. */
static bool offer(struct page *pg, const struct fhir_pathway *p,
		  const char *micros, int seq, json_t *resource,
		  json_t *include)
{
	if (!fhir_search_matches(pg->s, resource)) {
		json_decref(resource);
		json_decref(include);
		return true;
	}
	if (pg->shown == pg->s->count) {
		pg->full = true;
		json_decref(resource);
		json_decref(include);
		return false;
	}
	if (!fhir_bundle_add_match(pg->bundle, &pg->app->fhir, resource,
				   false) ||
	    (include != NULL &&
	     !fhir_bundle_add_match(pg->bundle, &pg->app->fhir, include, true)))
		return false;
	pg->shown++;
	answer_pathway(pg->a, p->view.patient_id, p->view.region);
	fhir_search_cursor(strtoll(micros, NULL, 10), p->view.pathway_id, seq,
			   pg->cursor, sizeof(pg->cursor));
	return true;
}

/* One pathway's matching resources, after the cursor; false once the page
 * is full. */
static bool offer_pathway(struct page *pg, const struct fhir_pathway *p,
			  const char *micros)
{
	const struct fhir_search *s = pg->s;
	const struct fhir_view *v = &p->view;
	int after =
		s->has_cursor && strcmp(s->cursor_pathway, v->pathway_id) == 0
			? s->cursor_seq
			: -1;
	bool task = strcmp(s->type, "Task") == 0;

	if (strcmp(s->type, "EpisodeOfCare") == 0)
		return after >= 0 ||
		       offer(pg, p, micros, 0, fhir_resource_episode(v), NULL);
	for (size_t i = 0; i < v->history.referral_count; i++) {
		const struct fhir_referral *ref = &v->history.referrals[i];
		if (ref->seq <= after)
			continue;
		if (!offer(pg, p, micros, ref->seq,
			   task ? fhir_resource_task(v, ref)
				: fhir_resource_service_request(v, ref),
			   task && s->include_focus
				   ? fhir_resource_service_request(v, ref)
				   : NULL))
			return false;
	}
	return true;
}

static void render_search(struct request *r, PGresult **res, int n,
			  struct answer *a)
{
	struct fhir_search s;
	struct fhir_error err;
	struct fhir_query_param qp[MAX_QUERY];
	struct page pg = {.s = &s, .a = a, .app = r->app};
	int rows = PQntuples(res[0]);
	bool more;

	if (!parse(r, &s, &err))
		return fhir_answer_error(a, r->app, &err);
	pg.bundle = fhir_bundle_new(FHIR_BUNDLE_SEARCHSET);
	for (int i = 0; i < rows && !pg.full; i++) {
		struct fhir_pathway p;
		bool ok = fhir_pathway_load(&p, r->app, res[0], i);
		if (ok && !offer_pathway(&pg, &p, PQgetvalue(res[0], i, 6)) &&
		    !pg.full)
			ok = false;
		/* The last row fetched only tells that more follow. */
		if (ok && !pg.full && i == rows - 1 && rows > s.count)
			fhir_search_cursor(
				strtoll(PQgetvalue(res[0], i, 6), NULL, 10),
				p.view.pathway_id, NO_SEQ, pg.cursor,
				sizeof(pg.cursor));
		fhir_pathway_free(&p);
		if (!ok) {
			json_decref(pg.bundle);
			return answer_error(a, ERR_INTERNAL, NULL,
					    "a pathway does not render");
		}
	}
	more = pg.full || rows > s.count;
	/* The total is known when SQL counted exactly, or when the first
	 * page holds every match. */
	if (n > 1)
		fhir_bundle_set_total(
			pg.bundle, strtol(PQgetvalue(res[1], 0, 0), NULL, 10));
	else if (!s.has_cursor && !more)
		fhir_bundle_set_total(pg.bundle, pg.shown);
	if (!fhir_bundle_set_links(pg.bundle, &r->app->fhir, s.type, qp,
				   query_pairs(r, qp, MAX_QUERY, false),
				   more && pg.cursor[0] ? pg.cursor : NULL)) {
		json_decref(pg.bundle);
		return answer_error(a, ERR_INTERNAL, NULL, "links too long");
	}
	answer_json(a, pg.bundle);
}

/* SQL counts the matches exactly only when every term narrows exactly:
 * an episode's id, patient, status or organization. */
static bool count_exact(const struct fhir_search *s)
{
	static const char *const exact[] = {"_id", "patient", "status",
					    "organization"};

	if (strcmp(s->type, "EpisodeOfCare") != 0)
		return false;
	for (size_t i = 0; i < s->term_count; i++) {
		size_t k = 0;
		while (k < 4 && strcmp(exact[k], s->terms[i].name) != 0)
			k++;
		if (k == 4)
			return false;
	}
	return true;
}

enum handled fhir_search_get(struct request *r, struct reply *out)
{
	struct fhir_search s;
	struct fhir_error err;
	struct narrow *n = calloc(1, sizeof(*n));
	struct db_query q[2] = {{.sql = store_fhir_search_sql},
				{.sql = store_fhir_count_sql}};
	enum handled h;

	if (n == NULL)
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory");
	if (!parse(r, &s, &err)) {
		free(n);
		return fhir_reply_error(out, r->app, &err);
	}
	narrow_build(r, &s, n);
	narrow_params(r, n, &s, &q[0]);
	q[1] = q[0];
	q[1].sql = store_fhir_count_sql;
	q[1].nparams = STORE_FHIR_FILTERS;
	h = read_batch(r, q, count_exact(&s) ? 2 : 1, render_search);
	narrow_free(n);
	free(n);
	return h;
}
