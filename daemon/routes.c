/* The route table: every endpoint the daemon answers. */
#include "app.h"
#include "http.h"

static const struct route routes[] = {
	{METHOD_POST, "/v1/events", events_post},
	{METHOD_GET, "/v1/pathways/:id", pathway_get},
	{METHOD_GET, "/v1/pathways/:id/transitions", pathway_transitions_get},
	{METHOD_GET, "/v1/patients/:id/pathways", patient_pathways_get},
	{METHOD_GET, "/v1/pathways", worklist_get},
	{METHOD_GET, "/v1/stats/waiting", stats_waiting_get},
	{METHOD_GET, "/v1/escalations", escalations_get},
	{METHOD_POST, "/v1/escalations/run", escalations_run_post},
	{METHOD_POST, "/v1/escalations/:id/ack", escalation_ack_post},
	{METHOD_GET, "/v1/models", models_get},
	{METHOD_GET, "/v1/notifications", notifications_get},
	{METHOD_GET, "/healthz", healthz_get},
	{METHOD_GET, "/readyz", readyz_get},
};
const struct route *const app_routes = routes;
const unsigned app_route_count = sizeof(routes) / sizeof(routes[0]);
