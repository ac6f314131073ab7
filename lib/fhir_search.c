#include "fhir_search.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_capability.h"
#include "fhir_subscription.h"

#define COUNT(a)   (sizeof(a) / sizeof((a)[0]))
#define DAY_MILLIS 86400000LL

/* Where each parameter of fhir_capability's rows reads the resource
 * (check_fhir_search holds the two tables together). */
static const struct {
	const char *type;
	const char *param;
	const char *element;
	enum fhir_search_kind kind;
} params[] = {
	{"EpisodeOfCare", "_id", "id", FHIR_SK_ID},
	{"EpisodeOfCare", "_lastUpdated", "meta.lastUpdated", FHIR_SK_DATE},
	{"EpisodeOfCare", "identifier", "identifier", FHIR_SK_IDENTIFIER},
	{"EpisodeOfCare", "patient", "patient", FHIR_SK_REFERENCE},
	{"EpisodeOfCare", "status", "status", FHIR_SK_CODE},
	{"EpisodeOfCare", "organization", "managingOrganization",
	 FHIR_SK_REFERENCE},
	{"ServiceRequest", "_id", "id", FHIR_SK_ID},
	{"ServiceRequest", "_lastUpdated", "meta.lastUpdated", FHIR_SK_DATE},
	{"ServiceRequest", "identifier", "identifier", FHIR_SK_IDENTIFIER},
	{"ServiceRequest", "patient", "subject", FHIR_SK_REFERENCE},
	{"ServiceRequest", "status", "status", FHIR_SK_CODE},
	{"ServiceRequest", "requester", "requester", FHIR_SK_REFERENCE},
	{"ServiceRequest", "performer", "performer", FHIR_SK_REFERENCE},
	{"ServiceRequest", "authored", "authoredOn", FHIR_SK_DATE},
	{"Task", "_id", "id", FHIR_SK_ID},
	{"Task", "_lastUpdated", "meta.lastUpdated", FHIR_SK_DATE},
	{"Task", "identifier", "identifier", FHIR_SK_IDENTIFIER},
	{"Task", "patient", "for", FHIR_SK_REFERENCE},
	{"Task", "status", "status", FHIR_SK_CODE},
	{"Task", "business-status", "businessStatus", FHIR_SK_CODING},
	{"Task", "owner", "owner", FHIR_SK_REFERENCE},
	{"Task", "requester", "requester", FHIR_SK_REFERENCE},
	{"Task", "focus", "focus", FHIR_SK_REFERENCE},
	{"Task", "modified", "lastModified", FHIR_SK_DATE},
	{"Task", "deadline", "restriction.period.end", FHIR_SK_DATE},
};

static int param_row(const char *type, const char *name)
{
	for (size_t i = 0; i < COUNT(params); i++)
		if (strcmp(params[i].type, type) == 0 &&
		    strcmp(params[i].param, name) == 0)
			return (int)i;
	return -1;
}

/* --- dates ----------------------------------------------------------------
 */

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* YYYY, YYYY-MM, YYYY-MM-DD as UTC ranges. */
static bool date_only_range(const char *t, size_t len, cal_millis *lo,
			    cal_millis *hi)
{
	int y, m = 1, d = 1;
	cal_date from, to;

	if (!digits(t, 4) || (len != 4 && len != 7 && len != 10) ||
	    (len >= 7 && (t[4] != '-' || !digits(t + 5, 2))) ||
	    (len == 10 && (t[7] != '-' || !digits(t + 8, 2))))
		return false;
	y = atoi(t);
	if (len >= 7)
		m = atoi(t + 5);
	if (len == 10)
		d = atoi(t + 8);
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	from = calendar_date(y, m, d);
	if (len == 10) {
		char check[CAL_DATE_LEN];
		calendar_format_date(from, check);
		if (strncmp(check, t, 10) != 0)
			return false; /* 2025-02-30 */
		to = from + 1;
	} else {
		to = len == 7 ? calendar_add_months(from, 1)
			      : calendar_date(y + 1, 1, 1);
	}
	*lo = (cal_millis)from * DAY_MILLIS;
	*hi = (cal_millis)to * DAY_MILLIS;
	return true;
}

bool fhir_search_date_range(const char *text, cal_millis *lo, cal_millis *hi)
{
	char buf[64];
	size_t len = text ? strlen(text) : 0;
	const char *time = text ? strchr(text, 'T') : NULL;
	bool fraction;

	if (time == NULL)
		return date_only_range(text, len, lo, hi);
	if (time - text != 10 || len >= sizeof(buf) - 8 ||
	    !date_only_range(text, 10, lo, hi))
		return false;
	/* hh:mm without seconds, and no zone (UTC), completed. */
	snprintf(buf, sizeof(buf), "%s", text);
	if (strlen(time) == 6)
		snprintf(buf + 16, sizeof(buf) - 16, ":00%s", time + 6);
	if (strpbrk(buf + 11, "Z+-") == NULL)
		strcat(buf, "Z");
	fraction = strchr(buf, '.') != NULL;
	if (!calendar_parse_timestamp(buf, lo))
		return false;
	*hi = *lo + (fraction ? 1 : 1000);
	return true;
}

static bool date_term(const char *value, struct fhir_search_term *t,
		      struct fhir_error *err)
{
	static const char *const prefixes[] = {"eq", "lt", "le", "gt", "ge"};
	const char *v = value;

	t->prefix = FHIR_DATE_EQ;
	for (size_t i = 0; i < COUNT(prefixes); i++)
		if (strncmp(value, prefixes[i], 2) == 0) {
			t->prefix = (enum fhir_date_prefix)i;
			v = value + 2;
		}
	if (!fhir_search_date_range(v, &t->lo, &t->hi))
		return fhir_error_typed(err, ERR_INVALID_REQUEST, "value", NULL,
					"%s: \"%s\" is not a date (prefix "
					"eq, lt, le, gt or ge, then YYYY, "
					"YYYY-MM, YYYY-MM-DD or a dateTime)",
					t->name, value);
	return true;
}

static bool date_matches(const struct fhir_search_term *t, const char *text)
{
	cal_millis lo, hi;

	if (text == NULL || !fhir_search_date_range(text, &lo, &hi))
		return false;
	switch (t->prefix) {
	case FHIR_DATE_EQ:
		return t->lo <= lo && hi <= t->hi;
	case FHIR_DATE_LT:
		return lo < t->lo;
	case FHIR_DATE_LE:
		return lo < t->hi;
	case FHIR_DATE_GT:
		return hi > t->hi;
	case FHIR_DATE_GE:
		return hi > t->lo;
	}
	return false;
}

/* --- parsing ----------------------------------------------------------------
 */

static bool parse_count(const char *value, struct fhir_search *out,
			struct fhir_error *err)
{
	char *end;
	long v = strtol(value, &end, 10);

	if (value[0] == '\0' || *end != '\0' || v < 0 ||
	    v > FHIR_SEARCH_COUNT_MAX)
		return fhir_error_set(err, ERR_INVALID_REQUEST, NULL,
				      "_count must be 0-%d",
				      FHIR_SEARCH_COUNT_MAX);
	out->count = (int)v;
	return true;
}

static bool parse_include(const char *value, struct fhir_search *out,
			  struct fhir_error *err)
{
	const struct fhir_resource_row *row = fhir_capability_find(out->type);

	for (const char *const *i = row ? row->includes : NULL;
	     i != NULL && *i != NULL; i++)
		if (strcmp(*i, value) == 0) {
			out->include_focus = true;
			return true;
		}
	return fhir_error_typed(err, ERR_INVALID_REQUEST, "not-supported", NULL,
				"_include=%s is not supported here%s", value,
				row && row->includes ? " (Task:focus is)" : "");
}

static bool parse_term(const char *name_in, const char *value,
		       struct fhir_search *out, struct fhir_error *err)
{
	char name[64];
	char *colon;
	struct fhir_search_term *t;
	int row;

	snprintf(name, sizeof(name), "%s", name_in);
	colon = strchr(name, ':');
	if (colon != NULL)
		*colon = '\0';
	row = param_row(out->type, name);
	if (row < 0)
		return fhir_error_typed(
			err, ERR_INVALID_REQUEST, "not-supported", NULL,
			"%s is not a search parameter of %s", name, out->type);
	if (colon != NULL && (strcmp(colon + 1, "identifier") != 0 ||
			      params[row].kind != FHIR_SK_REFERENCE))
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported", NULL,
					"the modifier :%s is not supported on "
					"%s (only :identifier on references)",
					colon + 1, name);
	if (out->term_count >= FHIR_SEARCH_MAX_TERMS)
		return fhir_error_set(err, ERR_INVALID_REQUEST, NULL,
				      "at most %d search parameters",
				      FHIR_SEARCH_MAX_TERMS);
	t = &out->terms[out->term_count++];
	t->name = params[row].param;
	t->element = params[row].element;
	t->kind = params[row].kind;
	if (t->kind == FHIR_SK_DATE)
		return date_term(value, t, err);
	if (!fhir_split_values(value, &t->values[0][0], FHIR_SEARCH_VALUE_MAX,
			       FHIR_SEARCH_MAX_VALUES, &t->value_count))
		return fhir_error_set(err, ERR_INVALID_REQUEST, NULL,
				      "%s has an empty or too long value",
				      name);
	return true;
}

bool fhir_search_parse(const char *type, const struct fhir_query_param *qp,
		       size_t count, struct fhir_search *out,
		       struct fhir_error *err)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->type, sizeof(out->type), "%s", type);
	out->count = FHIR_SEARCH_COUNT_DEF;
	for (size_t i = 0; i < count; i++) {
		const char *name = qp[i].name, *value = qp[i].value;
		bool ok;
		if (strcmp(name, "_count") == 0)
			ok = parse_count(value, out, err);
		else if (strcmp(name, "_include") == 0)
			ok = parse_include(value, out, err);
		else if (strcmp(name, FHIR_CURSOR_PARAM) == 0)
			ok = (out->has_cursor = fhir_search_cursor_parse(
				      value, &out->cursor_micros,
				      out->cursor_pathway, &out->cursor_seq)) ||
			     fhir_error_set(err, ERR_INVALID_REQUEST, NULL,
					    "cursor must be a next link's");
		else
			ok = parse_term(name, value, out, err);
		if (!ok)
			return false;
	}
	return true;
}

/* --- matching ---------------------------------------------------------------
 */

static const json_t *element_at(const json_t *r, const char *path)
{
	char buf[64], *save = NULL;
	const json_t *v = r;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && v != NULL;
	     k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	return v;
}

static const char *text(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool one_matches(const struct fhir_search_term *t, const json_t *el,
			const char *value)
{
	const json_t *item;
	size_t i;

	switch (t->kind) {
	case FHIR_SK_ID:
	case FHIR_SK_CODE:
		return fhir_token_matches(NULL, json_string_value(el), value);
	case FHIR_SK_CODING:
		json_array_foreach(json_object_get(el, "coding"), i, item)
		{
			if (fhir_token_matches(text(item, "system"),
					       text(item, "code"), value))
				return true;
		}
		return false;
	case FHIR_SK_IDENTIFIER:
		json_array_foreach(el, i, item)
		{
			if (fhir_token_matches(text(item, "system"),
					       text(item, "value"), value))
				return true;
		}
		return false;
	case FHIR_SK_REFERENCE:
		if (!json_is_array(el))
			return el != NULL && fhir_reference_matches(el, value);
		json_array_foreach(el, i, item)
		{
			if (fhir_reference_matches(item, value))
				return true;
		}
		return false;
	case FHIR_SK_DATE:
		return date_matches(t, json_string_value(el));
	}
	return false;
}

static bool term_matches(const struct fhir_search_term *t, const json_t *r)
{
	const json_t *el = element_at(r, t->element);

	if (t->kind == FHIR_SK_DATE)
		return one_matches(t, el, NULL);
	for (size_t i = 0; i < t->value_count; i++)
		if (one_matches(t, el, t->values[i]))
			return true;
	return false;
}

bool fhir_search_matches(const struct fhir_search *s, const json_t *resource)
{
	const char *type = text(resource, "resourceType");

	if (type == NULL || strcmp(type, s->type) != 0)
		return false;
	for (size_t i = 0; i < s->term_count; i++)
		if (!term_matches(&s->terms[i], resource))
			return false;
	return true;
}

const struct fhir_search_term *fhir_search_term(const struct fhir_search *s,
						const char *name)
{
	for (size_t i = 0; i < s->term_count; i++)
		if (strcmp(s->terms[i].name, name) == 0)
			return &s->terms[i];
	return NULL;
}

/* --- the cursor -------------------------------------------------------------
 */

/* Microseconds since 1970 of 0001-01-01 and of 9999-12-31T23:59:59.999999. */
#define CURSOR_MICROS_MIN (-62135596800000000LL)
#define CURSOR_MICROS_MAX 253402300799999999LL

void fhir_search_cursor(long long micros, const char *pathway_id, int seq,
			char *out, size_t len)
{
	char plain[ID_MAX + 48];
	int n = snprintf(plain, sizeof(plain), "%lld.%d.%s", micros, seq,
			 pathway_id);

	out[0] = '\0';
	for (int i = 0; i < n && (size_t)(2 * i + 2) < len; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)plain[i]);
}

bool fhir_search_cursor_parse(const char *text_in, long long *micros,
			      char pathway_id[ID_MAX + 1], int *seq)
{
	char plain[ID_MAX + 48], *end;
	size_t len = strlen(text_in), i;
	const char *id;
	long seq_long;

	if (len == 0 || len % 2 != 0 || len / 2 >= sizeof(plain))
		return false;
	for (i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(text_in + 2 * i, "%2x", &v) != 1 || v == 0)
			return false;
		plain[i] = (char)v;
	}
	plain[i] = '\0';
	errno = 0;
	*micros = strtoll(plain, &end, 10);
	/* A forged value outside PostgreSQL's timestamps would fail the
	 * search's statement (a 500) rather than the request (a 400). */
	if (end == plain || *end != '.' || errno != 0 ||
	    *micros < CURSOR_MICROS_MIN || *micros > CURSOR_MICROS_MAX)
		return false;
	seq_long = strtol(end + 1, &end, 10);
	if (*end != '.' || errno != 0 || seq_long < 0 || seq_long > INT_MAX)
		return false;
	*seq = (int)seq_long;
	id = end + 1;
	if (!domain_valid_id(id))
		return false;
	snprintf(pathway_id, ID_MAX + 1, "%s", id);
	return true;
}
