/*
 * config: the daemon's settings as a table, like pgbouncer's
 * bouncer_params[]: each key has a type, bounds, a default and whether a
 * change needs a restart.  Settings are read from a "key = value" file and
 * overridden by command-line flags.  Loading is strict: an unknown key or a
 * value of the wrong type or out of bounds is an error naming the file and
 * line.
 *
 * Value syntax by type (what painpath.conf(5) documents):
 *   bool      0 1 yes no true false on off
 *   integer   decimal, within the key's bounds
 *   duration  an integer in the key's unit (the _ms or _s in its name), or
 *             with a unit: 250ms, 30s, 5min, 2h, 1d
 *   time      HH:MM, 24-hour clock
 *   enum      one of the key's words
 *   path      a file or directory name (no control characters)
 *   string    free text (no control characters)
 */
#ifndef PAINPATH_CONFIG_H
#define PAINPATH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config {
	char *listen;
	int port;
	char *db;
	char *models_dir;
	char *schema_dir;
	char *log_level;  /* enum: error warning info debug */
	char *log_format; /* enum: text json */
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
	char *report_time; /* "HH:MM" */
	char *report_zone;
	int report_enabled; /* bool: 0 or 1 */
	char *tokens_file;
	char *db_read;
	int ingest_groups;
	/* FHIR (issue 13): the base URL /fhir is reached at ("": http://
	 * listen:port/fhir), and the file of the regions' report
	 * endpoints ("": none). */
	char *fhir_base_url;
	char *report_endpoints_file;
	int audit_durable; /* bool */
	char *tls_cert_file;
	char *tls_key_file;
	int behind_tls_proxy; /* bool */
	char *metrics_allow;  /* comma-separated CIDR list; "" = token needed */
	/* Whole-country statistics from snapshots (schema 008) once the
	 * pathways are at least this many; 0: always. */
	int stats_snapshot_pathways;
};

enum config_type {
	CONFIG_BOOL,
	CONFIG_INT,
	CONFIG_DURATION,
	CONFIG_TIME,
	CONFIG_ENUM,
	CONFIG_PATH,
	CONFIG_STRING,
};

/* A change of the key takes effect only when the daemon restarts. */
#define CONFIG_RESTART 1u

/* One row of the table.  Borrowed from the table: never freed. */
struct config_key {
	const char *key;
	enum config_type type;
	size_t offset; /* into struct config: an int or a char * */
	long min, max; /* integer, duration: bounds in the key's unit */
	int unit_ms;   /* duration: milliseconds per unit (1 or 1000) */
	const char *const *words; /* enum: NULL-terminated */
	/* string: a check of the text beyond its type (NULL: none) */
	bool (*check)(const char *value, char *err, size_t errlen);
	const char *fallback; /* the default, as a file would spell it */
	unsigned flags;	      /* CONFIG_RESTART */
};

/* The table, in the order painpath.conf(5) lists it. */
const struct config_key *config_keys(size_t *count);
const struct config_key *config_key_find(const char *key);
const char *config_type_name(enum config_type type);

void config_defaults(struct config *cfg);
void config_free(struct config *cfg);
/* Sets one key from text (a file line or a flag); on failure cfg keeps
 * the key's previous value and err says why. */
bool config_set(struct config *cfg, const char *key, const char *value,
		char *err, size_t errlen) __attribute__((warn_unused_result));
bool config_load_file(struct config *cfg, const char *path, char *err,
		      size_t errlen) __attribute__((warn_unused_result));
/* Rules between keys, checked once the file and the flags are read. */
bool config_validate(const struct config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The key's value in cfg as a file would spell it; returns the length
 * (snprintf's: it may be more than len - 1). */
int config_format(const struct config *cfg, const struct config_key *k,
		  char *buf, size_t len);
/* Every key as "key = value" lines, in table order. */
void config_print(const struct config *cfg, FILE *out);

/* A key whose value differs between two configs. */
struct config_change {
	const char *key; /* borrowed from the table */
	bool restart;	 /* only a restart applies it */
};

/* The keys whose values differ between running and next, in table order.
 * Writes at most max of them to out; returns how many differ. */
size_t config_diff(const struct config *running, const struct config *next,
		   struct config_change *out, size_t max);
/* Gives next the running values of every CONFIG_RESTART key, so that
 * applying next changes only what a reload may change. */
bool config_keep_restart_keys(struct config *next, const struct config *running)
	__attribute__((warn_unused_result));

#endif
