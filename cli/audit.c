/*
 * The command line's reads of patient data are audited as the daemon's
 * are (issue 15): one audit_log row, committed before anything is shown,
 * naming the operating-system user, the command line and every patient
 * whose data the command is about to print.  The INSERT is the daemon's
 * own (store.c's struct store_audit).
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

/* The command line as one text, escaped as the daemon escapes a request
 * target in audit_log.uri: every byte outside printable ASCII (blanks
 * too) as %XX, the arguments joined by %20. */
static void command_text(int argc, char **argv, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < argc; i++) {
		const unsigned char *p = (const unsigned char *)argv[i];
		if (i > 0 && used + 4 < len)
			used += (size_t)snprintf(out + used, len - used,
						 "%%20");
		for (; *p && used + 4 < len; p++)
			used += (size_t)(*p > 0x20 && *p < 0x7f && *p != '%'
						 ? snprintf(out + used,
							    len - used, "%c",
							    *p)
						 : snprintf(out + used,
							    len - used,
							    "%%%02X", *p));
	}
}

bool cli_audit(PGconn *conn, const char *command, int argc, char **argv,
	       struct pgarray *patients, struct pgarray *regions, char *err,
	       size_t errlen)
{
	const struct passwd *pw = getpwuid(getuid());
	char who[128], uri[2048], route[64], host[128] = "local";
	struct store_audit row;
	struct db_query q;
	PGresult *res;
	bool ok;

	snprintf(who, sizeof(who), "cli:%s", pw ? pw->pw_name : "?");
	snprintf(route, sizeof(route), "painpath %s", command);
	command_text(argc, argv, uri, sizeof(uri));
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "local");
	host[sizeof(host) - 1] = '\0';
	store_audit_init(&row);
	store_audit_add(&row, who, "CLI", route, uri, pgarray_text(patients),
			host, "200",
			regions != NULL ? pgarray_text(regions) : NULL);
	if (pgarray_text(patients) == NULL ||
	    (regions != NULL && pgarray_text(regions) == NULL) ||
	    !store_audit_query(&row, &q)) {
		store_audit_free(&row);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	res = PQexecParams(conn, store_statements[q.stmt - 1].sql, q.nparams,
			   NULL, q.params, NULL, NULL, 0);
	store_audit_free(&row);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(err, errlen, "the read could not be audited: %s",
			 PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}
