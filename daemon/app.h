/*
 * app: what the daemon's modules share.  One per process, built by main.c.
 */
#ifndef PAINPATHD_APP_H
#define PAINPATHD_APP_H

#include <stdbool.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "fhir_config.h"
#include "model.h"
#include "reply.h"

struct event_base;
struct db_pool;
struct tls;
struct http_route;

struct app {
	struct event_base *base;
	struct tls *tls; /* HTTPS on the listener; NULL: plain HTTP */
	struct db_pool *pool;
	struct db_pool *read_pool; /* --db-read: coordinators' reads; or NULL */
	char *config_path;	   /* for SIGHUP */
	struct model_set models;
	struct token_set tokens;
	struct config cfg;
	struct fhir_config fhir; /* where /fhir is served (fhir_base_url) */
	bool draining;
};

/* The route table (routes.c) and its handlers. */
struct route;
extern const struct route *const app_routes;
extern const unsigned app_route_count;

struct request;
struct reply;
enum handled events_post(struct request *r, struct reply *out);
enum handled pathway_get(struct request *r, struct reply *out);
enum handled pathway_transitions_get(struct request *r, struct reply *out);
enum handled patient_pathways_get(struct request *r, struct reply *out);
enum handled models_get(struct request *r, struct reply *out);
enum handled notifications_get(struct request *r, struct reply *out);
enum handled healthz_get(struct request *r, struct reply *out);
enum handled readyz_get(struct request *r, struct reply *out);
enum handled worklist_get(struct request *r, struct reply *out);
enum handled stats_waiting_get(struct request *r, struct reply *out);
/* The coordinators' page (issue 14): daemon/stats*.c. */
enum handled whoami_get(struct request *r, struct reply *out);
enum handled stats_clocks_get(struct request *r, struct reply *out);
enum handled stats_histogram_get(struct request *r, struct reply *out);
enum handled stats_trend_get(struct request *r, struct reply *out);
enum handled stats_flow_get(struct request *r, struct reply *out);
enum handled deadlines_get(struct request *r, struct reply *out);
enum handled stats_build_post(struct request *r, struct reply *out);
enum handled export_get(struct request *r, struct reply *out);
enum handled escalations_get(struct request *r, struct reply *out);
enum handled escalations_run_post(struct request *r, struct reply *out);
enum handled escalation_ack_post(struct request *r, struct reply *out);
enum handled audit_get(struct request *r, struct reply *out);
enum handled metrics_get(struct request *r, struct reply *out);
enum handled openapi_get(struct request *r, struct reply *out);

/* The nightly report's timer (escalations.c). */
bool escalations_schedule_start(struct app *app)
	__attribute__((warn_unused_result));
void escalations_schedule_stop(void);
/* The latest night whose report time has passed, in the report's zone:
 * the night the report runs for, and the summary's cutoff. */
bool escalations_latest_night(const struct config *cfg, cal_millis now,
			      cal_date *night);

#endif
