/*
 * check_store: the store's statements against a real PostgreSQL, planned
 * as the daemon plans them.  Issue 11: a new installation's first load
 * collapsed because a plan chosen on an empty table scanned every open
 * pathway until autovacuum analysed the table.  A keyed statement is
 * planned once per connection (db.h), so its plan must not depend on
 * statistics being current: on an empty table, on a loaded table never
 * analysed, and on an analysed one, it reaches its rows by the keys it
 * names -- no sequential scan, no index scanned whole, no index but the
 * ones listed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "harness.h"
#include "migrate.h"
#include "pgarray.h"
#include "store.h"
#include "suites.h"

static struct pg_instance pg;
static PGconn *conn;
static void exec_ok(const char *sql);

static void exec_ok(const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
			      PQresultStatus(res) == PGRES_TUPLES_OK,
		      "%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
}

static bool pg_ok;

/* Once, in the runner: the cluster and the schema. */
static void cluster_up(void)
{
	char err[1024];
	int applied = 0;

	pg_ok = harness_pg_start(&pg);
	if (!pg_ok)
		return;
	conn = PQconnectdb(pg.conninfo);
	pg_ok = PQstatus(conn) == CONNECTION_OK &&
		migrate_apply(conn, "schema", &applied, err, sizeof(err));
	if (!pg_ok)
		fprintf(stderr, "check_store: %s %s\n", err,
			PQerrorMessage(conn));
	PQfinish(conn);
	conn = NULL;
}

static void cluster_down(void)
{
	if (pg_ok)
		harness_pg_destroy(&pg);
}

static void prepare_all(PGconn *c)
{
	for (int id = 1; store_statements[id - 1].name != NULL; id++) {
		PGresult *res =
			PQprepare(c, store_statements[id - 1].name,
				  store_statements[id - 1].sql, 0, NULL);
		ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s",
			      store_statements[id - 1].name, PQerrorMessage(c));
		PQclear(res);
	}
}

static void setup_session(void);

/* In each test's own process: a session as the daemon's. */
static void setup(void)
{
	ck_assert_msg(pg_ok, "no cluster");
	conn = PQconnectdb(pg.conninfo);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s",
		      PQerrorMessage(conn));
	setup_session();
}

static void setup_session(void)
{
	/* As a fresh installation: nothing analyses behind the test's back. */
	exec_ok("ALTER TABLE pathways SET (autovacuum_enabled = false)");
	exec_ok("ALTER TABLE transitions SET (autovacuum_enabled = false)");
	/* As a pooled session before its keyed statements (db.c). */
	const char *session[1] = {"false"};
	PGresult *res = PQexecParams(conn, db_plans_keyed_sql, 1, NULL, session,
				     NULL, NULL, 0);

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		      PQerrorMessage(conn));
	PQclear(res);
	prepare_all(conn);
}

static void teardown(void)
{
	PQfinish(conn);
	conn = NULL;
}

/* 20,000 pathways, half of them closed, 3 transitions each: enough that a
 * scan is a different plan from a keyed lookup. */
static void load(void)
{
	exec_ok("INSERT INTO pathways (pathway_id, patient_id, model, region, "
		"level, unit, phase, version, opened_at, updated_at, "
		"closed_at, last_change_at, next_due, due_transit, ref_unit, "
		"ref_received_at, doc) SELECT 'pw-' || g, 'p-' || (g % 15000), "
		"'dk', 'r' || (g % 5), 'gp', 'gp-1', CASE WHEN g <= 10000 THEN "
		"'closed' ELSE 'referred' END, 3, now() - g * interval '1 "
		"min', "
		"now(), CASE WHEN g <= 10000 THEN now() END, now(), "
		"CASE WHEN g > 10000 THEN current_date + g % 30 END, "
		"CASE WHEN g > 10000 THEN current_date + g % 30 END, "
		"CASE WHEN g > 10000 THEN 'c-' || g % 7 END, "
		"CASE WHEN g > 10000 THEN now() END, '{}' FROM "
		"generate_series(1, 20000) g");
	exec_ok("INSERT INTO transitions (pathway_id, seq, event_id, source, "
		"type, to_phase, from_level, to_level, occurred_at, "
		"recorded_at, data, event, response) SELECT 'pw-' || g, s, "
		"'e-' || g || '-' || s, 'src', 'consultation.requested', "
		"'active', 'gp', 'gp', now(), now(), '{}', '{}', '{}' FROM "
		"generate_series(1, 20000) g, generate_series(1, 3) s");
}

/* Every plan node of a JSON plan, depth first. */
static void nodes(json_t *plan, json_t *out)
{
	size_t i;
	json_t *sub;

	json_array_append(out, plan);
	json_array_foreach(json_object_get(plan, "Plans"), i, sub)
	{
		nodes(sub, out);
	}
}

static bool allowed(const char *index, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(index, list[i]) == 0)
			return true;
	return false;
}

/* "NULL, NULL, ..." for each parameter of a prepared statement: a generic
 * plan does not depend on the values. */
static void null_args(const char *name, char *out, size_t cap)
{
	const char *params[1] = {name};
	PGresult *res = PQexecParams(conn,
				     "SELECT cardinality(parameter_types) FROM "
				     "pg_prepared_statements WHERE name = $1",
				     1, NULL, params, NULL, NULL, 0);
	int n;
	size_t used = 0;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK &&
			      PQntuples(res) == 1,
		      "%s: %s", name, PQerrorMessage(conn));
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, cap - used, "%sNULL",
					 i ? ", " : "");
	ck_assert_uint_lt(used, cap);
}

/* EXPLAIN (FORMAT JSON) EXECUTE of a prepared statement: fails the test
 * on a sequential scan, on an index scanned without a condition (all of
 * it) unless it is the one named whole, or on an index not in the list. */
/* Every node of the plan of sql (an EXPLAIN (FORMAT JSON) ...), depth
 * first; the caller frees the array. */
static json_t *plan_nodes(const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	json_t *plan, *all = json_array();

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(conn));
	plan = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	ck_assert_ptr_nonnull(plan);
	nodes(json_object_get(json_array_get(plan, 0), "Plan"), all);
	json_decref(plan);
	return all;
}

static void check_plan(const char *when, enum store_stmt id,
		       const char *const *indexes, const char *whole)
{
	const char *name = store_statements[id - 1].name;
	char sql[4096], args[1024];
	json_t *all, *node;
	size_t i;

	null_args(name, args, sizeof(args));
	snprintf(sql, sizeof(sql), "EXPLAIN (FORMAT JSON) EXECUTE \"%s\"%s%s%s",
		 name, *args ? "(" : "", args, *args ? ")" : "");
	all = plan_nodes(sql);
	json_array_foreach(all, i, node)
	{
		const char *type =
			json_string_value(json_object_get(node, "Node Type"));
		const char *rel = json_string_value(
			json_object_get(node, "Relation Name"));
		const char *index =
			json_string_value(json_object_get(node, "Index Name"));
		ck_assert_msg(strcmp(type, "Seq Scan") != 0,
			      "%s, %s: a sequential scan of %s", name, when,
			      rel);
		ck_assert_msg(index == NULL || allowed(index, indexes),
			      "%s, %s: uses index %s", name, when, index);
		ck_assert_msg(
			index == NULL || json_object_get(node, "Index Cond") ||
				(whole && strcmp(index, whole) == 0),
			"%s, %s: scans all of index %s", name, when, index);
	}
	json_decref(all);
}

/* Every keyed statement (store.c) and the indexes it may reach its rows
 * by. */
static const struct keyed_plan {
	enum store_stmt id;
	const char *indexes[5];
	const char *whole; /* an index it may read all of */
} keyed_plans[] = {
	{.id = STMT_LOCK,
	 .indexes = {"pathways_pkey", "pathways_one_open_per_patient",
		     "pathways_patient"}},
	{.id = STMT_EVENT_LOOKUP,
	 .indexes = {"transitions_source_event_id", "pathways_pkey"}},
	{.id = STMT_HISTORY,
	 .indexes = {"transitions_pkey", "pathways_pkey", "pathways_patient"}},
	{.id = STMT_PATHWAY_INSERT, .indexes = {NULL}},
	{.id = STMT_PATHWAY_UPDATE, .indexes = {"pathways_pkey"}},
	{.id = STMT_TRANSITION_INSERT, .indexes = {NULL}},
	{.id = STMT_NOTIFICATION_ORDER, .indexes = {NULL}},
	{.id = STMT_NOTIFICATION_INSERT, .indexes = {NULL}},
	{.id = STMT_XACT_ID, .indexes = {NULL}},
	/* Each change meets every live subscription: the partial index
	 * holds the live ones only. */
	{.id = STMT_OUTBOX_INSERT,
	 .indexes = {"fhir_subscriptions_live"},
	 .whole = "fhir_subscriptions_live"},
	{.id = STMT_PATHWAYS_GET, .indexes = {"pathways_pkey"}},
	{.id = STMT_PATHWAYS_GET_AUDITED, .indexes = {"pathways_pkey"}},
	{.id = STMT_PATHWAY_TRANSITIONS,
	 .indexes = {"transitions_pkey", "pathways_pkey",
		     "transitions_corrects"}},
	{.id = STMT_PATIENTS_PATHWAYS, .indexes = {"pathways_patient"}},
	{.id = STMT_AUDIT_INSERT, .indexes = {NULL}},
	{.id = STMT_FHIR_VIEW,
	 .indexes = {"pathways_pkey", "transitions_pkey"}},
	{.id = STMT_FHIR_VIEW_HASH,
	 .indexes = {"pathways_fhir_hash", "transitions_pkey"}},
	{.id = STMT_FHIR_VIEWS,
	 .indexes = {"pathways_pkey", "pathways_patient", "pathways_fhir_hash",
		     "transitions_pkey"}},
	{.id = STMT_FHIR_CONTEXT, .indexes = {NULL}},
};

static void check_keyed_plans(const char *when)
{
	for (size_t i = 0; i < sizeof(keyed_plans) / sizeof(keyed_plans[0]);
	     i++)
		check_plan(when, keyed_plans[i].id, keyed_plans[i].indexes,
			   keyed_plans[i].whole);
}

static void setting_is(const char *name, const char *value)
{
	const char *params[1] = {name};
	PGresult *res = PQexecParams(conn, "SELECT current_setting($1)", 1,
				     NULL, params, NULL, NULL, 0);

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		      PQerrorMessage(conn));
	ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), value) == 0,
		      "%s is %s, not %s", name, PQgetvalue(res, 0, 0), value);
	PQclear(res);
}

/* conn becomes a session as setup's on a new database of the schema
 * alone: tables never loaded nor analysed, whatever ran before. */
static void fresh_database(const char *name)
{
	char sql[128], conninfo[sizeof(pg.conninfo) + 64], err[1024];
	int applied = 0;

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	exec_ok(sql);
	PQfinish(conn);
	/* The last dbname of a conninfo string is the one libpq uses. */
	snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", pg.conninfo, name);
	conn = PQconnectdb(conninfo);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s",
		      PQerrorMessage(conn));
	ck_assert_msg(migrate_apply(conn, "schema", &applied, err, sizeof(err)),
		      "%s", err);
	setup_session();
}

/* A keyed statement is planned once per connection (db.h): the plan made
 * at a new installation's first event, on empty tables, is the one its
 * millionth event runs until an ANALYZE replaces it.  Each one must be a
 * keyed lookup, on empty tables, loaded ones and analysed ones alike. */
START_TEST(generic_plans_made_on_empty_tables_stay_keyed)
{
	fresh_database("generic_plans");
	setting_is("enable_seqscan", "off");
	setting_is("plan_cache_mode", "force_generic_plan");
	check_keyed_plans("empty, generic plan");
	load();
	check_keyed_plans("loaded, the empty table's generic plan");
	exec_ok("ANALYZE pathways");
	exec_ok("ANALYZE transitions");
	check_keyed_plans("loaded, analysed, generic plan");
}
END_TEST

/* A statement marked keyed without a plan above would go unchecked. */
START_TEST(every_keyed_statement_has_its_plan_checked)
{
	size_t n = sizeof(keyed_plans) / sizeof(keyed_plans[0]);

	for (int id = 1; store_statements[id - 1].name != NULL; id++) {
		bool listed = false;
		for (size_t i = 0; i < n; i++)
			listed |= keyed_plans[i].id == (enum store_stmt)id;
		ck_assert_msg(listed == store_statements[id - 1].keyed,
			      "%s is %skeyed but %slisted in keyed_plans",
			      store_statements[id - 1].name,
			      store_statements[id - 1].keyed ? "" : "not ",
			      listed ? "" : "not ");
	}
}
END_TEST

/* The group writes as the daemon sends them: a pathway updated only from
 * the version the decision started at. */
START_TEST(every_statement_prepares)
{
	int n = 0;

	while (store_statements[n].name != NULL)
		n++;
	ck_assert_int_eq(n, STMT_COUNT - 1);
}
END_TEST

/* --- notifications become visible in the order of their ids -------------- */

static PGconn *session(void)
{
	PGconn *c = PQconnectdb(pg.conninfo);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	prepare_all(c);
	return c;
}

static bool send_query(PGconn *c, const struct db_query *q)
{
	if (q->stmt == 0)
		return PQsendQuery(c, q->sql);
	return PQsendQueryPrepared(c, store_statements[q->stmt - 1].name,
				   q->nparams, q->params, NULL, NULL, 0);
}

static void finish_query(PGconn *c)
{
	PGresult *res;

	while ((res = PQgetResult(c)) != NULL) {
		ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
				      PQresultStatus(res) == PGRES_TUPLES_OK,
			      "%s", PQerrorMessage(c));
		PQclear(res);
	}
}

static void run_query(PGconn *c, const struct db_query *q)
{
	ck_assert_msg(send_query(c, q), "%s", PQerrorMessage(c));
	finish_query(c);
}

/* Whether c's query finished (true) or waits for a lock (false): polled
 * from another session until one of the two is observed. */
static bool finished_or_waiting(PGconn *c, PGconn *watch)
{
	char pid[16];
	const char *params[1] = {pid};

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(c));
	for (int i = 0; i < 60000; i++) {
		PGresult *res;
		bool waiting;

		ck_assert(PQconsumeInput(c));
		if (!PQisBusy(c))
			return true;
		res = PQexecParams(watch,
				   "SELECT wait_event_type = 'Lock' FROM "
				   "pg_stat_activity WHERE pid = $1::int",
				   1, NULL, params, NULL, NULL, 0);
		waiting = PQntuples(res) == 1 &&
			  strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (waiting)
			return false;
		usleep(1000);
	}
	ck_abort_msg("a query neither finished nor waited for a lock");
	return false;
}

/* One notification's group writes, as store_group_queries gives them. */
static int notification_queries(struct store_group *g, const char *event_id,
				struct db_query *q)
{
	ck_assert(store_group_notification(g, "pw-note", event_id, "r1",
					   "{\"decision\": \"accepted\"}"));
	return store_group_queries(g, q);
}

/* The notification ids a reader following next_cursor sees, appended to
 * seen (a comma-separated list); returns the new cursor. */
static long read_after(PGconn *reader, long after, char *seen, size_t cap)
{
	char after_text[24];
	const char *params[3] = {after_text, "100", NULL};
	PGresult *res;
	json_t *items;
	size_t i;
	json_t *it;

	snprintf(after_text, sizeof(after_text), "%ld", after);
	res = PQexecPrepared(reader, "STMT_NOTIFICATIONS_AFTER", 3, params,
			     NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	items = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	json_array_foreach(items, i, it)
	{
		const char *event =
			json_string_value(json_object_get(it, "event_id"));
		after = atol(json_string_value(
			json_object_get(it, "notification_id")));
		strncat(seen, event, cap - strlen(seen) - 2);
		strncat(seen, ",", cap - strlen(seen) - 1);
	}
	json_decref(items);
	return after;
}

/* A daemon whose configuration lacks a region's report endpoint (a file
 * being rolled out to several daemons) claimed that region's night report
 * and dropped it: the report was lost.  A claim takes only the reports of
 * the regions it names. */
START_TEST(regression_daemon_without_endpoint_drops_report)
{
	PGresult *res;
	struct db_query claim = {.stmt = STMT_OUTBOX_CLAIM, .nparams = 4};

	exec_ok("DELETE FROM outbox");
	exec_ok("INSERT INTO outbox (stream, kind, region, report_date) VALUES "
		"('report:helse-vest', 'report', 'helse-vest', '2025-06-02'), "
		"('report:helse-midt', 'report', 'helse-midt', '2025-06-02')");
	claim.params[0] = "daemon-without";
	claim.params[1] = "8";
	claim.params[2] = "30";
	claim.params[3] = "{}";
	ck_assert(send_query(conn, &claim));
	res = PQgetResult(conn);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(res), 0);
	PQclear(res);
	finish_query(conn);
	claim.params[0] = "daemon-with-midt";
	claim.params[3] = "{helse-midt}";
	ck_assert(send_query(conn, &claim));
	res = PQgetResult(conn);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "helse-midt");
	PQclear(res);
	finish_query(conn);
	exec_ok("DELETE FROM outbox");
}
END_TEST

/* The /metrics count of open pathways by region, phase and level (every
 * 30 s) read the whole table: the worklists' index carries phase and
 * level (schema 009), so a vacuumed table is counted from it alone. */
START_TEST(open_pathways_are_counted_from_the_worklist_index)
{
	static const char *const worklist[] = {"pathways_worklist_region",
					       NULL};
	char sql[256];
	json_t *all, *node;
	size_t i;
	bool index_only = false;

	fresh_database("metrics_plan");
	exec_ok("SET plan_cache_mode = force_custom_plan");
	exec_ok("SET enable_seqscan = on");
	load();
	/* As stored: a pathway's document is about 640 bytes. */
	exec_ok("UPDATE pathways SET doc = json_build_object('pad', "
		"repeat('x', 620))::text");
	exec_ok("VACUUM ANALYZE pathways");
	snprintf(sql, sizeof(sql), "EXPLAIN (FORMAT JSON) EXECUTE \"%s\"",
		 store_statements[STMT_METRICS_PATHWAYS - 1].name);
	all = plan_nodes(sql);
	json_array_foreach(all, i, node)
	{
		const char *type =
			json_string_value(json_object_get(node, "Node Type"));
		const char *index =
			json_string_value(json_object_get(node, "Index Name"));
		ck_assert_msg(strcmp(type, "Seq Scan") != 0,
			      "the open pathways are counted from the table");
		index_only |= strcmp(type, "Index Only Scan") == 0 && index &&
			      allowed(index, worklist);
	}
	ck_assert_msg(index_only, "no index-only scan of the worklist index");
	json_decref(all);
}
END_TEST

/* Audit rows travel as one array per column: each row's values, the
 * arrays of patients and regions among them, arrive as they were given
 * (issue 10: a patient named NULL became an SQL NULL).  audit_log is
 * append-only: the rows are told apart by their tokens. */
START_TEST(audit_rows_arrive_as_written)
{
	struct store_audit rows;
	struct db_query q;
	PGresult *res;

	store_audit_init(&rows);
	store_audit_add(&rows, "tok-1", "GET", "/v1/pathways/:id",
			"/v1/pathways/a%20b", "{\"NULL\",\"a,b\"}", "127.0.0.1",
			"200", NULL);
	store_audit_add(&rows, "tok-\"2\"", "PUT", "/fhir/r4/x", "/x?y={}",
			"{\"p\\\\1\"}", "-", "201", "{\"r1\",\"r 2\"}");
	ck_assert(store_audit_query(&rows, &q));
	res = PQexecPrepared(conn, store_statements[q.stmt - 1].name, q.nparams,
			     q.params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s",
		      PQerrorMessage(conn));
	ck_assert_str_eq(PQcmdTuples(res), "2");
	PQclear(res);
	store_audit_free(&rows);
	res = PQexec(conn,
		     "SELECT token_id, method, route, uri, "
		     "patient_ids[1] IS NULL, array_to_json(patient_ids), "
		     "remote, status, coalesce(array_to_json(regions)::text, "
		     "'every region') FROM audit_log WHERE token_id IN "
		     "('tok-1', 'tok-\"2\"') ORDER BY audit_id");
	ck_assert_int_eq(PQntuples(res), 2);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "tok-1");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "/v1/pathways/a%20b");
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "f");
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "[\"NULL\",\"a,b\"]");
	ck_assert_str_eq(PQgetvalue(res, 0, 7), "200");
	ck_assert_str_eq(PQgetvalue(res, 0, 8), "every region");
	ck_assert_str_eq(PQgetvalue(res, 1, 0), "tok-\"2\"");
	ck_assert_str_eq(PQgetvalue(res, 1, 1), "PUT");
	ck_assert_str_eq(PQgetvalue(res, 1, 3), "/x?y={}");
	ck_assert_str_eq(PQgetvalue(res, 1, 5), "[\"p\\\\1\"]");
	ck_assert_str_eq(PQgetvalue(res, 1, 6), "-");
	ck_assert_str_eq(PQgetvalue(res, 1, 8), "[\"r1\",\"r 2\"]");
	PQclear(res);
}
END_TEST

/* The integer a SELECT of one value answers. */
static int select_int(const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	int n;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(conn));
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* A Subscription's DELETE (its outbox rows cascade) while the outbox
 * records a try of one of them: the outcome locked the outbox row, then
 * the subscription's; the DELETE the other way round, and PostgreSQL
 * killed one of the two (an e2e DELETE answered 500: deadlock detected).
 * Here the outcome has taken its first lock when the DELETE starts. */
START_TEST(regression_subscription_delete_deadlocks_with_delivery_outcome)
{
	PGconn *deleter = session(), *watch = session();
	const struct store_outbox_outcome outcome = {.outbox_id = "9001",
						     .claimed_by = "daemon-a",
						     .delay_ms = "1000",
						     .error = "no answer",
						     .subscription_id =
							     "sub-dl",
						     .status = "error",
						     .sub_error = "no answer"};
	const struct db_query begin = {.sql = "BEGIN"},
			      commit = {.sql = "COMMIT"},
			      delete = {.stmt = STMT_SUB_DELETE,
					.nparams = 2,
					.params = {"sub-dl", NULL}};
	struct db_query q[STORE_OUTBOX_OUTCOME_QUERIES];
	int n = store_outbox_outcome(&outcome, q);

	exec_ok("INSERT INTO fhir_subscriptions (subscription_id, "
		"resource_type, criteria, endpoint, full_payload, secret, "
		"status, token_id, source, doc) VALUES ('sub-dl', 'Task', "
		"'Task?', "
		"'http://127.0.0.1:9/hook', false, 's', 'active', 't', 'src', "
		"'{}')");
	exec_ok("INSERT INTO outbox (outbox_id, stream, kind, "
		"subscription_id, claimed_by) VALUES (9001, 'sub-dl', "
		"'change', 'sub-dl', 'daemon-a')");
	ck_assert_int_eq(n, 2);
	run_query(conn, &begin);
	run_query(conn, &q[0]);
	ck_assert(send_query(deleter, &delete));
	ck_assert_msg(!finished_or_waiting(deleter, watch),
		      "the DELETE did not wait for the outcome's lock");
	for (int i = 1; i < n; i++)
		run_query(conn, &q[i]);
	run_query(conn, &commit);
	finish_query(deleter);
	ck_assert_int_eq(select_int("SELECT count(*) FROM outbox WHERE "
				    "subscription_id = 'sub-dl'"),
			 0);
	PQfinish(deleter);
	PQfinish(watch);
}
END_TEST

/* Reads by id gathered into one statement (daemon/query.c): each row
 * carries the place of the read it answers, a read sees only its own
 * token's regions, and the audited form writes one row per pathway shown,
 * naming its reader, and none for a read that found nothing. */
START_TEST(pathways_read_together_keep_their_places_and_regions)
{
	const char *params[7] = {
		"{pw-ga,pw-gb,pw-gmissing,pw-ga,pw-gb}",
		"{\"{r1}\",\"{r1}\",NULL,NULL,\"{r2,r3}\"}",
		"{grp-1,grp-1,grp-2,grp-2,grp-3}",
		"{GET,GET,GET,HEAD,GET}",
		"{/v1/pathways/:id,/v1/pathways/:id,/v1/pathways/:id,"
		"/v1/pathways/:id,/v1/pathways/:id}",
		"{/v1/pathways/pw-ga,/v1/pathways/pw-gb,/v1/pathways/"
		"pw-gmissing,"
		"/v1/pathways/pw-ga,/v1/pathways/pw-gb}",
		"{a,b,c,d,e}"};
	static const char *const want[][3] = {{"1", "pw-ga", "p-ga"},
					      {"4", "pw-ga", "p-ga"},
					      {"5", "pw-gb", "p-gb"}};
	PGresult *res;

	exec_ok("INSERT INTO pathways (pathway_id, patient_id, model, region, "
		"level, unit, phase, version, opened_at, updated_at, "
		"last_change_at, doc) SELECT 'pw-g' || x, 'p-g' || x, 'no', r, "
		"'gp', 'gp-1', 'referred', 1, now(), now(), now(), "
		"json_build_object('pathway_id', 'pw-g' || x) FROM (VALUES "
		"('a', 'r1'), ('b', 'r2')) v(x, r)");
	for (int audited = 0; audited < 2; audited++) {
		enum store_stmt id =
			audited ? STMT_PATHWAYS_GET_AUDITED : STMT_PATHWAYS_GET;

		res = PQexecPrepared(conn, store_statements[id - 1].name,
				     audited ? 7 : 2, params, NULL, NULL, 0);
		ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
			      PQerrorMessage(conn));
		ck_assert_int_eq(PQntuples(res), 3);
		for (int row = 0; row < 3; row++) {
			ck_assert_str_eq(PQgetvalue(res, row, 0), want[row][0]);
			ck_assert(
				strstr(PQgetvalue(res, row, 1), want[row][1]));
			ck_assert_str_eq(PQgetvalue(res, row, 2), want[row][2]);
		}
		PQclear(res);
		ck_assert_int_eq(
			select_int("SELECT count(*) FROM audit_log WHERE "
				   "token_id LIKE 'grp-%'"),
			audited ? 3 : 0);
	}
	res = PQexec(conn, "SELECT string_agg(concat_ws(' ', token_id, method, "
			   "uri, patient_ids, remote, status, regions), ' | ' "
			   "ORDER BY token_id) FROM audit_log WHERE token_id "
			   "LIKE 'grp-%'");
	ck_assert_str_eq(PQgetvalue(res, 0, 0),
			 "grp-1 GET /v1/pathways/pw-ga {p-ga} a 200 {r1} | "
			 "grp-2 HEAD /v1/pathways/pw-ga {p-ga} d 200 {r1} | "
			 "grp-3 GET /v1/pathways/pw-gb {p-gb} e 200 {r2}");
	PQclear(res);
}
END_TEST

/* Group A draws the lower notification id and commits after group B: a
 * reader that read B's and moved its cursor past it never saw A's. */
START_TEST(regression_notification_cursor_skips_late_commits)
{
	PGconn *b = session(), *reader = session(), *watch = session();
	struct store_group *ga = store_group_new(), *gb = store_group_new();
	struct db_query qa[STORE_GROUP_QUERIES], qb[STORE_GROUP_QUERIES + 1];
	const struct db_query begin = {.sql = "BEGIN"},
			      commit = {.sql = "COMMIT"};
	int na, nb, sent = 0;
	bool waiting = false;
	char seen[256] = "";
	long cursor;

	exec_ok("INSERT INTO pathways (pathway_id, patient_id, model, region, "
		"level, unit, phase, version, opened_at, updated_at, "
		"last_change_at, doc) VALUES ('pw-note', 'p-note', 'no', 'r1', "
		"'gp', 'gp-1', 'referred', 1, now(), now(), now(), '{}')");
	na = notification_queries(ga, "e-a", qa);
	nb = notification_queries(gb, "e-b", qb);
	qb[nb++] = commit;
	run_query(conn, &begin);
	for (int i = 0; i < na; i++)
		run_query(conn, &qa[i]);
	run_query(b, &begin);
	/* B runs as far as it can while A is uncommitted. */
	while (sent < nb) {
		ck_assert(send_query(b, &qb[sent]));
		sent++;
		waiting = !finished_or_waiting(b, watch);
		if (waiting)
			break;
		finish_query(b);
	}
	cursor = read_after(reader, 0, seen, sizeof(seen));
	run_query(conn, &commit);
	if (waiting)
		finish_query(b);
	for (; sent < nb; sent++)
		run_query(b, &qb[sent]);
	read_after(reader, cursor, seen, sizeof(seen));
	ck_assert_msg(strstr(seen, "e-a,") && strstr(seen, "e-b,"),
		      "a reader following the cursor saw only: %s", seen);
	store_group_free(ga);
	store_group_free(gb);
	PQfinish(b);
	PQfinish(reader);
	PQfinish(watch);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("plans");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_statement_prepares);
	tcase_add_test(tc, every_keyed_statement_has_its_plan_checked);
	tcase_add_test(tc, generic_plans_made_on_empty_tables_stay_keyed);
	tcase_add_test(tc, regression_notification_cursor_skips_late_commits);
	tcase_add_test(tc, regression_daemon_without_endpoint_drops_report);
	tcase_add_test(tc, audit_rows_arrive_as_written);
	tcase_add_test(
		tc,
		regression_subscription_delete_deadlocks_with_delivery_outcome);
	tcase_add_test(tc,
		       pathways_read_together_keep_their_places_and_regions);
	tcase_add_test(tc, open_pathways_are_counted_from_the_worklist_index);
	suite_add_tcase(s, tc);
	return s;
}
