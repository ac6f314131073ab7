#include "http.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "app.h"
#include "auth.h"
#include "cidr.h"
#include "fhir_outcome.h"
#include "http1.h"
#include "log.h"
#include "metrics.h"
#include "tls.h"

#define CTX		  "http"
#define MAX_PATH_SEGMENTS 8
/* Read ahead of the parser per connection: a whole head fits, and a body
 * streams through into its request's own buffer. */
#define READ_AHEAD (HTTP1_MAX_HEAD + 16384)
/* After a refusal the client may still be sending; its bytes are read and
 * dropped this long, so that closing does not reset the answer away. */
#define LINGER_S 2
/* Connections past max_connections still get their 503, up to this many
 * more; beyond that they are closed unanswered. */
#define OVERFLOW_CONNECTIONS 64
/* Out of descriptors, accepting pauses this long, and says so once per
 * ACCEPT_LOG_S however often it fails. */
#define ACCEPT_PAUSE_MS 250
#define ACCEPT_LOG_S	10
#define LISTEN_BACKLOG	1024

enum conn_state {
	CONN_IDLE,	/* waiting for a request's first byte */
	CONN_HEAD,	/* reading a head */
	CONN_BODY,	/* reading the body of an admitted request */
	CONN_HANDLING,	/* its handler has the request */
	CONN_STREAMING, /* its handler writes a chunked answer piece by piece */
	CONN_WRITING,	/* the answer is going out */
	CONN_LINGER	/* the last answer is out; dropping what still comes */
};

struct request_full;
struct stream;
static void stream_free(struct stream *st);
static void stream_client_gone(struct request_full *f);
static void stream_drained(struct request_full *f);

struct conn {
	struct bufferevent *bev;
	struct event *deadline;
	struct event *drain; /* lingering: reads that are dropped */
	enum conn_state state;
	struct request_full *req; /* being read or handled */
	struct http1_chunked chunked;
	uint64_t body_left; /* Content-Length bytes still to come */
	bool over_limit;    /* accepted past max_connections: gets a 503 */
	bool peer_done;	    /* the client shut its sending side */
	bool unflushed;	    /* an answer not yet written to the socket */
	bool close_after;   /* the answer going out is the last */
	char peer[INET6_ADDRSTRLEN + 8];
	struct sockaddr_storage peer_addr;
	LIST_ENTRY(conn) link;
};

/* A request with what only this module sees. */
struct request_full {
	struct request r;
	struct http1_head head;
	char segbuf[2048];  /* the path's segments, which params point into */
	char headers[2048]; /* the answer's extra header lines */
	size_t headers_len;
	size_t body_cap;
	char peer[INET6_ADDRSTRLEN + 8];
	bool close;	  /* the connection ends after the answer */
	bool head_only;	  /* HEAD: the answer has no body */
	char **event_ids; /* for the request's log line (copies) */
	size_t nevents, events_cap;
	struct stream *stream; /* a streamed answer's, or NULL */
};

static struct {
	struct app *app;
	const struct route *routes;
	size_t nroutes;
	struct evconnlistener *listener;
	struct event *accept_resume;
	struct tls *tls;	   /* NULL: plain HTTP */
	struct cidr_list scrapers; /* metrics_allow */
	LIST_HEAD(, conn) conns;
	int open;      /* connections, from accept to close */
	int in_flight; /* requests parsed and not yet answered */
	int flushing;  /* answers not yet written to their sockets */
	uint64_t counter;
	int64_t accept_logged_at; /* monotonic seconds */
	unsigned long accept_errors;
} srv;

static void read_head(struct conn *c);
static void read_body(struct conn *c);
static void send_reply(struct request *r, struct reply *rep);

static cal_millis now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (cal_millis)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct request_full *full_of(const struct request *r)
{
	return (struct request_full *)(void *)r;
}

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE",
					   "OTHER"};

const char *request_method_name(const struct request *r)
{
	return method_names[r->method];
}

static enum http_method method_of(const char *name)
{
	for (int m = METHOD_GET; m < METHOD_OTHER; m++)
		if (strcmp(name, method_names[m]) == 0)
			return (enum http_method)m;
	return METHOD_OTHER;
}

int http_in_flight(void)
{
	return srv.in_flight;
}

int http_unflushed(void)
{
	return srv.flushing;
}

int http_open_connections(void)
{
	return srv.open;
}

/* Walks the connections rather than keeping a sum: a scrape is rare, a
 * write is not. */
size_t http_streams_unsent(void)
{
	struct conn *c;
	size_t bytes = 0;

	for (c = LIST_FIRST(&srv.conns); c != NULL; c = LIST_NEXT(c, link))
		if (c->state == CONN_STREAMING)
			bytes += evbuffer_get_length(
				bufferevent_get_output(c->bev));
	return bytes;
}

const char *request_query(const struct request *r, const char *key)
{
	return r->query ? evhttp_find_header(r->query, key) : NULL;
}

const char *request_header(const struct request *r, const char *name)
{
	return http1_field(&full_of(r)->head, name);
}

const char *request_uri(const struct request *r)
{
	const char *target = full_of(r)->head.target;

	return target ? target : "";
}

const char *request_remote(const struct request *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s", full_of(r)->peer);
	return buf;
}

/* --- requests ------------------------------------------------------------ */

static struct request_full *request_new(struct conn *c)
{
	struct request_full *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	srv.in_flight++;
	f->r.app = srv.app;
	f->r.conn = c;
	f->r.started_at = now_millis();
	f->r.method = METHOD_OTHER;
	snprintf(f->r.context, sizeof(f->r.context), "req-%llu",
		 (unsigned long long)++srv.counter);
	snprintf(f->peer, sizeof(f->peer), "%s", c->peer);
	c->req = f;
	return f;
}

static void request_free(struct request_full *f)
{
	if (f->r.query != NULL) {
		evhttp_clear_headers(f->r.query);
		free(f->r.query);
	}
	http1_head_free(&f->head);
	free(f->r.body);
	for (size_t i = 0; i < f->nevents; i++)
		free(f->event_ids[i]);
	free(f->event_ids);
	stream_free(f->stream);
	free(f);
	srv.in_flight--;
}

/* An extra header line of the answer; values with line breaks are
 * dropped rather than let split the answer. */
static void add_header(struct request_full *f, const char *name,
		       const char *value)
{
	size_t room = sizeof(f->headers) - f->headers_len;
	int n;

	if (strpbrk(value, "\r\n") != NULL)
		return;
	n = snprintf(f->headers + f->headers_len, room, "%s: %s\r\n", name,
		     value);
	if (n > 0 && (size_t)n < room)
		f->headers_len += (size_t)n;
	else
		f->headers[f->headers_len] = '\0';
}

/* --- connections --------------------------------------------------------- */

static void conn_arm(struct conn *c, int seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(c->deadline, &tv);
}

static void conn_free(struct conn *c)
{
	if (c->req != NULL && c->state == CONN_STREAMING)
		stream_client_gone(c->req);
	else if (c->req != NULL && c->state == CONN_HANDLING)
		c->req->r.conn = NULL; /* answered into the void later */
	else if (c->req != NULL)
		request_free(c->req);
	if (c->unflushed)
		srv.flushing--;
	LIST_REMOVE(c, link);
	srv.open--;
	if (c->drain != NULL)
		event_free(c->drain);
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

/* What a lingering client still sends is read into the stack and dropped:
 * a refused body never reaches the heap. */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char sink[16384];
	ssize_t n;

	(void)what;
	n = recv(fd, sink, sizeof(sink), 0);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	conn_free(c);
}

/* The last answer is out: the sending side closes at once; the receiving
 * side stays open a moment, so that a client still sending does not reset
 * the connection before it has read the answer. */
static void linger(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	c->state = CONN_LINGER;
	shutdown(fd, SHUT_WR);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->peer_done)
		return conn_free(c);
	c->drain =
		event_new(srv.app->base, fd, EV_READ | EV_PERSIST, on_drain, c);
	if (c->drain == NULL || event_add(c->drain, NULL) != 0)
		return conn_free(c);
	conn_arm(c, LINGER_S);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->unflushed) {
		c->unflushed = false;
		srv.flushing--;
	}
	if (c->state == CONN_STREAMING)
		return stream_drained(c->req);
	if (c->state != CONN_WRITING)
		return; /* a 100 Continue went out */
	if (c->close_after)
		return linger(c);
	c->state = CONN_IDLE;
	conn_arm(c, srv.app->cfg.request_timeout_s);
	bufferevent_enable(c->bev, EV_READ);
	read_head(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	switch (c->state) {
	case CONN_IDLE:
	case CONN_HEAD:
		return read_head(c);
	case CONN_BODY:
		return read_body(c);
	default:
		return; /* read is off while a request is handled */
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return; /* a TLS handshake done: the request comes next */
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
		c->peer_done = true;
		switch (c->state) {
		case CONN_IDLE:
		case CONN_HEAD:
			return read_head(c);
		case CONN_BODY:
			return read_body(c);
		case CONN_HANDLING:
		case CONN_STREAMING:
		case CONN_WRITING:
			return; /* the answer still goes out */
		default:
			break;
		}
	}
	conn_free(c);
}

/* A refusal the request itself cannot be answered with (a bad head, a bad
 * body, the deadline): the documented error, then the connection closes,
 * since what follows cannot be trusted to start a request. */
static void refuse(struct conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct conn *c, int status, const char *fmt, ...)
{
	struct request_full *f = c->req ? c->req : request_new(c);
	struct reply rep;
	char msg[256];
	va_list ap;

	if (f == NULL)
		return conn_free(c);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_init(&rep);
	reply_error(&rep,
		    status == 413 || status == 431 ? ERR_TOO_LARGE
		    : status == 503		   ? ERR_UNAVAILABLE
						   : ERR_INVALID_REQUEST,
		    NULL, "%s", msg);
	rep.status = status;
	f->close = true;
	send_reply(&f->r, &rep);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_HEAD || c->state == CONN_BODY)
		refuse(c, 408, "the request did not arrive within %d s",
		       srv.app->cfg.request_timeout_s);
	else
		conn_free(c);
}

static void tune_socket(struct bufferevent *bev)
{
	int one = 1;

	/* Answers go out whole and at once: without TCP_NODELAY the tail of
	 * an answer waits for the client's delayed ACK, 40 ms on Linux. */
	setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
		   sizeof(one));
	bufferevent_set_max_single_write(bev, 256 * 1024);
}

static void peer_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, len, "%s:%u", addr, port);
}

static void conn_new(evutil_socket_t fd, const struct sockaddr *sa)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct timeval write_limit = {srv.app->cfg.request_timeout_s, 0};

	if (c != NULL) {
		c->bev =
			srv.tls != NULL
				? tls_accept_bufferevent(srv.tls, srv.app->base,
							 fd)
				: bufferevent_socket_new(srv.app->base, fd,
							 BEV_OPT_CLOSE_ON_FREE);
		c->deadline = evtimer_new(srv.app->base, on_deadline, c);
	}
	if (c == NULL || c->bev == NULL || c->deadline == NULL) {
		if (c != NULL && c->deadline != NULL)
			event_free(c->deadline);
		if (c != NULL && c->bev != NULL)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		free(c);
		return;
	}
	peer_text(sa, c->peer, sizeof(c->peer));
	memcpy(&c->peer_addr, sa,
	       sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					 : sizeof(struct sockaddr_in));
	c->over_limit = srv.open >= srv.app->cfg.max_connections;
	tune_socket(c->bev);
	bufferevent_setwatermark(c->bev, EV_READ, 0, READ_AHEAD);
	/* A client that stops reading its answer is dropped like one that
	 * stops sending its request. */
	bufferevent_set_timeouts(c->bev, NULL, &write_limit);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	LIST_INSERT_HEAD(&srv.conns, c, link);
	srv.open++;
	conn_arm(c, srv.app->cfg.request_timeout_s);
}

/* --- answers ------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
	static const struct {
		int status;
		const char *reason;
	} phrases[] = {
		{200, "OK"},
		{201, "Created"},
		{304, "Not Modified"},
		{400, "Bad Request"},
		{401, "Unauthorized"},
		{403, "Forbidden"},
		{404, "Not Found"},
		{405, "Method Not Allowed"},
		{408, "Request Timeout"},
		{409, "Conflict"},
		{412, "Precondition Failed"},
		{413, "Content Too Large"},
		{415, "Unsupported Media Type"},
		{417, "Expectation Failed"},
		{422, "Unprocessable Content"},
		{431, "Request Header Fields Too Large"},
		{500, "Internal Server Error"},
		{503, "Service Unavailable"},
	};

	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].reason;
	return status < 400 ? "OK" : "Error";
}

/* A path under /fhir answers in FHIR whatever matched it: no route, or
 * the pages' catch-all. */
static enum frontend frontend_of(const struct request *r)
{
	const char *target = full_of(r)->head.target;

	if (target != NULL && strncmp(target, "/fhir", 5) == 0 &&
	    (target[5] == '\0' || target[5] == '/' || target[5] == '?'))
		return FRONTEND_FHIR;
	return r->route != NULL ? r->route->frontend : FRONTEND_V1;
}

/* The error object of the route's front-end: /v1's, with the reply's
 * extra members (e.g. depends_on) merged in, or FHIR's OperationOutcome
 * (FHIR handlers that point at an element send their own outcome as the
 * body; this renders the rest: tokens, limits, routes, the read
 * machinery's refusals). */
static json_t *error_body(const struct request *r, const struct reply *rep)
{
	json_t *doc, *inner;
	struct fhir_error fe;

	if (frontend_of(r) == FRONTEND_FHIR) {
		fhir_error_from_pp(&fe, &rep->err, NULL);
		return fhir_outcome(&r->app->fhir, &fe);
	}
	doc = error_to_json(&rep->err);
	inner = json_object_get(doc, "error");
	if (inner != NULL && rep->detail != NULL)
		json_object_update(inner, rep->detail);
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

static void add_reply_headers(struct request_full *f, const struct reply *rep)
{
	struct request *r = &f->r;
	bool text = rep->err.code == ERR_NONE && rep->text != NULL;
	char secs[16];

	add_header(f, "Content-Type",
		   text && rep->content_type ? rep->content_type
					     : answer_json_type(r));
	if (rep->status == 503) {
		snprintf(secs, sizeof(secs), "%d", r->app->cfg.retry_after_s);
		add_header(f, "Retry-After", secs);
	}
	if (rep->status == 401)
		add_header(f, "WWW-Authenticate", "Bearer");
	if (rep->flags & REPLY_REPLAY)
		add_header(f, "Idempotent-Replay", "true");
	/* Answers behind a token may show patients: no cache keeps them. */
	if (rep->cache_control != NULL)
		add_header(f, "Cache-Control", rep->cache_control);
	else if (r->route == NULL || r->route->roles != 0)
		add_header(f, "Cache-Control", "no-store");
	if (rep->etag[0] != '\0')
		add_header(f, "ETag", rep->etag);
	if (rep->location[0] != '\0')
		add_header(f, "Location", rep->location);
}

static void free_text(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Queues the status line, headers and body on the connection; takes
 * text. */
static void conn_answer(struct conn *c, struct request_full *f, int status,
			char *text, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool bodyless = status == 304 || status == 204 || f->head_only;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	c->close_after = f->close || c->over_limit || srv.app->draining;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n%s", status,
			    reason_phrase(status), date, f->headers);
	if (status != 304 && status != 204)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	evbuffer_add_printf(out, "%s\r\n",
			    c->close_after ? "Connection: close\r\n" : "");
	if (bodyless || len == 0 ||
	    evbuffer_add_reference(out, text, len, free_text, NULL) != 0)
		free(text);
	c->req = NULL;
	c->state = CONN_WRITING;
	evtimer_del(c->deadline);
	if (!c->unflushed) {
		c->unflushed = true;
		srv.flushing++;
	}
}

/* What an operator needs, and nothing about the patient: the route's
 * pattern rather than the URI (which holds ids and query strings). */
void request_log_event(struct request *r, const char *event_id)
{
	struct request_full *f = full_of(r);
	char *copy;

	if (f->nevents == f->events_cap) {
		size_t cap = f->events_cap ? 2 * f->events_cap : 4;
		char **grown = realloc(f->event_ids, cap * sizeof(*grown));
		if (grown == NULL)
			return;
		f->event_ids = grown;
		f->events_cap = cap;
	}
	copy = strdup(event_id);
	if (copy != NULL)
		f->event_ids[f->nevents++] = copy;
}

/* The request's one log line: what an operator needs, nothing about the
 * patient (no path or query values: the route's pattern stands for them). */
static void log_answer(const struct request *r, int status,
		       const struct reply *rep)
{
	const struct request_full *f = full_of(r);
	struct log_request_fields line = {
		.request_id = r->context,
		.method = request_method_name(r),
		.route = r->route != NULL ? r->route->pattern : NULL,
		.status = status,
		.duration_ms = (double)(now_millis() - r->started_at),
		.token_id = r->token != NULL ? r->token->id : NULL,
		.event_ids = (const char *const *)f->event_ids,
		.event_count = f->nevents,
		.error_code = rep->err.code != ERR_NONE
				      ? error_code_name(rep->err.code)
				      : NULL};

	log_request(&line);
}

static void send_reply(struct request *r, struct reply *rep)
{
	struct request_full *f = full_of(r);
	size_t len = 0;
	int status = rep->status;
	char *text;

	add_reply_headers(f, rep);
	text = encode_body(r, rep, &len);
	if (text == NULL) {
		static const char oom[] =
			"{\"error\":{\"code\":\"internal\",\"message\":"
			"\"could not encode the answer\"}}";
		text = strdup(oom);
		len = text ? strlen(text) : 0;
		status = 500;
	}
	metrics_request(r->route ? r->route->pattern : NULL,
			request_method_name(r), status,
			(double)(now_millis() - r->started_at) / 1000.0);
	log_answer(r, status, rep);
	if (r->conn != NULL)
		conn_answer(r->conn, f, status, text, len);
	else
		free(text);
	reply_clear(rep);
	request_free(f);
}

void request_finish(struct request *r, struct reply *rep)
{
	send_reply(r, rep);
}

/* --- routes and admission ------------------------------------------------ */

/* Finds the caller's token; false with the 401/403 in out. */
static bool authorize(struct request *r, const struct route *rt,
		      struct reply *out)
{
	const char *header = request_header(r, "Authorization");

	if (rt->roles == 0)
		return true;
	if ((rt->roles & ALLOW_SCRAPER) && r->conn != NULL &&
	    cidr_list_contains(&srv.scrapers,
			       (const struct sockaddr *)&r->conn->peer_addr))
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
static int split_path(const char *path, size_t pathlen, char *buf,
		      size_t buflen, char **segs)
{
	int n = 0;

	if (path == NULL || path[0] != '/' || pathlen >= buflen)
		return -1;
	memcpy(buf, path + 1, pathlen - 1);
	buf[pathlen - 1] = '\0';
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
	int np = split_path(rt->pattern, strlen(rt->pattern), pattern,
			    sizeof(pattern), psegs);
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

/* A path under /v1 or /fhir belongs to an API: never a page. */
static bool api_path(char **segs, int nsegs)
{
	return nsegs > 0 &&
	       (strcmp(segs[0], "v1") == 0 || strcmp(segs[0], "fhir") == 0);
}

/* Finds the handler.  When the path matches only with other methods,
 * allow receives them ("GET, POST") for the 405's Allow header.  Captured
 * params point into segbuf.  The pages' catch-all rows take no API path
 * and add nothing to allow (enum frontend). */
static const struct route *find_route(struct request_full *f, size_t pathlen,
				      char *allow, size_t allowlen)
{
	char *segs[MAX_PATH_SEGMENTS];
	int n = split_path(f->head.target, pathlen, f->segbuf,
			   sizeof(f->segbuf), segs);
	size_t used = 0;
	bool api = api_path(segs, n);

	allow[0] = '\0';
	if (n < 0)
		return NULL;
	for (size_t i = 0; i < srv.nroutes; i++) {
		const struct route *rt = &srv.routes[i];
		bool page = rt->frontend == FRONTEND_PAGES;

		if ((page && api) || !match_route(rt, segs, n, &f->r))
			continue;
		if (rt->method == f->r.method)
			return rt;
		if (page)
			continue;
		if (strstr(allow, method_names[rt->method]) == NULL)
			used += (size_t)snprintf(
				allow + used,
				used < allowlen ? allowlen - used : 0, "%s%s",
				used ? ", " : "", method_names[rt->method]);
	}
	return NULL;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)(ch | 0x20);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes s[0..len) into out ('+' is a space, as in forms);
 * returns the decoded length, or -1 for a '%' without two hex digits. */
static long percent_decode(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out[n++] = s[i] == '+' ? ' ' : s[i];
			continue;
		}
		if (i + 2 >= len)
			return -1;
		hi = hex_digit(s[i + 1]);
		lo = hex_digit(s[i + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[n] = '\0';
	return (long)n;
}

/* One "key=value" of the query into r->query; false with the 400. */
static bool add_query_param(struct request *r, const char *arg, size_t len,
			    char *buf, struct reply *out)
{
	const char *eq = memchr(arg, '=', len);
	char *value;
	long klen, vlen;

	if (eq == NULL || eq == arg)
		return reply_error(out, ERR_INVALID_REQUEST, NULL,
				   "the query string is malformed"),
		       false;
	klen = percent_decode(arg, (size_t)(eq - arg), buf);
	value = buf + (klen < 0 ? 0 : klen) + 1;
	vlen = percent_decode(eq + 1, len - (size_t)(eq - arg) - 1, value);
	if (klen < 0 || vlen < 0 || !http1_text_valid(buf, (size_t)klen))
		return reply_error(out, ERR_INVALID_REQUEST, NULL,
				   "the query string is malformed"),
		       false;
	/* Decoded values reach SQL as text: bytes that are no text (a NUL
	 * cut short, invalid UTF-8, control characters) are refused here. */
	if (!http1_text_valid(value, (size_t)vlen))
		return reply_error(out, ERR_INVALID_REQUEST,
				   domain_valid_id(buf) && klen < 64 ? buf
								     : NULL,
				   "query parameter %s is not text",
				   domain_valid_id(buf) ? buf : "(unnamed)"),
		       false;
	evhttp_add_header(r->query, buf, value);
	return true;
}

/* Decodes the query string into r->query; false with the 400 in out. */
static bool parse_query(struct request *r, const char *query, struct reply *out)
{
	size_t len = strlen(query);
	char *buf = malloc(len + 2);
	bool ok = buf != NULL;

	r->query = calloc(1, sizeof(*r->query));
	if (r->query == NULL || buf == NULL) {
		free(buf);
		return reply_error(out, ERR_INTERNAL, NULL, "out of memory"),
		       false;
	}
	TAILQ_INIT(r->query);
	for (const char *p = query; ok && *p != '\0';) {
		size_t n = strcspn(p, "&");

		ok = add_query_param(r, p, n, buf, out);
		p += n + (p[n] == '&');
	}
	free(buf);
	return ok;
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

/* The route, or the 404/405 in out. */
static const struct route *route_of(struct request_full *f, struct reply *out)
{
	size_t pathlen = strcspn(f->head.target, "?");
	const struct route *rt;
	char allow[64];

	rt = find_route(f, pathlen, allow, sizeof(allow));
	if (rt == NULL && allow[0] != '\0') {
		add_header(f, "Allow", allow);
		reply_error(out, ERR_METHOD_NOT_ALLOWED, NULL,
			    "method not allowed here; allowed: %s", allow);
	} else if (rt == NULL) {
		reply_error(out, ERR_NOT_FOUND, NULL, "no such resource");
	}
	return rt;
}

/* Everything decided from the head alone, before a byte of the body is
 * read: capacity, route, token, size, query.  False with the refusal in
 * out. */
static bool admit(struct request_full *f, struct conn *c, struct reply *out)
{
	struct request *r = &f->r;
	const char *query = strchr(f->head.target, '?');
	int limit = r->app->cfg.max_body_bytes;

	if (c->over_limit)
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "too many connections; retry later"),
		       false;
	r->route = route_of(f, out);
	if (r->route == NULL)
		return false;
	if (r->app->draining)
		return reply_error(out, ERR_UNAVAILABLE, NULL,
				   "the daemon is shutting down"),
		       false;
	if (!authorize(r, r->route, out))
		return false;
	if (f->head.framing == HTTP1_LENGTH &&
	    f->head.content_length > (uint64_t)limit)
		return reply_error(out, ERR_TOO_LARGE, NULL,
				   "the body is over %d bytes", limit),
		       false;
	return parse_query(r, query ? query + 1 : "", out) &&
	       query_params_valid(r, r->route, out);
}

static void dispatch(struct conn *c, struct request_full *f)
{
	struct reply rep;

	/* Reading stays on: what a client sends meanwhile waits in the input
	 * buffer (libevent stops at READ_AHEAD) and is parsed once the answer
	 * is out; turning it off and on cost two epoll_ctl a request. */
	c->state = CONN_HANDLING;
	evtimer_del(c->deadline);
	reply_init(&rep);
	if (f->r.route->handler(&f->r, &rep) == HANDLED_NOW)
		send_reply(&f->r, &rep);
}

/* Room for len more body bytes (and the NUL after them). */
static bool body_reserve(struct request_full *f, size_t len)
{
	size_t want = f->r.body_len + len + 1;
	char *grown;

	if (want <= f->body_cap)
		return true;
	if (want < f->body_cap * 2)
		want = f->body_cap * 2;
	grown = realloc(f->r.body, want);
	if (grown == NULL)
		return false;
	f->r.body = grown;
	f->body_cap = want;
	return true;
}

/* Reads the body its head announced, or dispatches at once without one. */
static void start_body(struct conn *c, struct request_full *f)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint64_t limit = (uint64_t)srv.app->cfg.max_body_bytes;

	if (!body_reserve(f, f->head.framing == HTTP1_LENGTH
				     ? (size_t)f->head.content_length
				     : 0))
		return refuse(c, 503, "out of memory");
	f->r.body[0] = '\0';
	if (f->head.framing == HTTP1_NO_BODY)
		return dispatch(c, f);
	c->state = CONN_BODY;
	c->body_left = f->head.content_length;
	http1_chunked_init(&c->chunked, limit);
	if (f->head.expect_continue && evbuffer_get_length(in) == 0)
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	read_body(c);
}

static void start_request(struct conn *c, struct evbuffer *in, size_t len)
{
	struct request_full *f = request_new(c);
	struct http1_error err;
	struct reply rep;
	bool parsed;

	if (f == NULL)
		return conn_free(c);
	parsed = http1_parse_head(
		(const char *)evbuffer_pullup(in, (ev_ssize_t)len), len,
		&f->head, &err);
	evbuffer_drain(in, len);
	if (!parsed)
		return refuse(c, err.status, "%s", err.message);
	f->r.method = method_of(f->head.method);
	f->head_only = strcmp(f->head.method, "HEAD") == 0;
	f->close = !f->head.keep_alive;
	reply_init(&rep);
	if (admit(f, c, &rep))
		return start_body(c, f);
	/* The unread body would be taken for the next request. */
	f->close |= f->head.framing != HTTP1_NO_BODY;
	send_reply(&f->r, &rep);
}

static void read_head(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail = evbuffer_get_length(in), n;
	struct http1_error err;
	long end;

	if (avail == 0) {
		if (c->peer_done)
			conn_free(c);
		return;
	}
	if (c->state == CONN_IDLE) {
		c->state = CONN_HEAD;
		conn_arm(c, srv.app->cfg.request_timeout_s);
	}
	n = avail < HTTP1_MAX_HEAD ? avail : HTTP1_MAX_HEAD;
	end = http1_head_end((const char *)evbuffer_pullup(in, (ev_ssize_t)n),
			     n, &err);
	if (end < 0)
		return refuse(c, err.status, "%s", err.message);
	if (end > 0)
		return start_request(c, in, (size_t)end);
	if (c->peer_done)
		conn_free(c); /* a head cut short: nobody to answer */
}

/* Content-Length bytes as far as they came; true when all are in. */
static bool take_length(struct conn *c, struct request_full *f,
			struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	size_t n = avail < c->body_left ? avail : (size_t)c->body_left;

	evbuffer_remove(in, f->r.body + f->r.body_len, n);
	f->r.body_len += n;
	f->r.body[f->r.body_len] = '\0';
	c->body_left -= n;
	return c->body_left == 0;
}

/* Chunks as far as they came; true when the last is in, false with the
 * connection refused (*done false) or waiting (*done false). */
static bool take_chunks(struct conn *c, struct request_full *f,
			struct evbuffer *in, bool *done)
{
	uint64_t room = c->chunked.limit - f->r.body_len;
	size_t avail = evbuffer_get_length(in), used = 0, produced = 0;
	enum http1_chunk_status st;
	struct http1_error err;

	*done = false;
	if (avail == 0)
		return true;
	if (!body_reserve(f, avail < room ? avail : (size_t)room))
		return refuse(c, 503, "out of memory"), false;
	st = http1_chunked_decode(
		&c->chunked, (const char *)evbuffer_pullup(in, -1), avail,
		&used, f->r.body + f->r.body_len, &produced, &err);
	f->r.body_len += produced;
	f->r.body[f->r.body_len] = '\0';
	evbuffer_drain(in, used);
	if (st == HTTP1_CHUNK_BAD)
		return refuse(c, err.status, "%s", err.message), false;
	*done = st == HTTP1_CHUNK_DONE;
	return true;
}

static void read_body(struct conn *c)
{
	struct request_full *f = c->req;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	bool done;

	if (f->head.framing == HTTP1_LENGTH)
		done = take_length(c, f, in);
	else if (!take_chunks(c, f, in, &done))
		return;
	if (done)
		return dispatch(c, f);
	if (c->peer_done)
		refuse(c, 400, "the body ended before its length");
}

/* --- listening ----------------------------------------------------------- */

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)salen;
	(void)arg;
	if (srv.open >= srv.app->cfg.max_connections + OVERFLOW_CONNECTIONS) {
		evutil_closesocket(fd);
		return;
	}
	conn_new(fd, sa);
}

/* Out of descriptors (or memory), accept fails at once every time the
 * loop turns: pause, serve the connections there are, try again. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
	int64_t now = monotonic_s();

	(void)arg;
	srv.accept_errors++;
	evconnlistener_disable(l);
	evtimer_add(srv.accept_resume, &pause);
	if (srv.accept_logged_at != 0 &&
	    now - srv.accept_logged_at < ACCEPT_LOG_S)
		return;
	log_warning(CTX,
		    "accept: %s; pausing new connections for %d ms (%lu "
		    "failure(s) since the last such line)",
		    evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS,
		    srv.accept_errors);
	srv.accept_logged_at = now;
	srv.accept_errors = 0;
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (srv.listener != NULL)
		evconnlistener_enable(srv.listener);
}

static int bound_port_of(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

static struct evconnlistener *listen_on(const struct config *cfg)
{
	struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC,
					.ai_socktype = SOCK_STREAM,
					.ai_flags = EVUTIL_AI_PASSIVE};
	struct evutil_addrinfo *ai = NULL;
	struct evconnlistener *l;
	char port[16];

	snprintf(port, sizeof(port), "%d", cfg->port);
	if (evutil_getaddrinfo(cfg->listen, port, &hints, &ai) != 0)
		return NULL;
	l = evconnlistener_new_bind(
		srv.app->base, on_accept, NULL,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
			LEV_OPT_REUSEABLE,
		LISTEN_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	return l;
}

/* metrics_allow was checked when the configuration was read. */
void http_apply_limits(struct app *app)
{
	struct cidr_list next = {0};
	char err[128];

	if (!cidr_list_parse(app->cfg.metrics_allow, &next, err, sizeof(err))) {
		log_error(CTX, "metrics_allow: %s", err);
		return;
	}
	cidr_list_free(&srv.scrapers);
	srv.scrapers = next;
}

bool http_start(struct app *app, const struct route *routes, size_t nroutes,
		int *bound_port, char *err, size_t errlen)
{
#ifdef M_MMAP_THRESHOLD
	/* Bodies are the daemon's big allocations, up to max_body_bytes each.
	 * A fixed threshold keeps them in their own mappings, given back when
	 * freed; glibc's moving one would put them on the heap after the
	 * first, where they stay. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* A fixed mmap threshold also fixes the trim threshold at 128 KiB:
	 * every group's freed arrays then gave the heap back and took it
	 * again (brk and malloc_consolidate in every profile). */
	mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
#endif
	srv.app = app;
	srv.routes = routes;
	srv.nroutes = nroutes;
	srv.tls = app->tls;
	http_apply_limits(app);
	LIST_INIT(&srv.conns);
	srv.accept_resume = evtimer_new(app->base, on_accept_resume, NULL);
	srv.listener = srv.accept_resume ? listen_on(&app->cfg) : NULL;
	if (srv.listener == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d", app->cfg.listen,
			 app->cfg.port);
		return false;
	}
	evconnlistener_set_error_cb(srv.listener, on_accept_error);
	*bound_port = bound_port_of(evconnlistener_get_fd(srv.listener));
	return true;
}

void http_stop_accepting(struct app *app)
{
	struct conn *c, *next;

	(void)app;
	if (srv.listener != NULL)
		evconnlistener_free(srv.listener);
	srv.listener = NULL;
	/* Connections between requests have nothing in flight. */
	for (c = LIST_FIRST(&srv.conns); c != NULL; c = next) {
		next = LIST_NEXT(c, link);
		if (c->state == CONN_IDLE)
			conn_free(c);
	}
}

void http_free(struct app *app)
{
	http_stop_accepting(app);
	while (!LIST_EMPTY(&srv.conns))
		conn_free(LIST_FIRST(&srv.conns));
	if (srv.accept_resume != NULL)
		event_free(srv.accept_resume);
	srv.accept_resume = NULL;
	cidr_list_free(&srv.scrapers);
}

/* --- extra headers and other methods (the pages) ---------------------------
 */

void request_add_header(struct request *r, const char *name, const char *value)
{
	add_header(full_of(r), name, value);
}

void request_other_methods(const struct request *r, char *allow, size_t len)
{
	const struct request_full *f = full_of(r);
	const char *target = f->head.target;
	char buf[2048], *segs[MAX_PATH_SEGMENTS];
	struct request scratch = *r;
	int n = target ? split_path(target, strcspn(target, "?"), buf,
				    sizeof(buf), segs)
		       : -1;
	size_t used = 0;

	allow[0] = '\0';
	for (size_t i = 0; n >= 0 && i < srv.nroutes; i++) {
		const struct route *rt = &srv.routes[i];
		if (rt->handler == r->route->handler ||
		    !match_route(rt, segs, n, &scratch) ||
		    strstr(allow, method_names[rt->method]) != NULL)
			continue;
		used += (size_t)snprintf(
			allow + used, used < len ? len - used : 0, "%s%s",
			used ? ", " : "", method_names[rt->method]);
	}
}

/* --- streamed answers
 * ---------------------------------------------------------
 *
 * A chunked answer written piece by piece: the next piece is asked for
 * (drained) once the socket has taken the last one, so a slow client holds
 * one piece in the daemon.  The connection closes after it.  A client that
 * goes is reported (gone) from the loop, by an event the request owns: a
 * stream ended meanwhile hears nothing.
 */

struct stream {
	struct request_full *f;
	stream_cb drained, gone;
	void *arg;
	size_t bytes;
	bool waiting;	       /* a piece is out; drained follows */
	struct event *gone_ev; /* the client left */
};

static void stream_free(struct stream *st)
{
	if (st == NULL)
		return;
	event_free(st->gone_ev);
	free(st);
}

static void on_stream_gone(evutil_socket_t fd, short what, void *arg)
{
	struct stream *st = arg;

	(void)fd;
	(void)what;
	st->gone(&st->f->r, st->arg);
}

static void stream_client_gone(struct request_full *f)
{
	struct timeval now = {0, 0};

	f->r.conn = NULL;
	evtimer_add(f->stream->gone_ev, &now);
}

static void stream_drained(struct request_full *f)
{
	struct stream *st = f->stream;

	if (st->waiting) {
		st->waiting = false;
		st->drained(&f->r, st->arg);
	}
}

bool request_stream_begin(struct request *r, const char *content_type,
			  const char *filename, stream_cb drained,
			  stream_cb gone, void *arg)
{
	struct request_full *f = full_of(r);
	struct stream *st;
	char disposition[192];

	if (r->conn == NULL || (st = calloc(1, sizeof(*st))) == NULL)
		return false;
	*st = (struct stream){f, drained, gone, arg, 0, false, NULL};
	st->gone_ev = evtimer_new(r->app->base, on_stream_gone, st);
	if (st->gone_ev == NULL) {
		free(st);
		return false;
	}
	f->stream = st;
	add_header(f, "Content-Type", content_type);
	add_header(f, "Cache-Control", "no-store");
	add_header(f, "X-Content-Type-Options", "nosniff");
	if (filename != NULL) {
		snprintf(disposition, sizeof(disposition),
			 "attachment; filename=\"%s\"", filename);
		add_header(f, "Content-Disposition", disposition);
	}
	evbuffer_add_printf(bufferevent_get_output(r->conn->bev),
			    "HTTP/1.1 200 OK\r\n%sTransfer-Encoding: "
			    "chunked\r\nConnection: close\r\n\r\n",
			    f->headers);
	r->conn->close_after = true;
	r->conn->state = CONN_STREAMING;
	return true;
}

void request_stream_write(struct request *r, const char *data, size_t len)
{
	struct stream *st = full_of(r)->stream;
	struct evbuffer *out;

	if (st == NULL || r->conn == NULL || len == 0)
		return;
	out = bufferevent_get_output(r->conn->bev);
	evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, data, len);
	evbuffer_add(out, "\r\n", 2);
	st->bytes += len;
	st->waiting = true;
}

static void stream_log(struct request *r, int status)
{
	struct reply rep;

	reply_init(&rep);
	metrics_request(r->route ? r->route->pattern : NULL,
			request_method_name(r), status,
			(double)(now_millis() - r->started_at) / 1000.0);
	log_answer(r, status, &rep);
}

void request_stream_end(struct request *r)
{
	struct request_full *f = full_of(r);
	struct conn *c = r->conn;

	stream_log(r, 200);
	if (c != NULL) {
		evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
		c->req = NULL;
		c->state = CONN_WRITING;
		if (!c->unflushed) {
			c->unflushed = true;
			srv.flushing++;
		}
	}
	request_free(f);
}

void request_stream_abort(struct request *r)
{
	struct request_full *f = full_of(r);
	struct conn *c = r->conn;

	stream_log(r, 500);
	if (c != NULL) {
		/* Without the closing chunk: the client sees a cut answer. */
		c->req = NULL;
		c->state = CONN_LINGER;
		conn_free(c);
	}
	request_free(f);
}
