-- The pathway's whole state as columns, so neither PostgreSQL nor the
-- daemon parses JSON to record an event; its JSON form (api.md) kept as
-- text for reads.  Sources (issue 12): event_id is unique within a sending
-- system.  Corrections: a correcting transition names the event it targets.

ALTER TABLE pathways
    ADD COLUMN gp_unit             text,
    ADD COLUMN close_reason        text,
    ADD COLUMN pain_onset          date,
    ADD COLUMN birth_date          date,
    ADD COLUMN age_at_opening      integer,
    ADD COLUMN levels_visited      text[] NOT NULL DEFAULT '{}',
    ADD COLUMN last_change_at      timestamptz,
    -- The open referral (all NULL when none): where from and to, and the
    -- receiving unit (received or, until then, named), which must act.
    ADD COLUMN ref_from_level      text,
    ADD COLUMN ref_from_unit       text,
    ADD COLUMN ref_to_unit         text,
    ADD COLUMN ref_received_unit   text,
    ADD COLUMN ref_private         boolean,
    ADD COLUMN ref_sent_at         timestamptz,
    ADD COLUMN ref_accepted_at     timestamptz,
    ADD COLUMN ref_deadline        date,
    ADD COLUMN ref_content_covered integer,
    -- Calendar days the open referral's wait has been paused (finished
    -- pauses), and since when it is paused now: waits exclude them.
    ADD COLUMN ref_paused_days     integer NOT NULL DEFAULT 0,
    ADD COLUMN ref_paused_on       date,
    -- The running clocks as the daemon keeps them (store.c's format:
    -- "rule due started_ms paused_on reason paused_days paused_calendar"
    -- per clock, ';' between clocks).  due_* stay the columns SQL reads;
    -- a paused clock's due_* is NULL (it is not reported).
    ADD COLUMN clocks              text NOT NULL DEFAULT '',
    ADD COLUMN doc                 text;

-- ref_unit was the received unit; it now is the receiving unit from the
-- referral on (the worklist's waiting_unit, the escalation's responsible
-- unit).
UPDATE pathways p SET
    gp_unit = s->>'gp_unit',
    close_reason = s->>'close_reason',
    pain_onset = (s->>'pain_onset')::date,
    age_at_opening = (s->>'age_at_opening')::integer,
    levels_visited = ARRAY(SELECT json_array_elements_text(s->'levels_visited')),
    last_change_at = coalesce((SELECT max(t.occurred_at) FROM transitions t
        WHERE t.pathway_id = p.pathway_id AND t.type NOT IN
        ('consultation.requested', 'consultation.answered',
         'collaboration.started', 'collaboration.ended', 'pro.reported')),
        p.opened_at),
    ref_from_level = s->'referral'->>'from_level',
    ref_from_unit = s->'referral'->>'from_unit',
    ref_to_unit = s->'referral'->>'to_unit',
    ref_received_unit = s->'referral'->>'received_unit',
    ref_private = (s->'referral'->>'private_unit')::boolean,
    ref_sent_at = (s->'referral'->>'sent_at')::timestamptz,
    ref_accepted_at = (s->'referral'->>'accepted_at')::timestamptz,
    ref_deadline = (s->'referral'->>'deadline')::date,
    ref_content_covered = (s->'referral'->>'content_covered')::integer,
    ref_unit = CASE WHEN json_typeof(s->'referral') = 'object' THEN
        coalesce(s->'referral'->>'received_unit', s->'referral'->>'to_unit') END,
    clocks = coalesce((SELECT string_agg(concat_ws(' ', d->>'rule', d->>'due',
        (extract(epoch FROM (d->>'started_at')::timestamptz) * 1000)::bigint,
        '-', '-', '0', '0'), ';') FROM json_array_elements(s->'deadlines') d), ''),
    doc = s::text
FROM (SELECT pathway_id, state AS s FROM pathways) j
WHERE j.pathway_id = p.pathway_id;

ALTER TABLE pathways DROP COLUMN state;
ALTER TABLE pathways ALTER COLUMN doc SET NOT NULL;
ALTER TABLE pathways ALTER COLUMN last_change_at SET NOT NULL;

-- Who must act on a referral: its receiving unit, indexed for worklists.
DROP INDEX IF EXISTS pathways_waiting;
CREATE INDEX pathways_waiting
    ON pathways (ref_unit) WHERE ref_unit IS NOT NULL AND closed_at IS NULL;

-- Texts the daemon writes and reads back as it wrote them: no JSON parsing
-- by PostgreSQL on the way in.  The replayed answer stays byte for byte.
ALTER TABLE transitions
    ALTER COLUMN event TYPE text USING event::text,
    ALTER COLUMN response TYPE text USING response::text,
    ALTER COLUMN data TYPE text USING data::text,
    -- Rows from before sources are '' and match any source's retry.
    ADD COLUMN source      text NOT NULL DEFAULT '',
    -- event.corrected, .retracted: the seq of the event it corrects.
    ADD COLUMN corrects    integer,
    ADD COLUMN paused_days integer,
    -- The transition as api.md shows it (NULL before this migration: the
    -- reads take it from response then).
    ADD COLUMN doc         text;

DROP INDEX transitions_event_id;
CREATE UNIQUE INDEX transitions_source_event_id
    ON transitions (event_id, source);
CREATE INDEX transitions_corrects
    ON transitions (pathway_id, corrects) WHERE corrects IS NOT NULL;

-- Which regions' pathways a read showed: an admin sees the audit rows
-- about the regions the token covers (issue 10).  NULL before this.
ALTER TABLE audit_log ADD COLUMN regions text[];

-- Escalations name who must act (issue 12).
ALTER TABLE escalations
    ADD COLUMN responsible_unit text,
    ADD COLUMN from_unit        text,
    ADD COLUMN to_unit          text,
    -- The acknowledgement is the token's (acked_by); what the person
    -- wrote, and the name they gave, beside it.
    ADD COLUMN ack_note         text,
    ADD COLUMN ack_claimed_by   text;

-- A group's versioned updates: every row must have matched.
CREATE FUNCTION painpath_expect_rows(n bigint, expected integer)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF n <> expected THEN
        RAISE EXCEPTION 'pathway version moved (% of % rows)', n, expected
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN n;
END $$;
