#include "stats_snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "long_pool.h"
#include "stats_params.h"

#define CTX "stats"

struct refresh {
	struct app *app;
	struct db_conn *conn;
	char today[CAL_DATE_LEN];
	struct stats_models models;
	bool models_ready;
	struct timespec started;
};

static struct event *timer;
/* One refresh at a time per daemon. */
static bool refreshing;

static void refresh_end(struct refresh *f)
{
	if (f->conn != NULL)
		db_release(f->conn);
	if (f->models_ready)
		stats_models_free(&f->models);
	free(f);
	refreshing = false;
}

/* res: BEGIN, NO_JIT, the refreshes, COMMIT. */
static void on_refreshed(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct refresh *f = arg;
	int written = 0;

	(void)conn;
	for (int i = 0; i < n; i++) {
		if (!db_result_ok(res[i])) {
			log_warning(CTX, "the whole country's snapshots: %s",
				    DB_WHY(res[i]));
			return refresh_end(f);
		}
		if (i >= 2 && i < n - 1)
			written += atoi(PQcmdTuples(res[i]));
	}
	if (written > 0)
		log_debug(CTX,
			  "the whole country's snapshots: %d written (%ld ms)",
			  written, stats_elapsed_ms(&f->started));
	refresh_end(f);
}

/* Every refresh in one transaction: $1 today, no region, level, unit,
 * model or token scope, the models, and the routes' defaults. */
static void send_refreshes(struct refresh *f)
{
	static const struct {
		enum stats_stmt id;
		int nparams;
		const char *route_param;
	} kinds[] = {
		{STATS_CLOCKS_REFRESH, 6, NULL},
		{STATS_WAITING_REFRESH, 11, NULL},
		{STATS_HISTOGRAM_REFRESH, 12, NULL},
		{STATS_TREND_REFRESH, 12, "12"},
	};
	struct db_query q[7] = {
		{.sql = "BEGIN"},
		{.sql = store_stats_sql[STATS_NO_JIT]},
	};
	int n = 2;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++, n++) {
		q[n].sql = store_stats_sql[kinds[k].id];
		q[n].nparams = kinds[k].nparams;
		q[n].params[0] = f->today;
		stats_models_params(&f->models, &q[n].params[6]);
		q[n].params[11] = kinds[k].route_param;
	}
	q[n++].sql = "COMMIT";
	if (!db_send(f->conn, q, n, on_refreshed, f))
		refresh_end(f);
}

static void on_refresh_lease(struct db_conn *conn, void *arg)
{
	struct refresh *f = arg;

	f->conn = conn;
	if (conn == NULL)
		return refresh_end(f);
	send_refreshes(f);
}

/* res: the pathways' estimated count. */
static void on_sized(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct refresh *f = arg;
	bool sized = n == 1 && db_result_ok(res[0]) && PQntuples(res[0]) == 1;
	/* -1 before the table was first analysed: few, or just loaded
	 * (autovacuum analyses it soon). */
	double pathways = sized ? atof(PQgetvalue(res[0], 0, 0)) : 0;
	long threshold = f->app->cfg.stats_snapshot_pathways;
	struct db_pool *pool;

	/* The count is a catalogue read on the main pool; only the refresh
	 * holds a long-work connection, so a daemon below the threshold
	 * never opens that pool for it. */
	db_release(conn);
	f->conn = NULL;
	if (!sized || (threshold > 0 && pathways < threshold))
		return refresh_end(f);
	clock_gettime(CLOCK_MONOTONIC, &f->started);
	if (!stats_today(f->app, f->today) ||
	    !(f->models_ready = stats_models_init(&f->models, &f->app->models)))
		return refresh_end(f);
	if ((pool = long_pool(f->app)) == NULL)
		return refresh_end(f);
	db_acquire(pool, on_refresh_lease, f);
}

static void on_size_lease(struct db_conn *conn, void *arg)
{
	struct refresh *f = arg;
	struct db_query q = {.sql = store_stats_sql[STATS_PATHWAYS_ESTIMATE]};

	if (conn == NULL)
		return refresh_end(f);
	if (!db_send(conn, &q, 1, on_sized, f)) {
		db_release(conn);
		refresh_end(f);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;
	struct refresh *f;

	(void)fd;
	(void)what;
	/* A pool still connecting queues the lease. */
	if (refreshing || app->draining || (f = calloc(1, sizeof(*f))) == NULL)
		return;
	f->app = app;
	refreshing = true;
	db_acquire(app->pool, on_size_lease, f);
}

bool stats_snapshot_start(struct app *app, int every_s)
{
	struct timeval every = {every_s, 0};

	timer = event_new(app->base, -1, EV_PERSIST, on_tick, app);
	if (timer == NULL || event_add(timer, &every) != 0)
		return false;
	/* The first at once: a daemon started over a large database has
	 * snapshots within seconds. */
	event_active(timer, EV_TIMEOUT, 0);
	return true;
}

void stats_snapshot_stop(void)
{
	if (timer != NULL)
		event_free(timer);
	timer = NULL;
}

enum stats_stmt stats_snapshot_read(struct request *r, enum stats_stmt id,
				    bool def_only)
{
	static const char *const filters[] = {"region", "level", "unit",
					      "model"};
	char today[CAL_DATE_LEN], as_of[CAL_DATE_LEN];

	if (!def_only || !r->token->all_regions)
		return id;
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (request_query(r, filters[i]) != NULL)
			return id;
	if (!stats_today(r->app, today) || !stats_as_of(r, as_of) ||
	    strcmp(today, as_of) != 0)
		return id;
	switch (id) {
	case STATS_CLOCKS:
		return STATS_CLOCKS_SNAPSHOT;
	case STATS_WAITING:
		return STATS_WAITING_SNAPSHOT;
	case STATS_HISTOGRAM:
		return STATS_HISTOGRAM_SNAPSHOT;
	case STATS_TREND:
		return STATS_TREND_SNAPSHOT;
	default:
		return id;
	}
}
