#include "fhir_change.h"

#include <stdio.h>
#include <string.h>

#include "fhir_map.h"

static void add_unit(struct fhir_change *c, const char *unit)
{
	if (unit == NULL || unit[0] == '\0')
		return;
	for (int i = 0; i < c->unit_count; i++)
		if (strcmp(c->units[i], unit) == 0)
			return;
	if (c->unit_count < FHIR_CHANGE_UNITS)
		snprintf(c->units[c->unit_count++], sizeof(c->units[0]), "%s",
			 unit);
}

/* A Task's owner is the receiving unit (or the private unit chosen, which
 * becomes received_unit or to_unit), its requester the referring unit; an
 * EpisodeOfCare's organization is the pathway's unit; a treating Task's
 * owner is the unit treating, the pathway's unit while it treats. */
static void add_units_of(struct fhir_change *c, const struct pathway *p)
{
	if (p == NULL)
		return;
	add_unit(c, p->unit);
	add_unit(c, p->referral.from_unit);
	add_unit(c, p->referral.to_unit);
	add_unit(c, p->referral.received_unit);
}

void fhir_change_describe(const struct pathway *before,
			  const struct pathway *after, const char *event_type,
			  bool notify_decision, struct fhir_change *out)
{
	memset(out, 0, sizeof(*out));
	out->episode_status =
		fhir_map_episode_status(domain_phase_name(after->phase));
	add_units_of(out, before);
	add_units_of(out, after);
	out->decision = notify_decision;
	if (notify_decision)
		add_unit(out, after->gp_unit);
	out->any_unit = strcmp(event_type, "event.corrected") == 0 ||
			strcmp(event_type, "event.retracted") == 0 ||
			strcmp(event_type, "pathway.reopened") == 0;
}
