/*
 * check_store: the store's statements against a real PostgreSQL, planned
 * as the daemon plans them (custom plans, plan_cache_mode =
 * force_custom_plan).  Issue 11: a new installation's first load collapsed
 * because a plan chosen on an empty table scanned every open pathway until
 * autovacuum analysed the table.  No plan of the hot path may depend on
 * statistics being current: on an empty table, on a loaded table never
 * analysed, and on an analysed one, each statement reaches its rows by the
 * keys it names -- no sequential scan of pathways or transitions, no index
 * but the ones listed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* In each test's own process: a session as the daemon's. */
static void setup(void)
{
	ck_assert_msg(pg_ok, "no cluster");
	conn = PQconnectdb(pg.conninfo);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s",
		      PQerrorMessage(conn));
	/* As a fresh installation: nothing analyses behind the test's back. */
	exec_ok("ALTER TABLE pathways SET (autovacuum_enabled = false)");
	exec_ok("ALTER TABLE transitions SET (autovacuum_enabled = false)");
	exec_ok("SET plan_cache_mode = force_custom_plan");
	/* As the daemon's group transactions (commit_tx.c). */
	exec_ok("SET enable_seqscan = off");
	for (int id = 1; store_statements[id - 1].name != NULL; id++) {
		PGresult *res =
			PQprepare(conn, store_statements[id - 1].name,
				  store_statements[id - 1].sql, 0, NULL);
		ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s",
			      store_statements[id - 1].name,
			      PQerrorMessage(conn));
		PQclear(res);
	}
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

/* EXPLAIN (FORMAT JSON) EXECUTE of a prepared statement with literal
 * parameters; fails the test on a scan of pathways or transitions or an
 * index not in the list. */
static void check_plan(const char *when, enum store_stmt id, const char *args,
		       const char *const *indexes)
{
	char sql[4096];
	PGresult *res;
	json_t *plan, *all = json_array();
	size_t i;
	json_t *node;

	snprintf(sql, sizeof(sql), "EXPLAIN (FORMAT JSON) EXECUTE \"%s\"(%s)",
		 store_statements[id - 1].name, args);
	res = PQexec(conn, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(conn));
	plan = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	ck_assert_ptr_nonnull(plan);
	nodes(json_object_get(json_array_get(plan, 0), "Plan"), all);
	json_array_foreach(all, i, node)
	{
		const char *type =
			json_string_value(json_object_get(node, "Node Type"));
		const char *rel = json_string_value(
			json_object_get(node, "Relation Name"));
		const char *index =
			json_string_value(json_object_get(node, "Index Name"));
		ck_assert_msg(!(strcmp(type, "Seq Scan") == 0 && rel &&
				(strcmp(rel, "pathways") == 0 ||
				 strcmp(rel, "transitions") == 0)),
			      "%s, %s: a sequential scan of %s",
			      store_statements[id - 1].name, when, rel);
		ck_assert_msg(index == NULL || allowed(index, indexes),
			      "%s, %s: uses index %s",
			      store_statements[id - 1].name, when, index);
	}
	json_decref(all);
	json_decref(plan);
}

static void check_hot_statements(const char *when)
{
	static const char *const lock[] = {"pathways_pkey",
					   "pathways_one_open_per_patient",
					   "pathways_patient", NULL};
	static const char *const lookup[] = {"transitions_source_event_id",
					     "pathways_pkey", NULL};
	static const char *const history[] = {
		"transitions_pkey", "pathways_pkey", "pathways_patient", NULL};
	static const char *const by_id[] = {"pathways_pkey", NULL};

	check_plan(when, STMT_LOCK, "NULL, '{\"p-1\",\"p-2\",\"p-3\"}', NULL",
		   lock);
	check_plan(when, STMT_LOCK,
		   "'{\"pw-1\"}', '{\"p-1\"}', '{\"p-7\",\"p-9\"}'", lock);
	check_plan(when, STMT_EVENT_LOOKUP,
		   "'{\"src\",\"src\"}', '{\"e-1-1\",\"e-9\"}'", lookup);
	check_plan(when, STMT_HISTORY, "'{\"pw-5\"}', NULL, '{\"p-8\"}'",
		   history);
	check_plan(when, STMT_PATHWAY_GET, "'pw-5', '{\"r1\"}'", by_id);
}

START_TEST(hot_statements_plan_by_their_keys_however_stale_the_statistics)
{
	check_hot_statements("empty, never analysed");
	load();
	check_hot_statements("loaded, never analysed");
	exec_ok("ANALYZE pathways");
	exec_ok("ANALYZE transitions");
	check_hot_statements("loaded, analysed");
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

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("plans");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_statement_prepares);
	tcase_add_test(
		tc,
		hot_statements_plan_by_their_keys_however_stale_the_statistics);
	suite_add_tcase(s, tc);
	return s;
}
