#include "version.h"

/* The Makefile defines it for this file alone, so a new commit rebuilds
 * one object. */
#ifndef PAINPATH_VERSION
#define PAINPATH_VERSION "unknown"
#endif

const char painpath_version[] = PAINPATH_VERSION;
