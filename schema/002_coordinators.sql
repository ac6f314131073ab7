-- Coordinators: worklists, waiting times and the nightly escalation report.

-- The open referral, denormalised so "who waits where" is an index scan.
ALTER TABLE pathways
    ADD COLUMN ref_to_level    text,
    ADD COLUMN ref_unit        text,
    ADD COLUMN ref_received_at timestamptz,
    ADD COLUMN content_covered integer;

-- On treatment.started: when the referral was received, so completed waits
-- are a scan of recent transitions.
ALTER TABLE transitions ADD COLUMN waited_since timestamptz;

-- Worklists page through open pathways oldest first, keyset on
-- (opened_at, pathway_id): stable while new pathways arrive.
CREATE INDEX pathways_worklist_region
    ON pathways (region, opened_at, pathway_id) WHERE closed_at IS NULL;
CREATE INDEX pathways_worklist
    ON pathways (opened_at, pathway_id) WHERE closed_at IS NULL;
CREATE INDEX pathways_waiting
    ON pathways (ref_unit) WHERE ref_received_at IS NOT NULL AND closed_at IS NULL;
CREATE INDEX transitions_started
    ON transitions (occurred_at) WHERE type = 'treatment.started';

-- One item per pathway, rule and due date, however often it is reported.
CREATE TABLE escalations (
    escalation_id     bigserial PRIMARY KEY,
    pathway_id        text NOT NULL REFERENCES pathways (pathway_id),
    patient_id        text NOT NULL,
    region            text NOT NULL,
    model             text NOT NULL,
    level             text NOT NULL,
    phase             text NOT NULL,
    unit              text,
    rule              text NOT NULL,
    due               date NOT NULL,
    first_reported_on date NOT NULL,
    last_reported_on  date NOT NULL,
    acked_by          text,
    acked_at          timestamptz,
    UNIQUE (pathway_id, rule, due)
);

-- Which items each night's report holds.
CREATE TABLE escalation_items (
    report_date   date NOT NULL,
    escalation_id bigint NOT NULL REFERENCES escalations (escalation_id),
    PRIMARY KEY (report_date, escalation_id)
);

CREATE TABLE escalation_runs (
    report_date  date PRIMARY KEY,
    first_ran_at timestamptz NOT NULL DEFAULT now(),
    last_ran_at  timestamptz NOT NULL DEFAULT now(),
    runs         integer NOT NULL DEFAULT 1
);

-- Every execution, by whom and why: shows that one daemon ran the night.
CREATE TABLE escalation_run_log (
    run_id      bigserial PRIMARY KEY,
    report_date date NOT NULL,
    ran_at      timestamptz NOT NULL DEFAULT now(),
    ran_by      text NOT NULL,
    trigger     text NOT NULL,
    items       integer NOT NULL
);
