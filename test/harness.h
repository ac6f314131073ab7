/*
 * harness: the real parts for black-box tests.  A private PostgreSQL cluster
 * in a fresh temporary directory (initdb as the postgres user when running
 * as root, unix socket only, no TCP), the real painpathd on a free loopback
 * port, and a small blocking HTTP/1.1 client.  Everything started is stopped
 * and removed by the matching stop call; nothing is left behind.
 *
 * Synchronisation never sleeps: pg_ctl -w waits for the server, and the
 * daemon reports its bound port on a pipe (--ready-fd) once it is serving.
 */
#ifndef PAINPATH_HARNESS_H
#define PAINPATH_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct pg_instance {
	char dir[PATH_MAX]; /* temp dir: data/ and the socket live here */
	char conninfo[PATH_MAX +
		      64]; /* "host=<dir> port=5432 dbname=painpath user=..." */
	bool running;
};

/* initdb + start + createdb painpath.  Returns false with a message on
 * stderr. */
bool harness_pg_start(struct pg_instance *pg);
/* pg_ctl stop -m fast (or immediate when fast == false), keeping the data. */
bool harness_pg_stop_server(struct pg_instance *pg, bool fast);
/* Start again a server stopped with harness_pg_stop_server. */
bool harness_pg_start_server(struct pg_instance *pg);
/* Stop the server and remove the directory. */
void harness_pg_destroy(struct pg_instance *pg);
/* Run SQL through psql against the cluster; returns psql's trimmed,
 * unaligned, tuples-only output (caller frees) or NULL on failure. */
char *harness_psql(const struct pg_instance *pg, const char *sql);

struct daemon_instance {
	pid_t pid;
	int port;
};

/* Starts $PAINPATHD (default build/painpathd) with
 *   --listen 127.0.0.1 --port 0 --db <conninfo> --ready-fd <fd> [extra...]
 * and waits until it reports its port.  extra is NULL-terminated or NULL.
 * stderr of the daemon goes to $PAINPATH_TEST_LOG if set, else inherited. */
bool harness_daemon_start(struct daemon_instance *d, const char *conninfo,
			  const char *const *extra);
/* SIGTERM and wait; returns the exit status (as from waitpid's WEXITSTATUS),
 * or -1 if it died by a signal. */
int harness_daemon_stop(struct daemon_instance *d);
/* SIGKILL and reap. */
void harness_daemon_kill(struct daemon_instance *d);

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

/* Appends lines ("key = value\n") to the cluster's postgresql.conf; they
 * take effect at the next start (or reload). */
bool harness_pg_configure(const struct pg_instance *pg, const char *lines);
/* A streaming standby of the running primary in its own temporary directory
 * (its own socket directory, same port number): pg_basebackup -R -X stream,
 * then started (hot standby, read-only).  The standby's
 * synchronous_standby_names is emptied, so once promoted it waits for no
 * standby of its own.  standby->conninfo names the standby alone.  Remove it
 * with harness_pg_destroy. */
bool harness_pg_start_standby(const struct pg_instance *primary,
			      struct pg_instance *standby);
/* pg_ctl promote -w: the standby becomes a read-write primary. */
bool harness_pg_promote(struct pg_instance *pg);

#endif
