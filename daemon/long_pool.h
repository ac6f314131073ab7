/*
 * long_pool: a second, small connection pool for work that outlasts the
 * pool's client-side query timeout: the nightly statistics build (one
 * statement over the whole history), the night's report, and exports (a cursor
 * held open while the client reads, an audit row naming every exported
 * patient).  The coordinators' and EHRs' pool is never held by them.
 *
 * Created on first use; long_pool_free at exit.
 */
#ifndef PAINPATHD_LONG_POOL_H
#define PAINPATHD_LONG_POOL_H

struct app;
struct db_pool;

/* The pool, created when first asked for; NULL only when out of memory. */
struct db_pool *long_pool(struct app *app);
void long_pool_free(void);

#endif
