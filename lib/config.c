#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "cidr.h"

/* Where the models and the schema are when no setting says otherwise: the
 * source tree for a development build, the installed share directory for
 * `make install`'s build (the Makefile defines both then). */
#ifndef PAINPATH_SOURCE_DIR
#define PAINPATH_SOURCE_DIR "."
#endif
#ifndef PAINPATH_MODELS_DIR
#define PAINPATH_MODELS_DIR PAINPATH_SOURCE_DIR "/config/models"
#endif
#ifndef PAINPATH_SCHEMA_DIR
#define PAINPATH_SCHEMA_DIR PAINPATH_SOURCE_DIR "/schema"
#endif

static const char *const log_levels[] = {"error", "warning", "info", "debug",
					 NULL};
static const char *const log_formats[] = {"text", "json", NULL};

static bool check_zone(const char *value, char *err, size_t errlen)
{
	struct cal_zone zone;

	if (calendar_zone_parse(value, &zone))
		return true;
	snprintf(err, errlen, "\"%s\" is not a time zone the calendar knows",
		 value);
	return false;
}

static bool check_cidrs(const char *value, char *err, size_t errlen)
{
	struct cidr_list list;

	if (!cidr_list_parse(value, &list, err, errlen))
		return false;
	cidr_list_free(&list);
	return true;
}

#define AT(field) offsetof(struct config, field)
#define ROW(field, kind, ...)                                                  \
	{                                                                      \
		.key = #field, .type = kind, .offset = AT(field), __VA_ARGS__  \
	}
#define BOOL(field, def, fl)                                                   \
	ROW(field, CONFIG_BOOL, .min = 0, .max = 1, .fallback = #def,          \
	    .flags = fl)
#define INT(field, lo, hi, def, fl)                                            \
	ROW(field, CONFIG_INT, .min = lo, .max = hi, .fallback = #def,         \
	    .flags = fl)
#define MS(field, lo, hi, def, fl)                                             \
	ROW(field, CONFIG_DURATION, .min = lo, .max = hi, .unit_ms = 1,        \
	    .fallback = #def, .flags = fl)
#define SECS(field, lo, hi, def, fl)                                           \
	ROW(field, CONFIG_DURATION, .min = lo, .max = hi, .unit_ms = 1000,     \
	    .fallback = #def, .flags = fl)
#define TIME(field, def, fl)                                                   \
	ROW(field, CONFIG_TIME, .fallback = def, .flags = fl)
#define ENUM(field, list, def, fl)                                             \
	ROW(field, CONFIG_ENUM, .words = list, .fallback = def, .flags = fl)
#define PATH(field, def, fl)                                                   \
	ROW(field, CONFIG_PATH, .fallback = def, .flags = fl)
#define STR(field, def, chk, fl)                                               \
	ROW(field, CONFIG_STRING, .check = chk, .fallback = def, .flags = fl)

#define RESTART CONFIG_RESTART

/* The pool copies its settings when it is made, the schema is applied and
 * the listener bound at start: those keys say RESTART. */
static const struct config_key table[] = {
	STR(listen, "127.0.0.1", NULL, RESTART),
	INT(port, 0, 65535, 8080, RESTART),
	BOOL(behind_tls_proxy, 0, RESTART),
	PATH(tls_cert_file, "", 0),
	PATH(tls_key_file, "", 0),
	STR(db, "dbname=painpath", NULL, RESTART),
	STR(db_read, "", NULL, RESTART),
	INT(pool_size, 1, 256, 8, RESTART),
	INT(max_waiting, 0, 100000, 1024, RESTART),
	MS(acquire_timeout_ms, 1, 600000, 5000, RESTART),
	MS(statement_timeout_ms, 1, 3600000, 10000, RESTART),
	MS(query_timeout_ms, 1, 3600000, 15000, RESTART),
	SECS(db_wait_s, 0, 3600, 30, RESTART),
	INT(ingest_groups, 1, 256, 2, 0),
	BOOL(audit_durable, 1, 0),
	PATH(models_dir, PAINPATH_MODELS_DIR, 0),
	PATH(schema_dir, PAINPATH_SCHEMA_DIR, RESTART),
	PATH(tokens_file, "", 0),
	STR(metrics_allow, "", check_cidrs, 0),
	STR(fhir_base_url, "", NULL, RESTART),
	PATH(report_endpoints_file, "", RESTART),
	INT(max_body_bytes, 1024, 1 << 28, 4194304, 0),
	INT(max_batch, 1, 100000, 1000, 0),
	SECS(request_timeout_s, 1, 3600, 30, 0),
	INT(max_connections, 1, 8192, 4096, 0),
	SECS(shutdown_grace_s, 0, 3600, 10, 0),
	SECS(retry_after_s, 1, 3600, 1, 0),
	BOOL(report_enabled, 1, RESTART),
	INT(stats_snapshot_pathways, 0, 2000000000, 200000, 0),
	TIME(report_time, "02:00", 0),
	STR(report_zone, "Europe/Oslo", check_zone, 0),
	ENUM(log_level, log_levels, "info", 0),
	ENUM(log_format, log_formats, "text", 0),
};

#define NKEYS (sizeof(table) / sizeof(table[0]))

const struct config_key *config_keys(size_t *count)
{
	*count = NKEYS;
	return table;
}

const struct config_key *config_key_find(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

const char *config_type_name(enum config_type type)
{
	static const char *const names[] = {
		[CONFIG_BOOL] = "bool",		[CONFIG_INT] = "integer",
		[CONFIG_DURATION] = "duration", [CONFIG_TIME] = "time",
		[CONFIG_ENUM] = "enum",		[CONFIG_PATH] = "path",
		[CONFIG_STRING] = "string"};

	return names[type];
}

static int *int_at(const struct config *cfg, const struct config_key *k)
{
	return (int *)(void *)((char *)cfg + k->offset);
}

static char **str_at(const struct config *cfg, const struct config_key *k)
{
	return (char **)(void *)((char *)cfg + k->offset);
}

static bool is_text_key(const struct config_key *k)
{
	return k->type == CONFIG_TIME || k->type == CONFIG_ENUM ||
	       k->type == CONFIG_PATH || k->type == CONFIG_STRING;
}

/* --- parsing one value by type ------------------------------------------- */

static bool parse_bool(const char *v, long *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return true;
		}
	}
	return false;
}

/* Digits only: strtol would also take blanks, signs and "0x". */
static bool parse_decimal(const char *v, const char **end, long long *out)
{
	const char *p = v;
	long long n = 0;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (LLONG_MAX - 9) / 10)
			return false;
		n = n * 10 + (*p - '0');
	}
	*out = v[0] == '-' ? -n : n;
	*end = p;
	return true;
}

static bool parse_int(const struct config_key *k, const char *v, long *out,
		      char *err, size_t errlen)
{
	const char *end;
	long long n;

	if (!parse_decimal(v, &end, &n) || *end != '\0' || n < k->min ||
	    n > k->max) {
		snprintf(err, errlen, "%s must be an integer from %ld to %ld",
			 k->key, k->min, k->max);
		return false;
	}
	*out = (long)n;
	return true;
}

/* A number in the key's unit, or with one of these units after it. */
static bool parse_duration(const struct config_key *k, const char *v, long *out,
			   char *err, size_t errlen)
{
	static const struct {
		const char *name;
		long long ms;
	} units[] = {{"ms", 1},
		     {"s", 1000},
		     {"min", 60000},
		     {"h", 3600000},
		     {"d", 86400000}};
	const char *unit = k->unit_ms == 1 ? "milliseconds" : "seconds";
	const char *end;
	long long n, ms = k->unit_ms;
	bool known = false;

	if (!parse_decimal(v, &end, &n))
		goto bad;
	while (*end == ' ')
		end++;
	for (size_t i = 0; *end && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].name) == 0) {
			ms = units[i].ms;
			known = true;
		}
	if (*end != '\0' && !known)
		goto bad;
	if (n > LLONG_MAX / 86400000 || n < -(LLONG_MAX / 86400000))
		goto bad;
	n *= ms;
	if (n % k->unit_ms != 0) {
		snprintf(err, errlen, "%s must be a whole number of %s", k->key,
			 unit);
		return false;
	}
	n /= k->unit_ms;
	if (n < k->min || n > k->max)
		goto bad;
	*out = (long)n;
	return true;
bad:
	snprintf(err, errlen,
		 "%s must be a duration from %ld to %ld %s (a unit ms, s, "
		 "min, h or d may follow the number)",
		 k->key, k->min, k->max, unit);
	return false;
}

/* "H:MM" or "HH:MM"; written back as "HH:MM". */
static bool parse_time(const struct config_key *k, const char *v, char *out,
		       char *err, size_t errlen)
{
	const char *end;
	long long hh, mm;

	if (!parse_decimal(v, &end, &hh) || end - v > 2 || *end != ':' ||
	    !isdigit((unsigned char)end[1]) ||
	    !isdigit((unsigned char)end[2]) || end[3] != '\0' || hh < 0 ||
	    hh > 23) {
		snprintf(err, errlen, "%s must be a time of day HH:MM", k->key);
		return false;
	}
	mm = (end[1] - '0') * 10 + (end[2] - '0');
	if (mm > 59) {
		snprintf(err, errlen, "%s must be a time of day HH:MM", k->key);
		return false;
	}
	out[0] = (char)('0' + hh / 10);
	out[1] = (char)('0' + hh % 10);
	out[2] = ':';
	out[3] = end[1];
	out[4] = end[2];
	out[5] = '\0';
	return true;
}

static bool parse_enum(const struct config_key *k, const char *v, char *err,
		       size_t errlen)
{
	size_t used = 0;

	for (size_t i = 0; k->words[i]; i++)
		if (strcmp(v, k->words[i]) == 0)
			return true;
	used = (size_t)snprintf(err, errlen, "%s must be one of", k->key);
	for (size_t i = 0; k->words[i] && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, " %s",
					 k->words[i]);
	return false;
}

static bool has_control(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return true;
	return false;
}

static bool set_text(char **target, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return false;
	free(*target);
	*target = copy;
	return true;
}

/* The key's own check, with the key named in its refusal. */
static bool check_text(const struct config_key *k, const char *value, char *err,
		       size_t errlen)
{
	char why[256];

	if (k->check(value, why, sizeof(why)))
		return true;
	snprintf(err, errlen, "%s: %s", k->key, why);
	return false;
}

/* Checks value against the key's type; stores it only when valid. */
static bool set_key(struct config *cfg, const struct config_key *k,
		    const char *value, char *err, size_t errlen)
{
	char normal[6];
	long n = 0;
	bool ok;

	switch (k->type) {
	case CONFIG_BOOL:
		ok = parse_bool(value, &n);
		if (!ok)
			snprintf(err, errlen,
				 "%s must be a boolean (0 or 1, no or yes, "
				 "false or true, off or on)",
				 k->key);
		break;
	case CONFIG_INT:
		ok = parse_int(k, value, &n, err, errlen);
		break;
	case CONFIG_DURATION:
		ok = parse_duration(k, value, &n, err, errlen);
		break;
	case CONFIG_TIME:
		ok = parse_time(k, value, normal, err, errlen);
		value = normal;
		break;
	case CONFIG_ENUM:
		ok = parse_enum(k, value, err, errlen);
		break;
	default:
		ok = !has_control(value);
		if (!ok)
			snprintf(err, errlen,
				 "%s must not hold control characters", k->key);
		else if (k->check != NULL)
			ok = check_text(k, value, err, errlen);
		break;
	}
	if (!ok)
		return false;
	if (!is_text_key(k)) {
		*int_at(cfg, k) = (int)n;
		return true;
	}
	if (!set_text(str_at(cfg, k), value)) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/* --- the config as a whole ----------------------------------------------- */

void config_defaults(struct config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++)
		if (!set_key(cfg, &table[i], table[i].fallback, err,
			     sizeof(err))) {
			/* A default its own row refuses, or no memory at
			 * start: nothing sensible can run. */
			fprintf(stderr, "config: default of %s: %s\n",
				table[i].key, err);
			abort();
		}
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (is_text_key(&table[i]))
			free(*str_at(cfg, &table[i]));
	memset(cfg, 0, sizeof(*cfg));
}

bool config_set(struct config *cfg, const char *key, const char *value,
		char *err, size_t errlen)
{
	const struct config_key *k = config_key_find(key);

	if (k == NULL) {
		snprintf(err, errlen, "unknown setting \"%s\"", key);
		return false;
	}
	return set_key(cfg, k, value, err, errlen);
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

/* One line of a file; false with err set (without the file:line). */
static bool load_line(struct config *cfg, char *line, char *err, size_t errlen)
{
	char *s = trim(line), *eq;

	if (*s == '\0' || *s == '#')
		return true;
	eq = strchr(s, '=');
	if (eq == NULL) {
		snprintf(err, errlen, "expected key = value");
		return false;
	}
	*eq = '\0';
	return config_set(cfg, trim(s), trim(eq + 1), err, errlen);
}

bool config_load_file(struct config *cfg, const char *path, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[4096], why[512];
	int lineno = 0;
	bool ok = true;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		/* A line longer than the buffer would be read as two. */
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(why, sizeof(why), "line too long");
			ok = false;
		} else {
			ok = load_line(cfg, line, why, sizeof(why));
		}
		if (!ok)
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
	}
	if (ok && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		ok = false;
	}
	fclose(f);
	return ok;
}

bool config_validate(const struct config *cfg, char *err, size_t errlen)
{
	if ((cfg->tls_cert_file[0] == '\0') != (cfg->tls_key_file[0] == '\0')) {
		snprintf(err, errlen,
			 "tls_cert_file and tls_key_file go together: set "
			 "both or neither");
		return false;
	}
	return true;
}

int config_format(const struct config *cfg, const struct config_key *k,
		  char *buf, size_t len)
{
	if (is_text_key(k))
		return snprintf(buf, len, "%s", *str_at(cfg, k));
	return snprintf(buf, len, "%d", *int_at(cfg, k));
}

void config_print(const struct config *cfg, FILE *out)
{
	char value[4096];

	for (size_t i = 0; i < NKEYS; i++) {
		config_format(cfg, &table[i], value, sizeof(value));
		fprintf(out, "%s = %s\n", table[i].key, value);
	}
}

static bool same_value(const struct config *a, const struct config *b,
		       const struct config_key *k)
{
	if (is_text_key(k))
		return strcmp(*str_at(a, k), *str_at(b, k)) == 0;
	return *int_at(a, k) == *int_at(b, k);
}

size_t config_diff(const struct config *running, const struct config *next,
		   struct config_change *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		if (same_value(running, next, &table[i]))
			continue;
		if (n < max)
			out[n] = (struct config_change){
				table[i].key,
				(table[i].flags & CONFIG_RESTART) != 0};
		n++;
	}
	return n;
}

bool config_keep_restart_keys(struct config *next, const struct config *running)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &table[i];

		if (!(k->flags & CONFIG_RESTART) ||
		    same_value(running, next, k))
			continue;
		if (!is_text_key(k))
			*int_at(next, k) = *int_at(running, k);
		else if (!set_text(str_at(next, k), *str_at(running, k)))
			return false;
	}
	return true;
}
