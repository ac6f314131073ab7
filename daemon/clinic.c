#include "clinic.h"

#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "app.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "pgarray.h"
#include "store.h"
#include "textbuf.h"

/* The last answers, owned; NULL until the first refresh. */
static PGresult *pathways;
static PGresult *clocks;
static PGresult *outbox;
static time_t refreshed_at;
static struct event *timer;
static bool refreshing;
static struct app *clinic_app;

/* A scrape of figures older than this starts a count in the background
 * (it still answers with the last ones). */
#define STALE_AFTER_S 5

struct refresh {
	struct app *app;
	struct db_conn *conn;
	struct pgarray models, todays;
};

static void refresh_end(struct refresh *r)
{
	if (r->conn != NULL)
		db_release(r->conn);
	pgarray_free(&r->models);
	pgarray_free(&r->todays);
	free(r);
	refreshing = false;
}

static void on_counted(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	(void)conn;
	if (n == 3 && db_result_ok(res[0]) && db_result_ok(res[1]) &&
	    db_result_ok(res[2])) {
		PQclear(pathways);
		PQclear(clocks);
		PQclear(outbox);
		pathways = res[0];
		clocks = res[1];
		outbox = res[2];
		res[0] = res[1] = res[2] = NULL; /* ours now */
		refreshed_at = time(NULL);
	} else {
		for (int i = 0; i < n; i++)
			if (!db_result_ok(res[i])) {
				log_warning("clinic", "counting failed: %s",
					    DB_WHY(res[i]));
				break;
			}
	}
	refresh_end(arg);
}

static void on_lease(struct db_conn *conn, void *arg)
{
	struct refresh *r = arg;
	struct db_query q[3] = {
		{.stmt = STMT_METRICS_PATHWAYS},
		{.stmt = STMT_METRICS_CLOCKS,
		 .nparams = 2,
		 .params = {pgarray_text(&r->models),
			    pgarray_text(&r->todays)}},
		{.stmt = STMT_METRICS_OUTBOX},
	};

	r->conn = conn;
	if (conn == NULL || q[1].params[0] == NULL || q[1].params[1] == NULL ||
	    !db_send(conn, q, 3, on_counted, r))
		refresh_end(r);
}

/* Each model's today in its own zone: overdue is a local-date matter. */
static void add_todays(struct refresh *r, const struct model_set *models)
{
	cal_millis now = (cal_millis)time(NULL) * 1000;

	for (size_t i = 0; i < models->count; i++) {
		char day[CAL_DATE_LEN];
		const struct model *m = &models->models[i];
		calendar_format_date(calendar_local_date(&m->zone, now), day);
		pgarray_add(&r->models, m->key);
		pgarray_add(&r->todays, day);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;
	struct refresh *r;

	(void)fd;
	(void)what;
	if (refreshing || app->draining)
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	r->app = app;
	add_todays(r, &app->models);
	refreshing = true;
	db_acquire(app->read_pool ? app->read_pool : app->pool, on_lease, r);
}

bool clinic_start(struct app *app, int refresh_s)
{
	clinic_app = app;
	struct timeval every = {refresh_s, 0}, soon = {0, 0};

	timer = event_new(app->base, -1, EV_PERSIST, on_tick, app);
	if (timer == NULL || event_add(timer, &every) != 0)
		return false;
	/* The first counts as soon as the pool is up. */
	event_base_once(app->base, -1, EV_TIMEOUT, on_tick, app, &soon);
	return true;
}

void clinic_stop(void)
{
	if (timer != NULL)
		event_free(timer);
	timer = NULL;
	clinic_app = NULL;
	PQclear(pathways);
	PQclear(clocks);
	PQclear(outbox);
	pathways = clocks = outbox = NULL;
}

static void render_pathways(struct textbuf *t)
{
	textbuf_printf(t, "# HELP painpath_open_pathways Open pathways.\n"
			  "# TYPE painpath_open_pathways gauge\n");
	for (int i = 0; pathways && i < PQntuples(pathways); i++)
		textbuf_printf(
			t,
			"painpath_open_pathways{region=\"%s\",phase="
			"\"%s\",level=\"%s\"} %s\n",
			PQgetvalue(pathways, i, 0), PQgetvalue(pathways, i, 1),
			PQgetvalue(pathways, i, 2), PQgetvalue(pathways, i, 3));
}

static void render_clocks(struct textbuf *t)
{
	textbuf_printf(t,
		       "# HELP painpath_clocks_running Legal clocks running "
		       "(not paused).\n# TYPE painpath_clocks_running gauge\n"
		       "# HELP painpath_clocks_overdue Running clocks past "
		       "their due date.\n# TYPE painpath_clocks_overdue gauge\n"
		       "# HELP painpath_waits_paused Referral waits paused "
		       "(not counted as waiting).\n"
		       "# TYPE painpath_waits_paused gauge\n");
	for (int i = 0; clocks && i < PQntuples(clocks); i++) {
		const char *region = PQgetvalue(clocks, i, 0);
		const char *rule = PQgetvalue(clocks, i, 1);
		if (strcmp(rule, "paused") == 0) {
			textbuf_printf(
				t, "painpath_waits_paused{region=\"%s\"} %s\n",
				region, PQgetvalue(clocks, i, 2));
			continue;
		}
		textbuf_printf(t,
			       "painpath_clocks_running{region=\"%s\",rule="
			       "\"%s\"} %s\npainpath_clocks_overdue{region="
			       "\"%s\",rule=\"%s\"} %s\n",
			       region, rule, PQgetvalue(clocks, i, 2), region,
			       rule, PQgetvalue(clocks, i, 3));
	}
}

static void render_outbox(struct textbuf *t)
{
	struct outbox_stats st;

	outbox_stats(&st);
	textbuf_printf(
		t,
		"# HELP painpath_outbox_backlog Notifications and "
		"reports not yet delivered.\n"
		"# TYPE painpath_outbox_backlog gauge\n"
		"painpath_outbox_backlog %s\n"
		"# HELP painpath_outbox_oldest_seconds Age of the oldest "
		"undelivered one.\n"
		"# TYPE painpath_outbox_oldest_seconds gauge\n"
		"painpath_outbox_oldest_seconds %s\n"
		"# HELP painpath_outbox_deliveries_total Deliveries by "
		"this process, by outcome.\n"
		"# TYPE painpath_outbox_deliveries_total counter\n"
		"painpath_outbox_deliveries_total{outcome=\"delivered\"} "
		"%llu\n"
		"painpath_outbox_deliveries_total{outcome=\"failed\"} "
		"%llu\n",
		outbox ? PQgetvalue(outbox, 0, 0) : "0",
		outbox ? PQgetvalue(outbox, 0, 1) : "0", st.delivered,
		st.failed);
}

void clinic_render(struct textbuf *t)
{
	if (clinic_app != NULL && time(NULL) - refreshed_at > STALE_AFTER_S)
		on_tick(-1, 0, clinic_app);
	render_pathways(t);
	render_clocks(t);
	render_outbox(t);
	textbuf_printf(t,
		       "# HELP painpath_clinic_counted_seconds When the "
		       "clinic figures were counted (0: not yet).\n"
		       "# TYPE painpath_clinic_counted_seconds gauge\n"
		       "painpath_clinic_counted_seconds %lld\n",
		       (long long)refreshed_at);
}
