/* The command line's subcommands, one file each beside cli/painpath.c. */
#ifndef PAINPATH_CLI_H
#define PAINPATH_CLI_H

#include "config.h"
#include "model.h"

/* Prints the usage to stderr; returns the exit status 2. */
int cli_usage(void);

int cmd_verify(int argc, char **argv, const struct config *cfg);

#endif
