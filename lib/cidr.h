/*
 * cidr: a list of IPv4/IPv6 networks ("10.0.0.0/8, ::1") and whether an
 * address falls in one of them.  For metrics_allow: the scrapers that may
 * read /metrics without a token.
 */
#ifndef PAINPATH_CIDR_H
#define PAINPATH_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix; /* bits that must match */
};

struct cidr_list {
	struct cidr *items; /* owned */
	size_t count;
};

/* Parses a comma-separated list; an address without /N is one host.  An
 * empty or blank text is an empty list.  On failure err names the entry
 * at fault and out is left empty. */
bool cidr_list_parse(const char *text, struct cidr_list *out, char *err,
		     size_t errlen) __attribute__((warn_unused_result));
/* Whether sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * its IPv4 address) is in one of the networks. */
bool cidr_list_contains(const struct cidr_list *list,
			const struct sockaddr *sa);
void cidr_list_free(struct cidr_list *list);

#endif
