#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void reply_init(struct reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->status = 500;
}

void reply_clear(struct reply *rep)
{
	json_decref(rep->body);
	json_decref(rep->detail);
	free(rep->text);
	reply_init(rep);
}

enum handled reply_json(struct reply *rep, int status, json_t *body)
{
	json_decref(rep->body);
	rep->body = body;
	rep->status = status;
	if (body == NULL)
		return reply_error(rep, ERR_INTERNAL, NULL, "out of memory");
	return HANDLED_NOW;
}

enum handled reply_text(struct reply *rep, int status, const char *content_type,
			char *text, size_t len)
{
	free(rep->text);
	rep->text = text;
	rep->text_len = len;
	rep->content_type = content_type;
	rep->status = status;
	if (text == NULL)
		return reply_error(rep, ERR_INTERNAL, NULL, "out of memory");
	return HANDLED_NOW;
}

enum handled reply_pp_error(struct reply *rep, const struct pp_error *err)
{
	json_decref(rep->body);
	rep->body = NULL;
	free(rep->text);
	rep->text = NULL;
	rep->err = *err;
	rep->status = error_http_status(err->code);
	return HANDLED_NOW;
}

enum handled reply_error(struct reply *rep, enum err_code code,
			 const char *field, const char *fmt, ...)
{
	struct pp_error err;
	va_list ap;

	error_set(&err, code, field, "%s", "");
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	return reply_pp_error(rep, &err);
}
