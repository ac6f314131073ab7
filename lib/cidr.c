#include "cidr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One entry, without surrounding blanks, into c. */
static bool parse_one(const char *text, struct cidr *c, char *err,
		      size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	int max;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len >= sizeof(addr))
		goto bad;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, c->addr) == 1)
		c->family = AF_INET6;
	else
		goto bad;
	max = c->family == AF_INET ? 32 : 128;
	c->prefix = max;
	if (slash != NULL) {
		char *end;
		long bits;

		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno != 0 || end == slash + 1 || *end != '\0' ||
		    !isdigit((unsigned char)slash[1]) || bits > max)
			goto bad;
		c->prefix = (int)bits;
	}
	return true;
bad:
	snprintf(err, errlen,
		 "\"%s\" is not an address or a network (such as "
		 "10.1.0.0/16 or ::1)",
		 text);
	return false;
}

bool cidr_list_parse(const char *text, struct cidr_list *out, char *err,
		     size_t errlen)
{
	char *copy = strdup(text), *save = NULL;
	size_t cap = 1;
	bool ok = copy != NULL;

	memset(out, 0, sizeof(*out));
	for (const char *p = text; ok && *p; p++)
		cap += *p == ',';
	out->items = ok ? calloc(cap, sizeof(*out->items)) : NULL;
	ok = ok && out->items != NULL;
	if (!ok)
		snprintf(err, errlen, "out of memory");
	for (char *tok = ok ? strtok_r(copy, ",", &save) : NULL; ok && tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end = tok + strlen(tok);

		while (isspace((unsigned char)*tok))
			tok++;
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*tok == '\0')
			continue;
		ok = parse_one(tok, &out->items[out->count++], err, errlen);
	}
	free(copy);
	if (!ok)
		cidr_list_free(out);
	return ok;
}

static bool prefix_matches(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

bool cidr_list_contains(const struct cidr_list *list, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	uint8_t addr[16];
	int family;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		memcpy(addr, &in->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		memcpy(addr, &in6->sin6_addr, 16);
		family = AF_INET6;
		/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d;
		 * the operator wrote a.b.c.d. */
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			memmove(addr, addr + 12, 4);
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].family == family &&
		    prefix_matches(list->items[i].addr, addr,
				   list->items[i].prefix))
			return true;
	return false;
}

void cidr_list_free(struct cidr_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
