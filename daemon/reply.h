/*
 * reply: what a handler answers -- a status and a body (JSON or text), or
 * an error -- as a value.  Handlers fill one and return; http.c sends it,
 * exactly once, in the form of the route's front-end (a /v1 error object,
 * or a FHIR OperationOutcome).  No evhttp here.
 *
 * Ownership: a reply owns body, text and detail; reply_clear frees them.
 * The setters steal the json_t they are given.
 */
#ifndef PAINPATHD_REPLY_H
#define PAINPATHD_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* The answer is the stored first answer of an idempotent retry. */
#define REPLY_REPLAY (1u << 0)

struct reply {
	int status;
	json_t *body;		   /* JSON answer, or NULL */
	char *text;		   /* or a text answer */
	size_t text_len;	   /* excludes the NUL */
	const char *content_type;  /* static; NULL: the front-end's JSON */
	struct pp_error err;	   /* err.code != ERR_NONE: an error answer */
	json_t *detail;		   /* extra members of the error object */
	unsigned flags;		   /* REPLY_* */
	const char *cache_control; /* static; NULL: the route's default */
	char etag[80];		   /* with its quotes, or "" */
	char location[384];	   /* or "" */
};

/* What a handler did: answered already (the reply is filled), or will
 * answer later through request_finish. */
enum handled { HANDLED_NOW, HANDLED_LATER };

void reply_init(struct reply *rep);
void reply_clear(struct reply *rep);

enum handled reply_json(struct reply *rep, int status, json_t *body);
enum handled reply_text(struct reply *rep, int status, const char *content_type,
			char *text, size_t len);
enum handled reply_error(struct reply *rep, enum err_code code,
			 const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
enum handled reply_pp_error(struct reply *rep, const struct pp_error *err);

#endif
