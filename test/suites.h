/* Every Check suite of the library tests, one per module. */
#ifndef PAINPATH_TEST_SUITES_H
#define PAINPATH_TEST_SUITES_H

#include <check.h>

Suite *calendar_suite(void);
Suite *pgarray_suite(void);
Suite *model_suite(void);
Suite *event_suite(void);
Suite *fsm_suite(void);
Suite *harness_suite(void);
Suite *db_suite(void);
Suite *stats_suite(void);
Suite *auth_suite(void);
Suite *regressions_suite(void);
Suite *http1_suite(void);
Suite *decide_suite(void);
Suite *store_suite(void);
Suite *webfiles_suite(void);
Suite *hmac_suite(void);
Suite *fhir_id_suite(void);
Suite *fhir_map_suite(void);
Suite *fhir_model_suite(void);
Suite *fhir_resource_suite(void);
Suite *fhir_write_suite(void);
Suite *fhir_bundle_suite(void);
Suite *fhir_subscription_suite(void);
Suite *fhir_validate_suite(void);
Suite *fhir_search_suite(void);
Suite *config_suite(void);
Suite *cidr_suite(void);
Suite *log_suite(void);
Suite *openapi_suite(void);

#endif
