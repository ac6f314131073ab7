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
	char *raw;    /* every byte received, NUL-terminated */
	size_t raw_len;
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
/* http_raw_flags: shut the sending side after the bytes, so a server
 * waiting for more sees the end at once. */
#define HTTP_HALF_CLOSE 1u
int http_raw_flags(int port, const void *bytes, size_t len, int timeout_ms,
		   unsigned flags, struct http_response *out);

/* The parts, for clients that pace themselves: a connected socket to
 * 127.0.0.1:port (-1 on failure); sending what the peer takes within
 * timeout_ms (false when it stopped taking or went away); reading until
 * the server closes or timeout_ms passes, then parsing the first answer
 * and closing fd (returns its status, 0 when none came). */
int http_connect(int port);
bool http_send(int fd, const void *bytes, size_t len, int timeout_ms);
int http_read(int fd, int timeout_ms, struct http_response *out);
/* How many answers (status lines) the raw bytes hold. */
int http_count_responses(const struct http_response *r);

/* Case-insensitive header lookup; returns a malloc'd value or NULL. */
char *http_header(const struct http_response *r, const char *name);
void http_response_free(struct http_response *r);

#endif
