/* The route table: every endpoint the daemon answers. */
#include "app.h"
#include "http.h"
#include "metrics.h"

#define EHR	    ALLOW(ROLE_EHR)
#define COORDINATOR ALLOW(ROLE_COORDINATOR)
#define ADMIN	    ALLOW(ROLE_ADMIN)
#define PUBLIC	    0

static const struct route routes[] = {
	{METHOD_POST, "/v1/events", events_post, EHR | ADMIN},
	{METHOD_GET, "/v1/pathways/:id", pathway_get, COORDINATOR | ADMIN},
	{METHOD_GET, "/v1/pathways/:id/transitions", pathway_transitions_get,
	 COORDINATOR | ADMIN},
	{METHOD_GET, "/v1/patients/:id/pathways", patient_pathways_get,
	 COORDINATOR | ADMIN},
	{METHOD_GET, "/v1/pathways", worklist_get, COORDINATOR | ADMIN},
	{METHOD_GET, "/v1/stats/waiting", stats_waiting_get,
	 COORDINATOR | ADMIN},
	{METHOD_GET, "/v1/escalations", escalations_get, COORDINATOR | ADMIN},
	{METHOD_POST, "/v1/escalations/run", escalations_run_post, ADMIN},
	{METHOD_POST, "/v1/escalations/:id/ack", escalation_ack_post,
	 COORDINATOR | ADMIN},
	{METHOD_GET, "/v1/notifications", notifications_get,
	 EHR | COORDINATOR | ADMIN},
	{METHOD_GET, "/v1/audit", audit_get, ADMIN},
	{METHOD_GET, "/v1/models", models_get, EHR | COORDINATOR | ADMIN},
	{METHOD_GET, "/healthz", healthz_get, PUBLIC},
	{METHOD_GET, "/readyz", readyz_get, PUBLIC},
	{METHOD_GET, "/metrics", metrics_get, PUBLIC},
};
const struct route *const app_routes = routes;
const unsigned app_route_count = sizeof(routes) / sizeof(routes[0]);
