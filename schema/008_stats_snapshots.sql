-- The whole country's figures at scale (issue 14): at a million pathways
-- a read over every region counts 320,000 waiting pathways and 90 days of
-- the summary, 200-450 ms on a 2-core machine, where one region's takes
-- 40-110 ms.  A daemon (one at a time) computes the whole country's
-- answers every half minute into this table when the pathways are many
-- (stats_snapshot_pathways), with the same statements the reads run; an
-- all-regions read of today without filters answers from a snapshot at
-- most a minute old and says when it was computed (snapshot_at), any
-- other read counts live.  One row per statement.
CREATE TABLE stats_snapshots (
    name        text PRIMARY KEY,
    as_of       date NOT NULL,
    computed_at timestamptz NOT NULL,
    rows        json
);
