#include "migrate.h"

#include "dirlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant both daemons agree on; "painpath" in ASCII. */
#define MIGRATION_LOCK_KEY "7011605470657468"

static bool exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1))) {
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static bool already_applied(PGconn *conn, int version)
{
	char v[16];
	const char *params[1] = {v};
	PGresult *res;
	bool found;

	snprintf(v, sizeof(v), "%d", version);
	res = PQexecParams(conn,
			   "SELECT 1 FROM schema_migrations WHERE version = $1",
			   1, NULL, params, NULL, NULL, 0);
	found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	PQclear(res);
	return found;
}

static bool apply_one(PGconn *conn, const char *dir, const char *name,
		      int version, char *err, size_t errlen)
{
	char path[4096], v[16], why[1024];
	const char *params[2] = {v, name};
	char *sql = NULL;
	PGresult *res = NULL;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(v, sizeof(v), "%d", version);
	if ((sql = read_file(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!exec_ok(conn, "BEGIN", why, sizeof(why)) ||
	    !exec_ok(conn, sql, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto rollback;
	}
	res = PQexecParams(conn,
			   "INSERT INTO schema_migrations (version, name) "
			   "VALUES ($1, $2)",
			   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK ||
	    !exec_ok(conn, "COMMIT", why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", path, PQerrorMessage(conn));
		goto rollback;
	}
	ok = true;
	goto out;
rollback:
	exec_ok(conn, "ROLLBACK", why, sizeof(why));
out:
	PQclear(res);
	free(sql);
	return ok;
}

/* NNN_name.sql; returns NNN or -1. */
static int migration_version(const char *name);

static bool is_migration(const char *name)
{
	return migration_version(name) >= 0;
}

static int migration_version(const char *name)
{
	size_t len = strlen(name);
	char *end;
	long v;

	if (len < 5 || strcmp(name + len - 4, ".sql") != 0)
		return -1;
	v = strtol(name, &end, 10);
	return (end != name && *end == '_' && v > 0 && v < 100000) ? (int)v
								   : -1;
}

bool migrate_apply(PGconn *conn, const char *dir, int *applied, char *err,
		   size_t errlen)
{
	size_t n = 0;
	char **names = dirlist_sorted(dir, is_migration, &n);
	char why[1024];
	bool ok = false;

	*applied = 0;
	if (names == NULL || n == 0) {
		dirlist_free(names, n);
		snprintf(err, errlen, "%s: no migrations (NNN_name.sql) found",
			 dir);
		return false;
	}
	if (!exec_ok(conn, "SET client_min_messages = warning", why,
		     sizeof(why)) ||
	    !exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")",
		     why, sizeof(why)) ||
	    !exec_ok(conn,
		     "CREATE TABLE IF NOT EXISTS schema_migrations ("
		     " version integer PRIMARY KEY, name text NOT NULL,"
		     " applied_at timestamptz NOT NULL DEFAULT now())",
		     why, sizeof(why))) {
		snprintf(err, errlen, "schema_migrations: %s", why);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int version = migration_version(names[i]);
		if (already_applied(conn, version))
			continue;
		if (!apply_one(conn, dir, names[i], version, err, errlen))
			goto out;
		(*applied)++;
	}
	ok = true;
out:
	exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", why,
		sizeof(why));
	dirlist_free(names, n);
	return ok;
}
