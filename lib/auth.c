#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {"ehr", "coordinator", "admin"};

const char *auth_role_name(enum role r)
{
	return role_names[r];
}

static bool parse_role(const char *s, enum role *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum role)i;
			return true;
		}
	return false;
}

static bool parse_regions(char *s, struct token *t)
{
	if (strcmp(s, "*") == 0) {
		t->all_regions = true;
		return true;
	}
	/* strsep, not strtok: "a,,b" is a typo to refuse, not two regions. */
	for (char *r; (r = strsep(&s, ",")) != NULL;) {
		if (!domain_valid_id(r) || t->nregions == AUTH_MAX_REGIONS)
			return false;
		strcpy(t->regions[t->nregions++], r);
	}
	return t->nregions > 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_secret(const char *s, struct token *t)
{
	if (strncmp(s, "plain:", 6) == 0 && strlen(s) > 6) {
		sha256(s + 6, strlen(s + 6), t->hash);
		t->development = true;
		return true;
	}
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 2 * SHA256_LEN)
		return false;
	for (int i = 0; i < SHA256_LEN; i++) {
		int hi = hex_value(s[7 + 2 * i]), lo = hex_value(s[8 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		t->hash[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* One "id role regions secret" line into t; false with a reason. */
static bool parse_line(char *line, struct token *t, const char **why)
{
	char *save = NULL, *f[6];
	int n = 0;

	for (char *w = strtok_r(line, " \t\r\n", &save); w && n < 6;
	     w = strtok_r(NULL, " \t\r\n", &save))
		f[n++] = w;
	memset(t, 0, sizeof(*t));
	*why = "expected: <id> <role> <regions> <secret> [<source>]";
	if (n != 4 && n != 5)
		return false;
	*why = "the token id must be an identifier";
	if (!domain_valid_id(f[0]))
		return false;
	*why = "the source must be an identifier";
	if (n == 5 && !domain_valid_id(f[4]))
		return false;
	strcpy(t->source, n == 5 ? f[4] : f[0]);
	strcpy(t->id, f[0]);
	*why = "role must be ehr, coordinator or admin";
	if (!parse_role(f[1], &t->role))
		return false;
	*why = "regions must be * or a comma-separated list of identifiers";
	if (!parse_regions(f[2], t))
		return false;
	*why = "secret must be sha256:<64 hex digits> or plain:<token>";
	return parse_secret(f[3], t);
}

static bool add_token(struct token_set *set, const struct token *t)
{
	struct token *grown =
		realloc(set->tokens, (set->count + 1) * sizeof(*grown));

	if (grown == NULL)
		return false;
	set->tokens = grown;
	set->tokens[set->count++] = *t;
	return true;
}

bool auth_load_file(const char *path, struct token_set *out, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		struct token t;
		const char *why;
		char *s = line + strspn(line, " \t");
		lineno++;
		if (*s == '#' || *s == '\n' || *s == '\0')
			continue;
		ok = parse_line(s, &t, &why);
		if (!ok)
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
		else if (!(ok = add_token(out, &t)))
			snprintf(err, errlen, "%s: out of memory", path);
	}
	fclose(f);
	if (ok && out->count == 0) {
		snprintf(err, errlen, "%s: no tokens", path);
		ok = false;
	}
	if (!ok)
		auth_free(out);
	return ok;
}

void auth_free(struct token_set *set)
{
	free(set->tokens);
	memset(set, 0, sizeof(*set));
}

bool auth_has_development_tokens(const struct token_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->tokens[i].development)
			return true;
	return false;
}

const struct token *auth_find(const struct token_set *set,
			      const char *presented)
{
	uint8_t hash[SHA256_LEN];
	const struct token *found = NULL;

	if (presented == NULL || presented[0] == '\0')
		return NULL;
	sha256(presented, strlen(presented), hash);
	for (size_t i = 0; i < set->count; i++) {
		uint8_t diff = 0;
		for (int b = 0; b < SHA256_LEN; b++)
			diff |= (uint8_t)(hash[b] ^ set->tokens[i].hash[b]);
		if (diff == 0 && found == NULL)
			found = &set->tokens[i];
	}
	return found;
}

bool auth_covers_region(const struct token *t, const char *region)
{
	if (t->all_regions)
		return true;
	for (int i = 0; region != NULL && i < t->nregions; i++)
		if (strcmp(t->regions[i], region) == 0)
			return true;
	return false;
}

const char *auth_regions_literal(const struct token *t, char *buf, size_t len)
{
	size_t used;

	if (t->all_regions)
		return NULL;
	/* Quoted like any element from outside, though identifiers would
	 * need no quoting: a literal is never built unquoted. */
	used = (size_t)snprintf(buf, len, "{");
	for (int i = 0; i < t->nregions && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s\"%s\"",
					 i ? "," : "", t->regions[i]);
	if (used + 2 > len)
		return "{}";
	snprintf(buf + used, len - used, "}");
	return buf;
}
