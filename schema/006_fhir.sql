-- FHIR R4 (issue 13): ids that are hashes of long pathway ids, searches,
-- rest-hook Subscriptions and the outbox their notifications (and the
-- regions' night reports) are delivered from.

-- A pathway id longer than a FHIR id allows is written "pw.h<32 hex>" of
-- its SHA-256 (lib/fhir_id.c): found by this index, not by a scan.  The
-- ids' alphabet (A-Z a-z 0-9 . _ : -) holds no backslash, so text::bytea
-- is their UTF-8 bytes (convert_to is not immutable: no index on it).
CREATE INDEX pathways_fhir_hash ON pathways
    ((left(encode(sha256(pathway_id::bytea), 'hex'), 32)));

-- Searches page through pathways oldest first, keyset on (opened_at,
-- pathway_id), closed ones included (FHIR shows finished episodes).
CREATE INDEX pathways_fhir_keyset ON pathways (opened_at, pathway_id);
CREATE INDEX pathways_fhir_unit ON pathways (unit, opened_at, pathway_id);
CREATE INDEX pathways_fhir_updated ON pathways (updated_at);

-- identifier= on ServiceRequest and Task is the referral.sent event id:
-- transitions_source_event_id (event_id, source) serves it; a second index
-- on event_id would only slow every recorded event down.

-- Subscriptions (R4 rest-hook).  The criteria are kept as given and as the
-- columns the commit path's outbox write joins on: patients, units and
-- statuses hold the bare values of the criteria's patient, unit (owner,
-- requester, organization) and EpisodeOfCare status parameters, NULL where
-- the criteria do not narrow them.  The join only narrows; the delivery
-- worker renders each resource and matches the whole criteria exactly.
CREATE TABLE fhir_subscriptions (
    subscription_id text PRIMARY KEY,
    resource_type   text NOT NULL CHECK (resource_type IN ('Task', 'EpisodeOfCare')),
    criteria        text NOT NULL,
    patients        text[],
    units           text[],
    statuses        text[],
    endpoint        text NOT NULL,
    full_payload    boolean NOT NULL,
    headers         text[] NOT NULL DEFAULT '{}',
    -- The HMAC key of deliveries; the receiver holds the same.
    secret          text NOT NULL,
    status          text NOT NULL CHECK (status IN ('requested', 'active', 'error', 'off')),
    error           text,
    reason          text,
    end_at          timestamptz,
    -- Who registered it: deliveries show only what that token may read.
    token_id        text NOT NULL,
    source          text NOT NULL,
    regions         text[],
    -- The Subscription as registered (no secret), shown with status and
    -- error from the columns.
    doc             text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fhir_subscriptions_live ON fhir_subscriptions (resource_type)
    WHERE status <> 'off';

-- The outbox: one row per notification to deliver, written in the same
-- transaction as the change (or the night's run) it tells of.  A stream
-- is delivered in id order, one row at a time: a subscription's rows of
-- one pathway ("sub:<id>:<pathway>"), or a region's reports
-- ("report:<region>").  A daemon claims a stream's head with a lease
-- (claimed_by, claimed_until): the next row of the stream waits until the
-- head is delivered, so order holds per resource with several daemons.
CREATE TABLE outbox (
    outbox_id       bigserial PRIMARY KEY,
    stream          text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('change', 'decision', 'report')),
    subscription_id text REFERENCES fhir_subscriptions (subscription_id) ON DELETE CASCADE,
    pathway_id      text,
    seq             integer,
    region          text,
    report_date     date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by      text,
    claimed_until   timestamptz,
    last_error      text,
    delivered_at    timestamptz,
    -- delivered, or dropped: nothing of it matched when rendered
    outcome         text
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, outbox_id)
    WHERE delivered_at IS NULL;
CREATE INDEX outbox_stream ON outbox (stream, outbox_id)
    WHERE delivered_at IS NULL;
CREATE INDEX outbox_delivered ON outbox (delivered_at)
    WHERE delivered_at IS NOT NULL;

-- The regions whose night report is delivered, as the daemons' config
-- (report_endpoints_file) says; the endpoint and its secret stay in the
-- config.  A night's run (the daemon's, an admin's or the CLI's) logs
-- itself in escalation_run_log: the trigger queues the report for each
-- such region in that same transaction, so it is delivered once the run
-- has committed, and never if it rolled back.
CREATE TABLE report_endpoints (
    region text PRIMARY KEY,
    format text NOT NULL CHECK (format IN ('json', 'csv'))
);

CREATE FUNCTION painpath_queue_reports() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (stream, kind, region, report_date)
    SELECT 'report:' || region, 'report', region, NEW.report_date
    FROM report_endpoints ORDER BY region;
    RETURN NULL;
END $$;

CREATE TRIGGER escalation_run_reports
    AFTER INSERT ON escalation_run_log
    FOR EACH ROW EXECUTE FUNCTION painpath_queue_reports();
