/*
 * painpath: the command-line tool.  Talks to the database directly
 * (blocking libpq is fine here: no event loop to stall).
 *
 *   painpath migrate --db CONNINFO [--schema DIR]
 *   painpath check-models [DIR]
 *   painpath hash-token SECRET
 *   painpath report --date YYYY-MM-DD [--region R] [--format json|csv]
 *                   [--db CONNINFO] [--models DIR]
 *   painpath verify [--db CONNINFO] [--models DIR]
 *   painpath export --from YYYY-MM-DD --to YYYY-MM-DD [--region R]
 *                   [--db CONNINFO] [--models DIR]
 *   painpath --version
 *
 * A wrong argument is named on stderr ("painpath: report: ...") before the
 * usage; the exit status is then 2.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cli.h"
#include "config.h"
#include "export.h"
#include "sha256.h"
#include "migrate.h"
#include "model.h"
#include "report.h"
#include "store_report.h"
#include "version.h"

int cli_usage(void)
{
	fprintf(stderr,
		"usage: painpath migrate --db CONNINFO [--schema DIR]\n"
		"       painpath check-models [DIR]\n"
		"       painpath hash-token SECRET\n"
		"       painpath report --date YYYY-MM-DD [--region R]\n"
		"                       [--format json|csv] [--db CONNINFO]\n"
		"                       [--models DIR]\n"
		"       painpath verify [--db CONNINFO] [--models DIR]\n"
		"       painpath export --from YYYY-MM-DD --to YYYY-MM-DD\n"
		"                       [--region R] [--db CONNINFO] "
		"[--models DIR]\n"
		"       painpath --version\n");
	return 2;
}

/* What is wrong, then the usage. */
__attribute__((format(printf, 2, 3))) static int bad_args(const char *cmd,
							  const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "painpath: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return cli_usage();
}

/* getopt's complaint, in our words: opterr is off and optstrings start
 * with ':' so a missing value and an unknown option can be told apart. */
static int bad_option(const char *cmd, int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return bad_args(cmd, "%s needs a value", opt);
	return bad_args(cmd, "unknown option \"%s\"", opt);
}

/* Anything after the options. */
static int check_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind < argc)
		return bad_args(cmd, "unexpected argument \"%s\"",
				argv[optind]);
	return 0;
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

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:s:", longopts, NULL)) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 's')
			schema = optarg;
		else
			return bad_option("migrate", c, argv);
	}
	if (check_no_operands("migrate", argc, argv) != 0)
		return 2;
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

	if (argc > 2)
		return bad_args("check-models", "unexpected argument \"%s\"",
				argv[2]);
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

/* The night's items are about these patients: the audit row says so
 * before they are printed. */
static bool audit_report(PGconn *conn, const PGresult *res, int argc,
			 char **argv)
{
	struct pgarray patients, regions;
	int patient_col = PQfnumber(res, "patient_id");
	int region_col = PQfnumber(res, "region");
	char err[512];
	bool ok;

	pgarray_init(&patients);
	pgarray_init(&regions);
	for (int row = 0; row < PQntuples(res); row++) {
		pgarray_add(&patients, PQgetvalue(res, row, patient_col));
		pgarray_add(&regions, PQgetvalue(res, row, region_col));
	}
	ok = cli_audit(conn, "report", argc, argv, &patients, &regions, err,
		       sizeof(err));
	if (!ok)
		fprintf(stderr, "painpath: report: %s\n", err);
	pgarray_free(&patients);
	pgarray_free(&regions);
	return ok;
}

static int print_report(PGconn *conn, cal_date night, const char *date,
			const char *region, bool csv, int argc, char **argv)
{
	const char *params[7] = {date, region, NULL, "false", NULL, NULL, NULL};
	PGresult *res = PQexecParams(conn, report_items_sql, 7, NULL, params,
				     NULL, NULL, 0);
	int status = 1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "painpath: report: %s", PQerrorMessage(conn));
	} else if (!audit_report(conn, res, argc, argv)) {
		status = 1;
	} else if (csv) {
		char *text = report_csv(res, night);
		if (text != NULL) {
			fputs(text, stdout);
			status = 0;
		}
		free(text);
	} else {
		json_t *doc = report_json(res, night);
		status = json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;
		putchar('\n');
		json_decref(doc);
	}
	PQclear(res);
	return status;
}

static int cmd_report(int argc, char **argv, const struct config *cfg)
{
	static const struct option longopts[] = {
		{"date", required_argument, NULL, 't'},
		{"region", required_argument, NULL, 'r'},
		{"format", required_argument, NULL, 'f'},
		{"db", required_argument, NULL, 'd'},
		{"models", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0}};
	const char *date = NULL, *region = NULL, *format = "json";
	const char *db = cfg->db, *models_dir = cfg->models_dir;
	struct model_set models = {0};
	char err[1024];
	cal_date night;
	PGconn *conn = NULL;
	int c, status = 1;
	bool ran;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:r:f:d:m:", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
			date = optarg;
			break;
		case 'r':
			region = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'm':
			models_dir = optarg;
			break;
		default:
			return bad_option("report", c, argv);
		}
	}
	if (check_no_operands("report", argc, argv) != 0)
		return 2;
	if (date == NULL)
		return bad_args("report", "--date is required");
	if (!calendar_parse_date(date, &night))
		return bad_args("report",
				"--date \"%s\" is not a date (YYYY-MM-DD, a "
				"real day of the calendar)",
				date);
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
		return bad_args("report",
				"--format must be json or csv, not "
				"\"%s\"",
				format);
	if (!model_set_load_dir(models_dir, &models, err, sizeof(err))) {
		fprintf(stderr, "painpath: %s\n", err);
		return 1;
	}
	conn = PQconnectdb(db);
	if (PQstatus(conn) != CONNECTION_OK)
		fprintf(stderr, "painpath: %s", PQerrorMessage(conn));
	else if (!report_run_blocking(conn, &models, night, "painpath-cli",
				      "cli", true, &ran, err, sizeof(err)))
		fprintf(stderr, "painpath: report: %s", err);
	else
		status = print_report(conn, night, date, region,
				      strcmp(format, "csv") == 0, argc, argv);
	PQfinish(conn);
	model_set_free(&models);
	return status;
}

/* The quality-registry export (lib/export.c), NDJSON on stdout; the
 * audit row names the operating-system user. */
static int cmd_export(int argc, char **argv, const struct config *cfg)
{
	static const struct option longopts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"region", required_argument, NULL, 'r'},
		{"db", required_argument, NULL, 'd'},
		{"models", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0}};
	struct export_request req = {.conninfo = cfg->db};
	const struct passwd *pw = getpwuid(getuid());
	const char *models_dir = cfg->models_dir;
	struct model_set models = {0};
	char err[1024], who[160];
	cal_date a, b;
	long lines = 0;
	int c, status = 1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:t:r:d:m:", longopts, NULL)) !=
	       -1) {
		if (c == 'f')
			req.from = optarg;
		else if (c == 't')
			req.to = optarg;
		else if (c == 'r')
			req.region = optarg;
		else if (c == 'd')
			req.conninfo = optarg;
		else if (c == 'm')
			models_dir = optarg;
		else
			return bad_option("export", c, argv);
	}
	if (check_no_operands("export", argc, argv) != 0)
		return 2;
	if (req.from == NULL || req.to == NULL)
		return bad_args("export", "--from and --to are required");
	if (!calendar_parse_date(req.from, &a) ||
	    !calendar_parse_date(req.to, &b))
		return bad_args("export",
				"\"%s\" is not a date (YYYY-MM-DD, a real day "
				"of the calendar)",
				calendar_parse_date(req.from, &a) ? req.to
								  : req.from);
	if (b < a)
		return bad_args("export", "--to %s is before --from %s", req.to,
				req.from);
	if (!model_set_load_dir(models_dir, &models, err, sizeof(err))) {
		fprintf(stderr, "painpath: %s\n", err);
		return 1;
	}
	snprintf(who, sizeof(who), "cli:%s", pw ? pw->pw_name : "unknown");
	req.models = &models;
	req.who = who;
	if (!export_registry_blocking(&req, stdout, &lines, err, sizeof(err)))
		fprintf(stderr, "painpath: export: %s\n", err);
	else if (fflush(stdout) == 0)
		status = 0;
	fprintf(stderr, "painpath: exported %ld pathway(s)\n", lines);
	model_set_free(&models);
	return status;
}

/* The secret column of a tokens_file line for this token. */
static int cmd_hash_token(const char *secret)
{
	char hex[SHA256_HEX_LEN];

	sha256_hex(secret, strlen(secret), hex);
	printf("sha256:%s\n", hex);
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	int status;

	if (argc < 2)
		return cli_usage();
	if (strcmp(argv[1], "--version") == 0) {
		printf("painpath %s\n", painpath_version);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_usage();
		return 0;
	}
	config_defaults(&cfg);
	if (strcmp(argv[1], "migrate") == 0)
		status = cmd_migrate(argc - 1, argv + 1, &cfg);
	else if (strcmp(argv[1], "report") == 0)
		status = cmd_report(argc - 1, argv + 1, &cfg);
	else if (strcmp(argv[1], "hash-token") == 0)
		status = argc == 3 ? cmd_hash_token(argv[2])
				   : bad_args("hash-token",
					      "takes exactly one SECRET");
	else if (strcmp(argv[1], "verify") == 0)
		status = cmd_verify(argc - 1, argv + 1, &cfg);
	else if (strcmp(argv[1], "export") == 0)
		status = cmd_export(argc - 1, argv + 1, &cfg);
	else if (strcmp(argv[1], "check-models") == 0)
		status = cmd_check_models(argc - 1, argv + 1, &cfg);
	else
		status = bad_args(argv[1], "unknown command");
	config_free(&cfg);
	return status;
}
