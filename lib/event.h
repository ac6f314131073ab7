/*
 * event: turns one untrusted JSON event (api.md "Events in") into a checked
 * struct, or an invalid_event error naming the field at fault.  Checks here
 * are those that need no pathway and no model; the state machine does the
 * rest.
 *
 * Ownership: the struct borrows from the JSON object it was parsed from
 * (json, data and the string pointers); keep the object alive while using it.
 */
#ifndef PAINPATH_EVENT_H
#define PAINPATH_EVENT_H

#include <stdbool.h>

#include <jansson.h>

#include "calendar.h"
#include "domain.h"
#include "error.h"

/* Events may be at most this far in the future (clock skew between an EHR
 * and us). */
#define EVENT_MAX_FUTURE_MS (5 * 60 * 1000)
#define EVENT_TEXT_MAX	    4000
/* Nesting allowed inside data: far below the JSON parser's own limit, so
 * whatever is accepted can be stored, read back and replayed. */
#define EVENT_DATA_MAX_DEPTH 32

struct event {
	char event_id[ID_MAX + 1];
	char patient_id[ID_MAX + 1];
	char pathway_id[ID_MAX + 1]; /* "" when absent */
	char model[ID_MAX + 1];	     /* "" when absent */
	char region[ID_MAX + 1];     /* "" when absent */
	char unit[ID_MAX + 1];	     /* "" when absent */
	enum event_type type;
	cal_millis occurred_at;
	const json_t *json; /* the whole event, borrowed */
	const json_t *data; /* borrowed; never NULL after a successful parse */

	/* data, by type */
	bool has_level; /* opened: level; sent, transferred: to_level */
	enum level level;
	char to_unit[ID_MAX + 1];
	bool private_unit;
	bool earlier_levels_considered;
	const char *justification; /* NULL when absent */
	bool has_pain_onset;
	cal_date pain_onset;
	bool has_birth_date;
	cal_date birth_date;
	int age; /* -1 when absent */
	unsigned flags;
	bool has_deadline;
	cal_date deadline;
	const char *reason; /* NULL when absent */
	const char *advice; /* NULL when absent */
	enum close_reason close_reason;
	int content_covered; /* -1 when no content object */

	/* event.corrected, event.retracted: the event they target */
	char target_event_id[ID_MAX + 1];
	bool has_corrected_at;
	cal_millis corrected_at;
	const json_t *corrected_data; /* borrowed; NULL when not corrected */
	/* pathway.updated */
	unsigned flags_add, flags_remove;
	char gp_unit[ID_MAX + 1]; /* "" when absent */
	char new_model[ID_MAX + 1];
	/* clock.paused, clock.resumed */
	enum rule rule;
	enum pause_reason pause_reason;
};

/* now is the server's clock, for the "not in the future" rule. */
bool event_parse(const json_t *obj, cal_millis now, struct event *out,
		 struct pp_error *err) __attribute__((warn_unused_result));

/*
 * Readers of one member of a data object, for the event types' parsers
 * (evtype.c).  key names the member, field the path an error names
 * ("data.to_unit").  Absent members leave the default and succeed unless
 * required.
 */
bool event_read_id(const json_t *obj, const char *key, const char *field,
		   bool required, char *out, struct pp_error *err)
	__attribute__((warn_unused_result));
bool event_read_text(const json_t *obj, const char *key, const char *field,
		     const char **out, struct pp_error *err)
	__attribute__((warn_unused_result));
bool event_read_date(const json_t *obj, const char *key, const char *field,
		     bool *present, cal_date *out, struct pp_error *err)
	__attribute__((warn_unused_result));
bool event_read_level(const json_t *obj, const char *key, const char *field,
		      bool required, struct event *ev, struct pp_error *err)
	__attribute__((warn_unused_result));
bool event_read_bool(const json_t *obj, const char *key, const char *field,
		     bool *out, struct pp_error *err)
	__attribute__((warn_unused_result));
/* An array of flag names into a bit set. */
bool event_read_flags(const json_t *obj, const char *key, const char *field,
		      unsigned *out, struct pp_error *err)
	__attribute__((warn_unused_result));
bool event_read_age(const json_t *obj, struct event *ev, struct pp_error *err)
	__attribute__((warn_unused_result));
/* Refuses with "<field> <what>" (invalid_event); returns false. */
bool event_bad(struct pp_error *err, const char *field, const char *what);

#endif
