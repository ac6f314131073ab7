#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "db.h"
#include "clinic.h"
#include "commit.h"
#include "export_stream.h"
#include "http.h"
#include "reads.h"
#include "textbuf.h"

#define MAX_ROUTES   32
#define STATUS_SLOTS 6 /* 1xx..5xx by class, exact codes kept below */
#define MAX_CODES    16

/* Latency buckets in seconds, as Prometheus histograms count them. */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,	0.25,	0.5,   1,    2.5,   5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct route_stats {
	const char *route;
	const char *method;
	int codes[MAX_CODES];
	unsigned long long count[MAX_CODES];
	int ncodes;
	unsigned long long bucket[NBUCKETS];
	unsigned long long observations;
	double seconds_sum;
};

static struct route_stats routes[MAX_ROUTES];
static int nroutes;
/* Outcomes of events: [type][status class 2..5] */
static unsigned long long events[EV_COUNT + 1][6];
static unsigned long long reloads[2];

double metrics_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_reload(bool applied)
{
	reloads[applied]++;
}

static struct route_stats *route_slot(const char *route, const char *method)
{
	for (int i = 0; i < nroutes; i++)
		if (routes[i].route == route &&
		    strcmp(routes[i].method, method) == 0)
			return &routes[i];
	if (nroutes == MAX_ROUTES)
		return NULL;
	routes[nroutes].route = route;
	routes[nroutes].method = method;
	return &routes[nroutes++];
}

void metrics_request(const char *route, const char *method, int status,
		     double seconds)
{
	struct route_stats *s = route_slot(route ? route : "unmatched", method);
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncodes && s->codes[i] != status; i++)
		;
	if (i == s->ncodes && s->ncodes < MAX_CODES)
		s->codes[s->ncodes++] = status;
	if (i < MAX_CODES)
		s->count[i]++;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b])
			s->bucket[b]++;
	s->observations++;
	s->seconds_sum += seconds;
}

void metrics_event(enum event_type type, bool known_type, int status)
{
	int cls = status / 100;

	if (cls < 2 || cls > 5)
		cls = 5;
	events[known_type ? type : EV_COUNT][cls]++;
}

static void render_requests(struct textbuf *t)
{
	textbuf_printf(
		t,
		"# HELP painpath_http_requests_total HTTP requests answered.\n"
		"# TYPE painpath_http_requests_total counter\n");
	for (int i = 0; i < nroutes; i++)
		for (int c = 0; c < routes[i].ncodes; c++)
			textbuf_printf(
				t,
				"painpath_http_requests_total{method=\"%s\","
				"route=\"%s\",status=\"%d\"} %llu\n",
				routes[i].method, routes[i].route,
				routes[i].codes[c], routes[i].count[c]);
	textbuf_printf(t,
		       "# HELP painpath_http_request_seconds Time to answer.\n"
		       "# TYPE painpath_http_request_seconds histogram\n");
	for (int i = 0; i < nroutes; i++) {
		const struct route_stats *s = &routes[i];
		for (size_t b = 0; b < NBUCKETS; b++)
			textbuf_printf(t,
				       "painpath_http_request_seconds_bucket{"
				       "method=\"%"
				       "s\","
				       "route=\"%s\",le=\"%g\"} %llu\n",
				       s->method, s->route, buckets[b],
				       s->bucket[b]);
		textbuf_printf(
			t,
			"painpath_http_request_seconds_bucket{method=\"%s\","
			"route=\"%s\",le=\"+Inf\"} %llu\n"
			"painpath_http_request_seconds_sum{method=\"%s\","
			"route=\"%s\"} %.6f\n"
			"painpath_http_request_seconds_count{method=\"%s\","
			"route=\"%s\"} %llu\n",
			s->method, s->route, s->observations, s->method,
			s->route, s->seconds_sum, s->method, s->route,
			s->observations);
	}
}

static void render_events(struct textbuf *t)
{
	static const char *const outcome[] = {"",      "",	  "accepted",
					      "other", "refused", "failed"};

	textbuf_printf(
		t, "# HELP painpath_events_total Events by type and outcome.\n"
		   "# TYPE painpath_events_total counter\n");
	for (int e = 0; e <= EV_COUNT; e++)
		for (int c = 2; c <= 5; c++)
			if (events[e][c] > 0)
				textbuf_printf(
					t,
					"painpath_events_total{type=\"%s\","
					"outcome=\"%s\"} %llu\n",
					e < EV_COUNT ? domain_event_name(e)
						     : "unknown",
					outcome[c], events[e][c]);
}

static void render_pool(struct textbuf *t, const char *name,
			const struct db_pool *pool)
{
	struct db_pool_stats st;

	if (pool == NULL)
		return;
	db_pool_stats(pool, &st);
	textbuf_printf(
		t,
		"painpath_db_connections{pool=\"%s\",state=\"configured\"} %d\n"
		"painpath_db_connections{pool=\"%s\",state=\"connected\"} %d\n"
		"painpath_db_connections{pool=\"%s\",state=\"in_use\"} %d\n"
		"painpath_db_waiting{pool=\"%s\"} %d\n"
		"painpath_db_connects_total{pool=\"%s\"} %llu\n"
		"painpath_db_errors_total{pool=\"%s\"} %llu\n"
		"painpath_db_queries_total{pool=\"%s\"} %llu\n"
		"painpath_db_plan_switches_total{pool=\"%s\"} %llu\n",
		name, st.size, name, st.connected, name, st.leased, name,
		st.waiting, name, (unsigned long long)st.connects, name,
		(unsigned long long)st.failures, name,
		(unsigned long long)st.queries, name,
		(unsigned long long)st.plan_switches);
}

static void render_commits(struct textbuf *t)
{
	struct commit_stats st;

	commit_stats(&st);
	textbuf_printf(
		t,
		"# HELP painpath_commit_queued Events waiting for a group.\n"
		"# TYPE painpath_commit_queued gauge\n"
		"painpath_commit_queued %d\n"
		"# TYPE painpath_commit_groups_running gauge\n"
		"painpath_commit_groups_running %d\n"
		"# HELP painpath_commit_groups_total Group transactions.\n"
		"# TYPE painpath_commit_groups_total counter\n"
		"painpath_commit_groups_total %llu\n"
		"# HELP painpath_commit_group_events_total Events in them "
		"(divided by groups: the mean group size).\n"
		"# TYPE painpath_commit_group_events_total counter\n"
		"painpath_commit_group_events_total %llu\n"
		"# HELP painpath_commit_retries_total Events run again alone "
		"after their group failed.\n"
		"# TYPE painpath_commit_retries_total counter\n"
		"painpath_commit_retries_total %llu\n",
		st.queued, st.running, st.groups, st.items, st.retries);
	for (int b = 0; b < COMMIT_SIZE_BUCKETS; b++)
		textbuf_printf(t,
			       "painpath_commit_group_size_bucket{le=\"%d\"} "
			       "%llu\n",
			       commit_size_bucket_le[b], st.size_bucket[b]);
	textbuf_printf(
		t,
		"# HELP painpath_commit_unchecked_groups_total Groups of "
		"openings that skipped step 1 (one round trip).\n"
		"# TYPE painpath_commit_unchecked_groups_total counter\n"
		"painpath_commit_unchecked_groups_total %llu\n"
		"# HELP painpath_commit_unchecked_refused_total Those of them "
		"whose writes failed (a unique index refused a row, mostly): "
		"rolled back, their events through step 1.\n"
		"# TYPE painpath_commit_unchecked_refused_total counter\n"
		"painpath_commit_unchecked_refused_total %llu\n",
		st.unchecked, st.unchecked_refused);
	textbuf_printf(t, "# HELP painpath_commit_phase_seconds Where the "
			  "groups' time went: waiting for a connection "
			  "(lease), locking and looking up (check: one round "
			  "trip), deciding (decide: this process), writing "
			  "and committing (write: one round trip and the WAL "
			  "flush).\n"
			  "# TYPE painpath_commit_phase_seconds summary\n");
	for (int p = 0; p < COMMIT_PHASES; p++)
		textbuf_printf(
			t,
			"painpath_commit_phase_seconds_sum{phase=\"%s\"} "
			"%.6f\n"
			"painpath_commit_phase_seconds_count{phase=\"%s\"}"
			" %llu\n",
			commit_phase_name[p], st.phase_seconds[p],
			commit_phase_name[p], st.phase_count[p]);
}

static void render_read_groups(struct textbuf *t)
{
	struct read_stats st;

	read_stats(&st);
	textbuf_printf(
		t,
		"# HELP painpath_read_groups_total Statements that answered "
		"reads by key gathered while waiting for a connection.\n"
		"# TYPE painpath_read_groups_total counter\n"
		"painpath_read_groups_total %llu\n"
		"# HELP painpath_read_group_reads_total The reads they "
		"answered "
		"(divided by groups: the mean group size).\n"
		"# TYPE painpath_read_group_reads_total counter\n"
		"painpath_read_group_reads_total %llu\n"
		"# HELP painpath_read_group_phase_seconds Where the groups' "
		"time went: from a group's first read to its statement sent "
		"(gather: reads joining, waiting for a connection), then to "
		"its answer (statement: one round trip and, on the primary, "
		"the audit rows' commit).\n"
		"# TYPE painpath_read_group_phase_seconds summary\n"
		"painpath_read_group_phase_seconds_sum{phase=\"gather\"} "
		"%.6f\n"
		"painpath_read_group_phase_seconds_count{phase=\"gather\"} "
		"%llu\n"
		"painpath_read_group_phase_seconds_sum{phase=\"statement\"} "
		"%.6f\n"
		"painpath_read_group_phase_seconds_count{phase=\"statement\"} "
		"%llu\n",
		st.groups, st.reads, st.gather_seconds, st.groups,
		st.statement_seconds, st.answered);
}

static void render_exports(struct textbuf *t)
{
	struct export_stats st;

	export_stream_stats(&st);
	textbuf_printf(
		t,
		"# HELP painpath_exports_running Exports and CSV answers "
		"streaming.\n"
		"# TYPE painpath_exports_running gauge\n"
		"painpath_exports_running %d\n"
		"# HELP painpath_exports_waiting_for_client Those whose client "
		"has not yet taken the last rows sent (the next are fetched "
		"once it has).\n"
		"# TYPE painpath_exports_waiting_for_client gauge\n"
		"painpath_exports_waiting_for_client %d\n"
		"# HELP painpath_export_bytes_queued Bytes of them held in "
		"the daemon, not yet taken by the clients' sockets.\n"
		"# TYPE painpath_export_bytes_queued gauge\n"
		"painpath_export_bytes_queued %zu\n"
		"# HELP painpath_export_rows_total Rows they fetched from "
		"the database.\n"
		"# TYPE painpath_export_rows_total counter\n"
		"painpath_export_rows_total %llu\n",
		st.running, st.waiting, http_streams_unsent(), st.rows);
}

char *metrics_render(const struct app *app)
{
	struct textbuf t;

	textbuf_init(&t);
	render_requests(&t);
	render_events(&t);
	textbuf_printf(&t,
		       "# HELP painpath_db_connections Pooled connections.\n"
		       "# TYPE painpath_db_connections gauge\n"
		       "# TYPE painpath_db_waiting gauge\n"
		       "# TYPE painpath_db_connects_total counter\n"
		       "# TYPE painpath_db_errors_total counter\n"
		       "# TYPE painpath_db_queries_total counter\n"
		       "# HELP painpath_db_plan_switches_total Sessions moved "
		       "between planning per call and keyed plans.\n"
		       "# TYPE painpath_db_plan_switches_total counter\n");
	render_pool(&t, "primary", app->pool);
	render_pool(&t, "read", app->read_pool);
	textbuf_printf(&t,
		       "# TYPE painpath_http_in_flight gauge\n"
		       "painpath_http_in_flight %d\n"
		       "# TYPE painpath_http_connections gauge\n"
		       "painpath_http_connections %d\n"
		       "# TYPE painpath_reloads_total counter\n"
		       "painpath_reloads_total{result=\"applied\"} %llu\n"
		       "painpath_reloads_total{result=\"refused\"} %llu\n",
		       http_in_flight(), http_open_connections(), reloads[1],
		       reloads[0]);
	render_commits(&t);
	render_exports(&t);
	render_read_groups(&t);
	clinic_render(&t);
	return textbuf_take(&t);
}

enum handled metrics_get(struct request *r, struct reply *out)
{
	char *text = metrics_render(r->app);

	return reply_text(out, 200, "text/plain; version=0.0.4", text,
			  text ? strlen(text) : 0);
}
