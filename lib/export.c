#include "export.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_export.h"
#include "store_stats.h"

static bool ok(PGresult *res, PGconn *conn, char *err, size_t errlen)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return true;
	snprintf(err, errlen, "%s", PQerrorMessage(conn));
	return false;
}

/* One statement; its result is kept in *keep when keep is not NULL. */
static bool run(PGconn *conn, const char *sql, int n, const char *const *p,
		PGresult **keep, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, p, NULL, NULL, 0);
	bool good = ok(res, conn, err, errlen);

	if (good && keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return good;
}

/* The second connection imports the snapshot and commits the audit. */
static bool audit(const struct export_request *req, const char *snapshot,
		  const char *const *params, char *err, size_t errlen)
{
	PGconn *conn = PQconnectdb(req->conninfo);
	char *set = export_set_snapshot_sql(snapshot);
	char *sql =
		export_audit_sql(store_export_sql[EXPORT_REGISTRY_PATIENTS], 6);
	const char *p[11];
	bool good = false;

	memcpy(p, params, 6 * sizeof(char *));
	p[6] = req->who;
	p[7] = "CLI";
	p[8] = "painpath export";
	p[9] = "painpath export";
	p[10] = "-";
	if (PQstatus(conn) != CONNECTION_OK)
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
	else if (set == NULL || sql == NULL)
		snprintf(err, errlen, "out of memory or a bad snapshot name");
	else
		good = run(conn, export_begin_audit_sql, 0, NULL, NULL, err,
			   errlen) &&
		       run(conn, set, 0, NULL, NULL, err, errlen) &&
		       run(conn, sql, 11, p, NULL, err, errlen) &&
		       run(conn, "COMMIT", 0, NULL, NULL, err, errlen);
	free(set);
	free(sql);
	PQfinish(conn);
	return good;
}

static bool fetch_all(PGconn *conn, FILE *out, long *lines, char *err,
		      size_t errlen)
{
	char fetch[64];
	int rows;

	export_fetch_sql(EXPORT_CLI_ROWS, fetch, sizeof(fetch));
	do {
		PGresult *res = NULL;
		if (!run(conn, fetch, 0, NULL, &res, err, errlen))
			return false;
		rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			fwrite(PQgetvalue(res, i, 2), 1,
			       (size_t)PQgetlength(res, i, 2), out);
			fputc('\n', out);
		}
		*lines += rows;
		PQclear(res);
		if (ferror(out)) {
			snprintf(err, errlen, "writing the export failed");
			return false;
		}
	} while (rows == EXPORT_CLI_ROWS);
	return true;
}

bool export_registry_blocking(const struct export_request *req, FILE *out,
			      long *lines, char *err, size_t errlen)
{
	struct stats_models m;
	const char *mp[5], *params[6];
	PGconn *conn = PQconnectdb(req->conninfo);
	PGresult *snap = NULL;
	char *declare = export_declare_sql(store_export_sql[EXPORT_REGISTRY]);
	bool good = false;

	*lines = 0;
	if (!stats_models_init(&m, req->models) || declare == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	stats_models_params(&m, mp);
	params[0] = req->from;
	params[1] = req->to;
	params[2] = req->region;
	params[3] = NULL;
	params[4] = mp[0];
	params[5] = mp[1];
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		goto out;
	}
	good = run(conn, export_begin_sql, 0, NULL, NULL, err, errlen) &&
	       run(conn, export_snapshot_sql, 0, NULL, &snap, err, errlen) &&
	       run(conn, declare, 6, params, NULL, err, errlen) &&
	       audit(req, PQgetvalue(snap, 0, 0), params, err, errlen) &&
	       fetch_all(conn, out, lines, err, errlen);
out:
	PQclear(snap);
	free(declare);
	stats_models_free(&m);
	PQfinish(conn);
	return good;
}
