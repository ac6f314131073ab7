/*
 * harness: the real parts for black-box tests, one header each --
 * harness_pg.h (a private PostgreSQL cluster), harness_proc.h (the real
 * painpathd) and harness_http.h (a small blocking HTTP client).  Suites
 * include this one.
 */
#ifndef PAINPATH_HARNESS_H
#define PAINPATH_HARNESS_H

#include "harness_http.h"
#include "harness_pg.h"
#include "harness_proc.h"

#endif
