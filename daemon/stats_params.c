/* The statistics routes' shared parameters (stats_params.h). */
#include "stats_params.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "http.h"
#include "reads.h"

static bool valid_level(const char *s)
{
	enum level l;

	return domain_level_parse(s, &l);
}

static bool valid_rule(const char *s)
{
	enum rule r;

	return domain_rule_parse(s, &r);
}

static bool valid_date(const char *s)
{
	cal_date d;

	return calendar_parse_date(s, &d);
}

static const struct {
	const char *key;
	bool (*valid)(const char *);
	const char *what;
} filters[] = {
	{"region", domain_valid_id, "an identifier"},
	{"unit", domain_valid_id, "an identifier"},
	{"model", domain_valid_id, "a model key"},
	{"level", valid_level, "gp, team, clinic or centre"},
	{"rule", valid_rule,
	 "transit, assessment, treatment, free_choice or level_review"},
	{"as_of", valid_date, "a date, YYYY-MM-DD"},
};

long stats_elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

bool stats_today(const struct app *app, char out[CAL_DATE_LEN])
{
	struct cal_zone zone;
	struct timespec ts;

	/* Today where the night's report is made: one zone for the whole
	 * answer; each pathway's days are still counted in its own model's
	 * zone. */
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!calendar_zone_parse(app->cfg.report_zone, &zone))
		return false;
	calendar_format_date(
		calendar_local_date(&zone, (cal_millis)ts.tv_sec * 1000), out);
	return true;
}

bool stats_as_of(struct request *r, char out[CAL_DATE_LEN])
{
	const char *as_of = request_query(r, "as_of");
	cal_date d;

	if (as_of == NULL)
		return stats_today(r->app, out);
	if (!calendar_parse_date(as_of, &d))
		return false;
	calendar_format_date(d, out);
	return true;
}

bool stats_params_read(struct request *r, struct stats_params *sp,
		       struct reply *out)
{
	const char *region = request_query(r, "region");

	memset(sp, 0, sizeof(*sp));
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		const char *v = request_query(r, filters[i].key);
		if (v != NULL && !filters[i].valid(v))
			return reply_error(out, ERR_INVALID_REQUEST,
					   filters[i].key, "%s must be %s",
					   filters[i].key, filters[i].what),
			       false;
	}
	if (region != NULL && !auth_covers_region(r->token, region))
		return reply_error(out, ERR_FORBIDDEN, "region",
				   "this token does not cover region %s",
				   region),
		       false;
	if (!stats_as_of(r, sp->as_of))
		return reply_error(out, ERR_INTERNAL, NULL,
				   "report_zone is not a known time zone"),
		       false;
	sp->models_ready = stats_models_init(&sp->models, &r->app->models);
	if (!sp->models_ready)
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory"),
		       false;
	return true;
}

void stats_params_free(struct stats_params *sp)
{
	if (sp->models_ready)
		stats_models_free(&sp->models);
	sp->models_ready = false;
}

void stats_params_fill(struct request *r, struct stats_params *sp,
		       struct db_query *q)
{
	q->params[0] = sp->as_of;
	q->params[1] = request_query(r, "region");
	q->params[2] = request_query(r, "level");
	q->params[3] = request_query(r, "unit");
	q->params[4] = request_query(r, "model");
	q->params[5] = request_regions(r, sp->regions, sizeof(sp->regions));
	stats_models_params(&sp->models, &q->params[6]);
	q->nparams = 11;
}

bool stats_count_param(struct request *r, const char *key, long def, long max,
		       char out[16], struct reply *rep)
{
	const char *v = request_query(r, key);
	long n = def;

	if (v != NULL && (!parse_count(v, max, &n) || n < 1))
		return reply_error(rep, ERR_INVALID_REQUEST, key,
				   "%s must be 1-%ld", key, max),
		       false;
	snprintf(out, 16, "%ld", n);
	return true;
}
