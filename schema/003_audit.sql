-- Who looked at which patient (Nordic law requires every look to be logged).
CREATE TABLE audit_log (
    audit_id    bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    token_id    text NOT NULL,
    method      text NOT NULL,
    route       text NOT NULL,
    uri         text NOT NULL,
    patient_ids text[] NOT NULL,
    remote      text,
    status      integer NOT NULL
);

-- "Who looked at patient X" is an index lookup.
CREATE INDEX audit_log_patients ON audit_log USING gin (patient_ids);

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION painpath_refuse_change();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION painpath_refuse_change();
