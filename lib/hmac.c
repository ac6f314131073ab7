#include "hmac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 64 /* SHA-256's block size, the B of RFC 2104 */

/* The key padded (or hashed, then padded) to one block. */
static void block_key(const void *key, size_t key_len, uint8_t out[BLOCK])
{
	memset(out, 0, BLOCK);
	if (key_len > BLOCK)
		sha256(key, key_len, out);
	else if (key_len > 0)
		memcpy(out, key, key_len);
}

/* sha256((k ^ pad) || text), with text copied behind the padded key. */
static bool padded_hash(const uint8_t k[BLOCK], uint8_t pad, const void *text,
			size_t text_len, uint8_t out[SHA256_LEN])
{
	uint8_t *buf;

	if (text_len > SIZE_MAX - BLOCK)
		return false;
	buf = malloc(BLOCK + text_len);
	if (buf == NULL)
		return false;
	for (int i = 0; i < BLOCK; i++)
		buf[i] = k[i] ^ pad;
	if (text_len > 0)
		memcpy(buf + BLOCK, text, text_len);
	sha256(buf, BLOCK + text_len, out);
	free(buf);
	return true;
}

bool hmac_sha256(const void *key, size_t key_len, const void *msg,
		 size_t msg_len, uint8_t out[HMAC_SHA256_LEN])
{
	uint8_t k[BLOCK], inner[SHA256_LEN];
	bool ok;

	block_key(key, key_len, k);
	ok = padded_hash(k, 0x36, msg, msg_len, inner) &&
	     padded_hash(k, 0x5c, inner, sizeof(inner), out);
	if (!ok)
		memset(out, 0, HMAC_SHA256_LEN);
	/* The padded key is the secret itself: leave no copy on the stack. */
	memset(k, 0, sizeof(k));
	return ok;
}

bool hmac_sha256_hex(const void *key, size_t key_len, const void *msg,
		     size_t msg_len, char out[HMAC_SHA256_HEX_LEN])
{
	uint8_t mac[HMAC_SHA256_LEN];
	bool ok = hmac_sha256(key, key_len, msg, msg_len, mac);

	for (int i = 0; i < HMAC_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return ok;
}

bool hmac_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
