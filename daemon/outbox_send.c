/* HTTP(S) POSTs to receivers on the daemon's loop (outbox_send.h).  The
 * server side of HTTP is http.c's; this is the client side, used by the
 * outbox alone. */
#include "outbox_send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct send {
	struct evhttp_connection *conn;
	struct event *finish; /* the answer, handed on outside libevent's
				 callback (the connection is freed then) */
	outbox_sent_fn done;
	void *arg;
	int status;
	char error[160];
	struct send *prev, *next;
};

static struct evdns_base *dns;
static SSL_CTX *tls;
static struct send *inflight;

static void unlink_send(struct send *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		inflight = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
}

static void send_free(struct send *s)
{
	unlink_send(s);
	if (s->conn != NULL)
		evhttp_connection_free(s->conn);
	if (s->finish != NULL)
		event_free(s->finish);
	free(s);
}

static void on_finish(evutil_socket_t fd, short what, void *arg)
{
	struct send *s = arg;
	outbox_sent_fn done = s->done;
	void *done_arg = s->arg;
	int status = s->status;
	char error[sizeof(s->error)];

	(void)fd;
	(void)what;
	snprintf(error, sizeof(error), "%s", s->error);
	send_free(s);
	done(done_arg, status, status >= 200 && status < 300 ? NULL : error);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct send *s = arg;
	static const char *const why[] = {"timed out", "the connection closed",
					  "the connection failed", "cancelled",
					  "the answer was not HTTP"};

	snprintf(s->error, sizeof(s->error), "%s",
		 (unsigned)e < sizeof(why) / sizeof(why[0]) ? why[e]
							    : "no answer");
}

static void on_response(struct evhttp_request *req, void *arg)
{
	struct send *s = arg;

	s->status = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (s->status != 0 && (s->status < 200 || s->status >= 300))
		snprintf(s->error, sizeof(s->error), "the receiver answered %d",
			 s->status);
	else if (s->status == 0 && s->error[0] == '\0')
		snprintf(s->error, sizeof(s->error), "no answer");
	event_active(s->finish, EV_TIMEOUT, 0);
}

static struct evdns_base *resolver(struct event_base *base)
{
	if (dns == NULL) {
		dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (dns == NULL && (dns = evdns_base_new(base, 0)) != NULL)
			evdns_base_load_hosts(dns, NULL);
	}
	return dns;
}

/* A TLS client context that checks the receiver's certificate against
 * the system's CA store. */
static SSL_CTX *tls_context(void)
{
	if (tls != NULL)
		return tls;
	tls = SSL_CTX_new(TLS_client_method());
	if (tls == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(tls) != 1) {
		SSL_CTX_free(tls);
		tls = NULL;
	}
	return tls;
}

static struct evhttp_connection *connect_to(struct event_base *base, bool https,
					    const char *host, int port)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (!https)
		return evhttp_connection_base_new(base, resolver(base), host,
						  (ev_uint16_t)port);
	if (tls_context() == NULL || (ssl = SSL_new(tls)) == NULL)
		return NULL;
	SSL_set_tlsext_host_name(ssl, host);
	X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host, 0);
	bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	return evhttp_connection_base_bufferevent_new(base, resolver(base), bev,
						      host, (ev_uint16_t)port);
}

static bool add_headers(struct evhttp_request *req, const char *host,
			const char *const *headers)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char name[128];

	evhttp_add_header(out, "Host", host);
	evhttp_add_header(out, "Connection", "close");
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		const char *colon = strchr(headers[i], ':');
		size_t n = colon ? (size_t)(colon - headers[i]) : 0;
		if (n == 0 || n >= sizeof(name))
			return false;
		memcpy(name, headers[i], n);
		name[n] = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		if (evhttp_add_header(out, name, colon) != 0)
			return false;
	}
	return true;
}

/* The request line's target: the path and query of the endpoint. */
static void target_of(const struct evhttp_uri *uri, char *out, size_t len)
{
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);

	snprintf(out, len, "%s%s%s", path && path[0] ? path : "/",
		 query ? "?" : "", query ? query : "");
}

bool outbox_send(struct event_base *base, const char *url,
		 const char *const *headers, const char *body, size_t len,
		 int timeout_s, outbox_sent_fn done, void *arg)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
	const char *host_in = uri ? evhttp_uri_get_host(uri) : NULL;
	bool https = scheme != NULL && strcasecmp(scheme, "https") == 0;
	char host[256], target[2048];
	struct evhttp_request *req = NULL;
	struct send *s = NULL;
	int port;

	if (host_in == NULL || strlen(host_in) >= sizeof(host))
		goto fail;
	/* "[::1]" names the host ::1. */
	snprintf(host, sizeof(host), "%.*s",
		 (int)strlen(host_in) - 2 * (host_in[0] == '['),
		 host_in + (host_in[0] == '['));
	port = evhttp_uri_get_port(uri);
	if (port < 0)
		port = https ? 443 : 80;
	target_of(uri, target, sizeof(target));
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	s->done = done;
	s->arg = arg;
	s->finish = event_new(base, -1, 0, on_finish, s);
	s->conn = connect_to(base, https, host, port);
	if (s->finish == NULL || s->conn == NULL)
		goto fail;
	evhttp_connection_set_timeout(s->conn, timeout_s);
	evhttp_connection_set_retries(s->conn, 0);
	req = evhttp_request_new(on_response, s);
	if (req == NULL)
		goto fail;
	evhttp_request_set_error_cb(req, on_error);
	if (!add_headers(req, host, headers) ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), body, len) !=
		    0) {
		evhttp_request_free(req);
		goto fail;
	}
	s->next = inflight;
	if (inflight != NULL)
		inflight->prev = s;
	inflight = s;
	evhttp_uri_free(uri);
	/* On failure libevent has freed the request. */
	if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, target) != 0) {
		snprintf(s->error, sizeof(s->error), "cannot send");
		event_active(s->finish, EV_TIMEOUT, 0);
	}
	return true;
fail:
	if (s != NULL) {
		if (s->conn != NULL)
			evhttp_connection_free(s->conn);
		if (s->finish != NULL)
			event_free(s->finish);
		free(s);
	}
	if (uri != NULL)
		evhttp_uri_free(uri);
	return false;
}

void outbox_send_shutdown(void)
{
	while (inflight != NULL)
		send_free(inflight);
	if (dns != NULL)
		evdns_base_free(dns, 0);
	dns = NULL;
	if (tls != NULL)
		SSL_CTX_free(tls);
	tls = NULL;
}
