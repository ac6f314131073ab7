/*
 * http: the HTTP/1.1 server, and the only module that speaks HTTP.  It
 * accepts connections (each counts toward max_connections from accept),
 * frames requests with lib/http1 (RFC 9112, strictly), refuses what it can
 * from the head alone -- route, token, size -- before a byte of the body
 * is read, gives every request a whole-request deadline, matches the route
 * table and hands handlers a struct request.  A handler fills a struct
 * reply (reply.h) and returns, or answers later through request_finish;
 * either way this module alone writes the answer, once, in the route's
 * front-end form.  Every error it makes itself is the documented JSON.
 *
 * libevent's evhttp is not used for serving: in 2.1 it offers no hook
 * between the head and the body of an incoming request, answers its own
 * errors with HTML, and refuses chunk extensions.  Its evkeyvalq and
 * bufferevents are.
 */
#ifndef PAINPATHD_HTTP_H
#define PAINPATHD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "calendar.h"
#include "error.h"
#include "reply.h"

struct app;
struct conn;
struct evkeyvalq;

enum http_method {
	METHOD_GET,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE,
	METHOD_OTHER
};

#define ROUTE_MAX_PARAMS 2

/* How a route's errors and JSON answers are written: the /v1 contract's
 * {"error": {...}}, or FHIR's OperationOutcome (application/fhir+json).
 * FRONTEND_PAGES marks the pages' catch-all rows (daemon/static.c): their
 * errors are /v1's, they never take a path under /v1 or /fhir (the APIs'
 * own, an unknown one is the API's 404), and they name no method in a
 * 405's Allow (an unknown path is 404 whatever the method). */
enum frontend { FRONTEND_V1, FRONTEND_FHIR, FRONTEND_PAGES };

struct token;

struct request {
	struct app *app;
	const struct token *token; /* NULL on public routes */
	const struct route *route; /* the matched route */
	struct conn *conn;	   /* NULL once the client has gone */
	enum http_method method;
	const char *params[ROUTE_MAX_PARAMS]; /* captured path segments */
	struct evkeyvalq *query;	      /* decoded query string */
	char *body;			      /* NUL-terminated copy */
	size_t body_len;
	char context[32]; /* "req-42", for log lines */
	cal_millis started_at;
};

/* A handler answers now (fills out, returns HANDLED_NOW) or later (returns
 * HANDLED_LATER and calls request_finish once). */
typedef enum handled (*route_handler)(struct request *r, struct reply *out);

/* Who may call a route: bit per enum role; 0 = public (no token). */
#define ALLOW(role) (1u << (role))
/* Also without a token from the networks of metrics_allow (scrapers). */
#define ALLOW_SCRAPER (1u << 15)

struct route {
	enum http_method method;
	const char *pattern; /* "/v1/pathways/:id/transitions" */
	route_handler handler;
	unsigned roles;
	enum frontend frontend;
	/* The query parameters it takes, space-separated; any other is
	 * refused with 400 naming it. */
	const char *query;
};

/* Binds and starts serving; *bound_port receives the port actually bound
 * (for --port 0). */
bool http_start(struct app *app, const struct route *routes, size_t nroutes,
		int *bound_port, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Limits (max_body_bytes, request_timeout_s, max_connections) are read as
 * each request needs them, so a reload applies them to the next one; this
 * is where a limit that needed more would be applied. */
void http_apply_limits(struct app *app);
/* Stops accepting new connections; requests in flight still get answers. */
void http_stop_accepting(struct app *app);
void http_free(struct app *app);
/* Requests accepted and not yet answered. */
int http_in_flight(void);
/* Answers sent but not yet written to their sockets.  A client that goes
 * away first leaves its answer here; the drain's deadline covers that. */
int http_unflushed(void);
/* Client connections open, from accept to close. */
int http_open_connections(void);
/* Bytes of streamed answers held in the daemon that their sockets have
 * not taken yet: with back-pressure, at most a piece per stream. */
size_t http_streams_unsent(void);

const char *request_query(const struct request *r, const char *key);
const char *request_header(const struct request *r, const char *name);
/* Names an event the request carries in its log line (copied). */
void request_log_event(struct request *r, const char *event_id);
/* The request target as sent ("/path?query"): printable ASCII only, the
 * parser refuses anything else. */
const char *request_uri(const struct request *r);
const char *request_method_name(const struct request *r);
/* "address:port" of the client. */
const char *request_remote(const struct request *r, char *buf, size_t len);

/* Sends a handler's later answer and frees r; clears rep. */
void request_finish(struct request *r, struct reply *rep);

/*
 * Streamed answers (chunked), for exports of any size at constant memory.
 * The writer sends one piece with request_stream_write and the next only
 * when `drained` says the socket has taken it: back-pressure, so a slow
 * client holds at most one piece in the daemon.  `gone` says the client
 * left; the writer stops and still ends the stream.  Either callback runs
 * from the loop, never inside these functions.
 */
typedef void (*stream_cb)(struct request *r, void *arg);

/* Sends the head (status 200, content_type, Connection: close, no-store,
 * and filename as an attachment when not NULL).  False when the client is
 * gone already or out of memory: then request_stream_end still ends r. */
bool request_stream_begin(struct request *r, const char *content_type,
			  const char *filename, stream_cb drained,
			  stream_cb gone, void *arg)
	__attribute__((warn_unused_result));
/* One piece (copied); `drained` follows once it is written out. */
void request_stream_write(struct request *r, const char *data, size_t len);
/* The last piece has been written: ends the answer, frees r. */
void request_stream_end(struct request *r);
/* The answer cannot be completed (the database failed midway): closes
 * the connection without the closing chunk, so the client sees a
 * truncated answer rather than a short one; frees r. */
void request_stream_abort(struct request *r);

/* The methods other routes take this request's path with ("GET, POST"),
 * for a catch-all route (the pages) that must not hide an API route's
 * 405: empty when none. */
void request_other_methods(const struct request *r, char *allow, size_t len);

/* An extra header on the answer (e.g. a page's Content-Security-Policy),
 * beside those the reply sets.  Copies name and value. */
void request_add_header(struct request *r, const char *name, const char *value);

#endif
