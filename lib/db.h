/*
 * db: a pool of non-blocking libpq connections driven by a libevent loop.
 *
 * Nothing here blocks: connections are opened with PQconnectStart and polled
 * on socket events, queries are sent in pipeline mode (PQsendQueryPrepared /
 * PQsendQueryParams + PQpipelineSync) and their results read when the socket
 * is readable.  A caller leases one connection for a whole unit of work (a
 * transaction may need several round trips, each a batch of queries), then
 * releases it.  A connection released inside a transaction is rolled back
 * before anyone else gets it.
 *
 * Ownership: the pool copies the config strings and the statement table.
 * PGresults handed to a db_result_cb belong to the pool and are cleared when
 * the callback returns, unless the callback steals one (sets its slot NULL).
 *
 * Callbacks are never called from inside the function that registered them;
 * they always run later from the event loop.
 */
#ifndef PAINPATH_DB_H
#define PAINPATH_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

struct event_base;
struct db_pool;
struct db_conn;

#define DB_MAX_PARAMS 64
#define DB_MAX_BATCH  256

/*
 * A statement every connection prepares right after connecting.
 *
 * How it is planned: by default with its values and the tables as they are
 * now, at every call, so that a plan made on an empty table never outlives
 * it (issue 11: a new installation's first load collapsed).  A keyed
 * statement finds its rows by an index key whatever the tables hold; it is
 * planned once per connection, with sequential scans off, and the plan
 * reused: planning a lookup anew against every index of a table cost the
 * database more than running it.  The pool switches a session between the
 * two modes when a batch needs the other one (db_plans_keyed_sql).
 */
struct db_statement {
	const char *name;
	const char *sql;
	bool keyed;
};

/* The settings of a session running keyed statements; $1 is is_local. */
extern const char db_plans_keyed_sql[];

struct db_pool_config {
	const char *conninfo;	  /* libpq conninfo; multi-host allowed */
	int size;		  /* connections kept open */
	int max_waiting;	  /* leases queued when all are busy */
	int acquire_timeout_ms;	  /* a queued lease gives up after this */
	int statement_timeout_ms; /* server side, set at connect */
	int query_timeout_ms;	  /* client side: a batch taking longer
				     breaks the connection */
	int reconnect_min_ms;	  /* backoff after a failed connect ... */
	int reconnect_max_ms;	  /* ... doubling up to this */
	const struct db_statement *statements; /* NULL-name terminated */
};

/* One query of a batch: a prepared statement by its id (1-based index
 * into the pool's statement table), or ad-hoc SQL when stmt is 0.
 * params[i] NULL means SQL NULL.  Text format both ways.  Ad-hoc SQL is
 * planned per call, unless it only controls the transaction (BEGIN,
 * COMMIT, ROLLBACK, SET LOCAL, ...), which plans nothing. */
struct db_query {
	int stmt;
	const char *sql;
	int nparams;
	const char *params[DB_MAX_PARAMS];
};

struct db_pool_stats {
	int size;
	int connected; /* up and idle or leased */
	int leased;
	int waiting;
	uint64_t connects; /* successful connects, including reconnects */
	uint64_t failures; /* failed connects and broken connections */
	uint64_t queries;
	uint64_t plan_switches; /* sessions moved between planning modes */
};

/* conn is NULL when the database is unavailable (no connection up, the
 * waiting queue is full, or the lease waited acquire_timeout_ms). */
typedef void (*db_lease_cb)(struct db_conn *conn, void *arg);

/* results[i] answers queries[i]; n == the batch size.  When the connection
 * broke or timed out before the batch completed, results is NULL and n is 0:
 * the caller must still db_release(conn).  A query after a failed one in the
 * same batch comes back PGRES_PIPELINE_ABORTED. */
typedef void (*db_result_cb)(struct db_conn *conn, PGresult **results, int n,
			     void *arg);

/* Starts connecting in the background; returns NULL only on bad arguments or
 * out of memory. */
struct db_pool *db_pool_new(struct event_base *base,
			    const struct db_pool_config *config);
/* Closes every connection; leases still waiting get their callback with NULL
 * first.  Leased connections must have been released. */
void db_pool_free(struct db_pool *pool);

bool db_pool_ready(const struct db_pool *pool);
void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out);

/* cb runs from the event loop, never before db_acquire returns. */
void db_acquire(struct db_pool *pool, db_lease_cb cb, void *arg);
/* Sends a batch of 1..DB_MAX_BATCH queries in one round trip.  Returns false
 * (and will not call cb) if the connection is not usable or a batch is
 * already in flight on it. */
bool db_send(struct db_conn *conn, const struct db_query *queries, int n,
	     db_result_cb cb, void *arg) __attribute__((warn_unused_result));
/* Gives the connection back.  If a transaction is open it is rolled back
 * first; if the connection broke it is closed and reopened. */
void db_release(struct db_conn *conn);

/* Small helpers for callers reading results. */
bool db_result_ok(const PGresult *res); /* COMMAND_OK or TUPLES_OK */
/* A failed result for the log: its SQLSTATE and primary message on one
 * line, never the DETAIL (which quotes the row's values, patient ids
 * among them).  Returns buf. */
const char *db_result_summary(const PGresult *res, char *buf, size_t len);
/* The same in a buffer that lives to the end of the enclosing block:
 * for one log call. */
#define DB_WHY(res) db_result_summary((res), (char[512]){0}, 512)
/* The SQLSTATE of a failed result, or "" */
const char *db_result_sqlstate(const PGresult *res);

#endif
