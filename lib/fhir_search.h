/*
 * fhir_search: a FHIR search on EpisodeOfCare, ServiceRequest or Task,
 * read from its query parameters against fhir_capability's table, and
 * matched against rendered resources with FHIR's semantics:
 *
 *   token      system|code, |code, system|, code; a,b is either
 *   reference  by identifier (owner=system|value, owner:identifier=...) or
 *              literal (focus=ServiceRequest/<id>)
 *   date       [eq|lt|le|gt|ge]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]]: a range
 *              by its precision, compared with the element's own range
 *              (a date without a time is a UTC day)
 *
 * plus _count (0..1000, default 50), _include=Task:focus and the page
 * cursor.  The daemon narrows with SQL over indexes (a superset) and keeps
 * what fhir_search_matches says, so both read one definition.
 *
 * Pure; a struct fhir_search holds copies.
 */
#ifndef PAINPATH_FHIR_SEARCH_H
#define PAINPATH_FHIR_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"
#include "fhir_bundle.h"
#include "fhir_outcome.h"

#define FHIR_SEARCH_MAX_TERMS  16
#define FHIR_SEARCH_MAX_VALUES 8
#define FHIR_SEARCH_VALUE_MAX  320
#define FHIR_SEARCH_COUNT_MAX  1000
#define FHIR_SEARCH_COUNT_DEF  50

enum fhir_search_kind {
	FHIR_SK_ID,	    /* Resource.id */
	FHIR_SK_CODE,	    /* a code element */
	FHIR_SK_CODING,	    /* a CodeableConcept */
	FHIR_SK_IDENTIFIER, /* an Identifier array */
	FHIR_SK_REFERENCE,  /* a Reference (or an array of them) */
	FHIR_SK_DATE,	    /* a date, dateTime or instant */
};

enum fhir_date_prefix {
	FHIR_DATE_EQ,
	FHIR_DATE_LT,
	FHIR_DATE_LE,
	FHIR_DATE_GT,
	FHIR_DATE_GE,
};

struct fhir_search_term {
	const char *name;    /* static: the table's */
	const char *element; /* static: dotted path into the resource */
	enum fhir_search_kind kind;
	char values[FHIR_SEARCH_MAX_VALUES][FHIR_SEARCH_VALUE_MAX]; /* any */
	size_t value_count;
	/* dates: the value's range [lo, hi) in ms, and the prefix */
	enum fhir_date_prefix prefix;
	cal_millis lo, hi;
};

struct fhir_search {
	char type[32];
	struct fhir_search_term terms[FHIR_SEARCH_MAX_TERMS]; /* all of */
	size_t term_count;
	int count;
	bool include_focus; /* _include=Task:focus */
	/* The page cursor: resume after resource seq (0: the episode) of
	 * the pathway opened at micros with this id. */
	bool has_cursor;
	long long cursor_micros;
	char cursor_pathway[ID_MAX + 1];
	int cursor_seq;
};

/* Reads params (decoded names and values, as the query gave them).  A
 * parameter not in the table, a modifier other than :identifier on a
 * reference, a malformed value or cursor is refused (400, naming it). */
bool fhir_search_parse(const char *type, const struct fhir_query_param *params,
		       size_t count, struct fhir_search *out,
		       struct fhir_error *err)
	__attribute__((warn_unused_result));

/* Does a rendered resource of the search's type match every term? */
bool fhir_search_matches(const struct fhir_search *s, const json_t *resource);

/* The term named name, or NULL. */
const struct fhir_search_term *fhir_search_term(const struct fhir_search *s,
						const char *name);

/* The opaque cursor of a page's last resource, and back. */
void fhir_search_cursor(long long micros, const char *pathway_id, int seq,
			char *out, size_t len);
bool fhir_search_cursor_parse(const char *text, long long *micros,
			      char pathway_id[ID_MAX + 1], int *seq)
	__attribute__((warn_unused_result));

/* A date value's range: [lo, hi) by its precision.  False if it is not
 * a FHIR date or dateTime. */
bool fhir_search_date_range(const char *text, cal_millis *lo, cal_millis *hi)
	__attribute__((warn_unused_result));

#endif
