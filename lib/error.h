/*
 * error: the documented error codes (api.md), their HTTP statuses and the
 * JSON body every refusal answers with.
 */
#ifndef PAINPATH_ERROR_H
#define PAINPATH_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"

enum err_code {
	ERR_NONE,
	ERR_INVALID_JSON,
	ERR_INVALID_EVENT,
	ERR_INVALID_REQUEST,
	ERR_UNAUTHORIZED,
	ERR_FORBIDDEN,
	ERR_NOT_FOUND,
	ERR_METHOD_NOT_ALLOWED,
	ERR_ILLEGAL_TRANSITION,
	ERR_EVENT_ID_CONFLICT,
	ERR_PATHWAY_EXISTS,
	ERR_TOO_LARGE,
	ERR_UNSUPPORTED_MEDIA_TYPE,
	ERR_GUARD_FAILED,
	ERR_OUT_OF_ORDER,
	ERR_CORRECTION_CONFLICT,
	ERR_PRECONDITION_FAILED,
	ERR_UNAVAILABLE,
	ERR_INTERNAL,
	ERR_COUNT
};

struct pp_error {
	enum err_code code;
	char message[256];
	char field[64];
	/* illegal_transition only */
	enum phase phase;
	unsigned allowed; /* bit i set: event type i is allowed */
	/* out_of_order only: the time the event may not precede */
	cal_millis latest;
};

int error_http_status(enum err_code code);
const char *error_code_name(enum err_code code);

/* Fills err and returns false, so refusals read `return error_set(...)`. */
bool error_set(struct pp_error *err, enum err_code code, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "field" becomes "<prefix><field>" (or prefix without its last character
 * when there was none: "data." -> "data"), cut to fit. */
void error_prefix_field(struct pp_error *err, const char *prefix);
/* {"error": {"code", "message", ["field"], ["phase", "allowed"],
 * ["latest"]}} (new ref) */
json_t *error_to_json(const struct pp_error *err);

#endif
