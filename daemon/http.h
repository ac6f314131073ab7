/*
 * http: the only module that calls evhttp_*.  It accepts requests, bounds
 * them, matches them against the route table and hands handlers a struct
 * request; handlers answer later (asynchronously) with one of the reply_*
 * functions, which send the answer and free the request.  A handler must
 * reply exactly once.
 */
#ifndef PAINPATHD_HTTP_H
#define PAINPATHD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "calendar.h"
#include "error.h"

struct app;
struct evhttp;
struct evhttp_request;
struct evkeyvalq;

enum http_method { METHOD_GET, METHOD_POST, METHOD_OTHER };

#define ROUTE_MAX_PARAMS 2

struct token;

struct request {
	struct app *app;
	const struct token *token; /* NULL on public routes */
	const char *route;	   /* the matched route's pattern */
	struct evhttp_request *ev;
	enum http_method method;
	const char *params[ROUTE_MAX_PARAMS]; /* captured path segments */
	struct evkeyvalq *query;	      /* decoded query string */
	char *body;			      /* NUL-terminated copy */
	size_t body_len;
	char context[32]; /* "req-42", for log lines */
	cal_millis started_at;
};

typedef void (*route_handler)(struct request *r);

/* Who may call a route: bit per enum role; 0 = public (no token). */
#define ALLOW(role) (1u << (role))

struct route {
	enum http_method method;
	const char *pattern; /* "/v1/pathways/:id/transitions" */
	route_handler handler;
	unsigned roles;
};

/* Binds and starts serving; *bound_port receives the port actually bound
 * (for --port 0). */
bool http_start(struct app *app, const struct route *routes, size_t nroutes,
		int *bound_port, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* (Re)applies the configured body, header and time limits. */
void http_apply_limits(struct app *app);
/* Stops accepting new connections; requests in flight still get answers. */
void http_stop_accepting(struct app *app);
void http_free(struct app *app);
/* Requests accepted and not yet answered. */
int http_in_flight(void);
/* Answers sent but not yet written to their sockets.  A client that goes
 * away first leaves its answer here; the drain's deadline covers that. */
int http_unflushed(void);
/* Client connections that have sent a request and are still open. */
int http_open_connections(void);

const char *request_query(const struct request *r, const char *key);
const char *request_header(const struct request *r, const char *name);
const char *request_uri(const struct request *r);
/* "address:port" of the client. */
const char *request_remote(const struct request *r, char *buf, size_t len);

/* Each of these sends the answer and frees r. body is stolen. */
void reply_json(struct request *r, int status, json_t *body);
void reply_json_replay(struct request *r, json_t *body);
void reply_error(struct request *r, const struct pp_error *err);
void reply_error_code(struct request *r, enum err_code code, const char *field,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void reply_text(struct request *r, int status, const char *content_type,
		const char *text, size_t len);

#endif
