/* The route table: every endpoint the daemon answers, with the query
 * parameters each takes (any other is refused). */
#include "app.h"
#include "fhir_serve.h"
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

#define FHIR_EPISODE_QUERY                                                     \
	"_id _lastUpdated identifier patient patient:identifier status "       \
	"organization organization:identifier _count cursor"
#define FHIR_REQUEST_QUERY                                                     \
	"_id _lastUpdated identifier patient patient:identifier status "       \
	"requester requester:identifier performer performer:identifier "       \
	"authored _count cursor"
#define FHIR_TASK_QUERY                                                        \
	"_id _lastUpdated identifier patient patient:identifier status "       \
	"business-status owner owner:identifier requester "                    \
	"requester:identifier focus focus:identifier modified deadline "       \
	"_include _count cursor"

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
	{METHOD_GET, "/v1/openapi.json", openapi_get, PUBLIC, FRONTEND_V1,
	 NULL},
	{METHOD_GET, "/healthz", healthz_get, PUBLIC, FRONTEND_V1, NULL},
	{METHOD_GET, "/readyz", readyz_get, PUBLIC, FRONTEND_V1, NULL},
	/* Counts, no patient data, but not for anyone who can connect: a
	 * token, or a scraper network the operator names (metrics_allow). */
	{METHOD_GET, "/metrics", metrics_get,
	 COORDINATOR | ADMIN | ALLOW_SCRAPER, FRONTEND_V1, NULL},

	/* FHIR R4 (issue 13): the rows fhir_capability_resources[] lists,
	 * checked against it at start (fhir_serve_init), with the same
	 * roles as /v1: coordinators read, EHRs write. */
	{METHOD_GET, "/fhir/metadata", fhir_metadata_get, PUBLIC, FRONTEND_FHIR,
	 NULL},
	{METHOD_GET, "/fhir/SearchParameter/:id", fhir_search_parameter_get,
	 PUBLIC, FRONTEND_FHIR, NULL},
	{METHOD_POST, "/fhir", fhir_bundle_post, EHR | ADMIN, FRONTEND_FHIR,
	 NULL},
	{METHOD_GET, "/fhir/EpisodeOfCare/:id", fhir_read_get,
	 COORDINATOR | ADMIN, FRONTEND_FHIR, NULL},
	{METHOD_GET, "/fhir/EpisodeOfCare", fhir_search_get,
	 COORDINATOR | ADMIN, FRONTEND_FHIR, FHIR_EPISODE_QUERY},
	{METHOD_POST, "/fhir/EpisodeOfCare", fhir_create_post, EHR | ADMIN,
	 FRONTEND_FHIR, NULL},
	{METHOD_PUT, "/fhir/EpisodeOfCare/:id", fhir_update_put, EHR | ADMIN,
	 FRONTEND_FHIR, NULL},
	{METHOD_GET, "/fhir/ServiceRequest/:id", fhir_read_get,
	 COORDINATOR | ADMIN, FRONTEND_FHIR, NULL},
	{METHOD_GET, "/fhir/ServiceRequest", fhir_search_get,
	 COORDINATOR | ADMIN, FRONTEND_FHIR, FHIR_REQUEST_QUERY},
	{METHOD_POST, "/fhir/ServiceRequest", fhir_create_post, EHR | ADMIN,
	 FRONTEND_FHIR, NULL},
	{METHOD_GET, "/fhir/Task/:id", fhir_read_get, COORDINATOR | ADMIN,
	 FRONTEND_FHIR, NULL},
	{METHOD_GET, "/fhir/Task", fhir_search_get, COORDINATOR | ADMIN,
	 FRONTEND_FHIR, FHIR_TASK_QUERY},
	{METHOD_PUT, "/fhir/Task/:id", fhir_update_put, EHR | ADMIN,
	 FRONTEND_FHIR, NULL},
	/* Subscriptions are their registrant's: any role may register
	 * one; deliveries show what its token may read. */
	{METHOD_GET, "/fhir/Subscription/:id", fhir_subscription_get,
	 EHR | COORDINATOR | ADMIN, FRONTEND_FHIR, NULL},
	{METHOD_GET, "/fhir/Subscription", fhir_subscription_search,
	 EHR | COORDINATOR | ADMIN, FRONTEND_FHIR, "_id status _count cursor"},
	{METHOD_POST, "/fhir/Subscription", fhir_subscription_post,
	 EHR | COORDINATOR | ADMIN, FRONTEND_FHIR, NULL},
	{METHOD_DELETE, "/fhir/Subscription/:id", fhir_subscription_delete,
	 EHR | COORDINATOR | ADMIN, FRONTEND_FHIR, NULL},
	{METHOD_GET, "/public/waiting-times", public_waiting_get, PUBLIC,
	 FRONTEND_V1, NULL},
	/* The pages last: any other path of up to three segments, but none
	 * under /v1 or /fhir, is looked up among the loaded files
	 * (FRONTEND_PAGES: an unknown path stays the APIs' 404). */
	{METHOD_GET, "/", static_get, PUBLIC, FRONTEND_PAGES, NULL},
	{METHOD_GET, "/:file", static_get, PUBLIC, FRONTEND_PAGES, NULL},
	{METHOD_GET, "/:dir/:file", static_get, PUBLIC, FRONTEND_PAGES, NULL},
	{METHOD_GET, "/:dir/:sub/:file", static_get, PUBLIC, FRONTEND_PAGES,
	 NULL},
};
const struct route *const app_routes = routes;
const unsigned app_route_count = sizeof(routes) / sizeof(routes[0]);
