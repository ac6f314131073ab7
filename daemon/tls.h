/*
 * tls: HTTPS on the daemon's listener, with Debian's OpenSSL through
 * libevent's OpenSSL bufferevents: TLS 1.2 or newer, the certificate chain
 * and key from files, reloaded on SIGHUP (connections already open keep
 * the context they started with: OpenSSL counts its references).
 */
#ifndef PAINPATHD_TLS_H
#define PAINPATHD_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/util.h>

struct bufferevent;
struct event_base;

struct tls;

/* Loads the chain and key; NULL with err set when they do not load or do
 * not match. */
struct tls *tls_new(const char *cert_file, const char *key_file, char *err,
		    size_t errlen);
/* Loads them again; on failure keeps serving with the old ones (false,
 * err set). */
bool tls_reload(struct tls *t, const char *cert_file, const char *key_file,
		char *err, size_t errlen) __attribute__((warn_unused_result));
/* A server-side TLS bufferevent that owns the accepted socket fd; NULL
 * when out of memory. */
struct bufferevent *tls_accept_bufferevent(struct tls *t,
					   struct event_base *base,
					   evutil_socket_t fd);
void tls_free(struct tls *t);

#endif
