/*
 * fhir_id: FHIR resource ids for our pathways and referrals, and the
 * event ids of FHIR writes.
 *
 * A FHIR id is 1..64 of [A-Za-z0-9-.]; our ids are 1..128 of
 * [A-Za-z0-9._:-].  The encoding (doc/fhir.md "Resource ids"):
 *
 *   EpisodeOfCare/<base>             the pathway
 *   ServiceRequest/<base>.r<seq>     the referral sent at transition seq
 *   Task/<base>.r<seq>               its workflow
 *
 * where <base> is the pathway id with '.' written ".d", '_' ".u" and ':'
 * ".c" (reversible), as long as that is at most FHIR_ID_BASE_MAX
 * characters; a longer pathway id is written "pw.h" followed by the first
 * 32 hex digits of the SHA-256 of the pathway id (not reversible: the store
 * looks the pathway up by that hash, fhir_id_pathway_hash).  No escaped base
 * holds ".h" or ".r", so every id parses one way only.
 *
 * Every function writes into caller-owned buffers; nothing allocates.
 */
#ifndef PAINPATH_FHIR_ID_H
#define PAINPATH_FHIR_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "domain.h"

#define FHIR_ID_MAX 64
/* Room for ".r" and a ten-digit seq behind the base. */
#define FHIR_ID_BASE_MAX (FHIR_ID_MAX - 12)
/* Hex digits of the hash form (128 bits). */
#define FHIR_ID_HASH_HEX 32

struct fhir_id_parts {
	bool hashed;
	/* the pathway id (when not hashed) */
	char pathway_id[ID_MAX + 1];
	/* the 32 hex digits (when hashed), for fhir_id_pathway_hash lookups */
	char hash[FHIR_ID_HASH_HEX + 1];
	/* the seq of the referral.sent transition; 0 for the pathway itself */
	int seq;
};

/* True for 1..64 of A-Z a-z 0-9 - . (FHIR's id datatype). */
bool fhir_id_valid(const char *s);

/* The EpisodeOfCare id of a pathway (pathway_id must be domain_valid_id). */
void fhir_id_pathway(const char *pathway_id, char out[FHIR_ID_MAX + 1]);
/* The ServiceRequest and Task id of the referral sent at transition seq
 * (seq >= 1). */
void fhir_id_referral(const char *pathway_id, int seq,
		      char out[FHIR_ID_MAX + 1]);
/* Reads an id written by the two functions above; false for anything they
 * cannot have written (including non-canonical spellings such as ".r07"). */
bool fhir_id_parse(const char *fhir_id, struct fhir_id_parts *out)
	__attribute__((warn_unused_result));
/* The hash a "pw.h..." id carries for pathway_id, so the store can index
 * it: lower-case hex, FHIR_ID_HASH_HEX digits. */
void fhir_id_pathway_hash(const char *pathway_id,
			  char out[FHIR_ID_HASH_HEX + 1]);

/* The event id of an update: "fhir:<type>:<fhir_id>:<version>:<status>",
 * the same for the same PUT retried (same If-Match version, same target
 * status), within our id alphabet.  False if the parts do not fit or hold
 * characters outside it. */
bool fhir_id_update_event(const char *resource_type, const char *fhir_id,
			  int version, const char *status, char out[ID_MAX + 1])
	__attribute__((warn_unused_result));
/* The event id of a create that carries no business identifier:
 * "fhir:<type>:sha256:<32 hex of the SHA-256 of text>", so the same body
 * posted again replays. */
void fhir_id_content_event(const char *resource_type, const char *text,
			   size_t len, char out[ID_MAX + 1]);

#endif
