/*
 * dirlist: the names of a directory's entries that a filter keeps, sorted,
 * so that files load in the same order on every machine (migrations by
 * number, models by name).
 */
#ifndef PAINPATH_DIRLIST_H
#define PAINPATH_DIRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* NULL when dir cannot be read; otherwise an array of *count malloc'd
 * names (possibly empty) that dirlist_free releases. */
char **dirlist_sorted(const char *dir, bool (*keep)(const char *name),
		      size_t *count);
void dirlist_free(char **names, size_t count);

#endif
