#include "http.h"

#include <stdarg.h>
#include <stdint.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "app.h"
#include "auth.h"
#include "log.h"
#include "metrics.h"

/* libevent cuts bodies off at this multiple of max_body_bytes with its own
 * plain 413; up to it we read the body and answer the documented JSON. */
#define HARD_BODY_FACTOR  4
#define MAX_HEADERS_BYTES 16384
#define MAX_PATH_SEGMENTS 8

static const struct route *route_table;
static size_t route_count;
static int in_flight;
/* Answers handed to libevent and not yet written out: a drain waits for
 * them too, or the loop's end would cut them short. */
static int flushing;
static uint64_t request_counter;

/* Connections that have sent a request and not closed, keyed by pointer
 * in an open-addressing set, with their answers not yet written: libevent
 * 2.1 has no connection limit of its own, and an answer whose client went
 * away is never reported written.  Silent connections are closed by the
 * request timeout instead. */
#define CONN_SET_SIZE 16384
struct conn_entry {
	struct evhttp_connection *evcon;
	int unflushed;
};
static struct conn_entry conn_set[CONN_SET_SIZE];
static int open_connections;

static size_t conn_slot(const struct evhttp_connection *evcon)
{
	return ((uintptr_t)evcon >> 4) * 2654435761u % CONN_SET_SIZE;
}

static struct conn_entry *conn_find(const struct evhttp_connection *evcon)
{
	for (size_t i = conn_slot(evcon), n = 0; n < CONN_SET_SIZE;
	     i = (i + 1) % CONN_SET_SIZE, n++) {
		if (conn_set[i].evcon == evcon)
			return &conn_set[i];
		if (conn_set[i].evcon == NULL)
			return NULL;
	}
	return NULL;
}

/* Removes by re-inserting the rest of the cluster (no tombstones). */
static void conn_forget(struct evhttp_connection *evcon)
{
	struct conn_entry *e = conn_find(evcon);
	size_t i;

	if (e == NULL)
		return;
	flushing -= e->unflushed;
	i = (size_t)(e - conn_set);
	conn_set[i] = (struct conn_entry){NULL, 0};
	open_connections--;
	for (i = (i + 1) % CONN_SET_SIZE; conn_set[i].evcon != NULL;
	     i = (i + 1) % CONN_SET_SIZE) {
		struct conn_entry moved = conn_set[i];
		size_t j = conn_slot(moved.evcon);
		conn_set[i] = (struct conn_entry){NULL, 0};
		while (conn_set[j].evcon != NULL)
			j = (j + 1) % CONN_SET_SIZE;
		conn_set[j] = moved;
	}
}

static void stream_connection_closed(struct evhttp_connection *evcon);

static void on_connection_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)arg;
	stream_connection_closed(evcon);
	conn_forget(evcon);
}

/* Answers go out whole and at once: without TCP_NODELAY the tail of an
 * answer over one write (libevent writes 16 KiB at a time) waits for the
 * client's delayed ACK, 40 ms on Linux. */
static void tune_socket(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	int one = 1;

	if (bev == NULL)
		return;
	setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
		   sizeof(one));
	bufferevent_set_max_single_write(bev, 256 * 1024);
}

/* False when the connection would be one over the limit. */
static bool conn_admit(struct evhttp_connection *evcon, int limit)
{
	size_t i;

	if (evcon == NULL || conn_find(evcon) != NULL)
		return true;
	if (open_connections >= limit || open_connections >= CONN_SET_SIZE / 2)
		return false;
	for (i = conn_slot(evcon); conn_set[i].evcon != NULL;
	     i = (i + 1) % CONN_SET_SIZE)
		;
	conn_set[i] = (struct conn_entry){evcon, 0};
	open_connections++;
	evhttp_connection_set_closecb(evcon, on_connection_closed, NULL);
	tune_socket(evcon);
	return true;
}

static void on_reply_written(struct evhttp_request *ev, void *arg)
{
	struct conn_entry *e = conn_find(evhttp_request_get_connection(ev));

	(void)arg;
	if (e != NULL && e->unflushed > 0) {
		e->unflushed--;
		flushing--;
	}
}

/* Counts an answer until libevent has written it, or its client left. */
static void track_flush(struct evhttp_request *ev)
{
	struct conn_entry *e = conn_find(evhttp_request_get_connection(ev));

	if (e == NULL)
		return;
	e->unflushed++;
	flushing++;
	evhttp_request_set_on_complete_cb(ev, on_reply_written, NULL);
}

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE",
					   "OTHER"};

const char *request_method_name(const struct request *r)
{
	return method_names[r->method];
}

int http_in_flight(void)
{
	return in_flight;
}

int http_unflushed(void)
{
	return flushing;
}

int http_open_connections(void)
{
	return open_connections;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Entity";
	case 503:
		return "Service Unavailable";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

static void request_free(struct request *r)
{
	if (r->query != NULL) {
		evhttp_clear_headers(r->query);
		free(r->query);
	}
	free(r->body);
	free(r);
	in_flight--;
}

static enum frontend frontend_of(const struct request *r)
{
	return r->route != NULL ? r->route->frontend : FRONTEND_V1;
}

/* The error object of the route's front-end, with the reply's extra
 * members (e.g. depends_on) merged in. */
static json_t *error_body(const struct request *r, const struct reply *rep)
{
	json_t *doc = error_to_json(&rep->err);
	json_t *inner = json_object_get(doc, "error");

	if (inner != NULL && rep->detail != NULL)
		json_object_update(inner, rep->detail);
	(void)frontend_of(r);
	return doc;
}

static const char *answer_json_type(const struct request *r)
{
	return frontend_of(r) == FRONTEND_FHIR ? "application/fhir+json"
					       : "application/json";
}

/* The body's bytes: the text as given, or the JSON encoded (malloc'd). */
static char *encode_body(const struct request *r, struct reply *rep,
			 size_t *len)
{
	json_t *error = NULL;
	char *text;

	if (rep->err.code == ERR_NONE && rep->text != NULL) {
		text = rep->text;
		rep->text = NULL;
		*len = rep->text_len;
		return text;
	}
	if (rep->err.code != ERR_NONE)
		error = error_body(r, rep);
	text = json_dumps(error ? error : rep->body, JSON_COMPACT);
	json_decref(error);
	*len = text ? strlen(text) : 0;
	return text;
}

static void add_reply_headers(struct request *r, const struct reply *rep)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
	bool text = rep->err.code == ERR_NONE && rep->text != NULL;

	evhttp_add_header(out, "Content-Type",
			  text && rep->content_type ? rep->content_type
						    : answer_json_type(r));
	if (rep->status == 503) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%d", r->app->cfg.retry_after_s);
		evhttp_add_header(out, "Retry-After", secs);
	}
	if (rep->status == 401)
		evhttp_add_header(out, "WWW-Authenticate", "Bearer");
	if (rep->flags & REPLY_REPLAY)
		evhttp_add_header(out, "Idempotent-Replay", "true");
	/* Answers behind a token may show patients: no cache keeps them. */
	if (rep->cache_control != NULL)
		evhttp_add_header(out, "Cache-Control", rep->cache_control);
	else if (r->route == NULL || r->route->roles != 0)
		evhttp_add_header(out, "Cache-Control", "no-store");
	if (rep->etag[0] != '\0')
		evhttp_add_header(out, "ETag", rep->etag);
	if (rep->location[0] != '\0')
		evhttp_add_header(out, "Location", rep->location);
	if (r->app->draining)
		evhttp_add_header(out, "Connection", "close");
}

static void send_reply(struct request *r, struct reply *rep)
{
	struct evbuffer *buf = evbuffer_new();
	size_t len = 0;
	char *text;
	int status = rep->status;

	add_reply_headers(r, rep);
	text = encode_body(r, rep, &len);

	if (text == NULL) {
		static const char oom[] =
			"{\"error\":{\"code\":\"internal\",\"message\":"
			"\"could not encode the answer\"}}";
		text = strdup(oom);
		len = text ? strlen(text) : 0;
		status = 500;
	}
	if (text != NULL)
		evbuffer_add(buf, text, len);
	free(text);
	track_flush(r->ev);
	evhttp_send_reply(r->ev, status, reason_phrase(status), buf);
	evbuffer_free(buf);
	metrics_request(r->route ? r->route->pattern : NULL,
			request_method_name(r), status,
			(double)(now_millis() - r->started_at) / 1000.0);
	log_info(r->context, "%s %s -> %d (%lld ms)", request_method_name(r),
		 evhttp_request_get_uri(r->ev), status,
		 (long long)(now_millis() - r->started_at));
	reply_clear(rep);
	request_free(r);
}

void request_finish(struct request *r, struct reply *rep)
{
	send_reply(r, rep);
}

const char *request_query(const struct request *r, const char *key)
{
	return r->query ? evhttp_find_header(r->query, key) : NULL;
}

const char *request_header(const struct request *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev),
				  name);
}

const char *request_uri(const struct request *r)
{
	const char *uri = evhttp_request_get_uri(r->ev);

	return uri ? uri : "";
}

const char *request_remote(const struct request *r, char *buf, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	char *address = NULL;
	ev_uint16_t port = 0;

	if (evcon == NULL)
		return NULL;
	evhttp_connection_get_peer(evcon, &address, &port);
	snprintf(buf, len, "%s:%u", address ? address : "?", (unsigned)port);
	return buf;
}

/* Finds the caller's token; false with the 401/403 in out. */
static bool authorize(struct request *r, const struct route *rt,
		      struct reply *out)
{
	const char *header = request_header(r, "Authorization");

	if (rt->roles == 0)
		return true;
	if (header != NULL && strncasecmp(header, "Bearer ", 7) == 0)
		r->token = auth_find(&r->app->tokens, header + 7);
	if (r->token == NULL) {
		reply_error(out, ERR_UNAUTHORIZED, NULL,
			    "a valid bearer token is required");
		return false;
	}
	if (!(rt->roles & ALLOW(r->token->role))) {
		reply_error(out, ERR_FORBIDDEN, NULL,
			    "the %s role may not do this",
			    auth_role_name(r->token->role));
		return false;
	}
	return true;
}

/* Splits path into segments in buf; returns the count or -1. */
static int split_path(const char *path, char *buf, size_t buflen, char **segs)
{
	int n = 0;

	if (path == NULL || path[0] != '/' || strlen(path) >= buflen)
		return -1;
	strcpy(buf, path + 1);
	for (char *save = NULL, *s = strtok_r(buf, "/", &save); s != NULL;
	     s = strtok_r(NULL, "/", &save)) {
		if (n == MAX_PATH_SEGMENTS)
			return -1;
		segs[n++] = s;
	}
	return n;
}

static bool match_route(const struct route *rt, char **segs, int nsegs,
			struct request *r)
{
	char pattern[128], *psegs[MAX_PATH_SEGMENTS];
	int np = split_path(rt->pattern, pattern, sizeof(pattern), psegs);
	int captured = 0;

	if (np != nsegs)
		return false;
	for (int i = 0; i < np; i++) {
		if (psegs[i][0] == ':') {
			if (captured < ROUTE_MAX_PARAMS)
				r->params[captured++] = segs[i];
		} else if (strcmp(psegs[i], segs[i]) != 0) {
			return false;
		}
	}
	return true;
}

/* Finds the handler.  When the path matches only with other methods,
 * allow receives them ("GET, POST") for the 405's Allow header.  Captured
 * params point into segbuf. */
static const struct route *find_route(struct request *r, const char *path,
				      char *segbuf, size_t buflen, char *allow,
				      size_t allowlen)
{
	char *segs[MAX_PATH_SEGMENTS];
	int n = split_path(path, segbuf, buflen, segs);
	size_t used = 0;

	allow[0] = '\0';
	if (n < 0)
		return NULL;
	for (size_t i = 0; i < route_count; i++) {
		if (!match_route(&route_table[i], segs, n, r))
			continue;
		if (route_table[i].method == r->method)
			return &route_table[i];
		if (strstr(allow, method_names[route_table[i].method]) == NULL)
			used += (size_t)snprintf(
				allow + used,
				used < allowlen ? allowlen - used : 0, "%s%s",
				used ? ", " : "",
				method_names[route_table[i].method]);
	}
	return NULL;
}

/* A parameter the route does not take, or one given twice, is refused:
 * a misspelt filter must not widen the answer silently. */
static bool query_params_valid(const struct request *r, const struct route *rt,
			       struct reply *out)
{
	const struct evkeyval *kv, *other;

	TAILQ_FOREACH(kv, r->query, next)
	{
		const char *list = rt->query ? rt->query : "";
		size_t klen = strlen(kv->key);
		const char *at = list;
		bool known = false;

		while (!known && klen > 0 &&
		       (at = strstr(at, kv->key)) != NULL) {
			known = (at == list || at[-1] == ' ') &&
				(at[klen] == ' ' || at[klen] == '\0');
			at += klen;
		}
		if (!known)
			return reply_error(out, ERR_INVALID_REQUEST,
					   domain_valid_id(kv->key) && klen < 64
						   ? kv->key
						   : NULL,
					   "unknown query parameter%s%s",
					   domain_valid_id(kv->key) ? " " : "",
					   domain_valid_id(kv->key) ? kv->key
								    : ""),
			       false;
		for (other = TAILQ_NEXT(kv, next); other != NULL;
		     other = TAILQ_NEXT(other, next))
			if (strcmp(other->key, kv->key) == 0)
				return reply_error(
					       out, ERR_INVALID_REQUEST,
					       kv->key,
					       "query parameter %s is given "
					       "more than once",
					       kv->key),
				       false;
	}
	return true;
}

static bool read_body(struct request *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t len = evbuffer_get_length(in);

	r->body = malloc(len + 1);
	if (r->body == NULL)
		return false;
	evbuffer_remove(in, r->body, len);
	r->body[len] = '\0';
	r->body_len = len;
	return true;
}

static enum http_method method_of(struct evhttp_request *ev)
{
	switch (evhttp_request_get_command(ev)) {
	case EVHTTP_REQ_GET:
		return METHOD_GET;
	case EVHTTP_REQ_POST:
		return METHOD_POST;
	case EVHTTP_REQ_PUT:
		return METHOD_PUT;
	case EVHTTP_REQ_DELETE:
		return METHOD_DELETE;
	default:
		return METHOD_OTHER;
	}
}

/* The request's route and path params must outlive the handler's async
 * work, so the segment buffer lives with the request. */
struct request_with_path {
	struct request r;
	char segbuf[2048];
};

/* Everything before the handler: admission, limits, route, token.  False
 * with the refusal in out. */
static bool admit(struct request *r, char *segbuf, size_t buflen,
		  struct reply *out)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const struct route *rt;
	char allow[64];

	if (!conn_admit(evhttp_request_get_connection(r->ev),
			r->app->cfg.max_connections)) {
		evhttp_add_header(evhttp_request_get_output_headers(r->ev),
				  "Connection", "close");
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "too many connections; retry later"),
		       false;
	}
	r->query = calloc(1, sizeof(*r->query));
	if (r->query == NULL || !read_body(r))
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory"),
		       false;
	TAILQ_INIT(r->query);
	if (query != NULL && evhttp_parse_query_str(query, r->query) != 0)
		return reply_error(out, ERR_INVALID_REQUEST, NULL,
				   "the query string is malformed"),
		       false;
	if (r->body_len > (size_t)r->app->cfg.max_body_bytes)
		return reply_error(out, ERR_TOO_LARGE, NULL,
				   "the body is over %d bytes",
				   r->app->cfg.max_body_bytes),
		       false;
	rt = find_route(r, path, segbuf, buflen, allow, sizeof(allow));
	if (rt == NULL && allow[0] != '\0') {
		evhttp_add_header(evhttp_request_get_output_headers(r->ev),
				  "Allow", allow);
		return reply_error(out, ERR_METHOD_NOT_ALLOWED, NULL,
				   "method not allowed here; allowed: %s",
				   allow),
		       false;
	}
	if (rt == NULL)
		return reply_error(out, ERR_NOT_FOUND, NULL,
				   "no such resource"),
		       false;
	r->route = rt;
	if (r->app->draining)
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "the daemon is shutting down"),
		       false;
	return authorize(r, rt, out) && query_params_valid(r, rt, out);
}

static void dispatch(struct request *r, char *segbuf, size_t buflen)
{
	struct reply rep;

	reply_init(&rep);
	if (!admit(r, segbuf, buflen, &rep) ||
	    r->route->handler(r, &rep) == HANDLED_NOW)
		send_reply(r, &rep);
}

static void on_request(struct evhttp_request *ev, void *arg)
{
	struct request_with_path *rp = calloc(1, sizeof(*rp));

	if (rp == NULL) {
		evhttp_send_error(ev, 500, NULL);
		return;
	}
	in_flight++;
	rp->r.app = arg;
	rp->r.ev = ev;
	rp->r.method = method_of(ev);
	rp->r.started_at = now_millis();
	snprintf(rp->r.context, sizeof(rp->r.context), "req-%llu",
		 (unsigned long long)++request_counter);
	dispatch(&rp->r, rp->segbuf, sizeof(rp->segbuf));
}

static int bound_port_of(struct evhttp_bound_socket *sock)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

void http_apply_limits(struct app *app)
{
	const struct config *cfg = &app->cfg;

	evhttp_set_max_body_size(app->http, (ev_ssize_t)cfg->max_body_bytes *
						    HARD_BODY_FACTOR);
	evhttp_set_max_headers_size(app->http, MAX_HEADERS_BYTES);
	evhttp_set_timeout(app->http, cfg->request_timeout_s);
}

bool http_start(struct app *app, const struct route *routes, size_t nroutes,
		int *bound_port, char *err, size_t errlen)
{
	const struct config *cfg = &app->cfg;

	route_table = routes;
	route_count = nroutes;
	app->http = evhttp_new(app->base);
	if (app->http == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return false;
	}
	http_apply_limits(app);
	evhttp_set_allowed_methods(
		app->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
				   EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	evhttp_set_default_content_type(app->http, "application/json");
	evhttp_set_gencb(app->http, on_request, app);
	app->listener = evhttp_bind_socket_with_handle(app->http, cfg->listen,
						       (ev_uint16_t)cfg->port);
	if (app->listener == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d", cfg->listen,
			 cfg->port);
		return false;
	}
	*bound_port = bound_port_of(app->listener);
	return true;
}

void http_stop_accepting(struct app *app)
{
	if (app->listener != NULL) {
		evhttp_del_accept_socket(app->http, app->listener);
		app->listener = NULL;
	}
}

void http_free(struct app *app)
{
	if (app->http != NULL)
		evhttp_free(app->http);
	app->http = NULL;
}

/* --- added for the page and the exports (issue 14) ----------------------- */

void request_add_header(struct request *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), name,
			  value);
}

/* --- streamed answers (issue 14) ------------------------------------------
 *
 * evhttp writes a chunk and calls back when the connection's output has
 * drained; a connection that fails detaches the request (evcon NULL) and
 * is freed, which the close callback above reports here.
 */

struct stream {
	struct request *r;
	struct evhttp_connection *evcon; /* NULL once gone */
	stream_cb drained, gone;
	void *arg;
	size_t bytes;
	struct event *gone_ev; /* reports the client gone, from the loop */
	struct stream *next;
};

static struct stream *streams;

static struct stream *stream_of(const struct request *r)
{
	for (struct stream *s = streams; s != NULL; s = s->next)
		if (s->r == r)
			return s;
	return NULL;
}

static void stream_unlink(struct stream *st)
{
	for (struct stream **p = &streams; *p != NULL; p = &(*p)->next)
		if (*p == st) {
			*p = st->next;
			return;
		}
}

static void on_stream_gone(evutil_socket_t fd, short what, void *arg)
{
	struct stream *st = arg;

	(void)fd;
	(void)what;
	st->gone(st->r, st->arg);
}

/* From the close callback, inside evhttp: the writer hears of it from
 * the loop (the event goes with the stream, so a stream ended meanwhile
 * hears nothing). */
static void stream_connection_closed(struct evhttp_connection *evcon)
{
	struct timeval now = {0, 0};

	for (struct stream *st = streams; st != NULL; st = st->next)
		if (st->evcon == evcon) {
			st->evcon = NULL;
			evtimer_add(st->gone_ev, &now);
		}
}

static void on_chunk_written(struct evhttp_connection *evcon, void *arg)
{
	struct stream *st = arg;

	(void)evcon;
	if (st->evcon != NULL)
		st->drained(st->r, st->arg);
}

/* A stream's client may read slowly and send nothing for longer than the
 * request timeout: only a stalled write ends it, not a silent read. */
static void stream_timeouts(struct evhttp_connection *evcon, int seconds)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct timeval write_tv = {seconds, 0};

	if (bev != NULL)
		bufferevent_set_timeouts(bev, NULL, &write_tv);
}

bool request_stream_begin(struct request *r, const char *content_type,
			  const char *filename, stream_cb drained,
			  stream_cb gone, void *arg)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	struct stream *st;
	char disposition[192];

	if (evcon == NULL || (st = calloc(1, sizeof(*st))) == NULL)
		return false;
	*st = (struct stream){r, evcon, drained, gone, arg, 0, NULL, streams};
	st->gone_ev = evtimer_new(r->app->base, on_stream_gone, st);
	if (st->gone_ev == NULL) {
		free(st);
		return false;
	}
	streams = st;
	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Connection", "close");
	if (filename != NULL) {
		snprintf(disposition, sizeof(disposition),
			 "attachment; filename=\"%s\"", filename);
		evhttp_add_header(out, "Content-Disposition", disposition);
	}
	stream_timeouts(evcon, r->app->cfg.request_timeout_s);
	evhttp_send_reply_start(r->ev, 200, "OK");
	return true;
}

void request_stream_write(struct request *r, const char *data, size_t len)
{
	struct stream *st = stream_of(r);
	struct evbuffer *buf;

	if (st == NULL || st->evcon == NULL || len == 0 ||
	    (buf = evbuffer_new()) == NULL)
		return;
	evbuffer_add(buf, data, len);
	st->bytes += len;
	evhttp_send_reply_chunk_with_cb(r->ev, buf, on_chunk_written, st);
	evbuffer_free(buf);
}

/* Logs and counts the answer: before evhttp frees the request. */
static void stream_log(struct request *r, const struct stream *st, int status,
		       const char *how)
{
	metrics_request(r->route ? r->route->pattern : NULL,
			request_method_name(r), status,
			(double)(now_millis() - r->started_at) / 1000.0);
	log_info(r->context, "%s %s -> %d %s, %zu bytes (%lld ms)",
		 request_method_name(r), evhttp_request_get_uri(r->ev), status,
		 how, st ? st->bytes : 0,
		 (long long)(now_millis() - r->started_at));
}

/* After evhttp has the request: ours goes. */
static void stream_free(struct request *r, struct stream *st)
{
	if (st != NULL) {
		stream_unlink(st);
		event_free(st->gone_ev);
		free(st);
	}
	request_free(r);
}

void request_stream_end(struct request *r)
{
	struct stream *st = stream_of(r);
	bool gone = st == NULL || st->evcon == NULL;

	stream_log(r, st, 200, gone ? "streamed, client gone" : "streamed");
	/* With the client gone evhttp only frees the request here. */
	evhttp_send_reply_end(r->ev);
	stream_free(r, st);
}

void request_stream_abort(struct request *r)
{
	struct stream *st = stream_of(r);
	struct evhttp_connection *evcon = st ? st->evcon : NULL;

	stream_log(r, st, 500, "aborted");
	if (st != NULL)
		st->evcon = NULL;
	/* Freeing the connection frees the request with it. */
	if (evcon != NULL)
		evhttp_connection_free(evcon);
	else
		evhttp_send_reply_end(r->ev);
	stream_free(r, st);
}

void request_other_methods(const struct request *r, char *allow, size_t len)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char buf[2048], *segs[MAX_PATH_SEGMENTS];
	struct request scratch = *r;
	int n = split_path(path, buf, sizeof(buf), segs);
	size_t used = 0;

	allow[0] = '\0';
	for (size_t i = 0; n >= 0 && i < route_count; i++) {
		const struct route *rt = &route_table[i];
		if (rt->handler == r->route->handler ||
		    !match_route(rt, segs, n, &scratch) ||
		    strstr(allow, method_names[rt->method]) != NULL)
			continue;
		used += (size_t)snprintf(
			allow + used, used < len ? len - used : 0, "%s%s",
			used ? ", " : "", method_names[rt->method]);
	}
}
