/*
 * clock: a pathway's legal clocks (domain.md "Deadlines (clocks)"): start,
 * stop, pause, resume, and recomputing a running clock's due date when the
 * facts it depends on change.  Pure; dates are local dates in the model's
 * calendar.
 *
 * A running clock's due date is its base due date -- counted from its start
 * (its started_at's local date) under the model and the pathway's flags, or
 * the deadline the clinic set -- moved later by the days it has been paused
 * (calendar days, or working days for a working-day rule).  While paused it
 * keeps the due date it had, and is not reported.
 */
#ifndef PAINPATH_CLOCK_H
#define PAINPATH_CLOCK_H

#include <stdbool.h>

#include "calendar.h"
#include "domain.h"
#include "model.h"
#include "pathway.h"

/* The model has the clock, and (levels given) it applies to a referral
 * to that level. */
bool clock_applies(const struct model *m, enum rule r, enum level to);
/* Starts a counted clock on day 0 = start. */
void clock_start(struct pathway *p, const struct model *m, enum rule r,
		 cal_date start, cal_millis at);
/* Starts a clock due on a date someone set (the Norwegian deadline). */
void clock_start_on(struct pathway *p, enum rule r, cal_date due,
		    cal_millis at);
void clock_stop(struct pathway *p, enum rule r);
void clock_stop_all(struct pathway *p);
/* Pauses a running clock from day on. */
void clock_pause(struct pathway *p, enum rule r, cal_date on,
		 enum pause_reason why);
/* Resumes a paused clock on day on: its due date moves later by the days
 * it was paused. */
void clock_resume(struct pathway *p, const struct model *m, enum rule r,
		  cal_date on);
/* Recomputes every running clock's due date from its start under the
 * pathway's current flags and model (a flag added, a model changed). */
void clock_recompute_all(struct pathway *p, const struct model *m);
/* Calendar days the referral's wait has been paused up to day on,
 * counting a pause still running. */
int clock_paused_days_until(const struct pathway *p, cal_date on);

#endif
