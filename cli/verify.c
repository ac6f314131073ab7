/* painpath verify: every pathway's stored state against the replay of its
 * history (lib/verify.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

#include "cli.h"
#include "store.h"
#include "verify.h"

/* The mismatched pathways are about to be named: their patients are
 * audited first (a run without mismatches shows no patient's data). */
static bool audit_mismatched(PGconn *conn, struct verify_counts *counts,
			     int argc, char **argv)
{
	struct pgarray patients, regions;
	const char *ids = pgarray_text(&counts->mismatched_ids);
	PGresult *res;
	char err[512];
	bool ok;

	if (counts->mismatched == 0)
		return true;
	res = PQexecParams(conn,
			   store_statements[STMT_PATIENTS_OF_PATHWAYS - 1].sql,
			   1, NULL, &ids, NULL, NULL, 0);
	if (ids == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "painpath: verify: %s",
			ids ? PQresultErrorMessage(res) : "out of memory\n");
		PQclear(res);
		return false;
	}
	pgarray_init(&patients);
	pgarray_init(&regions);
	for (int row = 0; row < PQntuples(res); row++) {
		pgarray_add(&patients, PQgetvalue(res, row, 0));
		pgarray_add(&regions, PQgetvalue(res, row, 1));
	}
	PQclear(res);
	ok = cli_audit(conn, "verify", argc, argv, &patients, &regions, err,
		       sizeof(err));
	if (!ok)
		fprintf(stderr, "painpath: verify: %s\n", err);
	pgarray_free(&patients);
	pgarray_free(&regions);
	return ok;
}

int cmd_verify(int argc, char **argv, const struct config *cfg)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"models", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0}};
	const char *db = cfg->db, *models_dir = cfg->models_dir;
	struct model_set models = {0};
	struct verify_counts counts = {0};
	struct timespec t0, t1;
	char err[1024], *lines = NULL;
	size_t lines_len = 0;
	FILE *out;
	PGconn *conn;
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "d:m:", longopts, NULL)) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 'm')
			models_dir = optarg;
		else
			return cli_usage();
	}
	if (optind != argc)
		return cli_usage();
	if (!model_set_load_dir(models_dir, &models, err, sizeof(err))) {
		fprintf(stderr, "painpath: %s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Lines are held until the audit row is written. */
	out = open_memstream(&lines, &lines_len);
	conn = PQconnectdb(db);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "painpath: %s", PQerrorMessage(conn));
	} else if (out == NULL || !verify_run(conn, &models, 1000, out, &counts,
					      err, sizeof(err))) {
		fprintf(stderr, "painpath: verify: %s",
			out ? err : "no memory");
	} else if (fflush(out) == 0 &&
		   audit_mismatched(conn, &counts, argc, argv)) {
		fwrite(lines, 1, lines_len, stdout);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(stderr,
			"verify: %ld pathway(s), %ld transition(s), %ld "
			"mismatch(es) in %ld pathway(s), %.1f s\n",
			counts.pathways, counts.transitions, counts.mismatches,
			counts.mismatched,
			(double)(t1.tv_sec - t0.tv_sec) +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		status = counts.mismatches > 0 ? 1 : 0;
	}
	PQfinish(conn);
	model_set_free(&models);
	if (out != NULL)
		fclose(out);
	free(lines);
	pgarray_free(&counts.mismatched_ids);
	return status;
}
