#include "dirlist.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **dirlist_sorted(const char *dir, bool (*keep)(const char *name),
		      size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = calloc(1, sizeof(*names));
	size_t n = 0;

	*count = 0;
	if (d == NULL || names == NULL) {
		if (d != NULL)
			closedir(d);
		free(names);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		char **grown;
		if (!keep(de->d_name))
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (grown == NULL)
			break;
		names = grown;
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), compare_names);
	*count = n;
	return names;
}

void dirlist_free(char **names, size_t count)
{
	for (size_t i = 0; names != NULL && i < count; i++)
		free(names[i]);
	free(names);
}
