/* The command line's subcommands, one file each beside cli/painpath.c. */
#ifndef PAINPATH_CLI_H
#define PAINPATH_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"
#include "model.h"
#include "pgarray.h"

/* Prints the usage to stderr; returns the exit status 2. */
int cli_usage(void);

int cmd_verify(int argc, char **argv, const struct config *cfg);

/* Records (committed: the session is in autocommit) that this command,
 * run with argv, is about to show the data of patients (regions: the
 * ones it was limited to, or NULL for all).  False with err set when the
 * row could not be written: then nothing may be shown. */
bool cli_audit(PGconn *conn, const char *command, int argc, char **argv,
	       struct pgarray *patients, struct pgarray *regions, char *err,
	       size_t errlen) __attribute__((warn_unused_result));

#endif
