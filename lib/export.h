/*
 * export: the quality-registry export for the command line (painpath
 * export), blocking: the same statements as GET /v1/export
 * (lib/store_export.h), a cursor read in chunks of EXPORT_CLI_ROWS and
 * written as they come, and one audit row naming every patient exported,
 * committed before the first line is written.
 */
#ifndef PAINPATH_EXPORT_H
#define PAINPATH_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model.h"

#define EXPORT_CLI_ROWS 200

struct export_request {
	const char *conninfo;
	const struct model_set *models;
	const char *from, *to; /* YYYY-MM-DD */
	const char *region;    /* or NULL */
	const char *who;       /* the audit row's token_id */
};

/* Writes the NDJSON lines to out; *lines receives their number. */
bool export_registry_blocking(const struct export_request *req, FILE *out,
			      long *lines, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
