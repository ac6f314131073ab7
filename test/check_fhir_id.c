/*
 * Unit tests for lib/fhir_id.c and lib/fhir_config.c: resource ids from
 * pathway ids (test/data/fhir_ids.tsv), their parsing and its refusals, and
 * the event ids of FHIR writes.
 */
#include <check.h>
#include <string.h>

#include "fhir_config.h"
#include "fhir_fixture.h"
#include "fhir_id.h"
#include "suites.h"

#define IDS "test/data/fhir_ids.tsv"

START_TEST(test_id_table)
{
	struct fx_row rows[64];
	size_t n = fx_tsv(IDS, rows, 64);

	ck_assert_uint_ge(n, 10);
	for (size_t i = 0; i < n; i++) {
		const char *pathway = fx_field(&rows[i], 0);
		int seq = atoi(fx_field(&rows[i], 1));
		const char *want = fx_field(&rows[i], 2);
		char id[FHIR_ID_MAX + 1], hash[FHIR_ID_HASH_HEX + 1];
		char hashed[FHIR_ID_MAX + 1];
		struct fhir_id_parts parts;

		if (seq > 0)
			fhir_id_referral(pathway, seq, id);
		else
			fhir_id_pathway(pathway, id);
		ck_assert_msg(fhir_id_valid(id), "line %d: %s", rows[i].line,
			      id);
		ck_assert_msg(fhir_id_parse(id, &parts), "line %d: %s",
			      rows[i].line, id);
		ck_assert_int_eq(parts.seq, seq);
		if (strcmp(want, "hash") != 0) {
			ck_assert_msg(strcmp(id, want) == 0,
				      "line %d: %s, want %s", rows[i].line, id,
				      want);
			ck_assert(!parts.hashed);
			ck_assert_str_eq(parts.pathway_id, pathway);
			continue;
		}
		/* The hash form: pw.h + 32 hex of sha256(pathway id). */
		fhir_id_pathway_hash(pathway, hash);
		snprintf(hashed, sizeof(hashed), "pw.h%s", hash);
		ck_assert_msg(strncmp(id, hashed, strlen(hashed)) == 0,
			      "line %d: %s", rows[i].line, id);
		ck_assert(parts.hashed);
		ck_assert_str_eq(parts.hash, hash);
	}
}
END_TEST

START_TEST(test_longest_ids_fit)
{
	/* 128 characters, all escapes: the hash form, seq at its largest. */
	char pathway[ID_MAX + 1], id[FHIR_ID_MAX + 1];
	struct fhir_id_parts parts;

	memset(pathway, ':', ID_MAX);
	pathway[0] = 'p';
	pathway[ID_MAX] = '\0';
	fhir_id_referral(pathway, 2147483647, id);
	ck_assert(fhir_id_valid(id));
	ck_assert_uint_le(strlen(id), FHIR_ID_MAX);
	ck_assert(fhir_id_parse(id, &parts));
	ck_assert(parts.hashed);
	ck_assert_int_eq(parts.seq, 2147483647);
}
END_TEST

/* Ids no encoding writes: refused, so a read of them is a 404. */
static const char *const not_ours[] = {
	"",		     /* empty */
	"a_b",		     /* '_' is not a FHIR id character */
	"a.xb",		     /* unknown escape */
	"ab.",		     /* a lone escape */
	"pw-1.r0",	     /* seq 0 */
	"pw-1.r07",	     /* leading zero */
	"pw-1.r2x",	     /* not a number */
	"pw-1.r2.r3",	     /* two seqs */
	"pw-1.r99999999999", /* beyond int */
	"pw.h0123",	     /* short hash */
	"pw.h0123456789abcdef0123456789ABCDEF", /* upper-case hex */
	"x.h0123456789abcdef0123456789abcdef",	/* wrong prefix */
	".d.d", /* decodes to "..", not an id of ours */
	/* 53 plain characters: the escaped form is at most 52 */
	"12345678901234567890123456789012345678901234567890123",
	"12345678901234567890123456789012345678901234567890123456789012345",
};

START_TEST(test_refused)
{
	struct fhir_id_parts parts;

	ck_assert_msg(!fhir_id_parse(not_ours[_i], &parts), "%s accepted",
		      not_ours[_i]);
}
END_TEST

START_TEST(test_update_event_ids)
{
	char id[ID_MAX + 1], again[ID_MAX + 1], other[ID_MAX + 1];
	char task[FHIR_ID_MAX + 1];

	ck_assert(fhir_id_update_event("Task", "pw-1.r2", 4, "accepted", id));
	ck_assert_str_eq(id, "fhir:Task:pw-1.r2:4:accepted");
	ck_assert(domain_valid_id(id));
	/* The same PUT retried: the same event. */
	ck_assert(
		fhir_id_update_event("Task", "pw-1.r2", 4, "accepted", again));
	ck_assert_str_eq(id, again);
	ck_assert(
		fhir_id_update_event("Task", "pw-1.r2", 5, "accepted", other));
	ck_assert_str_ne(id, other);
	/* The longest resource id still fits our 128. */
	memset(task, 'x', FHIR_ID_MAX);
	task[FHIR_ID_MAX] = '\0';
	ck_assert(fhir_id_update_event("EpisodeOfCare", task, 2147483647,
				       "entered-in-error", id));
	ck_assert_uint_le(strlen(id), ID_MAX);
	/* Outside our alphabet: refused. */
	ck_assert(!fhir_id_update_event("Task", "a b", 1, "x", id));
	ck_assert(!fhir_id_update_event("Task", "a", -1, "x", id));
}
END_TEST

START_TEST(test_content_event_ids)
{
	char a[ID_MAX + 1], b[ID_MAX + 1], c[ID_MAX + 1];

	fhir_id_content_event("ServiceRequest", "{\"a\":1}", 7, a);
	fhir_id_content_event("ServiceRequest", "{\"a\":1}", 7, b);
	fhir_id_content_event("ServiceRequest", "{\"a\":2}", 7, c);
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert(domain_valid_id(a));
	ck_assert(strncmp(a, "fhir:ServiceRequest:sha256:", 27) == 0);
	ck_assert_uint_eq(strlen(a), 27 + FHIR_ID_HASH_HEX);
}
END_TEST

START_TEST(test_config)
{
	struct fhir_config cfg;
	char why[128], url[FHIR_URL_MAX];

	ck_assert(fhir_config_init(&cfg, "https://pp.example/fhir/", why,
				   sizeof(why)));
	ck_assert_str_eq(cfg.base_url, "https://pp.example/fhir");
	ck_assert_str_eq(cfg.event_id_system,
			 "https://pp.example/fhir/NamingSystem/event-id");
	fhir_config_extension_url(&cfg, "level", url);
	ck_assert_str_eq(url, "https://pp.example/fhir/StructureDefinition/"
			      "painpath-level");
	fhir_config_code_system(&cfg, "phase", url);
	ck_assert_str_eq(url,
			 "https://pp.example/fhir/CodeSystem/painpath-phase");
	ck_assert(!fhir_config_init(&cfg, "ftp://x/fhir", why, sizeof(why)));
	ck_assert(!fhir_config_init(&cfg, "https:///fhir", why, sizeof(why)));
	ck_assert(!fhir_config_init(&cfg, "https://x/a b", why, sizeof(why)));
	ck_assert(!fhir_config_init(&cfg, "https://x/f|", why, sizeof(why)));
	ck_assert(!fhir_config_init(&cfg, "", why, sizeof(why)));
	ck_assert(strstr(why, "1..200") != NULL);
}
END_TEST

Suite *fhir_id_suite(void)
{
	Suite *s = suite_create("fhir_id");
	TCase *tc = tcase_create("ids");

	tcase_add_test(tc, test_id_table);
	tcase_add_test(tc, test_longest_ids_fit);
	tcase_add_loop_test(tc, test_refused, 0,
			    (int)(sizeof(not_ours) / sizeof(not_ours[0])));
	tcase_add_test(tc, test_update_event_ids);
	tcase_add_test(tc, test_content_event_ids);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	return s;
}
