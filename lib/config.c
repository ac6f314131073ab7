#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PAINPATH_SOURCE_DIR
#define PAINPATH_SOURCE_DIR "."
#endif

enum param_type { PARAM_STRING, PARAM_INT };

struct param {
	const char *key;
	enum param_type type;
	size_t offset;
	long min, max;
	const char *fallback;
};

#define STR(field, def)                                                        \
	{                                                                      \
#field, PARAM_STRING, offsetof(struct config, field), 0, 0,    \
			def                                                    \
	}
#define INT(field, lo, hi, def)                                                \
	{                                                                      \
#field, PARAM_INT, offsetof(struct config, field), lo, hi,     \
			#def                                                   \
	}

static const struct param params[] = {
	STR(listen, "127.0.0.1"),
	INT(port, 0, 65535, 8080),
	STR(db, "dbname=painpath"),
	STR(models_dir, PAINPATH_SOURCE_DIR "/config/models"),
	STR(schema_dir, PAINPATH_SOURCE_DIR "/schema"),
	STR(log_level, "info"),
	INT(pool_size, 1, 256, 8),
	INT(max_waiting, 0, 100000, 1024),
	INT(acquire_timeout_ms, 1, 600000, 5000),
	INT(statement_timeout_ms, 1, 3600000, 10000),
	INT(query_timeout_ms, 1, 3600000, 15000),
	INT(max_body_bytes, 1024, 1 << 28, 4194304),
	INT(max_batch, 1, 100000, 1000),
	INT(request_timeout_s, 1, 3600, 30),
	INT(max_connections, 1, 8192, 4096),
	INT(db_wait_s, 0, 3600, 30),
	INT(shutdown_grace_s, 0, 3600, 10),
	INT(retry_after_s, 1, 3600, 1),
	STR(report_time, "02:00"),
	STR(report_zone, "Europe/Oslo"),
	INT(report_enabled, 0, 1, 1),
	STR(tokens_file, ""),
	STR(db_read, ""),
	INT(ingest_groups, 1, 256, 4),
	INT(audit_durable, 0, 1, 1),
	STR(fhir_base_url, ""),
	STR(report_endpoints_file, ""),
};

#define NPARAMS (sizeof(params) / sizeof(params[0]))

static bool set_param(struct config *cfg, const struct param *p,
		      const char *value, char *err, size_t errlen)
{
	char *target = (char *)cfg + p->offset;

	if (p->type == PARAM_STRING) {
		char **s = (char **)(void *)target;
		free(*s);
		*s = strdup(value);
		return *s != NULL;
	}
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < p->min ||
	    v > p->max) {
		snprintf(err, errlen, "%s must be an integer from %ld to %ld",
			 p->key, p->min, p->max);
		return false;
	}
	*(int *)(void *)target = (int)v;
	return true;
}

void config_defaults(struct config *cfg)
{
	char ignored[8];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NPARAMS; i++)
		if (!set_param(cfg, &params[i], params[i].fallback, ignored,
			       sizeof(ignored)))
			abort(); /* a default out of its own bounds */
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < NPARAMS; i++)
		if (params[i].type == PARAM_STRING)
			free(*(char **)(void *)((char *)cfg +
						params[i].offset));
	memset(cfg, 0, sizeof(*cfg));
}

bool config_set(struct config *cfg, const char *key, const char *value,
		char *err, size_t errlen)
{
	for (size_t i = 0; i < NPARAMS; i++)
		if (strcmp(params[i].key, key) == 0)
			return set_param(cfg, &params[i], value, err, errlen);
	snprintf(err, errlen, "unknown setting \"%s\"", key);
	return false;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

bool config_load_file(struct config *cfg, const char *path, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], why[256];
	int lineno = 0;
	bool ok = true;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		char *s = trim(line), *eq;
		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
				 path, lineno);
			ok = false;
			break;
		}
		*eq = '\0';
		if (!config_set(cfg, trim(s), trim(eq + 1), why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			ok = false;
		}
	}
	fclose(f);
	return ok;
}
