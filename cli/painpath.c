/*
 * painpath: the command-line tool.  Talks to the database directly
 * (blocking libpq is fine here: no event loop to stall).
 *
 *   painpath migrate --db CONNINFO [--schema DIR]
 *   painpath check-models [DIR]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "migrate.h"
#include "model.h"

static int usage(void)
{
	fprintf(stderr, "usage: painpath migrate --db CONNINFO [--schema DIR]\n"
			"       painpath check-models [DIR]\n");
	return 2;
}

static int cmd_migrate(int argc, char **argv, const struct config *cfg)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"schema", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0}};
	const char *db = cfg->db, *schema = cfg->schema_dir;
	char err[1024];
	int c, applied = 0, status = 1;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "d:s:", longopts, NULL)) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 's')
			schema = optarg;
		else
			return usage();
	}
	conn = PQconnectdb(db);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "painpath: %s", PQerrorMessage(conn));
	} else if (!migrate_apply(conn, schema, &applied, err, sizeof(err))) {
		fprintf(stderr, "painpath: %s\n", err);
	} else {
		printf("applied %d migration(s)\n", applied);
		status = 0;
	}
	PQfinish(conn);
	return status;
}

static int cmd_check_models(int argc, char **argv, const struct config *cfg)
{
	struct model_set set;
	char err[1024];
	const char *dir = argc > 1 ? argv[1] : cfg->models_dir;

	if (!model_set_load_dir(dir, &set, err, sizeof(err))) {
		fprintf(stderr, "painpath: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < set.count; i++)
		printf("%s\t%s\t%s\n", set.models[i].key,
		       set.models[i].country_code, set.models[i].path);
	model_set_free(&set);
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	int status;

	if (argc < 2)
		return usage();
	config_defaults(&cfg);
	if (strcmp(argv[1], "migrate") == 0)
		status = cmd_migrate(argc - 1, argv + 1, &cfg);
	else if (strcmp(argv[1], "check-models") == 0)
		status = cmd_check_models(argc - 1, argv + 1, &cfg);
	else
		status = usage();
	config_free(&cfg);
	return status;
}
