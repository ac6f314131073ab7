-- The coordinators' statistics (issue 14): indexes that let the figures of
-- the moment be counted from index entries alone (index-only scans), and
-- the summary of the history the nightly run writes, so a year's trend is
-- a read of a few thousand rows instead of a walk through every transition.

-- Who waits now (referral received, treatment not started), by region,
-- level and unit: every figure of the waiting statistics, the histogram
-- and the public page is in the index entry.
CREATE INDEX pathways_stats_waiting
    ON pathways (region, ref_to_level, ref_unit)
    INCLUDE (model, ref_received_at, ref_paused_days, ref_paused_on, next_due)
    WHERE closed_at IS NULL AND ref_received_at IS NOT NULL;

-- The running clocks, for the tiles: a clock's level and unit are the
-- referral's (the level review's are the pathway's own).
CREATE INDEX pathways_stats_clocks
    ON pathways (model, region)
    INCLUDE (level, unit, ref_to_level, ref_unit, due_transit, due_assessment,
             due_treatment, due_free_choice, due_level_review)
    WHERE closed_at IS NULL AND next_due IS NOT NULL;

-- Paused clocks are not in the due columns (they are not reported); the
-- clocks text names them (a date where a running clock has "-").  Few
-- pathways: the index only finds them.
CREATE INDEX pathways_stats_paused
    ON pathways (model, region)
    WHERE closed_at IS NULL AND clocks ~ '[a-z] \S+ -?\d+ \d';

-- Deadlines about to pass: the earliest and the latest running clock, so a
-- window of due dates is one range of the index, whichever clock falls in.
CREATE INDEX pathways_stats_deadlines
    ON pathways (next_due, (greatest(due_transit, due_assessment,
                                     due_treatment, due_free_choice,
                                     due_level_review)))
    WHERE closed_at IS NULL AND next_due IS NOT NULL;

-- The events the flow counts, by when they were recorded: those the last
-- summary does not hold (recorded since) are found through this index.
CREATE INDEX transitions_stats_recorded
    ON transitions (recorded_at)
    WHERE type IN ('referral.received', 'referral.accepted',
                   'referral.rejected', 'treatment.started');

-- The summary, one row per local day (the model's time zone) and region,
-- model, level and unit (the referral's receiving unit; '' when none):
-- referrals received, accepted and rejected, treatments started, of those
-- the ones with a legal limit and the ones within it, and the days each
-- started treatment waited (paused days excluded), sorted.
CREATE TABLE stats_days (
    day      date NOT NULL,
    region   text NOT NULL,
    model    text NOT NULL,
    level    text NOT NULL,
    unit     text NOT NULL,
    received integer NOT NULL,
    accepted integer NOT NULL,
    rejected integer NOT NULL,
    started  integer NOT NULL,
    limited  integer NOT NULL,
    within   integer NOT NULL,
    waits    integer[] NOT NULL,
    PRIMARY KEY (day, region, model, level, unit)
);

-- The same by month, with the number waiting at the month's end (midnight
-- in the model's zone).
CREATE TABLE stats_months (
    month          date NOT NULL,
    region         text NOT NULL,
    model          text NOT NULL,
    level          text NOT NULL,
    unit           text NOT NULL,
    waiting_at_end integer NOT NULL,
    started        integer NOT NULL,
    limited        integer NOT NULL,
    within         integer NOT NULL,
    waits          integer[] NOT NULL,
    PRIMARY KEY (month, region, model, level, unit)
);

-- The last build: it holds the events of the days before cutoff that
-- were recorded before recorded_before; the reads derive every other event
-- from the transitions themselves.  One row.
CREATE TABLE stats_build (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    cutoff          date NOT NULL,
    recorded_before timestamptz NOT NULL,
    built_at   timestamptz NOT NULL,
    built_by   text NOT NULL,
    days_rows  integer NOT NULL,
    month_rows integer NOT NULL,
    millis     integer NOT NULL
);
