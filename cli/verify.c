/* painpath verify: every pathway's stored state against the replay of its
 * history (lib/verify.c). */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include <libpq-fe.h>

#include "cli.h"
#include "verify.h"

int cmd_verify(int argc, char **argv, const struct config *cfg)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"models", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0}};
	const char *db = cfg->db, *models_dir = cfg->models_dir;
	struct model_set models = {0};
	struct verify_counts counts;
	struct timespec t0, t1;
	char err[1024];
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
	conn = PQconnectdb(db);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "painpath: %s", PQerrorMessage(conn));
	} else if (!verify_run(conn, &models, 1000, stdout, &counts, err,
			       sizeof(err))) {
		fprintf(stderr, "painpath: verify: %s", err);
	} else {
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
	return status;
}
