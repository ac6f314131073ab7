-- The coordinators' statistics (issue 14): indexes that let the figures of
-- the moment be counted from index entries alone (index-only scans), and
-- the summary of the history the nightly run writes, so a year's trend is
-- a read of a few thousand rows instead of a walk through every transition.

-- The local day a referral was received, in its model's time zone, kept
-- with the pathway so that counting waits converts no time zone per row.
-- The zones are the loaded models' (the daemon writes them at start:
-- stats_zones); a trigger sets the day when the receipt is written, and
-- a pathway whose model's zone is not known yet keeps NULL (the reads
-- convert it then).
CREATE TABLE stats_zones (
    model text PRIMARY KEY,
    tz    text NOT NULL
);

ALTER TABLE pathways ADD COLUMN ref_received_on date;

CREATE FUNCTION painpath_received_on() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.ref_received_on := (NEW.ref_received_at AT TIME ZONE
        (SELECT z.tz FROM stats_zones z WHERE z.model = NEW.model))::date;
    RETURN NEW;
END $$;

-- Fires only when a receipt is written or changes model: once a referral.
CREATE TRIGGER pathways_received_on_insert
    BEFORE INSERT ON pathways FOR EACH ROW
    WHEN (NEW.ref_received_at IS NOT NULL)
    EXECUTE FUNCTION painpath_received_on();
CREATE TRIGGER pathways_received_on_update
    BEFORE UPDATE ON pathways FOR EACH ROW
    WHEN (NEW.ref_received_at IS DISTINCT FROM OLD.ref_received_at
          OR NEW.model IS DISTINCT FROM OLD.model)
    EXECUTE FUNCTION painpath_received_on();

-- Receipts whose day is not set (their model's zone was not known when
-- they were written): the daemon sets them at start.  Usually empty.
CREATE INDEX pathways_received_on_missing ON pathways (pathway_id)
    WHERE ref_received_at IS NOT NULL AND ref_received_on IS NULL;

-- Who waits now (referral received, treatment not started), by region,
-- level and unit: every figure of the waiting statistics, the histogram
-- (with its rule's clock) and the public page is in the index entry.
CREATE INDEX pathways_stats_waiting
    ON pathways (region, ref_to_level, ref_unit)
    INCLUDE (model, ref_received_on, ref_received_at, ref_paused_days,
             ref_paused_on, next_due, due_transit, due_assessment,
             due_treatment, due_free_choice, pathway_id)
    WHERE closed_at IS NULL AND ref_received_at IS NOT NULL;

-- The running clocks, for the tiles: a clock's level and unit are the
-- referral's (the level review's are the pathway's own).
CREATE INDEX pathways_stats_clocks
    ON pathways (region, model)
    INCLUDE (level, unit, ref_to_level, ref_unit, due_transit, due_assessment,
             due_treatment, due_free_choice, due_level_review)
    WHERE closed_at IS NULL AND next_due IS NOT NULL;

-- Paused clocks are not in the due columns (they are not reported); the
-- clocks text names them (a date where a running clock has "-").  Few
-- pathways: the index only finds them.
CREATE INDEX pathways_stats_paused
    ON pathways (model, region)
    WHERE closed_at IS NULL AND clocks ~ '[a-z] \S+ -?\d+ \d';

-- Deadlines about to pass: each rule's running clocks by due date, so a
-- window of days is one range of an index, read in due order.
CREATE INDEX pathways_due_transit ON pathways (due_transit)
    WHERE closed_at IS NULL AND due_transit IS NOT NULL;
CREATE INDEX pathways_due_assessment ON pathways (due_assessment)
    WHERE closed_at IS NULL AND due_assessment IS NOT NULL;
CREATE INDEX pathways_due_treatment ON pathways (due_treatment)
    WHERE closed_at IS NULL AND due_treatment IS NOT NULL;
CREATE INDEX pathways_due_free_choice ON pathways (due_free_choice)
    WHERE closed_at IS NULL AND due_free_choice IS NOT NULL;
CREATE INDEX pathways_due_level_review ON pathways (due_level_review)
    WHERE closed_at IS NULL AND due_level_review IS NOT NULL;

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
