#include "clock.h"

#include <string.h>

bool clock_applies(const struct model *m, enum rule r, enum level to)
{
	const struct clock_rule *c = &m->clocks[r];

	return c->enabled && (c->levels == 0 || (c->levels & (1u << to)));
}

static bool counts_working_days(const struct model *m, enum rule r)
{
	return m->clocks[r].duration.unit == DUR_WORKING_DAYS;
}

/* The due date before any pause. */
static cal_date base_due(const struct pathway *p, const struct model *m,
			 enum rule r)
{
	const struct pathway_clock *c = &p->clocks[r];

	if (m->clocks[r].duration.unit == DUR_DEADLINE)
		return p->referral.has_deadline ? p->referral.deadline : c->due;
	/* Long-lasting pain is counted from its onset, not from when the
	 * pathway learnt of it. */
	if (r == RULE_LEVEL_REVIEW && p->has_pain_onset)
		return model_clock_due(m, r, p->pain_onset, p->flags);
	return model_clock_due(
		m, r, calendar_local_date(&m->zone, c->started_at), p->flags);
}

static cal_date moved_by_pauses(const struct model *m, enum rule r,
				cal_date due, int paused)
{
	if (paused <= 0)
		return due;
	if (counts_working_days(m, r))
		return calendar_add_working_days(m->country, due, paused);
	return due + paused;
}

void clock_start(struct pathway *p, const struct model *m, enum rule r,
		 cal_date start, cal_millis at)
{
	memset(&p->clocks[r], 0, sizeof(p->clocks[r]));
	p->clocks[r].running = true;
	p->clocks[r].due = model_clock_due(m, r, start, p->flags);
	p->clocks[r].started_at = at;
}

void clock_start_on(struct pathway *p, enum rule r, cal_date due, cal_millis at)
{
	memset(&p->clocks[r], 0, sizeof(p->clocks[r]));
	p->clocks[r].running = true;
	p->clocks[r].due = due;
	p->clocks[r].started_at = at;
}

void clock_stop(struct pathway *p, enum rule r)
{
	memset(&p->clocks[r], 0, sizeof(p->clocks[r]));
}

void clock_stop_all(struct pathway *p)
{
	for (int r = 0; r < RULE_COUNT; r++)
		clock_stop(p, (enum rule)r);
}

void clock_pause(struct pathway *p, enum rule r, cal_date on,
		 enum pause_reason why)
{
	struct pathway_clock *c = &p->clocks[r];

	c->paused = true;
	c->paused_on = on;
	c->pause_reason = why;
}

void clock_resume(struct pathway *p, const struct model *m, enum rule r,
		  cal_date on)
{
	struct pathway_clock *c = &p->clocks[r];
	int days = on > c->paused_on ? (int)(on - c->paused_on) : 0;

	c->paused_calendar_days += days;
	c->paused_days += counts_working_days(m, r)
				  ? calendar_working_days_between(
					    m->country, c->paused_on, on)
				  : days;
	c->paused = false;
	c->paused_on = 0;
	c->due = moved_by_pauses(m, r, base_due(p, m, r), c->paused_days);
}

void clock_recompute_all(struct pathway *p, const struct model *m)
{
	for (int r = 0; r < RULE_COUNT; r++) {
		struct pathway_clock *c = &p->clocks[r];
		if (!c->running)
			continue;
		c->due = moved_by_pauses(m, (enum rule)r,
					 base_due(p, m, (enum rule)r),
					 c->paused_days);
	}
}

int clock_paused_days_until(const struct pathway *p, cal_date on)
{
	int days = 0;

	for (int r = 0; r < RULE_COUNT; r++) {
		const struct pathway_clock *c = &p->clocks[r];
		if (!c->running || r == RULE_LEVEL_REVIEW)
			continue;
		days += c->paused_calendar_days;
		if (c->paused && on > c->paused_on)
			days += (int)(on - c->paused_on);
	}
	return days;
}
