#include "verify.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pathway.h"
#include "pgarray.h"
#include "replay.h"
#include "store.h"

/* Columns after the pathway's in STMT_VERIFY_PAGE. */
enum {
	VC_DUE = STORE_PATHWAY_COLUMNS,
	VC_NEXT_DUE = VC_DUE + RULE_COUNT,
	VC_DOC,
	VC_TRANSITIONS,
};

struct page {
	PGresult *rows;
	PGresult *events;
	int next_event; /* the first event row not yet used */
};

static void report(FILE *out, struct verify_counts *c, bool *counted,
		   const char *id, const char *what, const char *stored,
		   const char *replay)
{
	fprintf(out, "pathway %s: %s: stored %s, replay %s\n", id, what, stored,
		replay);
	c->mismatches++;
	if (!*counted) {
		c->mismatched++;
		pgarray_add(&c->mismatched_ids, id);
	}
	*counted = true;
}

/* The pathway's recorded events, from the page's event rows in order
 * (malloc'd; the events owned by owned). */
static struct history_entry *history_of(struct page *pg, const char *id,
					size_t *count, json_t *owned)
{
	struct history_entry *h;
	size_t n = 0, cap = 0;
	int rows = PQntuples(pg->events);

	while (pg->next_event < rows &&
	       strcmp(PQgetvalue(pg->events, pg->next_event, 0), id) < 0)
		pg->next_event++;
	for (int r = pg->next_event;
	     r < rows && strcmp(PQgetvalue(pg->events, r, 0), id) == 0; r++)
		cap++;
	h = calloc(cap + 1, sizeof(*h));
	for (; h != NULL && pg->next_event < rows &&
	       strcmp(PQgetvalue(pg->events, pg->next_event, 0), id) == 0;
	     pg->next_event++) {
		int r = pg->next_event;
		json_t *ev = json_loads(PQgetvalue(pg->events, r, 4), 0, NULL);
		if (ev == NULL || n == cap) {
			json_decref(ev);
			continue;
		}
		json_array_append_new(owned, ev);
		h[n++] = (struct history_entry){
			atoi(PQgetvalue(pg->events, r, 1)),
			PQgetvalue(pg->events, r, 2),
			PQgetvalue(pg->events, r, 3), ev,
			strtoll(PQgetvalue(pg->events, r, 5), NULL, 10)};
	}
	*count = n;
	return h;
}

static void compare_json(FILE *out, struct verify_counts *c, bool *counted,
			 const char *id, const char *what, json_t *a, json_t *b)
{
	char *x, *y;

	if (json_equal(a, b))
		return;
	x = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	y = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	report(out, c, counted, id, what, x ? x : "?", y ? y : "?");
	free(x);
	free(y);
}

/* The due-date columns against the replayed clocks (NULL while a clock
 * does not run or is paused). */
static void compare_dues(FILE *out, struct verify_counts *c, bool *counted,
			 const PGresult *res, int row, const struct pathway *p)
{
	const char *id = PQgetvalue(res, row, 0);

	for (int r = 0; r < RULE_COUNT; r++) {
		const struct pathway_clock *k = &p->clocks[r];
		char want[CAL_DATE_LEN] = "", what[48];
		const char *got = PQgetisnull(res, row, VC_DUE + r)
					  ? ""
					  : PQgetvalue(res, row, VC_DUE + r);
		if (k->running && !k->paused)
			calendar_format_date(k->due, want);
		if (strcmp(got, want) == 0)
			continue;
		snprintf(what, sizeof(what), "due_%s",
			 domain_rule_name((enum rule)r));
		report(out, c, counted, id, what, got[0] ? got : "NULL",
		       want[0] ? want : "NULL");
	}
}

static void verify_one(struct page *pg, int row, const struct model_set *models,
		       FILE *out, struct verify_counts *c)
{
	const PGresult *res = pg->rows;
	const char *id = PQgetvalue(res, row, 0);
	struct history_entry *h;
	json_t *owned = json_array(), *stored_j = NULL, *replay_j = NULL,
	       *doc = json_loads(PQgetvalue(res, row, VC_DOC), 0, NULL);
	struct history hist;
	struct replay_result rr;
	struct pathway stored;
	bool counted = false;
	char count[24], version[24];

	h = history_of(pg, id, &hist.count, owned);
	hist.entries = h;
	c->pathways++;
	c->transitions += (long)hist.count;
	snprintf(count, sizeof(count), "%zu", hist.count);
	if (!store_pathway_from_row(res, row, &stored)) {
		report(out, c, &counted, id, "row", "unreadable", "-");
		goto out;
	}
	snprintf(version, sizeof(version), "%d", stored.version);
	if (strcmp(version, PQgetvalue(res, row, VC_TRANSITIONS)) != 0)
		report(out, c, &counted, id, "version", version,
		       PQgetvalue(res, row, VC_TRANSITIONS));
	if (!replay_history(&hist, NULL, id, models,
			    (cal_millis)time(NULL) * 1000, &rr)) {
		report(out, c, &counted, id, "history", count, rr.err.message);
		replay_result_free(&rr);
		goto out;
	}
	replay_result_free(&rr);
	stored_j = pathway_to_json(&stored);
	replay_j = pathway_to_json(&rr.state);
	compare_json(out, c, &counted, id, "state", stored_j, replay_j);
	compare_json(out, c, &counted, id, "doc", doc, stored_j);
	compare_dues(out, c, &counted, res, row, &rr.state);
out:
	free(h);
	json_decref(owned);
	json_decref(doc);
	json_decref(stored_j);
	json_decref(replay_j);
}

static bool fetch_page(PGconn *conn, const char *after, int size,
		       struct page *pg, char *err, size_t errlen)
{
	char size_text[16];
	const char *params[2] = {after, size_text};
	struct pgarray ids;
	const char *ids_text;

	memset(pg, 0, sizeof(*pg));
	snprintf(size_text, sizeof(size_text), "%d", size);
	pg->rows =
		PQexecParams(conn, store_statements[STMT_VERIFY_PAGE - 1].sql,
			     2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(pg->rows) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		return false;
	}
	pgarray_init(&ids);
	for (int r = 0; r < PQntuples(pg->rows); r++)
		pgarray_add(&ids, PQgetvalue(pg->rows, r, 0));
	ids_text = pgarray_text(&ids);
	pg->events = PQexecParams(conn, store_verify_history_sql, 1, NULL,
				  &ids_text, NULL, NULL, 0);
	pgarray_free(&ids);
	if (PQresultStatus(pg->events) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		return false;
	}
	return true;
}

bool verify_run(PGconn *conn, const struct model_set *models, int page_size,
		FILE *out, struct verify_counts *counts, char *err,
		size_t errlen)
{
	char after[ID_MAX + 1] = "";
	bool ok = true;

	memset(counts, 0, sizeof(*counts));
	for (;;) {
		struct page pg;
		int rows;
		if (!fetch_page(conn, after, page_size, &pg, err, errlen)) {
			ok = false;
		} else {
			rows = PQntuples(pg.rows);
			for (int r = 0; r < rows; r++)
				verify_one(&pg, r, models, out, counts);
			if (rows > 0)
				snprintf(after, sizeof(after), "%s",
					 PQgetvalue(pg.rows, rows - 1, 0));
			if (rows < page_size)
				page_size = 0;
		}
		PQclear(pg.rows);
		PQclear(pg.events);
		if (!ok || page_size == 0)
			return ok;
	}
}
