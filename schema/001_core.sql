-- The core: pathways (current state and running clocks) and their
-- append-only history of transitions.

CREATE TABLE pathways (
    pathway_id   text PRIMARY KEY,
    patient_id   text NOT NULL,
    model        text NOT NULL,
    region       text NOT NULL,
    level        text NOT NULL,
    unit         text,
    phase        text NOT NULL,
    version      integer NOT NULL CHECK (version >= 1),
    flags        text[] NOT NULL DEFAULT '{}',
    -- The whole pathway as the state machine computed it (api.md shape).
    state        json NOT NULL,
    opened_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    closed_at    timestamptz,
    -- Due dates of the running clocks (NULL when not running), and the
    -- earliest of them, so worklists and the nightly report are index scans.
    due_transit      date,
    due_assessment   date,
    due_treatment    date,
    due_free_choice  date,
    due_level_review date,
    next_due         date,
    CHECK (phase IN ('active', 'referred', 'assessing', 'waiting', 'closed')),
    CHECK ((phase = 'closed') = (closed_at IS NOT NULL))
);

-- A patient has at most one open pathway (domain.md), across every daemon.
CREATE UNIQUE INDEX pathways_one_open_per_patient
    ON pathways (patient_id) WHERE closed_at IS NULL;
CREATE INDEX pathways_patient ON pathways (patient_id, opened_at DESC);
CREATE INDEX pathways_next_due ON pathways (next_due) WHERE closed_at IS NULL;

CREATE TABLE transitions (
    pathway_id   text NOT NULL REFERENCES pathways (pathway_id),
    seq          integer NOT NULL CHECK (seq >= 1),
    event_id     text NOT NULL,
    type         text NOT NULL,
    from_phase   text,
    to_phase     text NOT NULL,
    from_level   text NOT NULL,
    to_level     text NOT NULL,
    unit         text,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    data         jsonb NOT NULL,
    -- The event exactly as posted: the idempotency check compares bodies.
    event        jsonb NOT NULL,
    -- The answer the first post got, replayed for a retry.
    response     json NOT NULL,
    PRIMARY KEY (pathway_id, seq)
);

-- The idempotency key, unique across every daemon sharing the database.
CREATE UNIQUE INDEX transitions_event_id ON transitions (event_id);

-- History is never rewritten.
CREATE FUNCTION painpath_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER transitions_append_only
    BEFORE UPDATE OR DELETE ON transitions
    FOR EACH ROW EXECUTE FUNCTION painpath_refuse_change();
CREATE TRIGGER transitions_no_truncate
    BEFORE TRUNCATE ON transitions
    FOR EACH STATEMENT EXECUTE FUNCTION painpath_refuse_change();

-- Norwegian feedback to the referrer (003), read by integrations in order.
CREATE TABLE notifications (
    notification_id bigserial PRIMARY KEY,
    pathway_id      text NOT NULL REFERENCES pathways (pathway_id),
    event_id        text NOT NULL,
    kind            text NOT NULL,
    region          text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
