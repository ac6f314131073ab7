-- The /metrics gauge of open pathways by region, phase and level, counted
-- every 30 s, read the whole table: 0.6-0.75 s at a million pathways.
-- The worklists' index of open pathways carries phase and level, so the
-- count reads that index alone (an index-only scan: 415 -> 166-195 ms at
-- 346,000 open pathways on a 2-core machine).  Every update of a pathway
-- already writes a new entry to it (no update is HOT), so the writes stay
-- as they were.
DROP INDEX pathways_worklist_region;
CREATE INDEX pathways_worklist_region
    ON pathways (region, opened_at, pathway_id) INCLUDE (phase, level)
    WHERE closed_at IS NULL;
