/*
 * sha256: FIPS 180-4 SHA-256, for storing bearer tokens as hashes.  Tokens
 * are long random strings, so a plain hash (no salt, no KDF) is what they
 * need: there is no dictionary to attack.
 */
#ifndef PAINPATH_SHA256_H
#define PAINPATH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN     32
#define SHA256_HEX_LEN 65

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);

#endif
