#include "tls.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct tls {
	SSL_CTX *ctx;
};

static void openssl_error(const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	char why[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, why);
}

static SSL_CTX *context_load(const char *cert_file, const char *key_file,
			     char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		openssl_error("TLS context", err, errlen);
		return NULL;
	}
	/* Nothing older than TLS 1.2; no renegotiation, no compression. */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		openssl_error("TLS 1.2 minimum", err, errlen);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		openssl_error(cert_file, err, errlen);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		openssl_error(key_file, err, errlen);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		openssl_error("the key does not match the certificate", err,
			      errlen);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls *tls_new(const char *cert_file, const char *key_file, char *err,
		    size_t errlen)
{
	struct tls *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->ctx = context_load(cert_file, key_file, err, errlen);
	if (t->ctx == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

bool tls_reload(struct tls *t, const char *cert_file, const char *key_file,
		char *err, size_t errlen)
{
	SSL_CTX *next = context_load(cert_file, key_file, err, errlen);

	if (next == NULL)
		return false;
	/* Open connections hold their own reference to the old one. */
	SSL_CTX_free(t->ctx);
	t->ctx = next;
	return true;
}

struct bufferevent *tls_accept_bufferevent(struct tls *t,
					   struct event_base *base,
					   evutil_socket_t fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (ssl == NULL)
		return NULL;
	/* Freeing the bufferevent frees the SSL and closes fd.  When libevent
	 * fails half-way it may already have freed the SSL, so a failure
	 * leaks it rather than risk freeing it twice (out of memory only). */
	return bufferevent_openssl_socket_new(base, fd, ssl,
					      BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

void tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}
