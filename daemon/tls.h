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

struct evhttp;

struct tls;

/* Loads the chain and key; NULL with err set when they do not load or do
 * not match. */
struct tls *tls_new(const char *cert_file, const char *key_file, char *err,
		    size_t errlen);
/* Loads them again; on failure keeps serving with the old ones (false,
 * err set). */
bool tls_reload(struct tls *t, const char *cert_file, const char *key_file,
		char *err, size_t errlen) __attribute__((warn_unused_result));
/* Every connection http accepts from now on speaks TLS. */
void tls_attach(struct tls *t, struct evhttp *http);
void tls_free(struct tls *t);

#endif
