/*
 * Coordinators (issue 4): worklists with keyset pagination and filters, the
 * nightly escalation report (items, reruns, acknowledgements, CSV = JSON,
 * the CLI, one run with two daemons), and waiting times.  Every test uses
 * its own region, so the shared database's other pathways do not count.
 */
#include <check.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

/* Opens a pathway in region with model, unit gp-1; returns its id. */
static void open_in(const char *region, const char *patient, const char *model,
		    const char *data, char *pw, size_t len)
{
	struct http_response r;

	e2e_post(PORT, &r,
		 "{\"event_id\":\"%s-open\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":"
		 "\"2025-05-01T09:00:00+02:00\",\"model\":\"%s\","
		 "\"region\":\"%s\",\"unit\":\"gp-1\",\"data\":%s}",
		 patient, patient, model, region, data ? data : "{\"age\":50}");
	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	snprintf(pw, len, "%s", e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
}

static void send_to(const char *patient, const char *at, const char *unit)
{
	char data[256];

	snprintf(data, sizeof(data),
		 "{\"to_level\":\"clinic\",\"to_unit\":\"%s\"}", unit);
	ck_assert_int_eq(
		e2e_event(PORT, patient, "referral.sent", at, data, NULL), 201);
}

static void receive(const char *patient, const char *at)
{
	ck_assert_int_eq(
		e2e_event(PORT, patient, "referral.received", at, NULL, NULL),
		201);
}

/* Finds the item of a pathway and rule in a report answer. */
static json_t *item_of(json_t *report, const char *pathway, const char *rule)
{
	size_t i;
	json_t *it;

	json_array_foreach(json_object_get(report, "items"), i, it)
	{
		if (strcmp(e2e_str(it, "pathway_id"), pathway) == 0 &&
		    strcmp(e2e_str(it, "rule"), rule) == 0)
			return it;
	}
	return NULL;
}

struct esc_fixture {
	char region[64];
	char a[160], b[160], c[160];
};

/* A: transit overdue since 9 May; B: Norwegian assessment due 4 June
 * (inside the 3-working-day warning window of 2 June); C: due late June. */
static void esc_setup(struct esc_fixture *f)
{
	char p[96];

	e2e_region(f->region, sizeof(f->region), "esc");
	snprintf(p, sizeof(p), "%s-a", f->region);
	open_in(f->region, p, "dk", NULL, f->a, sizeof(f->a));
	send_to(p, "2025-05-02T09:00:00+02:00", "c-1");
	snprintf(p, sizeof(p), "%s-b", f->region);
	open_in(f->region, p, "no", NULL, f->b, sizeof(f->b));
	send_to(p, "2025-05-19T09:00:00+02:00", "c-1");
	receive(p, "2025-05-20T09:00:00+02:00");
	snprintf(p, sizeof(p), "%s-c", f->region);
	open_in(f->region, p, "dk", NULL, f->c, sizeof(f->c));
	send_to(p, "2025-05-28T09:00:00+02:00", "c-1");
	receive(p, "2025-05-30T09:00:00+02:00");
}

static void run_night(const char *date, struct http_response *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/v1/escalations/run?date=%s", date);
	ck_assert_int_eq(http_request(PORT, "POST", path, NULL, NULL, r), 200);
}

static json_t *read_night(const char *date, const char *region,
			  const char *extra)
{
	struct http_response r;
	json_t *doc;

	ck_assert_int_eq(e2e_get(PORT, &r,
				 "/v1/escalations?date=%s&region=%s%s", date,
				 region, extra ? extra : ""),
			 200);
	doc = json_incref(r.json);
	http_response_free(&r);
	return doc;
}

START_TEST(report_holds_exactly_the_expected_items)
{
	struct esc_fixture f;
	struct http_response r;
	json_t *night, *again, *a, *b;

	esc_setup(&f);
	run_night("2025-06-02", &r);
	http_response_free(&r);
	night = read_night("2025-06-02", f.region, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(night, "items")), 2);
	a = item_of(night, f.a, "transit");
	b = item_of(night, f.b, "assessment");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(e2e_str(a, "due"), "2025-05-09");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "days_overdue")),
			 24);
	ck_assert_str_eq(e2e_str(b, "due"), "2025-06-04");
	ck_assert_int_eq(json_integer_value(json_object_get(b, "days_overdue")),
			 -2);
	ck_assert_str_eq(e2e_str(a, "first_reported_on"), "2025-06-02");
	ck_assert(json_is_false(json_object_get(a, "already_known")));
	ck_assert_str_eq(e2e_str(a, "phase"), "referred");
	ck_assert_str_eq(e2e_str(a, "model"), "dk");

	/* A second run of the same night adds nothing. */
	run_night("2025-06-02", &r);
	http_response_free(&r);
	again = read_night("2025-06-02", f.region, NULL);
	ck_assert(json_equal(night, again));
	json_decref(again);

	/* The next night: A is already known. */
	run_night("2025-06-03", &r);
	http_response_free(&r);
	again = read_night("2025-06-03", f.region, NULL);
	a = item_of(again, f.a, "transit");
	ck_assert_ptr_nonnull(a);
	ck_assert(json_is_true(json_object_get(a, "already_known")));
	ck_assert_str_eq(e2e_str(a, "first_reported_on"), "2025-06-02");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "id")),
			 json_integer_value(json_object_get(
				 item_of(night, f.a, "transit"), "id")));
	json_decref(again);
	json_decref(night);
}
END_TEST

START_TEST(acknowledging_keeps_who_and_when)
{
	struct esc_fixture f;
	struct http_response r;
	json_t *night, *open_items;
	char path[128];
	long long id;

	esc_setup(&f);
	run_night("2025-06-02", &r);
	http_response_free(&r);
	night = read_night("2025-06-02", f.region, NULL);
	id = json_integer_value(
		json_object_get(item_of(night, f.a, "transit"), "id"));
	snprintf(path, sizeof(path), "/v1/escalations/%lld/ack", id);
	/* The acknowledgement is the token's: the name and note the body
	 * gives are kept beside it (issue 10: acknowledgements named
	 * whoever the client said). */
	ck_assert_int_eq(http_request(PORT, "POST", path,
				      "{\"by\":\"anna.k@vgregion\",\"note\":"
				      "\"called the clinic\"}",
				      NULL, &r),
			 200);
	ck_assert_str_eq(e2e_str(r.json, "acknowledged.by"), "e2e-admin");
	ck_assert_str_eq(e2e_str(r.json, "acknowledged.claimed_by"),
			 "anna.k@vgregion");
	ck_assert_str_eq(e2e_str(r.json, "acknowledged.note"),
			 "called the clinic");
	ck_assert_ptr_nonnull(e2e_str(r.json, "acknowledged.at"));
	http_response_free(&r);
	/* The first acknowledgement stands. */
	http_request(PORT, "POST", path, "{\"note\":\"again\"}",
		     "Authorization: Bearer dev-coordinator\r\n", &r);
	ck_assert_str_eq(e2e_str(r.json, "acknowledged.by"), "e2e-admin");
	ck_assert_str_eq(e2e_str(r.json, "acknowledged.note"),
			 "called the clinic");
	http_response_free(&r);
	/* Anything but a note and a name is refused. */
	http_request(PORT, "POST", path, "{\"who\":\"x\"}", NULL, &r);
	ck_assert_int_eq(r.status, 400);
	http_response_free(&r);
	open_items = read_night("2025-06-02", f.region, "&unacknowledged=true");
	ck_assert_int_eq(json_array_size(json_object_get(open_items, "items")),
			 1);
	ck_assert_ptr_nonnull(item_of(open_items, f.b, "assessment"));
	http_request(PORT, "POST", "/v1/escalations/999999999/ack",
		     "{\"by\":\"kari\"}", NULL, &r);
	ck_assert_int_eq(r.status, 404);
	http_response_free(&r);
	json_decref(open_items);
	json_decref(night);
}
END_TEST

/* Splits CSV (no quoted fields in these reports) and compares it to the
 * JSON items field by field. */
START_TEST(csv_and_json_agree)
{
	struct esc_fixture f;
	struct http_response r;
	json_t *night;
	char path[160], *save = NULL;
	int rows = 0;

	esc_setup(&f);
	run_night("2025-06-02", &r);
	http_response_free(&r);
	night = read_night("2025-06-02", f.region, NULL);
	snprintf(path, sizeof(path),
		 "/v1/escalations?date=2025-06-02&region=%s", f.region);
	ck_assert_int_eq(http_request(PORT, "GET", path, NULL,
				      "Accept: text/csv\r\n", &r),
			 200);
	for (char *line = strtok_r(r.body, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save), rows++) {
		char *fields[16], *fsave = NULL;
		int n = 0;
		if (rows == 0) {
			ck_assert(strncmp(line, "id,pathway_id,", 14) == 0);
			continue;
		}
		for (char *c = strtok_r(line, ",", &fsave); c && n < 16;
		     c = strtok_r(NULL, ",", &fsave))
			fields[n++] = c;
		json_t *it = json_array_get(json_object_get(night, "items"),
					    (size_t)rows - 1);
		ck_assert_int_ge(n, 13);
		ck_assert_int_eq(atoll(fields[0]),
				 json_integer_value(json_object_get(it, "id")));
		ck_assert_str_eq(fields[1], e2e_str(it, "pathway_id"));
		ck_assert_str_eq(fields[8], e2e_str(it, "rule"));
		ck_assert_str_eq(fields[9], e2e_str(it, "due"));
		ck_assert_int_eq(atoi(fields[10]),
				 json_integer_value(
					 json_object_get(it, "days_overdue")));
	}
	ck_assert_int_eq(rows - 1, 2);
	http_response_free(&r);
	json_decref(night);
}
END_TEST

START_TEST(cli_report_matches_the_daemon)
{
	struct esc_fixture f;
	struct http_response r;
	json_t *night, *cli;
	char cmd[8192];
	const char *bin = getenv("PAINPATH_CLI") ? getenv("PAINPATH_CLI")
						 : "build/painpath";
	FILE *out;

	esc_setup(&f);
	run_night("2025-06-02", &r);
	http_response_free(&r);
	night = read_night("2025-06-02", f.region, NULL);
	snprintf(cmd, sizeof(cmd),
		 "%s report --date 2025-06-02 --region %s --format json "
		 "--db '%s'",
		 bin, f.region, e2e_pg.conninfo);
	out = popen(cmd, "r");
	ck_assert_ptr_nonnull(out);
	cli = json_loadf(out, 0, NULL);
	ck_assert_int_eq(pclose(out), 0);
	ck_assert_ptr_nonnull(cli);
	ck_assert(json_equal(json_object_get(cli, "items"),
			     json_object_get(night, "items")));
	/* What it printed is audited, as the daemon's reads are. */
	ck_assert_int_gt(json_array_size(json_object_get(cli, "items")), 0);
	snprintf(cmd, sizeof(cmd),
		 "SELECT count(*) FROM audit_log WHERE token_id LIKE 'cli:%%' "
		 "AND route = 'painpath report' AND method = 'CLI' AND uri "
		 "LIKE '%%--region%%20%s%%' AND patient_ids @> ARRAY['%s'] AND "
		 "regions <@ ARRAY['%s']",
		 f.region,
		 e2e_str(json_array_get(json_object_get(cli, "items"), 0),
			 "patient_id"),
		 f.region);
	ck_assert_int_eq(e2e_count(cmd), 1);
	json_decref(cli);
	json_decref(night);
}
END_TEST

START_TEST(unrun_night_is_not_found)
{
	struct http_response r;

	e2e_get(PORT, &r, "/v1/escalations?date=1999-01-01");
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(e2e_str(r.json, "error.code"), "not_found");
	http_response_free(&r);
	e2e_get(PORT, &r, "/v1/escalations?date=yesterday");
	ck_assert_int_eq(r.status, 400);
	http_response_free(&r);
}
END_TEST

/* Both daemons start with the night's report time passed: the night is
 * run once, by whichever took the lock first. */
START_TEST(two_daemons_run_the_night_once)
{
	struct pg_instance pg;
	struct daemon_instance d1, d2;
	static const char *const early[] = {
		"--config", "test/data/report-early.conf", NULL};
	char *runs, *log_rows;

	ck_assert(harness_pg_start(&pg));
	ck_assert(harness_daemon_start(&d1, pg.conninfo, early));
	ck_assert(harness_daemon_start(&d2, pg.conninfo, early));
	log_rows = harness_psql(&pg, "SELECT count(*) FROM escalation_run_log "
				     "WHERE trigger = 'schedule'");
	runs = harness_psql(&pg, "SELECT count(*), max(runs) FROM "
				 "escalation_runs");
	ck_assert_str_eq(log_rows, "1");
	ck_assert_str_eq(runs, "1|1");
	ck_assert_int_eq(harness_daemon_stop(&d1), 0);
	ck_assert_int_eq(harness_daemon_stop(&d2), 0);
	free(runs);
	free(log_rows);
	harness_pg_destroy(&pg);
}
END_TEST

START_TEST(worklist_pages_are_stable)
{
	char region[64], p[96], pw[160], cursor[512] = "", first[5][160];
	const char *seen[16];
	int nseen = 0;
	struct http_response r;

	e2e_region(region, sizeof(region), "wl");
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s-%d", region, i);
		open_in(region, p, "dk", NULL, first[i], sizeof(first[i]));
	}
	for (int page = 0; page < 4; page++) {
		char path[768];
		snprintf(path, sizeof(path),
			 "/v1/pathways?region=%s&limit=2%s%s", region,
			 cursor[0] ? "&cursor=" : "", cursor);
		ck_assert_int_eq(
			http_request(PORT, "GET", path, NULL, NULL, &r), 200);
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(r.json, "items"), i, it)
		{
			const char *id = e2e_str(it, "pathway_id");
			for (int k = 0; k < nseen; k++)
				ck_assert_str_ne(seen[k], id);
			seen[nseen++] = strdup(id);
		}
		/* A pathway opened meanwhile does not disturb the pages. */
		if (page == 0) {
			snprintf(p, sizeof(p), "%s-late", region);
			open_in(region, p, "dk", NULL, pw, sizeof(pw));
		}
		const char *next = e2e_str(r.json, "next_cursor");
		if (next == NULL) {
			http_response_free(&r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", next);
		http_response_free(&r);
	}
	/* Every pathway there before paging began is seen exactly once (the
	 * loop above refused duplicates); the late one only if it sorts
	 * after the cursor. */
	for (int i = 0; i < 5; i++) {
		bool found = false;
		for (int k = 0; k < nseen; k++)
			found = found || strcmp(seen[k], first[i]) == 0;
		ck_assert_msg(found, "%s not listed", first[i]);
	}
	ck_assert_int_ge(nseen, 5);
	e2e_get(PORT, &r, "/v1/pathways?cursor=zz");
	ck_assert_int_eq(r.status, 400);
	http_response_free(&r);
	e2e_get(PORT, &r, "/v1/pathways?limit=1001");
	ck_assert_int_eq(r.status, 400);
	http_response_free(&r);
	for (int k = 0; k < nseen; k++)
		free((void *)seen[k]);
}
END_TEST

/* The night's report ran on the main pool, whose client-side query timeout
 * (query_timeout_ms, 15 s) a night over a million pathways outlasts: the
 * admin's run answered 503 while its statement went on.  Here the run
 * waits on the report's lock longer than a query_timeout_ms of 1 s. */
START_TEST(regression_long_night_outlasts_the_query_timeout)
{
	static const char run[] =
		"POST /v1/escalations/run?date=2020-01-01 "
		"HTTP/1.1\r\nHost: x\r\nAuthorization: "
		"Bearer dev-admin\r\nContent-Length: 0\r\n\r\n";
	char dir[64], conf[128];
	const char *extra[] = {"--config", conf, NULL};
	struct daemon_instance d;
	struct http_response r;
	struct pollfd pfd;
	PGconn *holder;
	PGresult *res;
	int fd, waiting = 0;

	e2e_temp_dir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/painpath.conf", dir);
	e2e_write_text(conf, "report_enabled = 0\nquery_timeout_ms = 1000\n");
	ck_assert(harness_daemon_start(&d, e2e_pg.conninfo, extra));
	holder = PQconnectdb(e2e_pg.conninfo);
	ck_assert_int_eq(PQstatus(holder), CONNECTION_OK);
	res = PQexec(holder, "SELECT pg_advisory_lock(7310303091283456357)");
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	fd = http_connect(d.port);
	ck_assert_int_ge(fd, 0);
	ck_assert(http_send(fd, run, sizeof(run) - 1, 1000));
	/* The run's backend waits for the lock... */
	for (int tries = 0; tries < 400 && !waiting; tries++) {
		res = PQexec(holder, "SELECT count(*) FROM pg_locks WHERE "
				     "locktype = 'advisory' AND NOT granted");
		waiting = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (!waiting)
			poll(NULL, 0, 25);
	}
	ck_assert_int_eq(waiting, 1);
	/* ... past query_timeout_ms and beyond, with no answer yet. */
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&pfd, 1, 2500), 0);
	res = PQexec(holder, "SELECT pg_advisory_unlock(7310303091283456357)");
	PQclear(res);
	http_read(fd, 10000, &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(e2e_str(r.json, "date"), "2020-01-01");
	http_response_free(&r);
	close(fd);
	PQfinish(holder);
	ck_assert_int_eq(harness_daemon_stop(&d), 0);
	e2e_remove_dir(dir);
}
END_TEST

static int worklist_count(const char *region, const char *filters)
{
	struct http_response r;
	int n;

	e2e_get(PORT, &r, "/v1/pathways?region=%s&limit=1000%s", region,
		filters);
	ck_assert_msg(r.status == 200, "%s: %d %s", filters, r.status, r.body);
	n = (int)json_array_size(json_object_get(r.json, "items"));
	http_response_free(&r);
	return n;
}

START_TEST(worklist_filters)
{
	struct esc_fixture f;
	char p[96], pw[160];
	struct http_response r;

	esc_setup(&f);
	snprintf(p, sizeof(p), "%s-d", f.region);
	open_in(f.region, p, "dk", "{\"flags\":[\"dependence\"]}", pw,
		sizeof(pw));
	ck_assert_int_eq(e2e_event(PORT, p, "referral.sent",
				   "2025-05-02T09:00:00+02:00",
				   "{\"to_level\":\"team\",\"content\":{"
				   "\"patient_view\":true}}",
				   NULL),
			 201);
	ck_assert_int_eq(worklist_count(f.region, ""), 4);
	ck_assert_int_eq(worklist_count(f.region, "&model=no"), 1);
	ck_assert_int_eq(worklist_count(f.region, "&phase=assessing"), 2);
	ck_assert_int_eq(worklist_count(f.region, "&phase=referred"), 2);
	ck_assert_int_eq(worklist_count(f.region, "&level=gp"), 4);
	ck_assert_int_eq(worklist_count(f.region, "&level=clinic"), 0);
	ck_assert_int_eq(worklist_count(f.region, "&flag=dependence"), 1);
	ck_assert_int_eq(worklist_count(f.region, "&incomplete=true"), 1);
	/* The unit that must act: A's referral is on its way to c-1 (its
	 * transit clock runs), B's and C's were received there. */
	ck_assert_int_eq(worklist_count(f.region, "&waiting_unit=c-1"), 3);
	/* On 2 June: A's transit (9 May) and D's (9 May) have passed. */
	ck_assert_int_eq(
		worklist_count(f.region, "&overdue=true&as_of=2025-06-02"), 2);
	ck_assert_int_eq(worklist_count(f.region, "&due_before=2025-06-05"), 3);
	/* Without as_of, today in each model's own zone: every clock here
	 * fell due in 2025, so all of them are overdue now. */
	ck_assert_int_gt(worklist_count(f.region, "&overdue=true"), 0);
	ck_assert_int_eq(worklist_count(f.region, "&overdue=true"),
			 worklist_count(f.region, "&due_before=2099-12-31"));
	ck_assert_int_eq(
		worklist_count(f.region, "&overdue=true&model=no"),
		worklist_count(f.region, "&due_before=2099-12-31&model=no"));
	e2e_get(PORT, &r, "/v1/pathways?phase=closed");
	ck_assert_int_eq(r.status, 400);
	http_response_free(&r);
	e2e_get(PORT, &r, "/v1/pathways?flag=happy");
	ck_assert_int_eq(r.status, 400);
	http_response_free(&r);
}
END_TEST

START_TEST(waiting_times_per_unit)
{
	char region[64], unit[96], p[128], pw[160], path[256];
	struct http_response r;
	json_t *u;

	e2e_region(region, sizeof(region), "wait");
	snprintf(unit, sizeof(unit), "%s-clinic", region);
	/* Waiting now: received 1 and 11 May; on 21 May, 20 and 10 days. */
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s-%d", region, i);
		open_in(region, p, "dk", NULL, pw, sizeof(pw));
		send_to(p, "2025-05-01T09:10:00+02:00", unit);
		receive(p, i ? "2025-05-11T09:00:00+02:00"
			     : "2025-05-01T09:20:00+02:00");
	}
	/* Completed: received 1 May, started 15 May: 14 days. */
	snprintf(p, sizeof(p), "%s-done", region);
	open_in(region, p, "dk", NULL, pw, sizeof(pw));
	send_to(p, "2025-05-01T09:10:00+02:00", unit);
	receive(p, "2025-05-01T09:20:00+02:00");
	ck_assert_int_eq(e2e_event(PORT, p, "referral.accepted",
				   "2025-05-02T09:00:00+02:00", NULL, NULL),
			 201);
	ck_assert_int_eq(e2e_event(PORT, p, "treatment.started",
				   "2025-05-15T09:00:00+02:00", NULL, NULL),
			 201);
	snprintf(path, sizeof(path),
		 "/v1/stats/waiting?unit=%s&as_of=2025-05-21", unit);
	ck_assert_int_eq(http_request(PORT, "GET", path, NULL, NULL, &r), 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "units")), 1);
	u = json_array_get(json_object_get(r.json, "units"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(u, "waiting_now")),
			 2);
	ck_assert(json_number_value(json_object_get(
			  u, "waiting_now_median_days")) == 15.0);
	ck_assert(json_number_value(
			  json_object_get(u, "waiting_now_p90_days")) == 19.0);
	ck_assert_int_eq(
		json_integer_value(json_object_get(u, "completed_90d")), 1);
	ck_assert(json_number_value(
			  json_object_get(u, "completed_median_days")) == 14.0);
	http_response_free(&r);
}
END_TEST

/* --- who must act: the escalations' units ----------------------------------
 */

#define E2E_EHR	  "Authorization: Bearer e2e-ehr\r\n"
#define E2E_COORD "Authorization: Bearer e2e-coord\r\n"

/* Posts one event as the suite's scoped EHR token; a NULL unit leaves it
 * out, a NULL data sends {}. */
static void ehr_event(const char *patient, const char *type, const char *at,
		      const char *unit, const char *data)
{
	struct http_response r;
	char body[2048], id[64], unit_member[128] = "";

	e2e_id(id, sizeof(id), "esc-ev");
	if (unit != NULL)
		snprintf(unit_member, sizeof(unit_member), "\"unit\":\"%s\",",
			 unit);
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"%s\",\"patient_id\":\"%s\","
		 "\"occurred_at\":\"%s\",%s\"data\":%s}",
		 id, type, patient, at, unit_member, data ? data : "{}");
	ck_assert_msg(http_request(PORT, "POST", "/v1/events", body, E2E_EHR,
				   &r) == 201,
		      "%s: %d %s", type, r.status, r.body);
	http_response_free(&r);
}

static void ehr_open(const char *region, const char *patient, const char *model,
		     const char *at, const char *unit, char *pw, size_t len)
{
	struct http_response r;
	char body[1024], id[64];

	e2e_id(id, sizeof(id), "esc-open");
	snprintf(body, sizeof(body),
		 "{\"event_id\":\"%s\",\"type\":\"pathway.opened\","
		 "\"patient_id\":\"%s\",\"occurred_at\":\"%s\",\"model\":"
		 "\"%s\",\"region\":\"%s\",\"unit\":\"%s\",\"data\":{\"age\":"
		 "50}}",
		 id, patient, at, model, region, unit);
	ck_assert_msg(http_request(PORT, "POST", "/v1/events", body, E2E_EHR,
				   &r) == 201,
		      "open: %d %s", r.status, r.body);
	snprintf(pw, len, "%s", e2e_str(r.json, "pathway.pathway_id"));
	http_response_free(&r);
}

/* The night's pathway ids, as the coordinator reads them with query
 * (e.g. "&unit=c-1"), sorted, comma-separated. */
static void night_ids(const char *region, const char *query, char *out,
		      size_t len)
{
	struct http_response r;
	const char *ids[16];
	size_t n = 0, used = 0, i;
	json_t *it;
	char path[256];

	snprintf(path, sizeof(path),
		 "/v1/escalations?date=2025-06-02&region=%s%s", region, query);
	ck_assert_int_eq(http_request(PORT, "GET", path, NULL, E2E_COORD, &r),
			 200);
	json_array_foreach(json_object_get(r.json, "items"), i, it)
	{
		ck_assert_uint_lt(n, 16);
		ids[n++] = e2e_str(it, "pathway_id");
	}
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(ids[b - 1], ids[b]) > 0;
		     b--) {
			const char *x = ids[b];
			ids[b] = ids[b - 1];
			ids[b - 1] = x;
		}
	out[0] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? "," : "", ids[i]);
	http_response_free(&r);
}

/* The pathway ids given, sorted, comma-separated (as night_ids). */
static void ids_of(char *out, size_t len, int n, ...)
{
	const char *ids[8];
	size_t used = 0;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		ids[i] = va_arg(ap, const char *);
	va_end(ap);
	for (int a = 1; a < n; a++)
		for (int b = a; b > 0 && strcmp(ids[b - 1], ids[b]) > 0; b--) {
			const char *x = ids[b];
			ids[b] = ids[b - 1];
			ids[b - 1] = x;
		}
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? "," : "", ids[i]);
}

/* RFC 4180 records into a JSON array of arrays of strings. */
static json_t *csv_records(const char *text)
{
	json_t *rows = json_array(), *row = json_array();
	char field[1024];
	size_t f = 0;
	bool quoted = false;

	for (const char *c = text; *c != '\0'; c++) {
		if (quoted) {
			if (*c == '"' && c[1] == '"')
				field[f++] = *c++;
			else if (*c == '"')
				quoted = false;
			else
				field[f++] = *c;
		} else if (*c == '"') {
			quoted = true;
		} else if (*c == ',' || *c == '\r' || *c == '\n') {
			if (*c == '\n')
				continue;
			field[f] = '\0';
			json_array_append_new(row, json_string(field));
			f = 0;
			if (*c == '\r') {
				json_array_append_new(rows, row);
				row = json_array();
			}
		} else {
			field[f++] = *c;
		}
		ck_assert_uint_lt(f, sizeof(field) - 1);
	}
	ck_assert_uint_eq(f, 0);
	ck_assert_uint_eq(json_array_size(row), 0);
	json_decref(row);
	return rows;
}

static size_t column(json_t *records, const char *name)
{
	size_t i;
	json_t *h;

	json_array_foreach(json_array_get(records, 0), i, h)
	{
		if (strcmp(json_string_value(h), name) == 0)
			return i;
	}
	ck_abort_msg("no column %s in the CSV header", name);
	return 0;
}

/*
 * Who must act (issue 12), night Monday 2 June 2025, 3 working days of
 * warning (to 5 June):
 *   A (dk) at gp-1, referred to c-1 on 2 May: transit overdue;
 *     c-1 must act.
 *   B (no) at gp-2, referred to c-2 and received by c-2b on 20 May:
 *     assessment due 4 June; the receiving unit c-2b must act.
 *   C (no) at gp-3, referred to c-3 and rejected, back at gp-3 and
 *     transferred to gp-5; its pain onset learnt later (3 December 2024):
 *     the level review due 3 June is the patient's unit's, gp-5's.
 *   D (dk) treated at clinic c-1, then referred on to the centre ctr-1
 *     on 20 May: transit overdue at level clinic; ctr-1 must act (its
 *     unit and from_unit are c-1).
 * unit= selects by responsible_unit, level= by the pathway's level; the CSV
 * carries responsible_unit, from_unit and to_unit as the JSON does.
 */
START_TEST(escalations_name_the_unit_that_must_act)
{
	static const struct {
		const char *rule, *level, *responsible, *from, *to;
	} want[4] = {
		{"transit", "gp", "c-1", "gp-1", "c-1"},
		{"assessment", "gp", "c-2b", "gp-2", "c-2"},
		{"level_review", "gp", "gp-5", "gp-5", NULL},
		{"transit", "clinic", "ctr-1", "c-1", "ctr-1"},
	};
	char region[64], p[4][96], pw[4][160], got[1024], expect[1024];
	struct http_response r;
	json_t *night, *records;
	size_t i;
	json_t *it;

	e2e_region(region, sizeof(region), "esc");
	for (int k = 0; k < 4; k++)
		snprintf(p[k], sizeof(p[k]), "%s-%c", region, 'a' + k);
	ehr_open(region, p[0], "dk", "2025-05-01T09:00:00+02:00", "gp-1", pw[0],
		 sizeof(pw[0]));
	ehr_event(p[0], "referral.sent", "2025-05-02T09:00:00+02:00", NULL,
		  "{\"to_level\":\"clinic\",\"to_unit\":\"c-1\"}");
	ehr_open(region, p[1], "no", "2025-05-01T09:00:00+02:00", "gp-2", pw[1],
		 sizeof(pw[1]));
	ehr_event(p[1], "referral.sent", "2025-05-19T09:00:00+02:00", NULL,
		  "{\"to_level\":\"clinic\",\"to_unit\":\"c-2\"}");
	ehr_event(p[1], "referral.received", "2025-05-20T09:00:00+02:00",
		  "c-2b", NULL);
	ehr_open(region, p[2], "no", "2025-01-06T09:00:00+01:00", "gp-3", pw[2],
		 sizeof(pw[2]));
	ehr_event(p[2], "referral.sent", "2025-01-07T09:00:00+01:00", NULL,
		  "{\"to_level\":\"clinic\",\"to_unit\":\"c-3\"}");
	ehr_event(p[2], "referral.received", "2025-01-08T09:00:00+01:00", "c-3",
		  NULL);
	ehr_event(p[2], "referral.rejected", "2025-01-20T09:00:00+01:00", "c-3",
		  "{\"reason\":\"not long-lasting yet\",\"advice\":\"review "
		  "in spring\"}");
	ehr_event(p[2], "patient.transferred", "2025-01-21T09:00:00+01:00",
		  NULL, "{\"to_level\":\"gp\",\"to_unit\":\"gp-5\"}");
	ehr_event(p[2], "pathway.updated", "2025-01-22T09:00:00+01:00", NULL,
		  "{\"pain_onset\":\"2024-12-03\"}");
	ehr_open(region, p[3], "dk", "2025-04-01T09:00:00+02:00", "gp-4", pw[3],
		 sizeof(pw[3]));
	ehr_event(p[3], "referral.sent", "2025-04-02T09:00:00+02:00", NULL,
		  "{\"to_level\":\"clinic\",\"to_unit\":\"c-1\"}");
	ehr_event(p[3], "referral.received", "2025-04-03T09:00:00+02:00", "c-1",
		  NULL);
	ehr_event(p[3], "referral.accepted", "2025-04-04T09:00:00+02:00", "c-1",
		  NULL);
	ehr_event(p[3], "treatment.started", "2025-04-10T09:00:00+02:00", "c-1",
		  NULL);
	ehr_event(p[3], "referral.sent", "2025-05-20T09:00:00+02:00", "c-1",
		  "{\"to_level\":\"centre\",\"to_unit\":\"ctr-1\"}");
	run_night("2025-06-02", &r);
	http_response_free(&r);

	/* Each item: its rule, level and the three units. */
	night = read_night("2025-06-02", region, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(night, "items")), 4);
	for (int k = 0; k < 4; k++) {
		json_t *item = item_of(night, pw[k], want[k].rule);
		ck_assert_msg(item != NULL, "no %s item of %s", want[k].rule,
			      p[k]);
		ck_assert_str_eq(e2e_str(item, "level"), want[k].level);
		ck_assert_str_eq(e2e_str(item, "responsible_unit"),
				 want[k].responsible);
		ck_assert_str_eq(e2e_str(item, "from_unit"), want[k].from);
		if (want[k].to == NULL)
			ck_assert(
				json_is_null(json_object_get(item, "to_unit")));
		else
			ck_assert_str_eq(e2e_str(item, "to_unit"), want[k].to);
	}
	ck_assert_str_eq(e2e_str(item_of(night, pw[1], "assessment"), "due"),
			 "2025-06-04");
	ck_assert_str_eq(e2e_str(item_of(night, pw[2], "level_review"), "due"),
			 "2025-06-03");
	ck_assert_str_eq(e2e_str(item_of(night, pw[3], "transit"), "unit"),
			 "c-1");

	/* unit= is the unit that must act, nothing else. */
	night_ids(region, "&unit=c-1", got, sizeof(got));
	ck_assert_str_eq(got, pw[0]);
	night_ids(region, "&unit=c-2", got, sizeof(got));
	ck_assert_str_eq(got, "");
	night_ids(region, "&unit=c-2b", got, sizeof(got));
	ck_assert_str_eq(got, pw[1]);
	night_ids(region, "&unit=gp-5", got, sizeof(got));
	ck_assert_str_eq(got, pw[2]);
	night_ids(region, "&unit=gp-3", got, sizeof(got));
	ck_assert_str_eq(got, "");
	night_ids(region, "&unit=ctr-1", got, sizeof(got));
	ck_assert_str_eq(got, pw[3]);
	/* level= is the pathway's level, not the level referred to. */
	night_ids(region, "&level=gp", got, sizeof(got));
	ids_of(expect, sizeof(expect), 3, pw[0], pw[1], pw[2]);
	ck_assert_str_eq(got, expect);
	night_ids(region, "&level=clinic", got, sizeof(got));
	ck_assert_str_eq(got, pw[3]);
	night_ids(region, "&level=centre", got, sizeof(got));
	ck_assert_str_eq(got, "");
	night_ids(region, "&unit=ctr-1&level=gp", got, sizeof(got));
	ck_assert_str_eq(got, "");
	night_ids(region, "&unit=c-1&level=gp&rule=transit", got, sizeof(got));
	ck_assert_str_eq(got, pw[0]);
	ck_assert_int_eq(
		e2e_get(PORT, &r, "/v1/escalations?date=2025-06-02&level=ward"),
		400);
	ck_assert_str_eq(e2e_str(r.json, "error.field"), "level");
	http_response_free(&r);

	/* The CSV: the same units, found by the header's names. */
	snprintf(got, sizeof(got),
		 "/v1/escalations?date=2025-06-02&region=%s&format=csv",
		 region);
	ck_assert_int_eq(http_request(PORT, "GET", got, NULL, E2E_COORD, &r),
			 200);
	records = csv_records(r.body);
	http_response_free(&r);
	ck_assert_int_eq(json_array_size(records), 5);
	json_array_foreach(records, i, it)
	{
		const char *id;
		int k = 0;
		if (i == 0)
			continue;
		ck_assert_int_eq(json_array_size(it),
				 json_array_size(json_array_get(records, 0)));
		id = json_string_value(
			json_array_get(it, column(records, "pathway_id")));
		while (k < 4 && strcmp(pw[k], id) != 0)
			k++;
		ck_assert_int_lt(k, 4);
#define FIELD(name) json_string_value(json_array_get(it, column(records, name)))
		ck_assert_str_eq(FIELD("rule"), want[k].rule);
		ck_assert_str_eq(FIELD("level"), want[k].level);
		ck_assert_str_eq(FIELD("responsible_unit"),
				 want[k].responsible);
		ck_assert_str_eq(FIELD("from_unit"), want[k].from);
		ck_assert_str_eq(FIELD("to_unit"),
				 want[k].to ? want[k].to : "");
#undef FIELD
	}
	json_decref(records);
	/* And filtered the same way. */
	snprintf(got, sizeof(got),
		 "/v1/escalations?date=2025-06-02&region=%s&unit=c-1", region);
	ck_assert_int_eq(http_request(PORT, "GET", got, NULL,
				      E2E_COORD "Accept: text/csv\r\n", &r),
			 200);
	records = csv_records(r.body);
	http_response_free(&r);
	ck_assert_int_eq(json_array_size(records), 2);
	ck_assert_str_eq(json_string_value(
				 json_array_get(json_array_get(records, 1),
						column(records, "pathway_id"))),
			 pw[0]);
	json_decref(records);
	json_decref(night);
}
END_TEST

void e2e_add_report_tests(Suite *s)
{
	TCase *tc = e2e_tcase("reports");

	tcase_add_test(tc, report_holds_exactly_the_expected_items);
	tcase_add_test(tc, acknowledging_keeps_who_and_when);
	tcase_add_test(tc, csv_and_json_agree);
	tcase_add_test(tc, cli_report_matches_the_daemon);
	tcase_add_test(tc, unrun_night_is_not_found);
	tcase_add_test(tc, two_daemons_run_the_night_once);
	tcase_add_test(tc, worklist_pages_are_stable);
	tcase_add_test(tc, worklist_filters);
	tcase_add_test(tc, regression_long_night_outlasts_the_query_timeout);
	tcase_add_test(tc, waiting_times_per_unit);
	suite_add_tcase(s, tc);
	tc = e2e_tcase("escalation_units");
	tcase_add_test(tc, escalations_name_the_unit_that_must_act);
	suite_add_tcase(s, tc);
}
