/*
 * check_db: the connection pool against a real PostgreSQL cluster.
 *
 * Every test drives its own event loop; a guard timer bounds each run so a
 * pool that never answers fails the test instead of hanging it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "db.h"
#include "harness.h"
#include "suites.h"

#define GUARD_MS 10000

static struct pg_instance pg;
static bool pg_ok;

/* Statement ids: 1-based positions in the table below. */
enum { ECHO = 1, ADD, COUNT_T, PLANS_KEYED, PLANS_PER_CALL, DIVIDE_KEYED };

#define SHOW_PLANS                                                             \
	"SELECT current_setting('plan_cache_mode') || ' ' || "                 \
	"current_setting('enable_seqscan')"

static const struct db_statement statements[] = {
	{"echo", "SELECT $1::text", false},
	{"add", "SELECT $1::int + $2::int", false},
	{"count_t", "SELECT count(*) FROM db_t", false},
	{"plans_keyed", SHOW_PLANS, true},
	{"plans_per_call", SHOW_PLANS, false},
	{"divide_keyed", "SELECT 1 / $1::int", true},
	{NULL, NULL, false},
};

static void pg_setup(void)
{
	char *out;

	memset(&pg, 0, sizeof(pg));
	pg_ok = harness_pg_start(&pg);
	if (!pg_ok)
		return;
	/* count_t must prepare on every connection. */
	out = harness_psql(&pg, "CREATE TABLE db_t (v int)");
	free(out);
}

static void pg_teardown(void)
{
	if (pg_ok)
		harness_pg_destroy(&pg);
	pg_ok = false;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a loop with a guard ---- */

struct loop {
	struct event_base *base;
	struct event *guard;
	bool timed_out;
};

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct loop *lp = arg;

	(void)fd;
	(void)what;
	lp->timed_out = true;
	event_base_loopbreak(lp->base);
}

static void loop_init(struct loop *lp)
{
	memset(lp, 0, sizeof(*lp));
	lp->base = event_base_new();
	ck_assert_ptr_nonnull(lp->base);
	lp->guard = evtimer_new(lp->base, on_guard, lp);
	ck_assert_ptr_nonnull(lp->guard);
}

/* Runs until something calls event_base_loopbreak or ms pass. */
static bool loop_run(struct loop *lp, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000};

	lp->timed_out = false;
	evtimer_add(lp->guard, &tv);
	event_base_dispatch(lp->base);
	evtimer_del(lp->guard);
	return !lp->timed_out;
}

static void loop_done(struct loop *lp)
{
	event_free(lp->guard);
	event_base_free(lp->base);
}

static struct db_pool_config base_config(int size)
{
	struct db_pool_config c = {
		.conninfo = pg.conninfo,
		.size = size,
		.max_waiting = 1000,
		.acquire_timeout_ms = 5000,
		.statement_timeout_ms = 5000,
		.query_timeout_ms = 5000,
		.reconnect_min_ms = 20,
		.reconnect_max_ms = 200,
		.statements = statements,
	};

	return c;
}

/* ---- one batch, synchronously from the test's point of view ---- */

struct call {
	struct loop *lp;
	struct db_pool *pool;
	const struct db_query *q;
	int n;
	bool keep; /* do not release: the test goes on with conn */
	struct db_conn *conn;
	bool leased;
	bool answered;
	bool sent;
	PGresult *res[DB_MAX_BATCH];
	int nres;
};

static void call_on_result(struct db_conn *conn, PGresult **res, int n,
			   void *arg)
{
	struct call *c = arg;
	int i;

	c->answered = true;
	c->nres = n;
	for (i = 0; i < n; i++) {
		/* stealing: the pool must not clear what we took */
		c->res[i] = res[i];
		res[i] = NULL;
	}
	if (!c->keep) {
		db_release(conn);
		c->conn = NULL;
	}
	event_base_loopbreak(c->lp->base);
}

static void call_send(struct call *c)
{
	c->sent = db_send(c->conn, c->q, c->n, call_on_result, c);
	if (!c->sent) {
		if (!c->keep) {
			db_release(c->conn);
			c->conn = NULL;
		}
		event_base_loopbreak(c->lp->base);
	}
}

static void call_on_lease(struct db_conn *conn, void *arg)
{
	struct call *c = arg;

	c->answered = false;
	c->leased = conn != NULL;
	c->conn = conn;
	if (!conn) {
		event_base_loopbreak(c->lp->base);
		return;
	}
	call_send(c);
}

static void call_clear(struct call *c)
{
	int i;

	for (i = 0; i < DB_MAX_BATCH; i++) {
		PQclear(c->res[i]);
		c->res[i] = NULL;
	}
	c->nres = 0;
	c->answered = false;
}

/* Leases (unless c->conn is already held), sends, waits for the answer. */
static void call_run(struct call *c)
{
	call_clear(c);
	c->sent = false;
	if (c->conn) {
		call_send(c);
	} else {
		c->leased = false;
		db_acquire(c->pool, call_on_lease, c);
	}
	ck_assert_msg(loop_run(c->lp, GUARD_MS), "call did not finish");
}

static const char *val(const struct call *c, int i)
{
	ck_assert_ptr_nonnull(c->res[i]);
	ck_assert_msg(db_result_ok(c->res[i]), "query %d failed: %s", i,
		      PQresultErrorMessage(c->res[i]));
	ck_assert_int_ge(PQntuples(c->res[i]), 1);
	return PQgetvalue(c->res[i], 0, 0);
}

/* ---- pool startup ---- */

struct ready_wait {
	struct event_base *base;
	struct db_pool *pool;
	int want;
};

static void on_ready_poll(evutil_socket_t fd, short what, void *arg)
{
	struct ready_wait *w = arg;
	struct db_pool_stats st;

	(void)fd;
	(void)what;
	db_pool_stats(w->pool, &st);
	if (st.connected >= w->want)
		event_base_loopbreak(w->base);
}

/* Waits (by polling stats on a 5 ms tick) until want connections are up. */
static bool wait_connected(struct loop *lp, struct db_pool *pool, int want)
{
	struct ready_wait w = {lp->base, pool, want};
	struct timeval tick = {0, 5000};
	struct event *ev;
	struct db_pool_stats st;
	bool ok;

	db_pool_stats(pool, &st);
	if (st.connected >= want)
		return true;
	ev = event_new(lp->base, -1, EV_PERSIST, on_ready_poll, &w);
	ck_assert_ptr_nonnull(ev);
	event_add(ev, &tick);
	ok = loop_run(lp, GUARD_MS);
	event_free(ev);
	return ok;
}

static struct db_pool *pool_up(struct loop *lp,
			       const struct db_pool_config *config)
{
	struct db_pool *pool;

	ck_assert_msg(pg_ok, "no PostgreSQL cluster");
	pool = db_pool_new(lp->base, config);
	ck_assert_ptr_nonnull(pool);
	ck_assert_msg(wait_connected(lp, pool, config->size),
		      "pool did not connect");
	ck_assert(db_pool_ready(pool));
	return pool;
}

/* ---- tests ---- */

START_TEST(test_bad_arguments)
{
	struct loop lp;
	struct db_pool_config c = {.conninfo = "host=/nonexistent", .size = 1};

	loop_init(&lp);
	ck_assert_ptr_null(db_pool_new(NULL, &c));
	ck_assert_ptr_null(db_pool_new(lp.base, NULL));
	c.size = 0;
	ck_assert_ptr_null(db_pool_new(lp.base, &c));
	c.size = 1;
	c.conninfo = "postgresql://[broken";
	ck_assert_ptr_null(db_pool_new(lp.base, &c));
	c.conninfo = "host='unterminated";
	ck_assert_ptr_null(db_pool_new(lp.base, &c));
	ck_assert_str_eq(db_result_sqlstate(NULL), "");
	ck_assert(!db_result_ok(NULL));
	loop_done(&lp);
}
END_TEST

START_TEST(test_batch_in_order)
{
	struct db_pool_config cfg = base_config(2);
	const struct db_query q[] = {
		{.sql = "SELECT 1"},
		{.stmt = ECHO, .nparams = 1, .params = {"b"}},
		{.stmt = ADD, .nparams = 2, .params = {"40", "2"}},
		{.sql = "SELECT $1::text IS NULL",
		 .nparams = 1,
		 .params = {NULL}},
	};
	struct loop lp;
	struct call c = {0};
	struct db_pool_stats st;

	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	c.q = q;
	c.n = 4;
	call_run(&c);
	ck_assert(c.leased);
	ck_assert(c.answered);
	ck_assert_int_eq(c.nres, 4);
	ck_assert_str_eq(val(&c, 0), "1");
	ck_assert_str_eq(val(&c, 1), "b");
	ck_assert_str_eq(val(&c, 2), "42");
	ck_assert_str_eq(val(&c, 3), "t");
	call_clear(&c);
	db_pool_stats(c.pool, &st);
	ck_assert_int_eq(st.size, 2);
	ck_assert_int_eq(st.connected, 2);
	ck_assert_int_eq(st.leased, 0);
	ck_assert_uint_eq(st.queries, 4);
	ck_assert_uint_ge(st.connects, 2);
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_session_settings)
{
	struct db_pool_config cfg = base_config(1);
	const struct db_query q[] = {
		{.sql = "SELECT current_setting('application_name')"},
		{.sql = "SELECT current_setting('statement_timeout')"},
		{.sql = "SELECT pg_sleep(2)"},
	};
	struct loop lp;
	struct call c = {0};

	cfg.statement_timeout_ms = 150;
	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	c.q = q;
	c.n = 3;
	call_run(&c);
	ck_assert_int_eq(c.nres, 3);
	ck_assert_str_eq(val(&c, 0), "painpathd");
	ck_assert_str_eq(val(&c, 1), "150ms");
	/* server-side statement_timeout: the query is cancelled, the
	 * session survives */
	ck_assert_int_eq(PQresultStatus(c.res[2]), PGRES_FATAL_ERROR);
	ck_assert_str_eq(db_result_sqlstate(c.res[2]), "57014");
	call_clear(&c);
	c.q = q;
	c.n = 1;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "painpathd");
	call_clear(&c);
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

/* How the session plans, as seen by a batch of q (the last query's first
 * value), and how many switches the pool has made so far. */
static const char *plans_seen(struct call *c, const struct db_query *q, int n,
			      uint64_t *switches)
{
	static char seen[64];
	struct db_pool_stats st;

	call_clear(c);
	c->q = q;
	c->n = n;
	call_run(c);
	ck_assert_int_eq(c->nres, n);
	snprintf(seen, sizeof(seen), "%s", val(c, n - 1));
	db_pool_stats(c->pool, &st);
	*switches = st.plan_switches;
	return seen;
}

/* A session plans per call until a batch of keyed statements needs it
 * keyed (db.h), and switches only when a batch needs the other mode.  A
 * switch outside a transaction is the session's and survives the batch
 * failing; one inside a transaction ends with it. */
START_TEST(test_plans_follow_the_batch)
{
	struct db_pool_config cfg = base_config(1);
	const struct db_query keyed = {.stmt = PLANS_KEYED},
			      per_call = {.stmt = PLANS_PER_CALL},
			      adhoc = {.sql = SHOW_PLANS},
			      begin = {.sql = "BEGIN"},
			      rollback = {.sql = "ROLLBACK"},
			      fails = {.stmt = DIVIDE_KEYED,
				       .nparams = 1,
				       .params = {"0"}};
	const struct db_query begin_keyed[] = {begin, keyed},
			      keyed_then_fails[] = {keyed, fails};
	const char *const generic = "force_generic_plan off";
	const char *const custom = "force_custom_plan on";
	struct loop lp;
	struct call c = {0};
	uint64_t n;

	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	ck_assert_str_eq(plans_seen(&c, &per_call, 1, &n), custom);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(plans_seen(&c, &keyed, 1, &n), generic);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(plans_seen(&c, &keyed, 1, &n), generic);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(plans_seen(&c, &adhoc, 1, &n), custom);
	ck_assert_uint_eq(n, 2);

	/* Inside a transaction: per call for its rest, keyed after it. */
	c.keep = true;
	ck_assert_str_eq(plans_seen(&c, begin_keyed, 2, &n), generic);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(plans_seen(&c, &per_call, 1, &n), custom);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(plans_seen(&c, &keyed, 1, &n), custom);
	call_clear(&c);
	c.q = &rollback;
	c.n = 1;
	call_run(&c);
	ck_assert_str_eq(plans_seen(&c, &keyed, 1, &n), generic);
	ck_assert_uint_eq(n, 4);

	/* The batch fails; the switch before it stands. */
	ck_assert_str_eq(plans_seen(&c, &per_call, 1, &n), custom);
	ck_assert_uint_eq(n, 5);
	call_clear(&c);
	c.q = keyed_then_fails;
	c.n = 2;
	call_run(&c);
	ck_assert_int_eq(c.nres, 2);
	ck_assert_str_eq(val(&c, 0), generic);
	ck_assert_str_eq(db_result_sqlstate(c.res[1]), "22012");
	ck_assert_str_eq(plans_seen(&c, &keyed, 1, &n), generic);
	ck_assert_uint_eq(n, 6);
	call_clear(&c);
	db_release(c.conn);
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_conninfo_forms)
{
	struct db_pool_config cfg = base_config(2);
	const struct db_query q[] = {
		{.sql = "SELECT current_setting('work_mem')"},
		{.sql = "SELECT current_setting('statement_timeout')"},
		{.sql = "SELECT current_setting('application_name')"},
		{.stmt = ECHO, .nparams = 1, .params = {"hi"}},
	};
	char conninfo[sizeof(pg.conninfo) + sizeof(pg.dir) + 128];
	PQconninfoOption *opts, *o;
	char user[64] = "postgres";
	int port = 5432;
	struct loop lp;
	struct call c = {0};

	/* a dead first host: libpq moves to the next one (a new socket
	 * mid-connect); the user's options survive beside ours */
	snprintf(conninfo, sizeof(conninfo),
		 "%s host=/nonexistent-painpath,%s options='-c work_mem=7MB'",
		 pg.conninfo, pg.dir);
	cfg.conninfo = conninfo;
	cfg.statement_timeout_ms = 1234;
	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	c.q = q;
	c.n = 4;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "7MB");
	ck_assert_str_eq(val(&c, 1), "1234ms");
	ck_assert_str_eq(val(&c, 2), "painpathd");
	ck_assert_str_eq(val(&c, 3), "hi");
	call_clear(&c);
	db_pool_free(c.pool);

	/* the same as a URI */
	opts = PQconninfoParse(pg.conninfo, NULL);
	ck_assert_ptr_nonnull(opts);
	for (o = opts; o->keyword; o++) {
		if (!strcmp(o->keyword, "port") && o->val)
			port = atoi(o->val);
		if (!strcmp(o->keyword, "user") && o->val)
			snprintf(user, sizeof(user), "%s", o->val);
	}
	PQconninfoFree(opts);
	snprintf(conninfo, sizeof(conninfo),
		 "postgresql://%s@:%d/painpath?host=/nonexistent-painpath,%s"
		 "&options=-c%%20work_mem%%3D7MB",
		 user, port, pg.dir);
	c.pool = pool_up(&lp, &cfg);
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "7MB");
	ck_assert_str_eq(val(&c, 1), "1234ms");
	ck_assert_str_eq(val(&c, 2), "painpathd");
	call_clear(&c);
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_error_aborts_rest_of_batch)
{
	struct db_pool_config cfg = base_config(1);
	const struct db_query bad[] = {
		{.sql = "SELECT 1"},
		{.sql = "SELECT 1/0"},
		{.stmt = ECHO, .nparams = 1, .params = {"x"}},
		{.sql = "SELECT 3"},
	};
	const struct db_query good[] = {
		{.stmt = ECHO, .nparams = 1, .params = {"again"}},
	};
	struct loop lp;
	struct call c = {0};

	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	c.keep = true;
	c.q = bad;
	c.n = 4;
	call_run(&c);
	ck_assert(c.answered);
	ck_assert_int_eq(c.nres, 4);
	ck_assert_str_eq(val(&c, 0), "1");
	ck_assert_int_eq(PQresultStatus(c.res[1]), PGRES_FATAL_ERROR);
	ck_assert_str_eq(db_result_sqlstate(c.res[1]), "22012");
	ck_assert_int_eq(PQresultStatus(c.res[2]), PGRES_PIPELINE_ABORTED);
	ck_assert_int_eq(PQresultStatus(c.res[3]), PGRES_PIPELINE_ABORTED);
	ck_assert(!db_result_ok(c.res[2]));
	call_clear(&c);

	/* same lease, next round trip: the session is fine */
	c.q = good;
	c.n = 1;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "again");
	call_clear(&c);
	db_release(c.conn);
	c.conn = NULL;

	/* and after release too */
	c.keep = false;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "again");
	call_clear(&c);
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_send_rules)
{
	struct db_pool_config cfg = base_config(1);
	const struct db_query one[] = {{.sql = "SELECT 1"}};
	const struct db_query none[] = {{.nparams = 0}};
	const struct db_query many[] = {
		{.sql = "SELECT 1", .nparams = DB_MAX_PARAMS + 1}};
	struct loop lp;
	struct call c = {0};

	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	c.keep = true;
	c.q = one;
	c.n = 1;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "1");
	call_clear(&c);

	ck_assert(!db_send(c.conn, one, 0, call_on_result, &c));
	ck_assert(!db_send(c.conn, one, DB_MAX_BATCH + 1, call_on_result, &c));
	ck_assert(!db_send(c.conn, none, 1, call_on_result, &c));
	ck_assert(!db_send(c.conn, many, 1, call_on_result, &c));
	ck_assert(!db_send(c.conn, one, 1, NULL, &c));
	/* one batch in flight at a time */
	ck_assert(db_send(c.conn, one, 1, call_on_result, &c));
	ck_assert(!db_send(c.conn, one, 1, call_on_result, &c));
	/* never synchronous */
	ck_assert(!c.answered);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert(c.answered);
	ck_assert_str_eq(val(&c, 0), "1");
	call_clear(&c);
	/* the invalid sends above did not hurt the session */
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "1");
	call_clear(&c);
	db_release(c.conn);
	ck_assert(!db_send(c.conn, one, 1, call_on_result, &c));
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_open_transaction_rolled_back)
{
	struct db_pool_config cfg = base_config(1);
	const struct db_query open_tx[] = {
		{.sql = "BEGIN"},
		{.sql = "INSERT INTO db_t VALUES (7)"},
		{.stmt = COUNT_T},
	};
	const struct db_query failed_tx[] = {
		{.sql = "BEGIN"},
		{.sql = "INSERT INTO db_t VALUES (8)"},
		{.sql = "SELECT 1/0"},
	};
	const struct db_query count[] = {
		{.stmt = COUNT_T},
		{.sql = "SELECT pg_current_xact_id_if_assigned() IS NULL"},
	};
	struct loop lp;
	struct call c = {0};
	char *out;

	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	c.q = open_tx;
	c.n = 3;
	call_run(&c);
	ck_assert_str_eq(val(&c, 2), "1");
	call_clear(&c);

	/* a pool of one: this is the same session, after the rollback */
	c.q = count;
	c.n = 2;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "0");
	ck_assert_str_eq(val(&c, 1), "t");
	call_clear(&c);

	/* a transaction in error state is rolled back as well */
	c.q = failed_tx;
	c.n = 3;
	call_run(&c);
	ck_assert_str_eq(db_result_sqlstate(c.res[2]), "22012");
	call_clear(&c);
	c.q = count;
	c.n = 2;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "0");
	call_clear(&c);

	out = harness_psql(&pg, "SELECT count(*) FROM db_t");
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "0");
	free(out);
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

struct crowd {
	struct loop *lp;
	struct db_pool *pool;
	int total;
	int done;
	int nulls;
	int wrong;
	int max_leased;
};

struct crowd_member {
	struct crowd *crowd;
	int i;
	char num[16];
	struct db_query q;
};

static void crowd_finish(struct crowd *cr)
{
	if (++cr->done == cr->total)
		event_base_loopbreak(cr->lp->base);
}

static void crowd_on_result(struct db_conn *conn, PGresult **res, int n,
			    void *arg)
{
	struct crowd_member *m = arg;
	struct crowd *cr = m->crowd;

	if (n != 1 || !db_result_ok(res[0]) ||
	    strcmp(PQgetvalue(res[0], 0, 0), m->num) != 0)
		cr->wrong++;
	db_release(conn);
	crowd_finish(cr);
}

static void crowd_on_lease(struct db_conn *conn, void *arg)
{
	struct crowd_member *m = arg;
	struct crowd *cr = m->crowd;
	struct db_pool_stats st;

	if (!conn) {
		cr->nulls++;
		crowd_finish(cr);
		return;
	}
	db_pool_stats(cr->pool, &st);
	if (st.leased > cr->max_leased)
		cr->max_leased = st.leased;
	m->q.stmt = ECHO;
	m->q.nparams = 1;
	m->q.params[0] = m->num;
	if (!db_send(conn, &m->q, 1, crowd_on_result, m)) {
		cr->wrong++;
		db_release(conn);
		crowd_finish(cr);
	}
}

START_TEST(test_many_leases)
{
	enum { N = 200 };
	struct db_pool_config cfg = base_config(4);
	struct crowd_member *m;
	struct crowd cr = {0};
	struct db_pool_stats st;
	struct loop lp;
	int i;

	loop_init(&lp);
	cr.lp = &lp;
	cr.pool = pool_up(&lp, &cfg);
	cr.total = N;
	m = calloc(N, sizeof(*m));
	ck_assert_ptr_nonnull(m);
	for (i = 0; i < N; i++) {
		m[i].crowd = &cr;
		m[i].i = i;
		snprintf(m[i].num, sizeof(m[i].num), "%d", i);
		db_acquire(cr.pool, crowd_on_lease, &m[i]);
	}
	ck_assert_int_eq(cr.done, 0);
	db_pool_stats(cr.pool, &st);
	ck_assert_int_eq(st.waiting, N - 4);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_int_eq(cr.done, N);
	ck_assert_int_eq(cr.nulls, 0);
	ck_assert_int_eq(cr.wrong, 0);
	ck_assert_int_le(cr.max_leased, 4);
	db_pool_stats(cr.pool, &st);
	ck_assert_int_eq(st.leased, 0);
	ck_assert_int_eq(st.waiting, 0);
	ck_assert_uint_eq(st.queries, N);
	free(m);
	db_pool_free(cr.pool);
	loop_done(&lp);
}
END_TEST

struct holder {
	struct loop *lp;
	struct db_conn *conn;
	int calls;
	int nulls;
	int64_t at_ms;
	bool release; /* give the connection straight back */
	int stop_after;
};

static void holder_on_lease(struct db_conn *conn, void *arg)
{
	struct holder *h = arg;

	h->calls++;
	h->at_ms = now_ms();
	if (!conn)
		h->nulls++;
	else if (h->release)
		db_release(conn);
	else
		h->conn = conn;
	if (h->calls == h->stop_after)
		event_base_loopbreak(h->lp->base);
}

START_TEST(test_waiting_limit)
{
	struct db_pool_config cfg = base_config(1);
	struct holder hold = {0}, full = {0}, queued = {0};
	struct db_pool *pool;
	struct db_pool_stats st;
	struct loop lp;
	int i;

	cfg.max_waiting = 2;
	loop_init(&lp);
	pool = pool_up(&lp, &cfg);
	hold.lp = &lp;
	hold.stop_after = 1;
	db_acquire(pool, holder_on_lease, &hold);
	ck_assert_int_eq(hold.calls, 0); /* deferred, even when idle */
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_ptr_nonnull(hold.conn);

	queued.lp = &lp;
	queued.release = true;
	full.lp = &lp;
	full.stop_after = 3;
	db_acquire(pool, holder_on_lease, &queued);
	db_acquire(pool, holder_on_lease, &queued);
	for (i = 0; i < 3; i++)
		db_acquire(pool, holder_on_lease, &full);
	ck_assert_int_eq(full.calls, 0);
	db_pool_stats(pool, &st);
	ck_assert_int_eq(st.waiting, 2);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_int_eq(full.nulls, 3);
	ck_assert_int_eq(queued.calls, 0);

	/* the two queued ones get the connection in turn */
	queued.stop_after = 2;
	db_release(hold.conn);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_int_eq(queued.calls, 2);
	ck_assert_int_eq(queued.nulls, 0);
	db_pool_free(pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_acquire_timeout)
{
	struct db_pool_config cfg = base_config(1);
	struct holder hold = {0}, late = {0};
	struct db_pool *pool;
	struct loop lp;
	int64_t t0;

	cfg.acquire_timeout_ms = 150;
	loop_init(&lp);
	pool = pool_up(&lp, &cfg);
	hold.lp = &lp;
	hold.stop_after = 1;
	db_acquire(pool, holder_on_lease, &hold);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_ptr_nonnull(hold.conn);

	late.lp = &lp;
	late.stop_after = 1;
	t0 = now_ms();
	db_acquire(pool, holder_on_lease, &late);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_int_eq(late.nulls, 1);
	ck_assert_int_ge(late.at_ms - t0, 140);
	ck_assert_int_lt(late.at_ms - t0, 3000);
	db_release(hold.conn);
	db_pool_free(pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_query_timeout_breaks_connection)
{
	struct db_pool_config cfg = base_config(1);
	const struct db_query slow[] = {{.sql = "SELECT pg_sleep(10)"}};
	const struct db_query fast[] = {
		{.stmt = ECHO, .nparams = 1, .params = {"ok"}}};
	struct db_pool_stats st;
	struct loop lp;
	struct call c = {0};
	int64_t t0;

	cfg.query_timeout_ms = 200;
	loop_init(&lp);
	c.lp = &lp;
	c.pool = pool_up(&lp, &cfg);
	c.q = slow;
	c.n = 1;
	t0 = now_ms();
	call_run(&c);
	ck_assert(c.answered);
	ck_assert_int_eq(c.nres, 0);
	ck_assert_int_lt(now_ms() - t0, 3000);
	db_pool_stats(c.pool, &st);
	ck_assert_uint_ge(st.failures, 1);

	/* released broken: it reconnects by itself, statements prepared */
	ck_assert(wait_connected(&lp, c.pool, 1));
	c.q = fast;
	call_run(&c);
	ck_assert_str_eq(val(&c, 0), "ok");
	call_clear(&c);
	db_pool_stats(c.pool, &st);
	ck_assert_uint_ge(st.connects, 2);
	db_pool_free(c.pool);
	loop_done(&lp);
}
END_TEST

START_TEST(test_free_answers_waiters)
{
	struct db_pool_config cfg = base_config(1);
	struct holder hold = {0}, waiters = {0};
	struct db_pool *pool;
	struct loop lp;

	loop_init(&lp);
	pool = pool_up(&lp, &cfg);
	hold.lp = &lp;
	hold.stop_after = 1;
	db_acquire(pool, holder_on_lease, &hold);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_ptr_nonnull(hold.conn);

	waiters.lp = &lp;
	db_acquire(pool, holder_on_lease, &waiters);
	db_acquire(pool, holder_on_lease, &waiters);
	db_acquire(pool, holder_on_lease, &waiters);
	/* hands the connection to the first waiter, not yet delivered */
	db_release(hold.conn);
	db_pool_free(pool);
	ck_assert_int_eq(waiters.calls, 3);
	ck_assert_int_eq(waiters.nulls, 3);
	/* nothing of the pool may fire any more */
	ck_assert_int_eq(event_base_loop(lp.base, EVLOOP_NONBLOCK), 1);
	ck_assert_int_eq(waiters.calls, 3);
	loop_done(&lp);
}
END_TEST

struct answer_count {
	int calls, n;
};

static void count_answer(struct db_conn *conn, PGresult **res, int n, void *arg)
{
	struct answer_count *a = arg;

	(void)res;
	a->calls++;
	a->n = n;
	db_release(conn);
}

/* A batch still in flight when the pool was freed never got its answer,
 * so its owner never freed what it held (a metrics refresh of a daemon
 * stopped right after it started). */
START_TEST(regression_pool_free_forgets_a_batch_in_flight)
{
	struct db_pool_config cfg = base_config(1);
	const struct db_query slow[] = {{.sql = "SELECT pg_sleep(10)"}};
	struct holder hold = {0};
	struct answer_count a = {0};
	struct db_pool *pool;
	struct loop lp;

	loop_init(&lp);
	pool = pool_up(&lp, &cfg);
	hold.lp = &lp;
	hold.stop_after = 1;
	db_acquire(pool, holder_on_lease, &hold);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_ptr_nonnull(hold.conn);
	ck_assert(db_send(hold.conn, slow, 1, count_answer, &a));
	db_pool_free(pool);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.n, 0);
	ck_assert_int_eq(event_base_loop(lp.base, EVLOOP_NONBLOCK), 1);
	ck_assert_int_eq(a.calls, 1);
	loop_done(&lp);
}
END_TEST

START_TEST(test_server_never_up)
{
	struct db_pool_config cfg = base_config(2);
	struct holder h = {0};
	struct db_pool_stats st;
	struct db_pool *pool;
	struct loop lp;
	int64_t t0;
	int i;

	cfg.conninfo = "host=/nonexistent-painpath port=5999 dbname=x "
		       "connect_timeout=1";
	/* long enough that "prompt" cannot mean "at the next attempt" */
	cfg.reconnect_min_ms = 5000;
	cfg.reconnect_max_ms = 5000;
	loop_init(&lp);
	pool = db_pool_new(lp.base, &cfg);
	ck_assert_ptr_nonnull(pool);
	ck_assert(!db_pool_ready(pool));
	h.lp = &lp;
	h.stop_after = 1;
	t0 = now_ms();
	/* queued while the first attempts run, answered when they fail */
	db_acquire(pool, holder_on_lease, &h);
	ck_assert(loop_run(&lp, GUARD_MS));
	ck_assert_int_eq(h.nulls, 1);
	ck_assert_int_lt(now_ms() - t0, 2000);
	/* and from then on, promptly */
	t0 = now_ms();
	for (i = 0; i < 20; i++) {
		h.stop_after = h.calls + 1;
		db_acquire(pool, holder_on_lease, &h);
		ck_assert(loop_run(&lp, 1000));
	}
	ck_assert_int_eq(h.nulls, 21);
	ck_assert_int_lt(now_ms() - t0, 1000);
	db_pool_stats(pool, &st);
	ck_assert_int_eq(st.connected, 0);
	ck_assert_uint_ge(st.failures, 2);
	ck_assert_uint_eq(st.connects, 0);
	db_pool_free(pool);
	loop_done(&lp);
}
END_TEST

/* Acquire and run one query until the pool says the database is gone. */
struct prober {
	struct loop *lp;
	struct db_pool *pool;
	bool want_up;
	bool finished;
	int leases;
	int nulls;
	int ok;
	int failed;
	struct event *retry;
	struct db_query q;
};

static void prober_next(struct prober *p);

static void prober_done(struct prober *p)
{
	p->finished = true;
	event_base_loopbreak(p->lp->base);
}

static void prober_on_result(struct db_conn *conn, PGresult **res, int n,
			     void *arg)
{
	struct prober *p = arg;
	bool good = n == 1 && db_result_ok(res[0]) &&
		    !strcmp(PQgetvalue(res[0], 0, 0), "back");

	db_release(conn);
	if (good) {
		p->ok++;
		if (p->want_up)
			return prober_done(p);
	} else {
		p->failed++;
	}
	prober_next(p);
}

static void prober_on_lease(struct db_conn *conn, void *arg)
{
	struct prober *p = arg;

	p->leases++;
	if (!conn) {
		p->nulls++;
		if (!p->want_up)
			return prober_done(p);
		prober_next(p);
		return;
	}
	p->q.stmt = ECHO;
	p->q.nparams = 1;
	p->q.params[0] = "back";
	if (!db_send(conn, &p->q, 1, prober_on_result, p)) {
		p->failed++;
		db_release(conn);
		prober_next(p);
	}
}

static void prober_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct prober *p = arg;

	(void)fd;
	(void)what;
	db_acquire(p->pool, prober_on_lease, p);
}

/* A short pause between attempts, so the loop is not a busy spin. */
static void prober_next(struct prober *p)
{
	struct timeval tv = {0, 10000};

	evtimer_add(p->retry, &tv);
}

static void prober_run(struct prober *p, bool want_up, int ms)
{
	p->want_up = want_up;
	p->finished = false;
	db_acquire(p->pool, prober_on_lease, p);
	ck_assert_msg(loop_run(p->lp, ms), "pool did not become %s in time",
		      want_up ? "usable" : "unavailable");
	ck_assert(p->finished);
	evtimer_del(p->retry);
}

static void restart_cycle(struct prober *p, bool fast)
{
	struct db_pool_stats st;
	uint64_t connects;
	int64_t t0;

	db_pool_stats(p->pool, &st);
	connects = st.connects;
	ck_assert(harness_pg_stop_server(&pg, fast));
	t0 = now_ms();
	prober_run(p, false, 5000);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert(!db_pool_ready(p->pool));

	/* prompt NULL while down, not after acquire_timeout_ms */
	t0 = now_ms();
	p->nulls = 0;
	prober_run(p, false, 1000);
	ck_assert_int_eq(p->nulls, 1);
	ck_assert_int_lt(now_ms() - t0, 500);

	ck_assert(harness_pg_start_server(&pg));
	prober_run(p, true, GUARD_MS);
	ck_assert(db_pool_ready(p->pool));
	db_pool_stats(p->pool, &st);
	ck_assert_uint_gt(st.connects, connects);
	ck_assert_int_eq(st.leased, 0);
}

START_TEST(test_server_restart)
{
	struct db_pool_config cfg = base_config(3);
	struct db_pool_stats st;
	struct prober p = {0};
	struct loop lp;

	cfg.acquire_timeout_ms = 60000;
	loop_init(&lp);
	p.lp = &lp;
	p.pool = pool_up(&lp, &cfg);
	p.retry = evtimer_new(lp.base, prober_on_retry, &p);
	ck_assert_ptr_nonnull(p.retry);
	prober_run(&p, true, GUARD_MS);
	ck_assert_int_eq(p.ok, 1);

	restart_cycle(&p, true);
	restart_cycle(&p, false);
	/* every connection comes back, each with its statements */
	ck_assert(wait_connected(&lp, p.pool, cfg.size));
	db_pool_stats(p.pool, &st);
	ck_assert_int_eq(st.connected, cfg.size);
	ck_assert_uint_ge(st.failures, 2);
	event_free(p.retry);
	db_pool_free(p.pool);
	loop_done(&lp);
}
END_TEST

Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("pool");
	TCase *down = tcase_create("outage");

	tcase_add_unchecked_fixture(tc, pg_setup, pg_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_batch_in_order);
	tcase_add_test(tc, test_session_settings);
	tcase_add_test(tc, test_plans_follow_the_batch);
	tcase_add_test(tc, test_conninfo_forms);
	tcase_add_test(tc, test_error_aborts_rest_of_batch);
	tcase_add_test(tc, test_send_rules);
	tcase_add_test(tc, test_open_transaction_rolled_back);
	tcase_add_test(tc, test_many_leases);
	tcase_add_test(tc, test_waiting_limit);
	tcase_add_test(tc, test_acquire_timeout);
	tcase_add_test(tc, test_query_timeout_breaks_connection);
	tcase_add_test(tc, test_free_answers_waiters);
	tcase_add_test(tc, regression_pool_free_forgets_a_batch_in_flight);
	suite_add_tcase(s, tc);

	/* its own cluster: a test that stops the server must not take the
	 * other tests' server down with it */
	tcase_add_unchecked_fixture(down, pg_setup, pg_teardown);
	tcase_set_timeout(down, 120);
	tcase_add_test(down, test_server_never_up);
	tcase_add_test(down, test_server_restart);
	suite_add_tcase(s, down);
	return s;
}
