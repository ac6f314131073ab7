/*
 * db: a pool of non-blocking libpq connections driven by a libevent loop.
 *
 * Each connection is a small state machine (enum conn_state) moved only by
 * conn_set_state(), which also keeps the pool's counters and the
 * connection's single timer in step with the state: reconnect backoff while
 * down, connect timeout while connecting, query timeout while a batch is in
 * flight.  Lease requests are struct lease objects whose callbacks always run
 * from their own timer event, so they can be cancelled when the pool is
 * freed.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "log.h"

/* A hung TCP connect is bounded by this even when query_timeout_ms is
 * shorter, since connecting legitimately takes several round trips. */
#define DB_CONNECT_TIMEOUT_MIN_MS 5000
#define DB_CONNECT_TIMEOUT_DEF_MS 10000
#define DB_RECONNECT_MIN_DEF_MS	  100
#define DB_RECONNECT_MAX_DEF_MS	  10000

enum conn_state {
	CONN_DOWN,	 /* no PGconn; the timer starts the next attempt */
	CONN_CONNECTING, /* PQconnectPoll in progress */
	CONN_PREPARING,	 /* prepares pipelined, waiting for the sync */
	CONN_IDLE,	 /* up and free for a lease */
	CONN_LEASED,	 /* handed to a caller, nothing in flight */
	CONN_BUSY,	 /* a caller's batch in flight */
	CONN_ROLLBACK,	 /* released inside a transaction, rolling back */
	CONN_BROKEN,	 /* leased but dead: waits for db_release */
};

/* How a session plans (db.h, struct db_statement). */
enum plans {
	PLANS_ANY,	/* a batch that plans nothing */
	PLANS_PER_CALL, /* the session's settings at connect */
	PLANS_KEYED,	/* db_plans_keyed_sql */
	PLANS_UNKNOWN,	/* a switch failed: set it again before relying */
};

/* Keyed: no plan that reads a whole table or index, whatever the
 * statistics say; a join is a loop of index lookups (a merge join, chosen
 * on empty tables, reads all of an index). */
#define PLANS_SQL(mode, on)                                                    \
	"SELECT set_config('plan_cache_mode', '" mode "', $1::bool), "         \
	"set_config('enable_seqscan', '" on "', $1::bool), "                   \
	"set_config('enable_mergejoin', '" on "', $1::bool), "                 \
	"set_config('enable_hashjoin', '" on "', $1::bool)"
const char db_plans_keyed_sql[] = PLANS_SQL("force_generic_plan", "off");
static const char plans_per_call_sql[] = PLANS_SQL("force_custom_plan", "on");

enum lease_state {
	LEASE_NEW,
	LEASE_WAITING, /* queued for a connection, timer = acquire timeout */
	LEASE_READY,   /* answer known, timer = zero: deliver next loop turn */
};

struct lease {
	TAILQ_ENTRY(lease) link;
	struct db_pool *pool;
	enum lease_state state;
	struct event *ev;
	struct db_conn *conn;
	db_lease_cb cb;
	void *arg;
};

TAILQ_HEAD(lease_list, lease);

struct db_conn {
	struct db_pool *pool;
	PGconn *pg;
	enum conn_state state;
	bool attempted;	  /* first connect attempt has finished */
	bool flushing;	  /* PQflush returned 1: more to send */
	enum plans plans; /* the session's, outside a transaction */
	bool switching;	  /* a switch of plans leads the batch in flight */
	int backoff_ms;	  /* delay before the next connect attempt */
	struct event *timer;
	struct event *poll_ev; /* while connecting: fd and direction vary */
	struct event *rev;
	struct event *wev;

	/* the batch in flight */
	int nexpect;
	int cur;
	bool failed;
	db_result_cb cb;
	void *arg;
	PGresult *results[DB_MAX_BATCH];
};

struct db_pool {
	struct event_base *base;
	char *conninfo;
	char *options;
	struct db_statement *stmts;
	int nstmts;
	int size;
	int max_waiting;
	int acquire_timeout_ms;
	int query_timeout_ms;
	int reconnect_min_ms;
	int reconnect_max_ms;

	struct db_conn *conns;
	int next_idle;
	struct lease_list waiting;
	struct lease_list ready;
	int nwaiting;
	int connected;
	int leased;
	int starting; /* connections whose first attempt is still running */
	bool closing;
	bool reported_down;
	uint64_t connects;
	uint64_t failures;
	uint64_t queries;
	uint64_t plan_switches;
	char last_error[256];
};

static void conn_on_timer(evutil_socket_t fd, short what, void *arg);
static void conn_on_poll(evutil_socket_t fd, short what, void *arg);
static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);
static void conn_fail(struct db_conn *conn);

static bool state_is_up(enum conn_state s)
{
	return s == CONN_IDLE || s == CONN_LEASED || s == CONN_BUSY ||
	       s == CONN_ROLLBACK;
}

static bool state_is_leased(enum conn_state s)
{
	return s == CONN_LEASED || s == CONN_BUSY || s == CONN_BROKEN;
}

static void add_timer_ms(struct event *ev, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000};

	event_add(ev, &tv);
}

/* libpq messages span lines; a log line should not. */
static void one_line(char *dst, size_t size, const char *msg)
{
	size_t len = 0;
	bool space = false;

	for (; *msg && len + 1 < size; msg++) {
		if (*msg == '\n' || *msg == '\t' || *msg == ' ') {
			space = len > 0;
			continue;
		}
		if (space && len + 2 < size)
			dst[len++] = ' ';
		space = false;
		dst[len++] = *msg;
	}
	dst[len] = '\0';
}

static void set_error(struct db_pool *pool, const char *msg)
{
	one_line(pool->last_error, sizeof(pool->last_error),
		 msg && *msg ? msg : "unknown error");
}

/* The default receiver prints every NOTICE a query raises; only what an
 * operator should see goes to the log. */
static void notice_receiver(void *arg, const PGresult *res)
{
	const char *sev =
		PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	char line[512];

	(void)arg;
	if (!sev || !strcmp(sev, "NOTICE") || !strcmp(sev, "INFO") ||
	    !strcmp(sev, "LOG") || !strncmp(sev, "DEBUG", 5))
		return;
	log_warning("db", "server: %s",
		    db_result_summary(res, line, sizeof(line)));
}

/* ---- leases ---- */

static void lease_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lease *l = arg;
	struct db_pool *pool = l->pool;
	db_lease_cb cb = l->cb;
	void *cb_arg = l->arg;
	struct db_conn *conn = NULL;

	(void)fd;
	(void)what;
	if (l->state == LEASE_WAITING) {
		TAILQ_REMOVE(&pool->waiting, l, link);
		pool->nwaiting--;
	} else {
		TAILQ_REMOVE(&pool->ready, l, link);
		conn = l->conn;
	}
	event_free(l->ev);
	free(l);
	cb(conn, cb_arg);
}

static struct lease *lease_new(struct db_pool *pool, db_lease_cb cb, void *arg)
{
	struct lease *l = NULL;

	l = calloc(1, sizeof(*l));
	if (!l)
		goto out;
	l->ev = evtimer_new(pool->base, lease_on_timer, l);
	if (!l->ev) {
		free(l);
		l = NULL;
		goto out;
	}
	l->pool = pool;
	l->state = LEASE_NEW;
	l->cb = cb;
	l->arg = arg;
out:
	return l;
}

/* The answer is known; deliver it from the loop, never from the caller's
 * stack. */
static void lease_ready(struct lease *l, struct db_conn *conn)
{
	struct db_pool *pool = l->pool;

	if (l->state == LEASE_WAITING) {
		TAILQ_REMOVE(&pool->waiting, l, link);
		pool->nwaiting--;
	}
	event_del(l->ev);
	l->conn = conn;
	l->state = LEASE_READY;
	TAILQ_INSERT_TAIL(&pool->ready, l, link);
	add_timer_ms(l->ev, 0);
}

static void pool_fail_waiters(struct db_pool *pool)
{
	struct lease *l;

	while ((l = TAILQ_FIRST(&pool->waiting)))
		lease_ready(l, NULL);
}

/* ---- connection state ---- */

static int connect_timeout_ms(const struct db_pool *pool)
{
	if (pool->query_timeout_ms <= 0)
		return DB_CONNECT_TIMEOUT_DEF_MS;
	if (pool->query_timeout_ms < DB_CONNECT_TIMEOUT_MIN_MS)
		return DB_CONNECT_TIMEOUT_MIN_MS;
	return pool->query_timeout_ms;
}

static void conn_set_state(struct db_conn *conn, enum conn_state state)
{
	struct db_pool *pool = conn->pool;
	enum conn_state old = conn->state;
	int delay;

	pool->connected += state_is_up(state) - state_is_up(old);
	pool->leased += state_is_leased(state) - state_is_leased(old);
	conn->state = state;

	if (!conn->attempted &&
	    (old == CONN_CONNECTING || old == CONN_PREPARING) &&
	    state != CONN_PREPARING) {
		conn->attempted = true;
		pool->starting--;
	}

	event_del(conn->timer);
	switch (state) {
	case CONN_DOWN:
		delay = conn->backoff_ms;
		conn->backoff_ms = delay * 2;
		if (conn->backoff_ms < pool->reconnect_min_ms)
			conn->backoff_ms = pool->reconnect_min_ms;
		if (conn->backoff_ms > pool->reconnect_max_ms)
			conn->backoff_ms = pool->reconnect_max_ms;
		add_timer_ms(conn->timer, delay);
		break;
	case CONN_CONNECTING:
	case CONN_PREPARING:
		add_timer_ms(conn->timer, connect_timeout_ms(pool));
		break;
	case CONN_BUSY:
	case CONN_ROLLBACK:
		if (pool->query_timeout_ms > 0)
			add_timer_ms(conn->timer, pool->query_timeout_ms);
		break;
	default:
		break;
	}

	if (pool->connected > 0 && pool->reported_down) {
		pool->reported_down = false;
		log_warning("db", "database available again");
	}
	/* Nobody can be served until a reconnect succeeds, so answer the
	 * queue now rather than after acquire_timeout_ms. */
	if (pool->connected == 0 && pool->starting == 0) {
		if (!pool->reported_down && !pool->closing)
			log_warning("db", "database unavailable: %s",
				    pool->last_error);
		pool->reported_down = true;
		pool_fail_waiters(pool);
	}
}

static void conn_close_pg(struct db_conn *conn)
{
	int i;

	if (conn->poll_ev)
		event_free(conn->poll_ev);
	if (conn->rev)
		event_free(conn->rev);
	if (conn->wev)
		event_free(conn->wev);
	conn->poll_ev = conn->rev = conn->wev = NULL;
	if (conn->pg)
		PQfinish(conn->pg);
	conn->pg = NULL;
	for (i = 0; i < DB_MAX_BATCH; i++) {
		PQclear(conn->results[i]);
		conn->results[i] = NULL;
	}
	conn->flushing = false;
	conn->switching = false;
	conn->plans = PLANS_PER_CALL;
	conn->cb = NULL;
	conn->arg = NULL;
}

/* The session is lost.  A caller holding the connection keeps it (broken)
 * until db_release; otherwise it goes straight to reconnecting. */
static void conn_fail(struct db_conn *conn)
{
	struct db_pool *pool = conn->pool;
	db_result_cb cb = NULL;
	void *arg = NULL;

	pool->failures++;
	if (conn->pg && PQstatus(conn->pg) == CONNECTION_BAD)
		set_error(pool, PQerrorMessage(conn->pg));
	if (conn->state == CONN_BUSY) {
		cb = conn->cb;
		arg = conn->arg;
	}
	conn_close_pg(conn);
	if (state_is_leased(conn->state))
		conn_set_state(conn, CONN_BROKEN);
	else
		conn_set_state(conn, CONN_DOWN);
	if (cb)
		cb(conn, NULL, 0, arg);
}

static bool conn_flush(struct db_conn *conn)
{
	int r = PQflush(conn->pg);

	if (r < 0)
		return false;
	conn->flushing = r == 1;
	if (conn->flushing)
		event_add(conn->wev, NULL);
	return true;
}

/* Ends a batch already queued on the connection: one sync, one flush. */
static bool conn_begin_batch(struct db_conn *conn, int nexpect)
{
	conn->nexpect = nexpect;
	conn->cur = 0;
	conn->failed = false;
	return PQpipelineSync(conn->pg) == 1 && conn_flush(conn);
}

/* Hands an up connection to the oldest waiter, or parks it as idle. */
static void conn_make_available(struct db_conn *conn)
{
	struct lease *l = TAILQ_FIRST(&conn->pool->waiting);

	if (l) {
		conn_set_state(conn, CONN_LEASED);
		lease_ready(l, conn);
	} else {
		conn_set_state(conn, CONN_IDLE);
	}
}

static void conn_start_connect(struct db_conn *conn)
{
	struct db_pool *pool = conn->pool;
	/* expand_dbname lets the user's conninfo (URI or key=value, host
	 * lists, target_session_attrs) sit beside our own settings; later
	 * keywords win, and options already carries the user's options. */
	const char *const kw[] = {"dbname", "options", "application_name",
				  NULL};
	const char *const val[] = {pool->conninfo, pool->options, "painpathd",
				   NULL};

	conn_set_state(conn, CONN_CONNECTING);
	conn->pg = PQconnectStartParams(kw, val, 1);
	if (!conn->pg) {
		set_error(pool, "out of memory");
		goto fail;
	}
	if (PQstatus(conn->pg) == CONNECTION_BAD)
		goto fail;
	PQsetNoticeReceiver(conn->pg, notice_receiver, NULL);
	/* Before the first PQconnectPoll libpq wants the socket writable. */
	conn_on_poll(-1, EV_WRITE, conn);
	return;
fail:
	conn_fail(conn);
}

static void conn_start_prepare(struct db_conn *conn)
{
	struct db_pool *pool = conn->pool;
	PGconn *pg = conn->pg;
	int fd = PQsocket(pg);
	int i;

	if (conn->poll_ev)
		event_free(conn->poll_ev);
	conn->poll_ev = NULL;
	conn_set_state(conn, CONN_PREPARING);
	conn->plans = PLANS_PER_CALL;
	if (PQsetnonblocking(pg, 1) != 0 || PQenterPipelineMode(pg) != 1)
		goto fail;
	conn->rev = event_new(pool->base, fd, EV_READ | EV_PERSIST,
			      conn_on_read, conn);
	conn->wev = event_new(pool->base, fd, EV_WRITE, conn_on_write, conn);
	if (!conn->rev || !conn->wev || event_add(conn->rev, NULL) != 0)
		goto fail;
	for (i = 0; i < pool->nstmts; i++) {
		if (!PQsendPrepare(pg, pool->stmts[i].name, pool->stmts[i].sql,
				   0, NULL))
			goto fail;
	}
	if (!conn_begin_batch(conn, pool->nstmts))
		goto fail;
	return;
fail:
	set_error(pool, PQerrorMessage(pg));
	conn_fail(conn);
}

static void conn_start_rollback(struct db_conn *conn)
{
	conn_set_state(conn, CONN_ROLLBACK);
	if (!PQsendQueryParams(conn->pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL,
			       0) ||
	    !conn_begin_batch(conn, 1))
		conn_fail(conn);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;

	(void)fd;
	(void)what;
	switch (conn->state) {
	case CONN_DOWN:
		conn_start_connect(conn);
		break;
	case CONN_CONNECTING:
	case CONN_PREPARING:
		set_error(conn->pool, "connect timed out");
		conn_fail(conn);
		break;
	case CONN_BUSY:
	case CONN_ROLLBACK:
		/* Cancelling would need a blocking PQcancel; dropping the
		 * session frees the server too. */
		set_error(conn->pool, "query timed out");
		conn_fail(conn);
		break;
	default:
		break;
	}
}

/* Also called directly right after PQconnectStartParams. */
static void conn_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;
	struct db_pool *pool = conn->pool;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	short want;

	(void)what;
	if (fd >= 0)
		st = PQconnectPoll(conn->pg);
	switch (st) {
	case PGRES_POLLING_OK:
		conn_start_prepare(conn);
		return;
	case PGRES_POLLING_READING:
		want = EV_READ;
		break;
	case PGRES_POLLING_WRITING:
		want = EV_WRITE;
		break;
	default:
		goto fail;
	}
	/* libpq may have moved to another socket (next host in a list), so
	 * the event is rebuilt on every step. */
	if (conn->poll_ev)
		event_free(conn->poll_ev);
	conn->poll_ev = NULL;
	if (PQsocket(conn->pg) < 0)
		goto fail;
	conn->poll_ev = event_new(pool->base, PQsocket(conn->pg), want,
				  conn_on_poll, conn);
	if (!conn->poll_ev || event_add(conn->poll_ev, NULL) != 0)
		goto fail;
	return;
fail:
	conn_fail(conn);
}

static void conn_take_result(struct db_conn *conn, PGresult *res)
{
	int i = conn->cur;

	if (conn->state == CONN_BUSY && i < conn->nexpect &&
	    !conn->results[i]) {
		conn->results[i] = res;
		return;
	}
	if (!db_result_ok(res) && !conn->failed) {
		conn->failed = true;
		set_error(conn->pool, DB_WHY(res));
	}
	PQclear(res);
}

/* The results of a switch of plans, which has a sync of its own: the
 * caller's batch starts after it. */
static void conn_take_switch(struct db_conn *conn, PGresult *res)
{
	if (res == NULL)
		return;
	if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
		conn->switching = false;
	} else if (!db_result_ok(res)) {
		log_warning("db", "planning settings: %s", DB_WHY(res));
		conn->plans = PLANS_UNKNOWN;
	}
	PQclear(res);
}

static void conn_deliver(struct db_conn *conn)
{
	PGresult *res[DB_MAX_BATCH];
	db_result_cb cb = conn->cb;
	void *arg = conn->arg;
	int n = conn->nexpect;
	int i;

	memcpy(res, conn->results, sizeof(res));
	memset(conn->results, 0, sizeof(conn->results));
	conn->cb = NULL;
	conn->arg = NULL;
	conn_set_state(conn, CONN_LEASED);
	/* From here on conn may be released, re-sent or even freed. */
	cb(conn, res, n, arg);
	for (i = 0; i < n; i++)
		PQclear(res[i]);
}

static void conn_batch_done(struct db_conn *conn)
{
	struct db_pool *pool = conn->pool;

	switch (conn->state) {
	case CONN_PREPARING:
		if (conn->failed) {
			conn_fail(conn);
			break;
		}
		pool->connects++;
		conn->backoff_ms = pool->reconnect_min_ms;
		conn_make_available(conn);
		break;
	case CONN_ROLLBACK:
		if (conn->failed ||
		    PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
			conn_fail(conn);
		else
			conn_make_available(conn);
		break;
	case CONN_BUSY:
		conn_deliver(conn);
		break;
	default:
		break;
	}
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;
	PGresult *res;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(conn->pg))
		goto fail;
	/* libpq may have been waiting for input before it could send more. */
	if (conn->flushing && !conn_flush(conn))
		goto fail;
	if (conn->state != CONN_PREPARING && conn->state != CONN_BUSY &&
	    conn->state != CONN_ROLLBACK) {
		/* Nothing in flight: this parses notices and notices EOF. */
		PQisBusy(conn->pg);
		goto check;
	}
	while (!PQisBusy(conn->pg)) {
		res = PQgetResult(conn->pg);
		if (conn->switching) {
			conn_take_switch(conn, res);
			continue;
		}
		if (!res) {
			/* End of one query's results; more NULLs than
			 * queries means libpq has nothing left for us. */
			if (conn->cur >= conn->nexpect)
				break;
			conn->cur++;
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			conn_batch_done(conn);
			return;
		}
		conn_take_result(conn, res);
	}
check:
	if (PQstatus(conn->pg) != CONNECTION_BAD)
		return;
fail:
	conn_fail(conn);
}

static void conn_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;

	(void)fd;
	(void)what;
	if (!conn_flush(conn))
		conn_fail(conn);
}

/* ---- pool ---- */

static struct db_conn *pool_find_idle(struct db_pool *pool)
{
	struct db_conn *conn;
	int i;

	/* Round robin, so every session gets exercised and a dead one is
	 * found by a query rather than lingering idle. */
	for (i = 0; i < pool->size; i++) {
		conn = &pool->conns[(pool->next_idle + i) % pool->size];
		if (conn->state == CONN_IDLE) {
			pool->next_idle =
				(pool->next_idle + i + 1) % pool->size;
			return conn;
		}
	}
	return NULL;
}

/* The user's own options are kept and statement_timeout appended, since
 * our options keyword replaces whatever the conninfo says. */
static char *build_options(const char *conninfo, int statement_timeout_ms,
			   bool *bad)
{
	PQconninfoOption *opts = NULL, *o;
	const char *user = "";
	char *errmsg = NULL;
	char *out = NULL;
	int len;

	*bad = false;
	opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		*bad = true;
		if (errmsg) {
			log_error("db", "bad conninfo: %s", errmsg);
			PQfreemem(errmsg);
		}
		goto out;
	}
	for (o = opts; o->keyword; o++) {
		if (!strcmp(o->keyword, "options") && o->val)
			user = o->val;
	}
	/* A session starts planning per call (db.h): a generic plan made on
	 * an empty table must not outlive it. */
	if (statement_timeout_ms > 0)
		len = asprintf(&out,
			       "%s%s-c statement_timeout=%d -c "
			       "plan_cache_mode=force_custom_plan",
			       user, *user ? " " : "", statement_timeout_ms);
	else
		len = asprintf(&out, "%s%s-c plan_cache_mode=force_custom_plan",
			       user, *user ? " " : "");
	if (len < 0)
		out = NULL;
out:
	PQconninfoFree(opts);
	return out;
}

static void pool_destroy(struct db_pool *pool)
{
	int i;

	if (pool->conns) {
		for (i = 0; i < pool->size; i++) {
			conn_close_pg(&pool->conns[i]);
			if (pool->conns[i].timer)
				event_free(pool->conns[i].timer);
		}
	}
	if (pool->stmts) {
		for (i = 0; i < pool->nstmts; i++) {
			free((char *)pool->stmts[i].name);
			free((char *)pool->stmts[i].sql);
		}
	}
	free(pool->stmts);
	free(pool->conns);
	free(pool->options);
	free(pool->conninfo);
	free(pool);
}

struct db_pool *db_pool_new(struct event_base *base,
			    const struct db_pool_config *config)
{
	struct db_pool *pool = NULL;
	struct db_conn *conn;
	bool bad = false;
	int i, n = 0;

	if (!base || !config || !config->conninfo || config->size <= 0 ||
	    config->max_waiting < 0)
		goto out;
	if (config->statements) {
		for (; config->statements[n].name; n++) {
			if (!config->statements[n].sql)
				goto out;
		}
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		goto out;
	TAILQ_INIT(&pool->waiting);
	TAILQ_INIT(&pool->ready);
	pool->base = base;
	pool->size = config->size;
	pool->max_waiting = config->max_waiting;
	pool->acquire_timeout_ms = config->acquire_timeout_ms;
	pool->query_timeout_ms = config->query_timeout_ms;
	pool->reconnect_min_ms = config->reconnect_min_ms > 0
					 ? config->reconnect_min_ms
					 : DB_RECONNECT_MIN_DEF_MS;
	pool->reconnect_max_ms = config->reconnect_max_ms > 0
					 ? config->reconnect_max_ms
					 : DB_RECONNECT_MAX_DEF_MS;
	if (pool->reconnect_max_ms < pool->reconnect_min_ms)
		pool->reconnect_max_ms = pool->reconnect_min_ms;
	set_error(pool, "not connected yet");

	pool->conninfo = strdup(config->conninfo);
	pool->options = build_options(config->conninfo,
				      config->statement_timeout_ms, &bad);
	pool->stmts = calloc(n + 1, sizeof(*pool->stmts));
	pool->conns = calloc(pool->size, sizeof(*pool->conns));
	if (bad || !pool->conninfo || !pool->options || !pool->stmts ||
	    !pool->conns)
		goto fail;
	for (i = 0; i < n; i++) {
		pool->stmts[i].name = strdup(config->statements[i].name);
		pool->stmts[i].sql = strdup(config->statements[i].sql);
		pool->stmts[i].keyed = config->statements[i].keyed;
		pool->nstmts++;
		if (!pool->stmts[i].name || !pool->stmts[i].sql)
			goto fail;
	}
	for (i = 0; i < pool->size; i++) {
		conn = &pool->conns[i];
		conn->pool = pool;
		conn->state = CONN_DOWN;
		conn->timer = evtimer_new(base, conn_on_timer, conn);
		if (!conn->timer)
			goto fail;
	}
	pool->starting = pool->size;
	/* First attempts start from the loop (backoff 0), not from here. */
	for (i = 0; i < pool->size; i++)
		conn_set_state(&pool->conns[i], CONN_DOWN);
	goto out;
fail:
	pool_destroy(pool);
	pool = NULL;
out:
	return pool;
}

void db_pool_free(struct db_pool *pool)
{
	struct lease *l;
	db_lease_cb cb;
	void *arg;

	if (!pool)
		return;
	pool->closing = true;
	/* Every db_send gets exactly one answer too: a batch still in flight
	 * (a background job's, say) fails, so its owner frees what it holds. */
	for (int i = 0; pool->conns && i < pool->size; i++)
		if (pool->conns[i].state == CONN_BUSY)
			conn_fail(&pool->conns[i]);
	/* Every db_acquire gets exactly one answer; a callback that acquires
	 * again lands on the ready list and is drained here too. */
	for (;;) {
		l = TAILQ_FIRST(&pool->waiting);
		if (l) {
			TAILQ_REMOVE(&pool->waiting, l, link);
			pool->nwaiting--;
		} else {
			l = TAILQ_FIRST(&pool->ready);
			if (!l)
				break;
			TAILQ_REMOVE(&pool->ready, l, link);
		}
		cb = l->cb;
		arg = l->arg;
		event_free(l->ev);
		free(l);
		cb(NULL, arg);
	}
	pool_destroy(pool);
}

bool db_pool_ready(const struct db_pool *pool)
{
	return pool && pool->connected > 0;
}

void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!pool)
		return;
	out->size = pool->size;
	out->connected = pool->connected;
	out->leased = pool->leased;
	out->waiting = pool->nwaiting;
	out->connects = pool->connects;
	out->failures = pool->failures;
	out->queries = pool->queries;
	out->plan_switches = pool->plan_switches;
}

void db_acquire(struct db_pool *pool, db_lease_cb cb, void *arg)
{
	struct db_conn *conn = NULL;
	struct lease *l = NULL;

	if (!pool || !cb)
		return;
	/* Out of memory leaves no way to answer without breaking the
	 * never-synchronous promise; the request is dropped. */
	l = lease_new(pool, cb, arg);
	if (!l)
		return;
	if (pool->closing) {
		lease_ready(l, NULL);
		return;
	}
	conn = pool_find_idle(pool);
	if (conn) {
		conn_set_state(conn, CONN_LEASED);
		lease_ready(l, conn);
	} else if ((pool->connected > 0 || pool->starting > 0) &&
		   pool->nwaiting < pool->max_waiting) {
		l->state = LEASE_WAITING;
		TAILQ_INSERT_TAIL(&pool->waiting, l, link);
		pool->nwaiting++;
		if (pool->acquire_timeout_ms > 0)
			add_timer_ms(l->ev, pool->acquire_timeout_ms);
	} else {
		lease_ready(l, NULL);
	}
}

/* Statements that only steer the transaction: no table is planned. */
static bool controls_transaction(const char *sql)
{
	static const char *const verbs[] = {
		"BEGIN",     "COMMIT",	"ROLLBACK", "SET LOCAL ",
		"SAVEPOINT", "RELEASE", NULL};

	for (int i = 0; verbs[i] != NULL; i++)
		if (strncasecmp(sql, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

/* Keyed only when every query that plans is keyed. */
static enum plans batch_plans(const struct db_pool *pool,
			      const struct db_query *queries, int n)
{
	enum plans want = PLANS_ANY;

	for (int i = 0; i < n; i++) {
		const struct db_query *q = &queries[i];
		if (q->stmt ? !pool->stmts[q->stmt - 1].keyed
			    : !controls_transaction(q->sql))
			return PLANS_PER_CALL;
		if (q->stmt)
			want = PLANS_KEYED;
	}
	return want;
}

/*
 * Queues, ahead of a batch and with a sync of its own, the settings the
 * batch plans with, when the session has others.  Outside a transaction
 * the switch is the session's and commits on its own, whatever the batch
 * does.  Inside one it is local to it, and only towards planning per
 * call: a keyed statement planned per call is merely slower, a statement
 * planned without sequential scans and without its values may be far
 * slower.
 */
static bool conn_queue_plans(struct db_conn *conn, enum plans want)
{
	bool in_transaction = PQtransactionStatus(conn->pg) != PQTRANS_IDLE;
	const char *local[1] = {in_transaction ? "true" : "false"};

	if (want == PLANS_ANY || want == conn->plans ||
	    (in_transaction && want == PLANS_KEYED))
		return true;
	if (!PQsendQueryParams(conn->pg,
			       want == PLANS_KEYED ? db_plans_keyed_sql
						   : plans_per_call_sql,
			       1, NULL, local, NULL, NULL, 0) ||
	    PQpipelineSync(conn->pg) != 1)
		return false;
	conn->switching = true;
	if (!in_transaction)
		conn->plans = want;
	conn->pool->plan_switches++;
	return true;
}

bool db_send(struct db_conn *conn, const struct db_query *queries, int n,
	     db_result_cb cb, void *arg)
{
	const struct db_query *q;
	bool ok = false;
	int i, sent;

	if (!conn || conn->state != CONN_LEASED || !queries || n < 1 ||
	    n > DB_MAX_BATCH || !cb)
		goto out;
	for (i = 0; i < n; i++) {
		q = &queries[i];
		if ((!q->stmt && !q->sql) || q->stmt < 0 ||
		    q->stmt > conn->pool->nstmts || q->nparams < 0 ||
		    q->nparams > DB_MAX_PARAMS)
			goto out;
	}
	if (!conn_queue_plans(conn, batch_plans(conn->pool, queries, n)))
		goto broken;
	for (i = 0; i < n; i++) {
		q = &queries[i];
		if (q->stmt)
			sent = PQsendQueryPrepared(
				conn->pg, conn->pool->stmts[q->stmt - 1].name,
				q->nparams, q->params, NULL, NULL, 0);
		else
			sent = PQsendQueryParams(conn->pg, q->sql, q->nparams,
						 NULL, q->params, NULL, NULL,
						 0);
		if (!sent)
			goto broken;
	}
	if (!conn_begin_batch(conn, n))
		goto broken;
	conn->cb = cb;
	conn->arg = arg;
	conn->pool->queries += n;
	conn_set_state(conn, CONN_BUSY);
	ok = true;
	goto out;
broken:
	/* Half a batch may be queued in libpq: the session is unusable. */
	set_error(conn->pool, PQerrorMessage(conn->pg));
	conn_fail(conn);
out:
	return ok;
}

void db_release(struct db_conn *conn)
{
	if (!conn)
		return;
	switch (conn->state) {
	case CONN_BROKEN:
		conn_set_state(conn, CONN_DOWN);
		break;
	case CONN_BUSY:
		/* The results would have nobody to go to. */
		conn_close_pg(conn);
		conn_set_state(conn, CONN_DOWN);
		break;
	case CONN_LEASED:
		switch (PQtransactionStatus(conn->pg)) {
		case PQTRANS_IDLE:
			conn_make_available(conn);
			break;
		case PQTRANS_INTRANS:
		case PQTRANS_INERROR:
			conn_start_rollback(conn);
			break;
		default:
			conn_close_pg(conn);
			conn_set_state(conn, CONN_DOWN);
			break;
		}
		break;
	default:
		break;
	}
}

const char *db_result_summary(const PGresult *res, char *buf, size_t len)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char line[512];

	one_line(line, sizeof(line), primary ? primary : "no message");
	snprintf(buf, len, "%s%s%s", state ? "SQLSTATE " : "",
		 state ? state : "", state ? ": " : "");
	snprintf(buf + strlen(buf), len - strlen(buf), "%s", line);
	return buf;
}

bool db_result_ok(const PGresult *res)
{
	ExecStatusType st;

	if (!res)
		return false;
	st = PQresultStatus(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

const char *db_result_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}
