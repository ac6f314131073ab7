/*
 * Networks for metrics_allow: parsing (with the entry at fault named) and
 * membership, IPv4, IPv6 and IPv4-mapped IPv6 clients.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "suites.h"

static bool contains(const char *list_text, const char *addr)
{
	struct cidr_list list;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	char err[256];
	bool yes;

	ck_assert_msg(cidr_list_parse(list_text, &list, err, sizeof(err)), "%s",
		      err);
	memset(&in4, 0, sizeof(in4));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, addr, &in4.sin_addr) == 1) {
		in4.sin_family = AF_INET;
		yes = cidr_list_contains(&list, (struct sockaddr *)&in4);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &in6.sin6_addr), 1);
		in6.sin6_family = AF_INET6;
		yes = cidr_list_contains(&list, (struct sockaddr *)&in6);
	}
	cidr_list_free(&list);
	return yes;
}

START_TEST(networks_contain_their_addresses)
{
	ck_assert(contains("10.0.0.0/8", "10.200.3.4"));
	ck_assert(!contains("10.0.0.0/8", "11.0.0.1"));
	ck_assert(contains("192.0.2.128/25", "192.0.2.200"));
	ck_assert(!contains("192.0.2.128/25", "192.0.2.127"));
	/* A prefix that is not a multiple of 8. */
	ck_assert(contains("172.16.0.0/12", "172.31.255.255"));
	ck_assert(!contains("172.16.0.0/12", "172.32.0.0"));
	ck_assert(contains("127.0.0.1", "127.0.0.1"));
	ck_assert(!contains("127.0.0.1", "127.0.0.2"));
	ck_assert(contains("0.0.0.0/0", "203.0.113.9"));
	ck_assert(contains("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!contains("2001:db8::/32", "2001:db9::1"));
	ck_assert(contains("::1", "::1"));
	/* A dual-stack listener sees an IPv4 scraper as mapped. */
	ck_assert(contains("10.0.0.0/8", "::ffff:10.1.2.3"));
	ck_assert(!contains("10.0.0.0/8", "::ffff:11.1.2.3"));
	/* No family crosses over otherwise. */
	ck_assert(!contains("0.0.0.0/0", "::1"));
	ck_assert(!contains("::/0", "10.0.0.1"));
	ck_assert(contains(" 10.0.0.0/8 , 2001:db8::/32 ", "2001:db8::5"));
}
END_TEST

START_TEST(empty_list_contains_nothing)
{
	ck_assert(!contains("", "127.0.0.1"));
	ck_assert(!contains(" , ", "::1"));
}
END_TEST

START_TEST(bad_entries_are_named)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "::1/129",   "10.0.0.0/",  "10.0.0.0/-1",
		"10.0.0.0/8x", "localhost", "10.0.0.256", "10.0.0.0/ 8",
	};
	struct cidr_list list;
	char err[256], text[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "127.0.0.1, %s", bad[i]);
		ck_assert_msg(!cidr_list_parse(text, &list, err, sizeof(err)),
			      "accepted %s", bad[i]);
		ck_assert_msg(strstr(err, bad[i]) != NULL, "%s: %s", bad[i],
			      err);
		ck_assert_ptr_null(list.items);
	}
}
END_TEST

Suite *cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("lists");

	tcase_add_test(tc, networks_contain_their_addresses);
	tcase_add_test(tc, empty_list_contains_nothing);
	tcase_add_test(tc, bad_entries_are_named);
	suite_add_tcase(s, tc);
	return s;
}
