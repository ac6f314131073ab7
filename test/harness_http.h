/*
 * harness_http: a small blocking HTTP/1.1 client.  Every call has a
 * deadline (poll-based); none sleeps.
 */
#ifndef PAINPATH_HARNESS_HTTP_H
#define PAINPATH_HARNESS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct http_response {
	int status;    /* 0 when no response could be read */
	char *headers; /* raw header block, NUL-terminated */
	char *body;    /* NUL-terminated (body_len excludes the NUL) */
	size_t body_len;
	json_t *json; /* parsed body when it is JSON, else NULL */
};

/* Header lines ("Name: value\r\n") added to every http_request and
 * http_begin whose extra_headers carry no Authorization of their own (a
 * suite's default token).  NULL: none. */
extern const char *http_default_headers;

/* One request on a fresh connection ("Connection: close").  body may be NULL.
 * extra_headers is zero or more "Name: value\r\n" lines or NULL.  Content-Type
 * application/json is sent with a body.  Returns the status (0 on failure). */
int http_request(int port, const char *method, const char *path,
		 const char *body, const char *extra_headers,
		 struct http_response *out);
/* The same, split in two so several requests can be in flight at once:
 * http_begin connects and writes the whole request, returning the socket
 * (-1 on failure); http_end reads the response and closes the socket. */
int http_begin(int port, const char *method, const char *path, const char *body,
	       const char *extra_headers);
int http_end(int fd, struct http_response *out);
/* Sends raw bytes and reads whatever comes back until the server closes or
 * timeout_ms passes (poll-based, not a sleep).  For hostile-input tests. */
int http_raw(int port, const void *bytes, size_t len, int timeout_ms,
	     struct http_response *out);
/* Case-insensitive header lookup; returns a malloc'd value or NULL. */
char *http_header(const struct http_response *r, const char *name);
void http_response_free(struct http_response *r);

#endif
