/*
 * harness_pg: a private PostgreSQL cluster in a fresh temporary directory
 * (initdb as the postgres user when running as root, unix socket only, no
 * TCP), and streaming standbys of it.  Everything started is stopped and
 * removed by harness_pg_destroy; pg_ctl -w waits for the server, nothing
 * sleeps.
 */
#ifndef PAINPATH_HARNESS_PG_H
#define PAINPATH_HARNESS_PG_H

#include <limits.h>
#include <stdbool.h>

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
