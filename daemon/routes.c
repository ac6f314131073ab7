/* The route table: every endpoint the daemon answers, with the query
 * parameters each takes (any other is refused). */
#include "app.h"
#include "http.h"
#include "metrics.h"
#include "static.h"
#include "stats_public.h"

#define EHR	    ALLOW(ROLE_EHR)
#define COORDINATOR ALLOW(ROLE_COORDINATOR)
#define ADMIN	    ALLOW(ROLE_ADMIN)
#define PUBLIC	    0

#define WORKLIST_QUERY                                                         \
	"region model level phase unit waiting_unit overdue due_before flag "  \
	"incomplete limit cursor as_of format"

/* The statistics' filters (daemon/stats_params.c). */
#define STATS_QUERY "region level unit model as_of"

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
	 COORDINATOR | ADMIN, FRONTEND_V1, STATS_QUERY " format"},
	{METHOD_GET, "/v1/stats/clocks", stats_clocks_get, COORDINATOR | ADMIN,
	 FRONTEND_V1, STATS_QUERY},
	{METHOD_GET, "/v1/stats/histogram", stats_histogram_get,
	 COORDINATOR | ADMIN, FRONTEND_V1, STATS_QUERY " rule"},
	{METHOD_GET, "/v1/stats/trend", stats_trend_get, COORDINATOR | ADMIN,
	 FRONTEND_V1, STATS_QUERY " months"},
	{METHOD_GET, "/v1/stats/flow", stats_flow_get, COORDINATOR | ADMIN,
	 FRONTEND_V1, STATS_QUERY " weeks"},
	{METHOD_GET, "/v1/deadlines", deadlines_get, COORDINATOR | ADMIN,
	 FRONTEND_V1, "within_days region level unit rule as_of limit"},
	{METHOD_POST, "/v1/stats/build", stats_build_post, ADMIN, FRONTEND_V1,
	 "cutoff"},
	{METHOD_GET, "/v1/export", export_get, ADMIN, FRONTEND_V1,
	 "from to region"},
	{METHOD_GET, "/v1/whoami", whoami_get, EHR | COORDINATOR | ADMIN,
	 FRONTEND_V1, NULL},
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
	{METHOD_GET, "/healthz", healthz_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/readyz", readyz_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/metrics", metrics_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/public/waiting-times", public_waiting_get, PUBLIC,
	 FRONTEND_V1, NULL},
	/* The pages last: any other path of up to three segments is looked
	 * up among the loaded files. */
	{METHOD_GET, "/", static_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/:file", static_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/:dir/:file", static_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/:dir/:sub/:file", static_get, PUBLIC, FRONTEND_V1, NULL},
};
const struct route *const app_routes = routes;
const unsigned app_route_count = sizeof(routes) / sizeof(routes[0]);
