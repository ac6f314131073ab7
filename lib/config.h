/*
 * config: the daemon's settings as a table (key, type, bounds, default),
 * read from a "key = value" file and overridden by command-line flags.
 * Loading is strict: an unknown key or a value out of bounds is an error
 * naming the file and line.
 */
#ifndef PAINPATH_CONFIG_H
#define PAINPATH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config {
	char *listen;
	int port;
	char *db;
	char *models_dir;
	char *schema_dir;
	char *log_level;
	int pool_size;
	int max_waiting;
	int acquire_timeout_ms;
	int statement_timeout_ms;
	int query_timeout_ms;
	int max_body_bytes;
	int max_batch;
	int request_timeout_s;
	int max_connections;
	int db_wait_s;
	int shutdown_grace_s;
	int retry_after_s;
	char *report_time;
	char *report_zone;
	int report_enabled;
	char *tokens_file;
	char *db_read;
	int ingest_groups;
	int audit_durable;
	/* FHIR (issue 13): the base URL /fhir is reached at ("": http://
	 * listen:port/fhir), and the file of the regions' report
	 * endpoints ("": none). */
	char *fhir_base_url;
	char *report_endpoints_file;
};

void config_defaults(struct config *cfg);
void config_free(struct config *cfg);
/* Sets one key from text (a file line or a flag). */
bool config_set(struct config *cfg, const char *key, const char *value,
		char *err, size_t errlen) __attribute__((warn_unused_result));
bool config_load_file(struct config *cfg, const char *path, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

#endif
