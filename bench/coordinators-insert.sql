-- bench/coordinators.sh, step 2 of the load: the pathways lo..hi, or their
-- transitions (psql variables lo, hi, transitions = true|false).  Two
-- sessions run at once on two halves; all pathways go in before any
-- transition.
--
-- The transitions go in with session_replication_role = replica, which
-- skips their foreign-key trigger (as pg_restore --disable-triggers does):
-- checking 4-5 million rows one by one, each locking its pathway row, would
-- double the load.  bench/coordinators.sh checks afterwards, in one
-- anti-join, that every transition has its pathway.
\set ON_ERROR_STOP on
\if :transitions
SET session_replication_role = replica;
INSERT INTO transitions (pathway_id, seq, event_id, type, from_phase,
                         to_phase, from_level, to_level, unit, occurred_at,
                         recorded_at, data, event, response, waited_since)
SELECT pathway_id, k, event_id, type, prev_phase, phase, prev_level, level,
       unit, at, recorded_at, data,
       jsonb_build_object('event_id', event_id, 'type', type,
                          'patient_id', patient_id,
                          'occurred_at',
                          to_char(at AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
       || CASE WHEN k = 1
               THEN jsonb_build_object('model', model, 'region', region,
                                       'unit', unit)
               ELSE '{}' END
       || CASE WHEN data <> '{}' THEN jsonb_build_object('data', data)
               ELSE '{}' END,
       json_build_object(
           'pathway', state,
           'transition', json_build_object(
               'seq', k, 'event_id', event_id, 'type', type,
               'from_phase', prev_phase, 'to_phase', phase,
               'from_level', prev_level, 'to_level', level, 'unit', unit,
               'occurred_at', bench_coord_ts(at),
               'recorded_at', bench_coord_ts(recorded_at),
               'data', data::json)),
       CASE WHEN type = 'treatment.started' THEN t_recv END
FROM bench_coord_steps
WHERE i BETWEEN :lo AND :hi;
\else
INSERT INTO pathways (pathway_id, patient_id, model, region, level, unit,
                      phase, version, flags, state, opened_at, updated_at,
                      closed_at, due_transit, due_assessment, due_treatment,
                      due_free_choice, due_level_review, next_due,
                      ref_to_level, ref_unit, ref_received_at,
                      content_covered)
SELECT pathway_id, patient_id, model, region, level, unit, phase, k, flags,
       state, t_open, recorded_at,
       CASE WHEN phase = 'closed' THEN t_close END,
       r_tr, r_as, r_tm, r_fc, r_lr,
       least(r_tr, r_as, r_tm, r_fc, r_lr),
       CASE WHEN phase IN ('referred', 'assessing', 'waiting') THEN l1 END,
       CASE WHEN phase IN ('assessing', 'waiting') THEN u1 END,
       CASE WHEN phase IN ('assessing', 'waiting') THEN t_recv END,
       CASE WHEN k >= k_sent THEN covered END
FROM bench_coord_steps
WHERE i BETWEEN :lo AND :hi AND k = n;
\endif
