/*
 * painpathd: parses arguments, loads config and models, brings the schema
 * up to date, then serves HTTP from one libevent loop until SIGTERM/SIGINT.
 * The first signal stops accepting and lets requests in flight finish (up to
 * shutdown_grace_s); a second one exits at once.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "app.h"
#include "clinic.h"
#include "db.h"
#include "fhir_serve.h"
#include "http.h"
#include "log.h"
#include "tls.h"
#include "metrics.h"
#include "migrate.h"
#include "outbox.h"
#include "long_pool.h"
#include "static.h"
#include "stats_build.h"
#include "stats_snapshot.h"
#include "stats_public.h"
#include "store.h"
#include "version.h"

#define CTX "main"
/* How often /metrics' clinic figures are counted again. */
#define CLINIC_REFRESH_S 30
/* The whole country's snapshots are looked at this often (each is
 * recomputed when older than 25 s: stats_snapshot.h). */
#define SNAPSHOT_TICK_S 10

struct options {
	const char *config_path;
	int ready_fd;
	bool print_config;
	/* key/value overrides from flags, applied after the config file */
	const char *keys[16];
	const char *values[16];
	int n;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: painpathd [--config FILE] [--listen ADDR] [--port N]\n"
		"                 [--db CONNINFO] [--models DIR] [--schema "
		"DIR]\n"
		"                 [--tokens FILE] [--db-read CONNINFO]\n"
		"                 [--log-level error|warning|info|debug]\n"
		"                 [--ready-fd FD]\n"
		"       painpathd [--config FILE] [flags] --print-config\n"
		"       painpathd --version\n");
}

static bool parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"db", required_argument, NULL, 'd'},
		{"models", required_argument, NULL, 'm'},
		{"schema", required_argument, NULL, 's'},
		{"log-level", required_argument, NULL, 'v'},
		{"ready-fd", required_argument, NULL, 'r'},
		{"tokens", required_argument, NULL, 't'},
		{"db-read", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"print-config", no_argument, NULL, 'P'},
		{NULL, 0, NULL, 0}};
	static const struct {
		int opt;
		const char *key;
	} map[] = {{'l', "listen"},	 {'p', "port"},
		   {'d', "db"},		 {'m', "models_dir"},
		   {'s', "schema_dir"},	 {'v', "log_level"},
		   {'t', "tokens_file"}, {'R', "db_read"}};
	int c;

	memset(o, 0, sizeof(*o));
	o->ready_fd = -1;
	while ((c = getopt_long(argc, argv, "c:l:p:d:m:s:v:r:t:R:hVP", longopts,
				NULL)) != -1) {
		if (c == 'V') {
			printf("painpathd %s\n", painpath_version);
			exit(0);
		} else if (c == 'P') {
			o->print_config = true;
		} else if (c == 'c') {
			o->config_path = optarg;
		} else if (c == 'r') {
			o->ready_fd = atoi(optarg);
		} else if (c == 'h') {
			usage(stdout);
			exit(0);
		} else {
			bool known = false;
			for (size_t i = 0; i < sizeof(map) / sizeof(map[0]);
			     i++)
				if (map[i].opt == c && o->n < 16) {
					o->keys[o->n] = map[i].key;
					o->values[o->n++] = optarg;
					known = true;
				}
			if (!known) {
				usage(stderr);
				return false;
			}
		}
	}
	if (optind != argc) {
		usage(stderr);
		return false;
	}
	return true;
}

/* The config file, then the flags over it, into cfg (defaults first). */
static bool read_config(struct config *cfg, const struct options *o)
{
	char err[512];

	config_defaults(cfg);
	if (o->config_path != NULL &&
	    !config_load_file(cfg, o->config_path, err, sizeof(err))) {
		log_error(CTX, "config: %s", err);
		return false;
	}
	for (int i = 0; i < o->n; i++)
		if (!config_set(cfg, o->keys[i], o->values[i], err,
				sizeof(err))) {
			log_error(CTX, "--%s: %s", o->keys[i], err);
			return false;
		}
	if (!config_validate(cfg, err, sizeof(err))) {
		log_error(CTX, "config: %s", err);
		return false;
	}
	return true;
}

/* The table only lets through words these parsers know. */
static void apply_log_settings(const struct config *cfg)
{
	enum log_level level;
	enum log_format format;

	if (log_level_parse(cfg->log_level, &level))
		log_current_level = level;
	if (log_format_parse(cfg->log_format, &format))
		log_current_format = format;
}

static bool load_config(struct app *app, const struct options *o)
{
	if (!read_config(&app->cfg, o))
		return false;
	apply_log_settings(&app->cfg);
	return true;
}

/* Start-up only, before the loop runs: waiting here blocks nobody. */
static bool migrate_database(const struct config *cfg)
{
	time_t give_up = time(NULL) + cfg->db_wait_s;
	PGconn *conn = NULL;
	char err[1024];
	int applied = 0;
	bool ok;

	for (;;) {
		conn = PQconnectdb(cfg->db);
		if (PQstatus(conn) == CONNECTION_OK)
			break;
		if (time(NULL) >= give_up) {
			log_error(CTX, "database: %s", PQerrorMessage(conn));
			PQfinish(conn);
			return false;
		}
		PQfinish(conn);
		log_warning(CTX, "database not reachable yet; retrying");
		sleep(1);
	}
	ok = migrate_apply(conn, cfg->schema_dir, &applied, err, sizeof(err));
	if (!ok)
		log_error(CTX, "schema: %s", err);
	else if (applied > 0)
		log_info(CTX, "schema: applied %d migration(s)", applied);
	PQfinish(conn);
	return ok;
}

static struct event *shutdown_timer;
static struct event *drain_tick;

/* Each drain tick: done once every request in flight has its answer. */
static void exit_when_drained(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;

	(void)fd;
	(void)what;
	if (http_in_flight() == 0 && http_unflushed() == 0)
		event_base_loopbreak(app->base);
}

/* The drain's deadline (shutdown_grace_s). */
static void exit_at_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;

	(void)fd;
	(void)what;
	log_warning(CTX, "exiting with %d request(s) unanswered",
		    http_in_flight());
	event_base_loopbreak(app->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *app = arg;
	struct timeval grace = {app->cfg.shutdown_grace_s, 0};
	struct timeval poll = {0, 20000};

	(void)what;
	if (app->draining) {
		log_warning(CTX, "second signal: exiting now");
		event_base_loopbreak(app->base);
		return;
	}
	log_info(CTX, "signal %d: draining %d request(s)", (int)sig,
		 http_in_flight());
	app->draining = true;
	http_stop_accepting(app);
	escalations_schedule_stop();
	outbox_stop_claiming();
	stats_build_schedule_stop();
	stats_snapshot_stop();
	/* Deadline for the drain, and a check each tick until it is done. */
	shutdown_timer = evtimer_new(app->base, exit_at_deadline, app);
	evtimer_add(shutdown_timer, &grace);
	drain_tick =
		event_new(app->base, -1, EV_PERSIST, exit_when_drained, app);
	evtimer_add(drain_tick, &poll);
}

static bool is_loopback(const char *address)
{
	return strncmp(address, "127.", 4) == 0 ||
	       strcmp(address, "::1") == 0 || strcmp(address, "localhost") == 0;
}

/* tokens_file, or $PAINPATH_TOKENS_FILE.  Development tokens (plain-text
 * secrets) are for a developer's machine only. */
static bool load_tokens(struct app *app)
{
	const char *path = app->cfg.tokens_file;
	char err[512];

	if (path[0] == '\0' && getenv("PAINPATH_TOKENS_FILE") != NULL)
		path = getenv("PAINPATH_TOKENS_FILE");
	if (path[0] == '\0') {
		log_error(CTX, "no tokens_file: every request would be "
			       "refused (config/dev-tokens.conf for "
			       "development)");
		return false;
	}
	if (!auth_load_file(path, &app->tokens, err, sizeof(err))) {
		log_error(CTX, "tokens: %s", err);
		return false;
	}
	if (auth_has_development_tokens(&app->tokens) &&
	    !is_loopback(app->cfg.listen)) {
		log_error(CTX,
			  "%s holds development tokens (plain:): they are "
			  "refused unless listening on loopback, not %s",
			  path, app->cfg.listen);
		return false;
	}
	log_info(CTX, "loaded %zu token(s) from %s", app->tokens.count, path);
	return true;
}

/* HTTPS when a certificate is configured.  Anywhere but loopback, plain
 * HTTP would carry tokens and patient data in clear, so it is refused
 * unless the operator says a TLS proxy terminates in front. */
static bool start_tls(struct app *app)
{
	const struct config *cfg = &app->cfg;
	char err[512];

	if ((cfg->tls_cert_file[0] == '\0') != (cfg->tls_key_file[0] == '\0')) {
		log_error(CTX, "tls_cert_file and tls_key_file go together");
		return false;
	}
	if (cfg->tls_cert_file[0] != '\0') {
		app->tls = tls_new(cfg->tls_cert_file, cfg->tls_key_file, err,
				   sizeof(err));
		if (app->tls == NULL) {
			log_error(CTX, "tls: %s", err);
			return false;
		}
		log_info(CTX, "HTTPS with %s", cfg->tls_cert_file);
		return true;
	}
	if (is_loopback(cfg->listen) || cfg->behind_tls_proxy)
		return true;
	log_error(CTX,
		  "listening on %s without TLS: set tls_cert_file and "
		  "tls_key_file, or behind_tls_proxy = 1 if a TLS proxy "
		  "terminates in front",
		  cfg->listen);
	return false;
}

/* A renewed certificate at the same paths (or new paths) is read again;
 * if it does not load, the running one stays.  Turning TLS on or off
 * needs a restart: connections would change protocol under clients. */
static void reload_tls(struct app *app, const struct config *next)
{
	char err[512];

	if (app->tls == NULL) {
		if (next->tls_cert_file[0] != '\0')
			log_warning(CTX, "reload: tls_cert_file: HTTPS starts "
					 "at the next restart");
		return;
	}
	if (next->tls_cert_file[0] == '\0' || next->tls_key_file[0] == '\0') {
		log_warning(CTX, "reload: no certificate: HTTPS with the "
				 "running one until restart");
		return;
	}
	if (!tls_reload(app->tls, next->tls_cert_file, next->tls_key_file, err,
			sizeof(err)))
		log_error(CTX,
			  "reload: tls: %s: keeping the running "
			  "certificate",
			  err);
	else
		log_info(CTX, "reload: certificate read from %s",
			 next->tls_cert_file);
}

/* Token sets replaced by a reload: requests in flight may still point
 * into them, so they live until exit. */
static struct token_set retired[64];
static int nretired;

static void reload_free_retired(void)
{
	for (int i = 0; i < nretired; i++)
		auth_free(&retired[i]);
}

static const struct options *startup_options;

/* Loads what a reload needs, all or nothing. */
static bool reload_load(const struct app *app, struct config *next,
			struct model_set *models, struct token_set *tokens)
{
	const char *path;
	char err[512];

	if (!read_config(next, startup_options)) {
		config_free(next);
		return false;
	}
	if (!model_set_load_dir(next->models_dir, models, err, sizeof(err))) {
		log_error(CTX, "reload: models: %s", err);
		config_free(next);
		return false;
	}
	path = next->tokens_file[0] ? next->tokens_file
				    : getenv("PAINPATH_TOKENS_FILE");
	if (path != NULL && auth_load_file(path, tokens, err, sizeof(err))) {
		if (!auth_has_development_tokens(tokens) ||
		    is_loopback(app->cfg.listen))
			return true;
		snprintf(err, sizeof(err), "development tokens off loopback");
		auth_free(tokens);
	}
	log_error(CTX, "reload: tokens: %s", path ? err : "no tokens_file");
	model_set_free(models);
	config_free(next);
	return false;
}

/* Logs each changed key; those that need a restart keep their running
 * value (config_keep_restart_keys), so the log says they were ignored. */
static void reload_log_changes(const struct config *running,
			       const struct config *next)
{
	struct config_change changes[64];
	size_t n = config_diff(running, next, changes, 64);

	for (size_t i = 0; i < n && i < 64; i++)
		if (changes[i].restart)
			log_warning(CTX,
				    "reload: %s changed: ignored until restart",
				    changes[i].key);
		else
			log_info(CTX, "reload: %s changed", changes[i].key);
}

/* SIGHUP: new config, models and tokens, or, if any is invalid, the
 * running ones unchanged. */
static void reload(struct app *app)
{
	struct config next;
	struct model_set models;
	struct token_set tokens;

	if (!reload_load(app, &next, &models, &tokens)) {
		log_error(CTX, "reload refused: keeping the running config");
		metrics_reload(false);
		return;
	}
	reload_log_changes(&app->cfg, &next);
	reload_tls(app, &next);
	if (!config_keep_restart_keys(&next, &app->cfg)) {
		log_error(CTX, "reload refused: out of memory");
		model_set_free(&models);
		auth_free(&tokens);
		config_free(&next);
		metrics_reload(false);
		return;
	}
	model_set_free(&app->models);
	app->models = models;
	if (nretired < 64)
		retired[nretired++] = app->tokens;
	else
		auth_free(&app->tokens);
	app->tokens = tokens;
	config_free(&app->cfg);
	app->cfg = next;
	apply_log_settings(&app->cfg);
	http_apply_limits(app);
	log_info(CTX, "reloaded: %zu model(s), %zu token(s)", app->models.count,
		 app->tokens.count);
	metrics_reload(true);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	reload(arg);
	/* The pages on their own: a broken config keeps the old config, a
	 * broken web root the old pages. */
	static_reload();
}

static bool report_ready(int fd, int port)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%d\n", port);
	bool ok = write(fd, text, (size_t)len) == len;

	close(fd);
	return ok;
}

/* --ready-fd means ready: the port is reported once the pool has a
 * connection (or db_wait_s has passed), so /readyz agrees from the
 * first request on. */
struct ready_wait {
	struct app *app;
	struct event *tick;
	int fd, port, ticks_left;
};

static void on_ready_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ready_wait *w = arg;

	(void)fd;
	(void)what;
	if (!db_pool_ready(w->app->pool) && w->ticks_left-- > 0)
		return;
	if (!report_ready(w->fd, w->port))
		log_warning(CTX, "could not report readiness on fd %d", w->fd);
	event_free(w->tick);
	free(w);
}

static bool report_ready_when_connected(struct app *app, int fd, int port)
{
	struct ready_wait *w = calloc(1, sizeof(*w));
	struct timeval every = {0, 10000};

	if (w == NULL)
		return report_ready(fd, port);
	*w = (struct ready_wait){app, NULL, fd, port, app->cfg.db_wait_s * 100};
	w->tick = event_new(app->base, -1, EV_PERSIST, on_ready_tick, w);
	return w->tick != NULL && event_add(w->tick, &every) == 0;
}

static bool start(struct app *app, const struct options *o,
		  struct event **signals)
{
	char err[1024];
	int port = 0;
	struct db_pool_config pc = {
		.conninfo = app->cfg.db,
		.size = app->cfg.pool_size,
		.max_waiting = app->cfg.max_waiting,
		.acquire_timeout_ms = app->cfg.acquire_timeout_ms,
		.statement_timeout_ms = app->cfg.statement_timeout_ms,
		.query_timeout_ms = app->cfg.query_timeout_ms,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = 5000,
		.statements = store_statements,
	};

	if (!load_tokens(app))
		return false;
	if (!model_set_load_dir(app->cfg.models_dir, &app->models, err,
				sizeof(err))) {
		log_error(CTX, "models: %s", err);
		return false;
	}
	log_info(CTX, "loaded %zu model(s) from %s", app->models.count,
		 app->cfg.models_dir);
	if (!migrate_database(&app->cfg))
		return false;
	/* Without its page, or the receipt days, the daemon still serves. */
	(void)static_load();
	(void)stats_zones_at_start(app);
	app->base = event_base_new();
	app->pool = app->base ? db_pool_new(app->base, &pc) : NULL;
	if (app->pool == NULL) {
		log_error(CTX, "cannot create the event loop or the pool");
		return false;
	}
	if (app->cfg.db_read[0] != '\0') {
		pc.conninfo = app->cfg.db_read;
		app->read_pool = db_pool_new(app->base, &pc);
		if (app->read_pool == NULL)
			return false;
		log_info(CTX, "coordinators' reads go to the read pool");
	}
	if (!start_tls(app))
		return false;
	if (!http_start(app, app_routes, app_route_count, &port, err,
			sizeof(err))) {
		log_error(CTX, "http: %s", err);
		return false;
	}
	if (!fhir_serve_init(app, port, err, sizeof(err))) {
		log_error(CTX, "fhir: %s", err);
		return false;
	}
	/* The outbox first: the night the scheduler may run now queues the
	 * reports of the endpoints the outbox has just written down. */
	if (!outbox_start(app) || !escalations_schedule_start(app) ||
	    !stats_build_schedule_start(app))
		return false;
	if (!clinic_start(app, CLINIC_REFRESH_S) ||
	    !stats_snapshot_start(app, SNAPSHOT_TICK_S))
		return false;
	signals[0] = evsignal_new(app->base, SIGTERM, on_signal, app);
	signals[1] = evsignal_new(app->base, SIGINT, on_signal, app);
	signals[2] = evsignal_new(app->base, SIGHUP, on_sighup, app);
	for (int i = 0; i < 3; i++)
		evsignal_add(signals[i], NULL);
	log_info(CTX, "serving on %s:%d", app->cfg.listen, port);
	return o->ready_fd < 0 ||
	       report_ready_when_connected(app, o->ready_fd, port);
}

static void ignore_stop_signals(void)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
}

int main(int argc, char **argv)
{
	struct app app;
	struct options o;
	struct event *signals[3] = {NULL, NULL, NULL};
	int status = 1;

	memset(&app, 0, sizeof(app));
	signal(SIGPIPE, SIG_IGN);
	if (!parse_args(argc, argv, &o) || !load_config(&app, &o))
		goto out;
	if (o.print_config) {
		config_print(&app.cfg, stdout);
		status = 0;
		goto out;
	}
	startup_options = &o;
	if (!start(&app, &o, signals))
		goto out;
	event_base_dispatch(app.base);
	log_info(CTX, "stopped");
	status = 0;
out:
	/* Freeing the signal events restores the default actions: a late
	 * SIGTERM must not kill a daemon that is already exiting cleanly. */
	ignore_stop_signals();
	for (int i = 0; i < 3; i++)
		if (signals[i] != NULL)
			event_free(signals[i]);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (shutdown_timer != NULL)
		event_free(shutdown_timer);
	if (drain_tick != NULL)
		event_free(drain_tick);
	escalations_schedule_stop();
	clinic_stop();
	outbox_free();
	stats_build_schedule_stop();
	stats_snapshot_stop();
	http_free(&app);
	tls_free(app.tls);
	stats_build_free();
	stats_public_free();
	long_pool_free();
	static_free();
	if (app.read_pool != NULL)
		db_pool_free(app.read_pool);
	if (app.pool != NULL)
		db_pool_free(app.pool);
	reload_free_retired();
	if (app.base != NULL)
		event_base_free(app.base);
	model_set_free(&app.models);
	auth_free(&app.tokens);
	config_free(&app.cfg);
	return status;
}
