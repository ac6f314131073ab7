/*
 * Unit tests for lib/hmac.c: the seven HMAC-SHA-256 test cases of RFC 4231
 * section 4 (case 5 compares the 128-bit truncation, as the RFC does), and
 * the constant-time comparison.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "hmac.h"
#include "suites.h"

/* Key and data as hex or as text (hex == false). */
static const struct {
	const char *key;
	bool key_hex;
	int key_repeat; /* the key byte repeated this often (hex only) */
	const char *data;
	bool data_hex;
	int data_repeat;
	const char *mac;
	size_t mac_len; /* bytes compared */
} rfc4231[] = {
	{"0b", true, 20, "Hi There", false, 1,
	 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
	 32},
	{"Jefe", false, 1, "what do ya want for nothing?", false, 1,
	 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	 32},
	{"aa", true, 20, "dd", true, 50,
	 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
	 32},
	{"0102030405060708090a0b0c0d0e0f10111213141516171819", true, 1, "cd",
	 true, 50,
	 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
	 32},
	{"0c", true, 20, "Test With Truncation", false, 1,
	 "a3b6167473100ee06e0c796c2955552b", 16},
	{"aa", true, 131,
	 "Test Using Larger Than Block-Size Key - Hash Key First", false, 1,
	 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	 32},
	{"aa", true, 131,
	 "This is a test using a larger than block-size key and a larger than "
	 "block-size data. The key needs to be hashed before being used by "
	 "the HMAC algorithm.",
	 false, 1,
	 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
	 32},
};

static size_t bytes_of(const char *text, bool hex, int repeat, uint8_t *out)
{
	size_t n = 0;

	if (!hex) {
		memcpy(out, text, strlen(text));
		return strlen(text);
	}
	for (int r = 0; r < repeat; r++)
		for (size_t i = 0; text[i] != '\0'; i += 2) {
			unsigned v;
			ck_assert(sscanf(text + i, "%2x", &v) == 1);
			out[n++] = (uint8_t)v;
		}
	return n;
}

START_TEST(test_rfc4231)
{
	uint8_t key[256], data[256], mac[HMAC_SHA256_LEN];
	char hex[HMAC_SHA256_HEX_LEN];
	size_t key_len = bytes_of(rfc4231[_i].key, rfc4231[_i].key_hex,
				  rfc4231[_i].key_repeat, key);
	size_t data_len = bytes_of(rfc4231[_i].data, rfc4231[_i].data_hex,
				   rfc4231[_i].data_repeat, data);

	ck_assert(hmac_sha256(key, key_len, data, data_len, mac));
	ck_assert(hmac_sha256_hex(key, key_len, data, data_len, hex));
	ck_assert_msg(strncmp(hex, rfc4231[_i].mac, 2 * rfc4231[_i].mac_len) ==
			      0,
		      "test case %d: %s", _i + 1, hex);
	ck_assert_uint_eq(strlen(hex), 64);
}
END_TEST

START_TEST(test_empty_message_and_key)
{
	/* HMAC-SHA256("", "") from any independent implementation. */
	char hex[HMAC_SHA256_HEX_LEN];

	ck_assert(hmac_sha256_hex("", 0, "", 0, hex));
	ck_assert_str_eq(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c4"
			      "93715653c6c712144292c5ad");
}
END_TEST

START_TEST(test_equal)
{
	uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4}, c[4] = {1, 2, 3, 5};

	ck_assert(hmac_equal(a, b, 4));
	ck_assert(!hmac_equal(a, c, 4));
	ck_assert(hmac_equal(a, c, 3));
}
END_TEST

Suite *hmac_suite(void)
{
	Suite *s = suite_create("hmac");
	TCase *tc = tcase_create("rfc4231");

	tcase_add_loop_test(tc, test_rfc4231, 0,
			    (int)(sizeof(rfc4231) / sizeof(rfc4231[0])));
	tcase_add_test(tc, test_empty_message_and_key);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);
	return s;
}
