/* The route table: every endpoint the daemon answers, with the query
 * parameters each takes (any other is refused). */
#include "app.h"
#include "http.h"
#include "metrics.h"

#define EHR	    ALLOW(ROLE_EHR)
#define COORDINATOR ALLOW(ROLE_COORDINATOR)
#define ADMIN	    ALLOW(ROLE_ADMIN)
#define PUBLIC	    0

#define WORKLIST_QUERY                                                         \
	"region model level phase unit waiting_unit overdue due_before flag "  \
	"incomplete limit cursor as_of"

static const struct route routes[] = {
	{METHOD_POST, "/v1/events", events_post, EHR | ADMIN, FRONTEND_V1,
	 NULL},
	{METHOD_GET, "/v1/pathways/:id", pathway_get, COORDINATOR | ADMIN,
	 FRONTEND_V1, NULL},
	{METHOD_GET, "/v1/pathways/:id/transitions", pathway_transitions_get,
	 COORDINATOR | ADMIN, FRONTEND_V1, NULL},
	{METHOD_GET, "/v1/patients/:id/pathways", patient_pathways_get,
	 COORDINATOR | ADMIN, FRONTEND_V1, NULL},
	{METHOD_GET, "/v1/pathways", worklist_get, COORDINATOR | ADMIN,
	 FRONTEND_V1, WORKLIST_QUERY},
	{METHOD_GET, "/v1/stats/waiting", stats_waiting_get,
	 COORDINATOR | ADMIN, FRONTEND_V1, "region level unit as_of"},
	{METHOD_GET, "/v1/escalations", escalations_get, COORDINATOR | ADMIN,
	 FRONTEND_V1, "date region rule unacknowledged format unit level"},
	{METHOD_POST, "/v1/escalations/run", escalations_run_post, ADMIN,
	 FRONTEND_V1, "date"},
	{METHOD_POST, "/v1/escalations/:id/ack", escalation_ack_post,
	 COORDINATOR | ADMIN, FRONTEND_V1, NULL},
	{METHOD_GET, "/v1/notifications", notifications_get,
	 EHR | COORDINATOR | ADMIN, FRONTEND_V1, "after limit"},
	{METHOD_GET, "/v1/audit", audit_get, ADMIN, FRONTEND_V1,
	 "patient_id limit"},
	{METHOD_GET, "/v1/models", models_get, EHR | COORDINATOR | ADMIN,
	 FRONTEND_V1, NULL},
	{METHOD_GET, "/v1/openapi.json", openapi_get, PUBLIC, FRONTEND_V1,
	 NULL},
	{METHOD_GET, "/healthz", healthz_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/readyz", readyz_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/metrics", metrics_get, PUBLIC, FRONTEND_V1, NULL},
};
const struct route *const app_routes = routes;
const unsigned app_route_count = sizeof(routes) / sizeof(routes[0]);
