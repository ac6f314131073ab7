/*
 * The runner for the library's suites.  Each test/check_<module>.c exports
 * <module>_suite(); they are listed here once.  Exit status: 0 only when
 * every test passed.
 */
#include <check.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(calendar_suite());
	int failed;

	srunner_add_suite(sr, pgarray_suite());
	srunner_add_suite(sr, model_suite());
	srunner_add_suite(sr, event_suite());
	srunner_add_suite(sr, fsm_suite());
	srunner_add_suite(sr, decide_suite());
	srunner_add_suite(sr, auth_suite());
	srunner_add_suite(sr, regressions_suite());
	srunner_add_suite(sr, http1_suite());
	srunner_add_suite(sr, webfiles_suite());
	srunner_add_suite(sr, hmac_suite());
	srunner_add_suite(sr, fhir_id_suite());
	srunner_add_suite(sr, fhir_map_suite());
	srunner_add_suite(sr, fhir_model_suite());
	srunner_add_suite(sr, fhir_resource_suite());
	srunner_add_suite(sr, fhir_write_suite());
	srunner_add_suite(sr, fhir_bundle_suite());
	srunner_add_suite(sr, fhir_subscription_suite());
	srunner_add_suite(sr, fhir_search_suite());
	srunner_add_suite(sr, fhir_validate_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, cidr_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, openapi_suite());
	srunner_add_suite(sr, harness_suite());
	srunner_add_suite(sr, db_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, stats_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
