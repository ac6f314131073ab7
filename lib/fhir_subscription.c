#include "fhir_subscription.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* How a criterion reads the resource. */
enum element_kind {
	EL_CODE,       /* a code element: status */
	EL_CODING,     /* a CodeableConcept: businessStatus */
	EL_IDENTIFIER, /* an Identifier array */
	EL_REFERENCE,  /* a Reference, logical (identifier) or literal */
	EL_ID,	       /* the resource id */
};

/* The parameters a Subscription may use: the token and reference
 * parameters of fhir_capability's rows for Task and EpisodeOfCare
 * (check_fhir_subscription holds the two tables together). */
static const struct {
	const char *type;
	const char *param;
	const char *element;
	enum element_kind kind;
} params[] = {
	{"Task", "_id", "id", EL_ID},
	{"Task", "status", "status", EL_CODE},
	{"Task", "business-status", "businessStatus", EL_CODING},
	{"Task", "identifier", "identifier", EL_IDENTIFIER},
	{"Task", "owner", "owner", EL_REFERENCE},
	{"Task", "requester", "requester", EL_REFERENCE},
	{"Task", "patient", "for", EL_REFERENCE},
	{"Task", "focus", "focus", EL_REFERENCE},
	{"EpisodeOfCare", "_id", "id", EL_ID},
	{"EpisodeOfCare", "status", "status", EL_CODE},
	{"EpisodeOfCare", "identifier", "identifier", EL_IDENTIFIER},
	{"EpisodeOfCare", "patient", "patient", EL_REFERENCE},
	{"EpisodeOfCare", "organization", "managingOrganization", EL_REFERENCE},
};

static int param_row(const char *type, const char *name)
{
	for (size_t i = 0; i < COUNT(params); i++)
		if (strcmp(params[i].type, type) == 0 &&
		    strcmp(params[i].param, name) == 0)
			return (int)i;
	return -1;
}

/* --- the endpoint ----------------------------------------------------------
 */

static bool why_not(char *why, size_t len, const char *reason)
{
	snprintf(why, len, "%s", reason);
	return false;
}

/* 127.0.0.0/8 written as four plain decimal octets. */
static bool loopback_ipv4(const char *host, size_t len)
{
	int octets = 0, value = -1;

	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? host[i] : '.';
		if (c >= '0' && c <= '9') {
			if (value == 0)
				return false; /* no leading zeros */
			value = (value < 0 ? 0 : value * 10) + (c - '0');
			if (value > 255)
				return false;
		} else if (c == '.' && value >= 0) {
			if (octets == 0 && value != 127)
				return false;
			octets++;
			value = -1;
		} else {
			return false;
		}
	}
	return octets == 4;
}

static bool loopback(const char *host, size_t len)
{
	return (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	       (len == 5 && strncmp(host, "[::1]", 5) == 0) ||
	       loopback_ipv4(host, len);
}

static bool host_chars_ok(const char *host, size_t len)
{
	if (len >= 2 && host[0] == '[')
		return host[len - 1] == ']' &&
		       strspn(host + 1, "0123456789abcdefABCDEF:.") == len - 2;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '.')
			return false;
	return len > 0;
}

/* ":port" with 1..65535, or nothing. */
static bool port_ok(const char *port, size_t len)
{
	long v = 0;

	if (len == 0)
		return true;
	if (port[0] != ':' || len < 2 || len > 6)
		return false;
	for (size_t i = 1; i < len; i++) {
		if (!isdigit((unsigned char)port[i]))
			return false;
		v = v * 10 + (port[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

bool fhir_subscription_endpoint_ok(const char *url, char *why, size_t why_len)
{
	bool https;
	const char *auth, *host_end;
	size_t auth_len, host_len;

	if (url == NULL || strlen(url) >= FHIR_URL_MAX)
		return why_not(why, why_len, "the endpoint must be a URL");
	for (const char *p = url; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == '#')
			return why_not(why, why_len,
				       "the endpoint holds a space, a fragment "
				       "or a non-ASCII character");
	https = strncasecmp(url, "https://", 8) == 0;
	if (!https && strncasecmp(url, "http://", 7) != 0)
		return why_not(why, why_len,
			       "the endpoint must be an https:// URL");
	auth = url + (https ? 8 : 7);
	auth_len = strcspn(auth, "/?");
	if (memchr(auth, '@', auth_len) != NULL)
		return why_not(why, why_len,
			       "the endpoint may not carry user information");
	/* The host ends at the port's ':' (after an IPv6 literal's ']'). */
	host_end = auth[0] == '[' ? memchr(auth, ']', auth_len) : NULL;
	host_end =
		host_end != NULL ? host_end + 1 : auth + strcspn(auth, ":/?");
	host_len = (size_t)(host_end - auth);
	if (host_len > auth_len || !host_chars_ok(auth, host_len) ||
	    !port_ok(host_end, auth_len - host_len))
		return why_not(why, why_len,
			       "the endpoint's host or port is not valid");
	if (!https && !loopback(auth, host_len))
		return why_not(why, why_len,
			       "the endpoint must be https unless it is on "
			       "loopback (127.0.0.0/8, [::1], localhost)");
	return true;
}

/* --- criteria --------------------------------------------------------------
 */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes [s, s+len) into out; '+' is a space as in a query. */
static bool decode(const char *s, size_t len, char *out, size_t out_len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return false;
			if (hex_digit(s[i + 1]) < 0 || hex_digit(s[i + 2]) < 0)
				return false;
			c = (char)(hex_digit(s[i + 1]) * 16 +
				   hex_digit(s[i + 2]));
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0' || n + 1 >= out_len)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return true;
}

bool fhir_split_values(const char *value, char *values, size_t value_max,
		       size_t max_values, size_t *count)
{
	size_t n = 0;

	*count = 0;
	for (const char *p = value;; p++) {
		char *out = values + *count * value_max;
		if (*p == '\\' && (p[1] == ',' || p[1] == '\\' || p[1] == '|' ||
				   p[1] == '$')) {
			/* keep "\|" escaped: it is not a system separator */
			if (p[1] == '|' && n + 1 < value_max)
				out[n++] = '\\';
			p++;
		} else if (*p == ',' || *p == '\0') {
			if (n == 0 || *count >= max_values)
				return false;
			out[n] = '\0';
			++*count;
			n = 0;
			if (*p == '\0')
				return true;
			continue;
		}
		if (n + 1 >= value_max)
			return false;
		out[n++] = *p;
	}
}

#define BAD_CRITERIA(err, ...)                                                 \
	fhir_error_set((err), ERR_INVALID_REQUEST, "Subscription.criteria",    \
		       __VA_ARGS__)

/* One "name[:modifier]=value" of the query. */
static bool parse_term(const char *type, const char *term, size_t len,
		       struct fhir_criterion *c, struct fhir_error *err)
{
	const char *eq = memchr(term, '=', len);
	char name[64], value[FHIR_SUB_VALUE_MAX * 2];
	const struct fhir_search_param *p;
	char *colon;
	int row;

	if (eq == NULL || eq == term || (size_t)(eq - term) >= sizeof(name) ||
	    !decode(term, (size_t)(eq - term), name, sizeof(name)) ||
	    !decode(eq + 1, len - (size_t)(eq - term) - 1, value,
		    sizeof(value)))
		return BAD_CRITERIA(err, "%s: each criterion is name=value",
				    "Subscription.criteria");
	colon = strchr(name, ':');
	if (colon != NULL) {
		if (strcmp(colon, ":identifier") != 0)
			return BAD_CRITERIA(err,
					    "the modifier %s is not supported "
					    "(only :identifier)",
					    colon);
		*colon = '\0';
	}
	row = param_row(type, name);
	p = fhir_capability_param(fhir_capability_find(type), name);
	if (row < 0 || p == NULL)
		return BAD_CRITERIA(err,
				    "%s is not a parameter a subscription may "
				    "use here (Task: _id, status, "
				    "business-status, identifier, owner, "
				    "requester, patient, focus; EpisodeOfCare: "
				    "_id, status, identifier, patient, "
				    "organization)",
				    name);
	if (colon != NULL && params[row].kind != EL_REFERENCE)
		return BAD_CRITERIA(
			err, ":identifier is for references, not %s", name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->type = p->type;
	if (!fhir_split_values(value, &c->values[0][0], FHIR_SUB_VALUE_MAX,
			       FHIR_SUB_MAX_VALUES, &c->value_count))
		return BAD_CRITERIA(err, "%s has an empty or too long value",
				    name);
	return true;
}

static bool parse_criteria(const char *text, struct fhir_subscription *out,
			   struct fhir_error *err)
{
	const char *q = strchr(text, '?');
	size_t type_len = q != NULL ? (size_t)(q - text) : strlen(text);

	if (type_len == 0 || type_len >= sizeof(out->resource_type))
		return BAD_CRITERIA(err,
				    "%s must be Task?... or EpisodeOfCare?...",
				    "Subscription.criteria");
	memcpy(out->resource_type, text, type_len);
	out->resource_type[type_len] = '\0';
	if (strcmp(out->resource_type, "Task") != 0 &&
	    strcmp(out->resource_type, "EpisodeOfCare") != 0)
		return BAD_CRITERIA(
			err,
			"subscriptions are on Task or EpisodeOfCare, "
			"not %s",
			out->resource_type);
	if (q == NULL || q[1] == '\0')
		return BAD_CRITERIA(err,
				    "%s must narrow the resources (owner=, "
				    "patient=, status=, ...)",
				    "Subscription.criteria");
	for (const char *t = q + 1; *t != '\0';) {
		size_t len = strcspn(t, "&");
		if (out->term_count >= FHIR_SUB_MAX_CRITERIA)
			return BAD_CRITERIA(err, "%s: at most 8 criteria",
					    "Subscription.criteria");
		if (!parse_term(out->resource_type, t, len,
				&out->terms[out->term_count++], err))
			return false;
		t += len + (t[len] == '&');
	}
	return true;
}

/* --- the channel -----------------------------------------------------------
 */

static bool parse_headers(const json_t *headers, struct fhir_subscription *out,
			  struct fhir_error *err)
{
	/* Headers the delivery sets itself. */
	static const char *const ours[] = {"content-type", "content-length",
					   "host", "x-painpath-signature",
					   "transfer-encoding"};
	const json_t *h;
	size_t i;

	if (headers == NULL)
		return true;
	if (!json_is_array(headers) ||
	    json_array_size(headers) > FHIR_SUB_MAX_HEADERS)
		return fhir_error_set(
			err, ERR_INVALID_REQUEST, "Subscription.channel.header",
			"at most 4 headers, each \"Name: value\"");
	json_array_foreach(headers, i, h)
	{
		const char *s = json_string_value(h);
		const char *colon = s != NULL ? strchr(s, ':') : NULL;
		bool ok = colon != NULL && colon != s &&
			  strlen(s) < FHIR_SUB_HEADER_MAX &&
			  strcspn(s, "\r\n") == strlen(s) &&
			  strcspn(s, " \t") >= (size_t)(colon - s);
		for (size_t k = 0; ok && k < COUNT(ours); k++)
			ok = !(strlen(ours[k]) == (size_t)(colon - s) &&
			       strncasecmp(s, ours[k], strlen(ours[k])) == 0);
		if (!ok)
			return fhir_error_set(
				err, ERR_INVALID_REQUEST,
				"Subscription.channel.header",
				"each header is \"Name: value\" on one line, "
				"under 256 characters, and not one the "
				"delivery sets (Content-Type, "
				"X-Painpath-Signature, ...)");
		snprintf(out->headers[out->header_count++], FHIR_SUB_HEADER_MAX,
			 "%s", s);
	}
	return true;
}

static bool parse_channel(const json_t *ch, struct fhir_subscription *out,
			  struct fhir_error *err)
{
	const char *type = json_string_value(json_object_get(ch, "type"));
	const char *endpoint =
		json_string_value(json_object_get(ch, "endpoint"));
	const json_t *payload = json_object_get(ch, "payload");
	char why[160];

	if (type == NULL || strcmp(type, "rest-hook") != 0)
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported",
					"Subscription.channel.type",
					"channel.type must be rest-hook");
	if (!fhir_subscription_endpoint_ok(endpoint, why, sizeof(why)))
		return fhir_error_set(err, ERR_INVALID_REQUEST,
				      "Subscription.channel.endpoint", "%s",
				      why);
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", endpoint);
	if (payload != NULL &&
	    (!json_is_string(payload) ||
	     strcmp(json_string_value(payload), FHIR_MIME) != 0))
		return fhir_error_typed(err, ERR_INVALID_REQUEST,
					"not-supported",
					"Subscription.channel.payload",
					"payload is empty (id-only) or "
					"application/fhir+json");
	out->full_payload = payload != NULL;
	return parse_headers(json_object_get(ch, "header"), out, err);
}

/* --- the resource ----------------------------------------------------------
 */

static bool parse_status(const json_t *r, struct fhir_subscription *out,
			 struct fhir_error *err)
{
	const char *status = json_string_value(json_object_get(r, "status"));

	/* The server decides active and error; a client asks for delivery
	 * (requested; active is read the same) or none (off). */
	if (status != NULL && (strcmp(status, "requested") == 0 ||
			       strcmp(status, "active") == 0)) {
		out->status = FHIR_SUB_REQUESTED;
		return true;
	}
	if (status != NULL && strcmp(status, "off") == 0) {
		out->status = FHIR_SUB_OFF;
		return true;
	}
	return fhir_error_set(err, ERR_INVALID_REQUEST, "Subscription.status",
			      "Subscription.status must be requested (or off)");
}

static bool parse_secret(const struct fhir_config *cfg, const json_t *r,
			 struct fhir_subscription *out, struct fhir_error *err)
{
	char url[FHIR_URL_MAX];
	const json_t *e;
	size_t i;

	fhir_config_extension_url(cfg, "signing-secret", url);
	json_array_foreach(json_object_get(r, "extension"), i, e)
	{
		const char *u = json_string_value(json_object_get(e, "url"));
		const char *s =
			json_string_value(json_object_get(e, "valueString"));
		if (u == NULL || strcmp(u, url) != 0)
			continue;
		if (s == NULL || strlen(s) < FHIR_SUB_SECRET_MIN ||
		    strlen(s) > FHIR_SUB_SECRET_MAX)
			return fhir_error_set(
				err, ERR_INVALID_REQUEST,
				"Subscription.extension",
				"the signing secret is a string of 32..256 "
				"characters");
		snprintf(out->secret, sizeof(out->secret), "%s", s);
	}
	return true;
}

static bool parse_reason_end(const json_t *r, struct fhir_subscription *out,
			     struct fhir_error *err)
{
	const char *reason = json_string_value(json_object_get(r, "reason"));
	const json_t *end = json_object_get(r, "end");

	if (reason == NULL || reason[0] == '\0' || strlen(reason) > 255)
		return fhir_error_set(err, ERR_INVALID_REQUEST,
				      "Subscription.reason",
				      "Subscription.reason is required (at "
				      "most 255 characters)");
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
	if (end != NULL &&
	    (!json_is_string(end) ||
	     !calendar_parse_timestamp(json_string_value(end), &out->end)))
		return fhir_error_set(err, ERR_INVALID_REQUEST,
				      "Subscription.end",
				      "Subscription.end must be an instant");
	return true;
}

bool fhir_subscription_parse(const struct fhir_config *cfg,
			     const json_t *resource,
			     struct fhir_subscription *out,
			     struct fhir_error *err)
{
	const char *type =
		json_string_value(json_object_get(resource, "resourceType"));
	const char *criteria =
		json_string_value(json_object_get(resource, "criteria"));
	const json_t *channel = json_object_get(resource, "channel");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(resource) || type == NULL ||
	    strcmp(type, "Subscription") != 0)
		return fhir_error_set(err, ERR_INVALID_REQUEST, "Subscription",
				      "the body must be a Subscription");
	if (criteria == NULL || strlen(criteria) >= sizeof(out->criteria))
		return fhir_error_set(err, ERR_INVALID_REQUEST,
				      "Subscription.criteria",
				      "Subscription.criteria is required");
	snprintf(out->criteria, sizeof(out->criteria), "%s", criteria);
	if (!json_is_object(channel))
		return fhir_error_set(err, ERR_INVALID_REQUEST,
				      "Subscription.channel",
				      "Subscription.channel is required");
	return parse_status(resource, out, err) &&
	       parse_reason_end(resource, out, err) &&
	       parse_criteria(criteria, out, err) &&
	       parse_channel(channel, out, err) &&
	       parse_secret(cfg, resource, out, err);
}

/* --- matching --------------------------------------------------------------
 */

/* FHIR token semantics: "system|code", "|code" (no system), "system|"
 * (any code in system), "code" (any system).  "\|" is a literal bar. */
bool fhir_token_matches(const char *system, const char *code, const char *value)
{
	const char *bar = NULL;
	char plain[FHIR_SUB_VALUE_MAX];
	size_t n = 0;

	for (const char *p = value; *p != '\0' && n + 1 < sizeof(plain); p++) {
		if (*p == '\\' && p[1] == '|') {
			plain[n++] = *++p;
			continue;
		}
		if (*p == '|' && bar == NULL)
			bar = plain + n;
		plain[n++] = *p;
	}
	plain[n] = '\0';
	if (code == NULL)
		return false;
	if (bar == NULL)
		return strcmp(code, plain) == 0;
	if (bar == plain)
		return system == NULL && strcmp(code, bar + 1) == 0;
	if (system == NULL || strlen(system) != (size_t)(bar - plain) ||
	    strncmp(system, plain, (size_t)(bar - plain)) != 0)
		return false;
	return bar[1] == '\0' || strcmp(code, bar + 1) == 0;
}

static const char *text(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool fhir_reference_matches(const json_t *ref, const char *value)
{
	const json_t *ident = json_object_get(ref, "identifier");
	const char *literal = text(ref, "reference");
	const char *slash = literal != NULL ? strrchr(literal, '/') : NULL;

	if (literal != NULL &&
	    (strcmp(literal, value) == 0 ||
	     (slash != NULL && strcmp(slash + 1, value) == 0)))
		return true;
	return ident != NULL && fhir_token_matches(text(ident, "system"),
						   text(ident, "value"), value);
}

static bool value_matches(const json_t *r, const char *element,
			  enum element_kind kind, const char *value)
{
	const json_t *el = json_object_get(r, element);
	const json_t *item;
	size_t i;

	switch (kind) {
	case EL_ID:
	case EL_CODE:
		return fhir_token_matches(NULL, json_string_value(el), value);
	case EL_CODING:
		json_array_foreach(
			json_object_get(el, "coding"), i,
			item) if (fhir_token_matches(text(item, "system"),
						     text(item, "code"),
						     value)) return true;
		return false;
	case EL_IDENTIFIER:
		json_array_foreach(
			el, i,
			item) if (fhir_token_matches(text(item, "system"),
						     text(item, "value"),
						     value)) return true;
		return false;
	case EL_REFERENCE:
		return el != NULL && fhir_reference_matches(el, value);
	}
	return false;
}

static bool term_matches(const char *type, const struct fhir_criterion *c,
			 const json_t *r)
{
	int row = param_row(type, c->name);

	for (size_t i = 0; row >= 0 && i < c->value_count; i++)
		if (value_matches(r, params[row].element, params[row].kind,
				  c->values[i]))
			return true;
	return false;
}

bool fhir_subscription_matches(const struct fhir_subscription *sub,
			       const json_t *resource)
{
	const char *type = text(resource, "resourceType");

	if (type == NULL || strcmp(type, sub->resource_type) != 0)
		return false;
	for (size_t i = 0; i < sub->term_count; i++)
		if (!term_matches(type, &sub->terms[i], resource))
			return false;
	return true;
}

/* --- signing ---------------------------------------------------------------
 */

bool fhir_subscription_sign(const char *secret, const void *body, size_t len,
			    char out[FHIR_SIGNATURE_LEN])
{
	char hex[HMAC_SHA256_HEX_LEN];
	bool ok = hmac_sha256_hex(secret, strlen(secret), body, len, hex);

	snprintf(out, FHIR_SIGNATURE_LEN, "sha256=%s", ok ? hex : "");
	return ok;
}

bool fhir_subscription_verify(const char *secret, const void *body, size_t len,
			      const char *header)
{
	char want[FHIR_SIGNATURE_LEN];

	if (header == NULL || strlen(header) != FHIR_SIGNATURE_LEN - 1 ||
	    !fhir_subscription_sign(secret, body, len, want))
		return false;
	return hmac_equal((const uint8_t *)want, (const uint8_t *)header,
			  FHIR_SIGNATURE_LEN - 1);
}

/* --- lifecycle -------------------------------------------------------------
 */

enum fhir_sub_status fhir_subscription_next(enum fhir_sub_status status,
					    enum fhir_sub_outcome outcome)
{
	switch (outcome) {
	case FHIR_SUB_DELIVERED:
		return status == FHIR_SUB_OFF ? FHIR_SUB_OFF : FHIR_SUB_ACTIVE;
	case FHIR_SUB_FAILED:
		return status == FHIR_SUB_OFF ? FHIR_SUB_OFF : FHIR_SUB_ERROR;
	case FHIR_SUB_EXPIRED:
	case FHIR_SUB_TURNED_OFF:
		return FHIR_SUB_OFF;
	case FHIR_SUB_TURNED_ON:
		return status == FHIR_SUB_OFF ? FHIR_SUB_REQUESTED : status;
	}
	return status;
}

const char *fhir_subscription_status_name(enum fhir_sub_status status)
{
	static const char *const names[] = {"requested", "active", "error",
					    "off"};

	return (size_t)status < COUNT(names) ? names[status] : "error";
}

json_t *fhir_subscription_to_json(const struct fhir_subscription *sub,
				  const char *id, enum fhir_sub_status status,
				  const char *error)
{
	char end[CAL_TIMESTAMP_LEN];
	json_t *headers = json_array();
	json_t *channel;

	for (size_t i = 0; i < sub->header_count; i++)
		json_array_append_new(headers, json_string(sub->headers[i]));
	channel = json_pack("{s:s, s:s}", "type", "rest-hook", "endpoint",
			    sub->endpoint);
	if (sub->full_payload)
		json_object_set_new(channel, "payload", json_string(FHIR_MIME));
	if (json_array_size(headers) > 0)
		json_object_set(channel, "header", headers);
	json_decref(headers);
	calendar_format_timestamp(sub->end, end);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*, s:s*, s:o}",
			 "resourceType", "Subscription", "id", id, "status",
			 fhir_subscription_status_name(status), "reason",
			 sub->reason, "criteria", sub->criteria, "end",
			 sub->end != 0 ? end : NULL, "error",
			 error != NULL && error[0] != '\0' ? error : NULL,
			 "channel", channel);
}
