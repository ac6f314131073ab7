/* The pool for long work (long_pool.h). */
#include "long_pool.h"

#include <stddef.h>

#include "app.h"
#include "db.h"
#include "store.h"

/* A build and a night's report hold one connection each; an audited
 * export two at once (its cursor's, and the audit row's in the cursor's
 * snapshot), the second taken while it holds the first.  Five: the two
 * exports that may run (EXPORT_MAX_RUNNING), a build and a night never
 * all hold one and wait for another; with two, two exports starting
 * together each held a cursor and waited for the other's until
 * acquire_timeout_ms, then failed. */
#define LONG_POOL_SIZE 5
/* An export's audit row names every patient it holds (a million at
 * most): its one statement, and the build's, may take minutes. */
#define LONG_STATEMENT_MS (30 * 60 * 1000)
#define LONG_QUERY_MS	  (35 * 60 * 1000)

static struct db_pool *pool;

struct db_pool *long_pool(struct app *app)
{
	struct db_pool_config pc = {
		.conninfo = app->cfg.db,
		.size = LONG_POOL_SIZE,
		.max_waiting = 8,
		.acquire_timeout_ms = app->cfg.acquire_timeout_ms,
		.statement_timeout_ms = LONG_STATEMENT_MS,
		.query_timeout_ms = LONG_QUERY_MS,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = 5000,
		.statements = store_statements,
	};

	if (pool == NULL)
		pool = db_pool_new(app->base, &pc);
	return pool;
}

void long_pool_free(void)
{
	if (pool != NULL)
		db_pool_free(pool);
	pool = NULL;
}
