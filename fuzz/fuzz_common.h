/*
 * fuzz_common: what the libFuzzer targets share.  Header-only (static
 * functions), so each target stays one translation unit plus lib/.
 *
 * The model directory is compiled in as FUZZ_MODEL_DIR (fuzz/run.sh passes
 * the repository's config/models) and can be overridden at run time with
 * the environment variable PAINPATH_MODEL_DIR.
 */
#ifndef PAINPATH_FUZZ_COMMON_H
#define PAINPATH_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "model.h"
#include "pathway.h"

#ifndef FUZZ_MODEL_DIR
#define FUZZ_MODEL_DIR "config/models"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant does not hold: say which, show the JSON, and crash so that
 * libFuzzer keeps the input. */
static void __attribute__((noreturn, unused))
fuzz_fail(const char *what, const json_t *a, const json_t *b)
{
	fprintf(stderr, "fuzz: invariant broken: %s\n", what);
	if (a != NULL) {
		fputs("first:\n", stderr);
		json_dumpf(a, stderr, JSON_INDENT(1) | JSON_SORT_KEYS);
		fputc('\n', stderr);
	}
	if (b != NULL) {
		fputs("second:\n", stderr);
		json_dumpf(b, stderr, JSON_INDENT(1) | JSON_SORT_KEYS);
		fputc('\n', stderr);
	}
	abort();
}

static void __attribute__((unused)) fuzz_load_models(struct model_set *set)
{
	const char *dir = getenv("PAINPATH_MODEL_DIR");
	char err[1024];

	if (dir == NULL || dir[0] == '\0')
		dir = FUZZ_MODEL_DIR;
	if (!model_set_load_dir(dir, set, err, sizeof(err))) {
		fprintf(stderr, "fuzz: cannot load the models: %s\n", err);
		exit(2);
	}
}

/* Encodes p, reads it back into out (as the daemon reads pathways.state)
 * and encodes again: pathway_from_json must accept what pathway_to_json
 * wrote, and the two encodings must be equal. */
static void __attribute__((unused))
fuzz_round_trip(const struct pathway *p, struct pathway *out)
{
	json_t *first = pathway_to_json(p);
	json_t *second;

	if (first == NULL)
		fuzz_fail("pathway_to_json returned NULL", NULL, NULL);
	if (!pathway_from_json(first, out))
		fuzz_fail("pathway_from_json refuses what pathway_to_json "
			  "wrote",
			  first, NULL);
	second = pathway_to_json(out);
	if (!json_equal(first, second))
		fuzz_fail("pathway JSON changes in a round trip", first,
			  second);
	json_decref(first);
	json_decref(second);
}

#endif
