/*
 * Every resource painpath emits, checked by an independent validator:
 * a corpus of at least one resource per status and phase under all four
 * models (EpisodeOfCare, ServiceRequest, Task, from pathways built through
 * the real state machine), Bundles of each kind, an OperationOutcome per
 * error code, the CapabilityStatement, our SearchParameter and
 * Subscriptions, written to a file and validated by
 * test/node/fhir-validate.mjs (the npm `fhir` package's R4 validate, plus
 * the invariants it does not evaluate).  Zero errors are required; the
 * count is printed.
 *
 * Needs Node and test/node/node_modules (contrib/install-node-tools.sh,
 * which make check runs first).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhir_bundle.h"
#include "fhir_capability.h"
#include "fhir_fixture.h"
#include "fhir_outcome.h"
#include "fhir_resource.h"
#include "fhir_subscription.h"
#include "suites.h"

#define VALIDATOR "test/node/fhir-validate.mjs"

/* What the corpus must cover, per model: "Type status". */
static const char *const required[] = {
	"Task requested",
	"Task received",
	"Task accepted",
	"Task rejected",
	"Task cancelled",
	"Task in-progress",
	"Task completed",
	"Task entered-in-error",
	"ServiceRequest active",
	"ServiceRequest revoked",
	"ServiceRequest completed",
	"ServiceRequest entered-in-error",
	"EpisodeOfCare active",
	"EpisodeOfCare waitlist",
	"EpisodeOfCare finished",
	"EpisodeOfCare entered-in-error",
	/* our phases, as Task.businessStatus */
	"phase active",
	"phase referred",
	"phase assessing",
	"phase waiting",
	"phase closed",
};

struct corpus {
	json_t *all;  /* every resource, in order */
	json_t *seen; /* "model Type status" -> true */
	size_t pathways;
};

static void note(struct corpus *c, const char *model, const json_t *r)
{
	char key[160];
	const char *type =
		json_string_value(json_object_get(r, "resourceType"));
	const char *phase = json_string_value(json_object_get(
		json_array_get(
			json_object_get(json_object_get(r, "businessStatus"),
					"coding"),
			0),
		"code"));

	snprintf(key, sizeof(key), "%s %s %s", model, type,
		 json_string_value(json_object_get(r, "status")));
	json_object_set_new(c->seen, key, json_true());
	if (phase != NULL) {
		snprintf(key, sizeof(key), "%s phase %s", model, phase);
		json_object_set_new(c->seen, key, json_true());
	}
}

/* The pathway's resources into the corpus, and a searchset of them. */
static void add_pathway(struct corpus *c, struct fx *fx)
{
	struct fhir_view v;
	json_t *all, *bundle;
	const json_t *r;
	size_t i;
	struct fhir_query_param q = {"patient", "p-x"};

	ck_assert(fhir_view_load(&v, fx_config(), fx->model, fx->pathway,
				 fx->transitions));
	all = fhir_resource_all(&v);
	ck_assert(all != NULL);
	bundle = fhir_bundle_new(FHIR_BUNDLE_SEARCHSET);
	fhir_bundle_set_total(bundle, (long)json_array_size(all));
	json_array_foreach(all, i, r)
	{
		note(c, fx->model->key, r);
		json_array_append(c->all, (json_t *)r);
		ck_assert(fhir_bundle_add_match(bundle, fx_config(),
						json_incref((json_t *)r),
						i % 2 == 1));
	}
	ck_assert(fhir_bundle_set_links(bundle, fx_config(), "Task", &q, 1,
					"opaque=="));
	json_array_append_new(c->all, bundle);
	json_decref(all);
	fhir_view_free(&v);
	c->pathways++;
}

static void walk(struct corpus *c, const char *model, const char *id,
		 const char *stage)
{
	struct fx fx;

	fx_open(&fx, model, id,
		json_pack("{s:[s], s:s}", "flags", "trauma", "pain_onset",
			  "2024-06-01"));
	fx_referral(&fx, stage);
	add_pathway(c, &fx);
	fx_free(&fx);
}

/* The histories of one model: every stage, and what comes after. */
static void model_corpus(struct corpus *c, const char *model)
{
	static const char *const stages[] = {"referred", "assessing",
					     "waiting",	 "treated",
					     "rejected", "withdrawn"};
	struct fx fx;

	for (size_t s = 0; s < sizeof(stages) / sizeof(stages[0]); s++)
		walk(c, model, stages[s], stages[s]);
	/* Treated, then back to the GP: completed. */
	fx_open(&fx, model, "pw:done_1", NULL);
	fx_referral(&fx, "treated");
	fx_event(&fx, "patient.transferred", "2025-09-01T10:00:00+02:00", NULL,
		 json_pack("{s:s, s:s, s:s}", "to_level", "gp", "to_unit",
			   "gp-1", "reason", "stable"));
	add_pathway(c, &fx);
	fx_free(&fx);
	/* Closed while waiting: finished, cancelled. */
	fx_open(&fx, model, "pw-closed", NULL);
	fx_referral(&fx, "waiting");
	fx_event(&fx, "pathway.closed", "2025-04-01T10:00:00+02:00", NULL,
		 json_pack("{s:s}", "reason", "declined"));
	add_pathway(c, &fx);
	fx_free(&fx);
	/* A referral sent by mistake, retracted (issue 12). */
	fx_open(&fx, model, "pw-oops", NULL);
	fx_referral(&fx, "referred");
	fx_meta(&fx, "event.retracted", "ev-2",
		json_pack("{s:s}", "reason", "wrong patient"), "active");
	json_object_set_new(fx.pathway, "deadlines", json_array());
	json_object_set_new(fx.pathway, "referral", json_null());
	add_pathway(c, &fx);
	fx_free(&fx);
	/* A pathway opened by mistake: entered in error. */
	fx_open(&fx, model, "pw-void", NULL);
	fx_meta(&fx, "event.retracted", "ev-1",
		json_pack("{s:s}", "reason", "wrong patient"),
		"entered_in_error");
	add_pathway(c, &fx);
	fx_free(&fx);
}

/* A long pathway id (the hash form) and a Danish free choice. */
static void special_corpus(struct corpus *c)
{
	struct fx fx;
	char id[ID_MAX + 1];

	memset(id, 'q', ID_MAX);
	id[ID_MAX] = '\0';
	fx_open(&fx, "dk", id, NULL);
	fx_referral(&fx, "waiting");
	fx_event(&fx, "free_choice.chosen", "2025-04-07T10:00:00+02:00", NULL,
		 json_pack("{s:s}", "to_unit", "private-9"));
	add_pathway(c, &fx);
	fx_free(&fx);
	fx_open(&fx, "no", "pw-reopened", NULL);
	fx_referral(&fx, "treated");
	fx_event(&fx, "pathway.closed", "2025-05-01T10:00:00+02:00", NULL,
		 json_pack("{s:s}", "reason", "completed"));
	fx_raw(&fx, "pathway.reopened", "2025-05-20T08:00:00.000Z",
	       json_pack("{s:s}", "reason", "pain returned"), "active");
	add_pathway(c, &fx);
	fx_free(&fx);
}

static json_t *outcome(enum err_code code)
{
	struct fhir_error e;

	fhir_error_set(&e, code, code % 2 ? "Task.status" : NULL, "refused: %s",
		       error_code_name(code));
	return fhir_outcome(fx_config(), &e);
}

/* OperationOutcomes, response Bundles, the statement, subscriptions. */
static void server_corpus(struct corpus *c)
{
	json_t *batch = fhir_bundle_new(FHIR_BUNDLE_BATCH_RESPONSE);
	json_t *tx = fhir_bundle_new(FHIR_BUNDLE_TRANSACTION_RESPONSE);
	json_t *task = json_deep_copy(json_array_get(c->all, 2));
	struct fhir_subscription sub;
	struct fhir_error err;
	json_t *r;

	for (int code = 0; code < ERR_COUNT; code++) {
		json_array_append_new(c->all, outcome((enum err_code)code));
		ck_assert(fhir_bundle_add_response(
			batch, fx_config(), error_http_status(code),
			code == ERR_NONE ? json_incref(task) : NULL,
			code == ERR_NONE ? NULL
					 : outcome((enum err_code)code)));
	}
	ck_assert(fhir_bundle_add_response(tx, fx_config(), 201, task, NULL));
	json_array_append_new(c->all, batch);
	json_array_append_new(c->all, tx);
	json_array_append_new(
		c->all, fhir_capability_statement(fx_config(), "1.0.0",
						  INT64_C(1735689600000)));
	json_array_append_new(c->all, fhir_capability_search_parameter(
					      fx_config(), "Task", "deadline"));
	r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:[s]}}",
		      "resourceType", "Subscription", "status", "requested",
		      "reason", "worklist", "criteria",
		      "Task?owner=clinic-1&status=requested,received", "end",
		      "2026-01-01T00:00:00Z", "channel", "type", "rest-hook",
		      "endpoint", "https://ehr.example/hook", "header",
		      "Authorization: Bearer x");
	ck_assert(fhir_subscription_parse(fx_config(), r, &sub, &err));
	json_array_append_new(c->all,
			      fhir_subscription_to_json(&sub, "sub-1",
							FHIR_SUB_ACTIVE, NULL));
	json_array_append_new(
		c->all, fhir_subscription_to_json(&sub, "sub-2", FHIR_SUB_ERROR,
						  "503 from the endpoint"));
	sub.full_payload = true;
	sub.header_count = 0;
	sub.end = 0;
	json_array_append_new(
		c->all,
		fhir_subscription_to_json(&sub, "sub-3", FHIR_SUB_OFF, NULL));
	json_decref(r);
}

/* Runs the validator on the file; returns its summary line.  echo: copy
 * each error it reports to stderr, for the test log. */
static void validate(const char *path, bool echo, char *summary, size_t len,
		     int *rc)
{
	char cmd[512], line[1024];

	FILE *p;

	ck_assert_msg(
		access("test/node/node_modules/fhir/package.json", R_OK) == 0,
		"the FHIR validator is not installed: run "
		"contrib/install-node-tools.sh");
	snprintf(cmd, sizeof(cmd), "node %s %s 2>&1", VALIDATOR, path);
	p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run node");
	summary[0] = '\0';
	while (fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "resources checked:", 18) == 0)
			snprintf(summary, len, "%s", line);
		else if (echo)
			fputs(line, stderr);
	}
	*rc = pclose(p);
}

START_TEST(test_corpus_validates)
{
	struct corpus c = {json_array(), json_object(), 0};
	const struct model_set *set = fx_models();
	char path[] = "/tmp/painpath-fhir-corpus-XXXXXX", summary[1024];
	long checked = -1, errors = -1;
	int fd, rc;

	for (size_t m = 0; m < set->count; m++)
		model_corpus(&c, set->models[m].key);
	special_corpus(&c);
	server_corpus(&c);
	/* Coverage: every status and phase under every model. */
	for (size_t m = 0; m < set->count; m++)
		for (size_t i = 0; i < sizeof(required) / sizeof(required[0]);
		     i++) {
			char key[160];
			snprintf(key, sizeof(key), "%s %s", set->models[m].key,
				 required[i]);
			ck_assert_msg(json_object_get(c.seen, key) != NULL,
				      "the corpus has no %s", key);
		}
	fd = mkstemp(path);
	ck_assert(fd >= 0);
	ck_assert(json_dumpfd(c.all, fd, JSON_INDENT(1)) == 0);
	close(fd);
	validate(path, true, summary, sizeof(summary), &rc);
	unlink(path);
	ck_assert_msg(sscanf(summary, "resources checked: %ld", &checked) == 1,
		      "no summary from the validator (exit %d)", rc);
	ck_assert_msg(strstr(summary, "errors: ") != NULL &&
			      sscanf(strstr(summary, "errors: "), "errors: %ld",
				     &errors) == 1,
		      "%s", summary);
	printf("fhir-validate: %zu pathways; %s", c.pathways, summary);
	ck_assert_msg(errors == 0, "%s", summary);
	ck_assert_int_eq(rc, 0);
	/* Everything in the array, and each Bundle's entries besides. */
	ck_assert_int_gt(checked, (long)json_array_size(c.all));
	json_decref(c.all);
	json_decref(c.seen);
}
END_TEST

/* The validator must be able to fail: a Task with a status R4 does not
 * have, an empty string and an unknown element. */
START_TEST(test_validator_catches_errors)
{
	char path[] = "/tmp/painpath-fhir-bad-XXXXXX", summary[1024];
	long errors = 0;
	int fd = mkstemp(path), rc;
	json_t *bad = json_pack("[{s:s, s:s, s:s, s:s, s:s}]", "resourceType",
				"Task", "status", "bogus", "intent", "order",
				"colour", "blue", "authoredOn", "");

	ck_assert(fd >= 0);
	ck_assert(json_dumpfd(bad, fd, 0) == 0);
	close(fd);
	validate(path, false, summary, sizeof(summary), &rc);
	unlink(path);
	ck_assert(strstr(summary, "errors: ") != NULL);
	ck_assert(sscanf(strstr(summary, "errors: "), "errors: %ld", &errors) ==
		  1);
	ck_assert_int_ge(errors, 3);
	ck_assert_int_ne(rc, 0);
	json_decref(bad);
}
END_TEST

Suite *fhir_validate_suite(void)
{
	Suite *s = suite_create("fhir_validate");
	TCase *tc = tcase_create("r4");

	/* Node loads the R4 definitions: give it time on a busy machine. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_corpus_validates);
	tcase_add_test(tc, test_validator_catches_errors);
	suite_add_tcase(s, tc);
	return s;
}
