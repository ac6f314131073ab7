#include "error.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int status;
} codes[ERR_COUNT] = {
	[ERR_NONE] = {"ok", 200},
	[ERR_INVALID_JSON] = {"invalid_json", 400},
	[ERR_INVALID_EVENT] = {"invalid_event", 400},
	[ERR_INVALID_REQUEST] = {"invalid_request", 400},
	[ERR_UNAUTHORIZED] = {"unauthorized", 401},
	[ERR_FORBIDDEN] = {"forbidden", 403},
	[ERR_NOT_FOUND] = {"not_found", 404},
	[ERR_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
	[ERR_ILLEGAL_TRANSITION] = {"illegal_transition", 409},
	[ERR_EVENT_ID_CONFLICT] = {"event_id_conflict", 409},
	[ERR_PATHWAY_EXISTS] = {"pathway_exists", 409},
	[ERR_TOO_LARGE] = {"too_large", 413},
	[ERR_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415},
	[ERR_GUARD_FAILED] = {"guard_failed", 422},
	[ERR_OUT_OF_ORDER] = {"out_of_order", 409},
	[ERR_CORRECTION_CONFLICT] = {"correction_conflict", 409},
	[ERR_PRECONDITION_FAILED] = {"precondition_failed", 412},
	[ERR_UNAVAILABLE] = {"unavailable", 503},
	[ERR_INTERNAL] = {"internal", 500},
};

int error_http_status(enum err_code code)
{
	return code < ERR_COUNT ? codes[code].status : 500;
}

const char *error_code_name(enum err_code code)
{
	return code < ERR_COUNT ? codes[code].name : "internal";
}

bool error_set(struct pp_error *err, enum err_code code, const char *field,
	       const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	err->code = code;
	if (field != NULL)
		snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

json_t *error_to_json(const struct pp_error *err)
{
	json_t *inner =
		json_pack("{s:s, s:s}", "code", error_code_name(err->code),
			  "message", err->message);

	if (inner == NULL)
		return NULL;
	if (err->field[0] != '\0')
		json_object_set_new(inner, "field", json_string(err->field));
	if (err->code == ERR_ILLEGAL_TRANSITION) {
		json_t *allowed = json_array();
		for (int t = 0; t < EV_COUNT; t++)
			if (err->allowed & (1u << t))
				json_array_append_new(
					allowed,
					json_string(domain_event_name(t)));
		json_object_set_new(inner, "phase",
				    json_string(domain_phase_name(err->phase)));
		json_object_set_new(inner, "allowed", allowed);
	}
	if (err->code == ERR_OUT_OF_ORDER) {
		char at[CAL_TIMESTAMP_LEN];
		calendar_format_timestamp(err->latest, at);
		json_object_set_new(inner, "latest", json_string(at));
	}
	return json_pack("{s:o}", "error", inner);
}

void error_prefix_field(struct pp_error *err, const char *prefix)
{
	char was[sizeof(err->field)];
	size_t n = strlen(prefix);

	memcpy(was, err->field, sizeof(was));
	if (was[0] == '\0') {
		snprintf(err->field, sizeof(err->field), "%.*s",
			 n > 0 ? (int)n - 1 : 0, prefix);
		return;
	}
	snprintf(err->field, sizeof(err->field), "%s", prefix);
	if (n < sizeof(err->field))
		snprintf(err->field + n, sizeof(err->field) - n, "%s", was);
}
