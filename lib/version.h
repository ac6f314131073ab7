/*
 * version: what this build is, from `git describe --always --dirty` when
 * built in a checkout, else from the VERSION file or make's VERSION=.
 */
#ifndef PAINPATH_VERSION_H
#define PAINPATH_VERSION_H

extern const char painpath_version[];

#endif
