/*
 * auth: bearer tokens with a role and the regions they cover.
 *
 * The tokens file has one token a line:
 *     <token id>  <role>  <regions>  <secret>  [<source>]
 * role is ehr, coordinator or admin; regions is "*" or a comma-separated
 * list; secret is "sha256:<hex of the token>" or, in development configs
 * only, "plain:<token>".  A plain secret marks a development token: the
 * daemon refuses those unless it listens on loopback.  source names the
 * sending system: event_ids are unique within a source, so the tokens of
 * one EHR system share it (rotating a token keeps its replays); it
 * defaults to the token id.
 */
#ifndef PAINPATH_AUTH_H
#define PAINPATH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "sha256.h"

enum role { ROLE_EHR, ROLE_COORDINATOR, ROLE_ADMIN };

#define AUTH_MAX_REGIONS 64

struct token {
	char id[ID_MAX + 1];
	enum role role;
	bool all_regions;
	int nregions;
	char regions[AUTH_MAX_REGIONS][ID_MAX + 1];
	uint8_t hash[SHA256_LEN];
	bool development;
	char source[ID_MAX + 1];
};

struct token_set {
	struct token *tokens;
	size_t count;
};

bool auth_load_file(const char *path, struct token_set *out, char *err,
		    size_t errlen) __attribute__((warn_unused_result));
void auth_free(struct token_set *set);
bool auth_has_development_tokens(const struct token_set *set);

/* The token a presented secret belongs to, or NULL.  Compares every
 * token's hash in constant time, so timing tells nothing. */
const struct token *auth_find(const struct token_set *set,
			      const char *presented);
bool auth_covers_region(const struct token *t, const char *region);
/* "{r1,r2}" for SQL ANY($n::text[]), or NULL (all regions). */
const char *auth_regions_literal(const struct token *t, char *buf, size_t len);
const char *auth_role_name(enum role r);

#endif
