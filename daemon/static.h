/*
 * static: the coordinators' page and the public page (GET / and GET
 * /<file>), from the web root held in memory by lib/webfiles: loaded at
 * start, again on SIGHUP (the old set stays when the new one fails).
 *
 * The root is web/ of the source tree, or $PAINPATH_WEB_ROOT.
 */
#ifndef PAINPATHD_STATIC_H
#define PAINPATHD_STATIC_H

#include <stdbool.h>

#include "reply.h"

struct request;

/* Loads the root; false (logged) when it cannot be read: the daemon then
 * serves no page but everything else. */
bool static_load(void);
/* SIGHUP: a new set, or the old one kept (logged). */
void static_reload(void);
void static_free(void);

/* The security headers every page answer carries. */
void static_page_headers(struct request *r);

enum handled static_get(struct request *r, struct reply *out);

#endif
