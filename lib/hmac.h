/*
 * hmac: HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256), for signing the
 * bodies the daemon pushes to subscribers, so a receiver can tell our
 * deliveries from anyone else's.  Pure computation; the caller owns every
 * buffer.
 */
#ifndef PAINPATH_HMAC_H
#define PAINPATH_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define HMAC_SHA256_LEN	    SHA256_LEN
#define HMAC_SHA256_HEX_LEN SHA256_HEX_LEN

/* Any key length is allowed: keys longer than the block are hashed first,
 * as RFC 2104 says.  lib/sha256 hashes one buffer at a time, so the inner
 * hash needs a copy of the message: false only when that copy cannot be
 * allocated (out is then zeroed). */
bool hmac_sha256(const void *key, size_t key_len, const void *msg,
		 size_t msg_len, uint8_t out[HMAC_SHA256_LEN])
	__attribute__((warn_unused_result));
/* The same, as 64 lower-case hex digits and a NUL. */
bool hmac_sha256_hex(const void *key, size_t key_len, const void *msg,
		     size_t msg_len, char out[HMAC_SHA256_HEX_LEN])
	__attribute__((warn_unused_result));
/* Compares two MACs in time independent of where they differ, so a
 * receiver written after this code leaks nothing through timing. */
bool hmac_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
