/*
 * Coordinators' reads: GET /v1/pathways (worklists with keyset pagination;
 * GET /v1/stats/waiting moved to daemon/stats.c).
 *
 * It is an ad-hoc statement with every filter a parameter that may be
 * NULL.  They are sent unprepared on purpose: PostgreSQL then plans each
 * with the actual values, so "$1 IS NULL OR region = $1" folds away and the
 * matching partial index is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "export_csv.h"
#include "export_stream.h"
#include "http.h"
#include "reads.h"
#include "store.h"
#include "textbuf.h"

#define WORKLIST_MAX_LIMIT 1000

/* The day before which a due date is overdue, per model as a JSON object
 * {"<model>": "<date>"}: the as_of parameter, or today in each model's own
 * zone (overdue is a local-date matter). */
static bool overdue_dates(struct request *r, char *out, size_t len)
{
	const struct model_set *models = &r->app->models;
	const char *as_of = request_query(r, "as_of");
	cal_millis now = (cal_millis)time(NULL) * 1000;
	size_t used = 0;
	cal_date d;

	if (as_of != NULL && !calendar_parse_date(as_of, &d))
		return false;
	used += (size_t)snprintf(out, len, "{");
	for (size_t i = 0; i < models->count && used < len; i++) {
		const struct model *m = &models->models[i];
		char day[CAL_DATE_LEN];
		calendar_format_date(
			as_of != NULL ? d : calendar_local_date(&m->zone, now),
			day);
		used += (size_t)snprintf(out + used, len - used,
					 "%s\"%s\":\"%s\"", i > 0 ? "," : "",
					 m->key, day);
	}
	if (used + 2 > len)
		return false;
	snprintf(out + used, len - used, "}");
	return true;
}

/* The cursor is the last row's keyset, "<opened_at micros>.<pathway_id>",
 * hex-encoded so clients treat it as opaque. */
static void cursor_encode(const char *micros, const char *id, char *out,
			  size_t len)
{
	char plain[ID_MAX + 32];
	size_t n = (size_t)snprintf(plain, sizeof(plain), "%s.%s", micros, id);

	for (size_t i = 0; i < n && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)plain[i]);
}

/* A forged cursor is a 400, never a 500 (issue 10): the time must be a
 * number of microseconds PostgreSQL can add to the epoch, the id an
 * identifier. */
#define CURSOR_MAX_MICROS 32503680000000000LL /* year 3000 */

static bool cursor_decode(const char *cursor, char *micros, char *id)
{
	char plain[ID_MAX + 32], *end;
	size_t len = strlen(cursor), i;
	long long value;
	char *dot;

	if (len == 0 || len % 2 != 0 || len / 2 >= sizeof(plain))
		return false;
	for (i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(cursor + 2 * i, "%2x", &v) != 1)
			return false;
		plain[i] = (char)v;
	}
	plain[i] = '\0';
	dot = strchr(plain, '.');
	if (dot == NULL || dot == plain || dot - plain > 18)
		return false;
	*dot = '\0';
	errno = 0;
	value = strtoll(plain, &end, 10);
	if (errno != 0 || *end != '\0' || value < -CURSOR_MAX_MICROS ||
	    value > CURSOR_MAX_MICROS || !domain_valid_id(dot + 1))
		return false;
	snprintf(micros, 32, "%lld", value);
	strcpy(id, dot + 1);
	return true;
}

static void render_worklist(struct request *r, PGresult **results, int n,
			    struct answer *a)
{
	const PGresult *res = results[0];
	long limit = 100;
	int rows = PQntuples(res);
	char cursor[2 * (ID_MAX + 32) + 1] = "";
	struct textbuf t;

	if (!parse_count(request_query(r, "limit"), WORKLIST_MAX_LIMIT,
			 &limit) ||
	    limit < 1)
		limit = 100;
	(void)n;
	/* The stored pathway texts, as they are: no parse, no encode. */
	textbuf_init(&t);
	textbuf_add(&t, "{\"items\":[", 10);
	for (int i = 0; i < rows && i < limit; i++) {
		textbuf_printf(&t, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
		answer_pathway(a, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
	}
	/* One row beyond the page means there is a next page. */
	if (rows > limit)
		cursor_encode(PQgetvalue(res, (int)limit - 1, 1),
			      PQgetvalue(res, (int)limit - 1, 2), cursor,
			      sizeof(cursor));
	textbuf_printf(&t, "],\"next_cursor\":%s%s%s}", cursor[0] ? "\"" : "",
		       cursor[0] ? cursor : "null", cursor[0] ? "\"" : "");
	answer_raw_json(a, textbuf_take(&t));
}

/* An explicit region outside the token's is refused; without one the
 * token's regions filter the answer. */
static bool region_allowed(struct request *r, struct reply *out)
{
	const char *region = request_query(r, "region");

	if (region == NULL || auth_covers_region(r->token, region))
		return true;
	reply_error(out, ERR_FORBIDDEN, "region",
		    "this token does not cover region %s", region);
	return false;
}

static bool check_filter(struct request *r, struct reply *out, const char *key,
			 bool (*valid)(const char *))
{
	const char *v = request_query(r, key);

	if (v == NULL || valid(v))
		return true;
	reply_error(out, ERR_INVALID_REQUEST, key, "%s is not valid", key);
	return false;
}

static bool valid_level(const char *s)
{
	enum level l;

	return domain_level_parse(s, &l);
}

static bool valid_open_phase(const char *s)
{
	enum phase p;

	return domain_phase_parse(s, &p) && p != PHASE_CLOSED;
}

static bool valid_flag(const char *s)
{
	enum flag f;

	return domain_flag_parse(s, &f);
}

static bool valid_date(const char *s)
{
	cal_date d;

	return calendar_parse_date(s, &d);
}

static bool valid_bool(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
}

static bool is_true(struct request *r, const char *key)
{
	const char *v = request_query(r, key);

	return v != NULL && strcmp(v, "true") == 0;
}

static bool worklist_filters_valid(struct request *r, struct reply *out)
{
	static const char *const ids[] = {"region", "model", "unit",
					  "waiting_unit"};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (!check_filter(r, out, ids[i], domain_valid_id))
			return false;
	return check_filter(r, out, "level", valid_level) &&
	       check_filter(r, out, "phase", valid_open_phase) &&
	       check_filter(r, out, "flag", valid_flag) &&
	       check_filter(r, out, "due_before", valid_date) &&
	       check_filter(r, out, "as_of", valid_date) &&
	       check_filter(r, out, "overdue", valid_bool) &&
	       check_filter(r, out, "incomplete", valid_bool);
}

/* The CSV form: every pathway the filters select, streamed (issue 14). */
static enum handled worklist_csv_of(struct request *r, struct reply *out,
				    const char *overdue_before, char *regions)
{
	const char *filters[10] = {request_query(r, "region"),
				   request_query(r, "model"),
				   request_query(r, "level"),
				   request_query(r, "phase"),
				   request_query(r, "unit"),
				   request_query(r, "waiting_unit"),
				   is_true(r, "overdue") ? overdue_before
							 : NULL,
				   request_query(r, "due_before"),
				   request_query(r, "flag"),
				   is_true(r, "incomplete") ? "true" : "false"};

	return worklist_csv(r, out, filters, request_regions(r, regions, 4096));
}

enum handled worklist_get(struct request *r, struct reply *out)
{
	const char *limit_text = request_query(r, "limit");
	const char *cursor = request_query(r, "cursor");
	char overdue_before[4096], micros[32] = "", after_id[ID_MAX + 1] = "",
				   fetch[24], regions[4096];
	long limit = 100;

	if (!worklist_filters_valid(r, out))
		return HANDLED_NOW;
	if (limit_text != NULL &&
	    (!parse_count(limit_text, WORKLIST_MAX_LIMIT, &limit) || limit < 1))
		return reply_error(out, ERR_INVALID_REQUEST, "limit",
				   "limit must be 1-%d", WORKLIST_MAX_LIMIT);
	if (cursor != NULL && !cursor_decode(cursor, micros, after_id))
		return reply_error(out, ERR_INVALID_REQUEST, "cursor",
				   "cursor must be a next_cursor value");
	if (!overdue_dates(r, overdue_before, sizeof(overdue_before)))
		return reply_error(out, ERR_INTERNAL, NULL, "too many models");
	if (!region_allowed(r, out))
		return HANDLED_NOW;
	snprintf(fetch, sizeof(fetch), "%ld", limit + 1);
	if (export_wants_csv(r))
		return worklist_csv_of(r, out, overdue_before, regions);
	struct db_query q = {
		.sql = store_worklist_sql,
		.nparams = 14,
		.params = {request_query(r, "region"),
			   request_query(r, "model"), request_query(r, "level"),
			   request_query(r, "phase"), request_query(r, "unit"),
			   request_query(r, "waiting_unit"),
			   is_true(r, "overdue") ? overdue_before : NULL,
			   request_query(r, "due_before"),
			   request_query(r, "flag"),
			   is_true(r, "incomplete") ? "true" : "false",
			   micros[0] ? micros : NULL,
			   after_id[0] ? after_id : NULL, fetch,
			   request_regions(r, regions, sizeof(regions))}};
	return read_query(r, &q, render_worklist);
}
