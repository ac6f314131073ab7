/*
 * migrate: applies schema/NNN_name.sql files in order, each once, each in
 * its own transaction together with its row in schema_migrations, so a
 * failing migration leaves the database as it was.  An advisory lock makes
 * daemons starting together take turns.  Blocking: for start-up and the CLI
 * only, never inside the event loop.
 */
#ifndef PAINPATH_MIGRATE_H
#define PAINPATH_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* applied receives how many migrations ran now. */
bool migrate_apply(PGconn *conn, const char *dir, int *applied, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

#endif
