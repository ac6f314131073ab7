#include "fhir_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

#define HASH_PREFIX "pw.h"

static bool fhir_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool fhir_id_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++)
		if (n >= FHIR_ID_MAX || !fhir_char(s[n]))
			return false;
	return n > 0;
}

/* The escape of one character of our alphabet, or NULL if it needs none. */
static const char *escape_of(char c)
{
	switch (c) {
	case '.':
		return ".d";
	case '_':
		return ".u";
	case ':':
		return ".c";
	default:
		return NULL;
	}
}

static char unescape(char code)
{
	switch (code) {
	case 'd':
		return '.';
	case 'u':
		return '_';
	case 'c':
		return ':';
	default:
		return '\0';
	}
}

void fhir_id_pathway_hash(const char *pathway_id,
			  char out[FHIR_ID_HASH_HEX + 1])
{
	char hex[SHA256_HEX_LEN];

	sha256_hex(pathway_id, strlen(pathway_id), hex);
	memcpy(out, hex, FHIR_ID_HASH_HEX);
	out[FHIR_ID_HASH_HEX] = '\0';
}

/* The base shared by all resources of a pathway. */
static void base_of(const char *pathway_id, char out[FHIR_ID_MAX + 1])
{
	size_t n = 0;
	char hash[FHIR_ID_HASH_HEX + 1];

	for (const char *p = pathway_id; *p != '\0'; p++) {
		const char *esc = escape_of(*p);
		size_t add = esc != NULL ? 2 : 1;
		if (n + add > FHIR_ID_BASE_MAX)
			goto hashed;
		if (esc != NULL)
			memcpy(out + n, esc, 2);
		else
			out[n] = *p;
		n += add;
	}
	out[n] = '\0';
	return;
hashed:
	fhir_id_pathway_hash(pathway_id, hash);
	snprintf(out, FHIR_ID_MAX + 1, "%s%s", HASH_PREFIX, hash);
}

void fhir_id_pathway(const char *pathway_id, char out[FHIR_ID_MAX + 1])
{
	base_of(pathway_id, out);
}

void fhir_id_referral(const char *pathway_id, int seq,
		      char out[FHIR_ID_MAX + 1])
{
	char base[FHIR_ID_MAX + 1];
	size_t n;

	/* The base leaves room for ".r" and ten digits, so this fits. */
	base_of(pathway_id, base);
	n = strlen(base);
	memcpy(out, base, n);
	snprintf(out + n, FHIR_ID_MAX + 1 - n, ".r%d", seq);
}

/* Splits off ".r<seq>"; *seq is 0 when there is none.  Returns the length of
 * the base, or 0 if the suffix is malformed. */
static size_t split_seq(const char *id, int *seq)
{
	const char *r = strstr(id, ".r");
	char *end;
	long n;

	*seq = 0;
	if (r == NULL)
		return strlen(id);
	if (r[2] < '1' || r[2] > '9')
		return 0;
	n = strtol(r + 2, &end, 10);
	if (*end != '\0' || n > 2147483647L)
		return 0;
	*seq = (int)n;
	return (size_t)(r - id);
}

static bool parse_hashed(const char *base, size_t len,
			 struct fhir_id_parts *out)
{
	size_t prefix = strlen(HASH_PREFIX);

	if (len != prefix + FHIR_ID_HASH_HEX ||
	    strncmp(base, HASH_PREFIX, prefix) != 0)
		return false;
	for (size_t i = prefix; i < len; i++)
		if (!((base[i] >= '0' && base[i] <= '9') ||
		      (base[i] >= 'a' && base[i] <= 'f')))
			return false;
	out->hashed = true;
	memcpy(out->hash, base + prefix, FHIR_ID_HASH_HEX);
	out->hash[FHIR_ID_HASH_HEX] = '\0';
	return true;
}

static bool parse_escaped(const char *base, size_t len,
			  struct fhir_id_parts *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = base[i];
		if (c == '.') {
			if (i + 1 >= len || unescape(base[i + 1]) == '\0')
				return false;
			c = unescape(base[++i]);
		}
		if (n >= ID_MAX)
			return false;
		out->pathway_id[n++] = c;
	}
	out->pathway_id[n] = '\0';
	return domain_valid_id(out->pathway_id);
}

bool fhir_id_parse(const char *fhir_id, struct fhir_id_parts *out)
{
	char again[FHIR_ID_MAX + 1];
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!fhir_id_valid(fhir_id))
		return false;
	len = split_seq(fhir_id, &out->seq);
	if (len == 0)
		return false;
	if (strstr(fhir_id, ".h") != NULL)
		return parse_hashed(fhir_id, len, out);
	if (!parse_escaped(fhir_id, len, out))
		return false;
	/* One spelling per pathway: a long id written escaped is not ours. */
	if (out->seq > 0)
		fhir_id_referral(out->pathway_id, out->seq, again);
	else
		fhir_id_pathway(out->pathway_id, again);
	return strcmp(again, fhir_id) == 0;
}

bool fhir_id_update_event(const char *resource_type, const char *fhir_id,
			  int version, const char *status, char out[ID_MAX + 1])
{
	char buf[ID_MAX + 2];
	int n = snprintf(buf, sizeof(buf), "fhir:%s:%s:%d:%s", resource_type,
			 fhir_id, version, status);

	out[0] = '\0';
	if (n < 0 || (size_t)n > ID_MAX || version < 0 || !domain_valid_id(buf))
		return false;
	memcpy(out, buf, (size_t)n + 1);
	return true;
}

void fhir_id_content_event(const char *resource_type, const char *text,
			   size_t len, char out[ID_MAX + 1])
{
	char hex[SHA256_HEX_LEN];

	sha256_hex(text, len, hex);
	hex[FHIR_ID_HASH_HEX] = '\0';
	snprintf(out, ID_MAX + 1, "fhir:%s:sha256:%s", resource_type, hex);
}
