-- A versioned update that matches no row must abort its transaction, not
-- let the statements pipelined after it commit.  40001 makes the daemon
-- retry the event, which then sees the current version.
CREATE FUNCTION painpath_expect_one(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF n <> 1 THEN
        RAISE EXCEPTION 'pathway version moved (% rows)', n
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN n;
END $$;
