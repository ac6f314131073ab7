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
-- The columns as lib/store.c writes them (schema 005): the event, the
-- answer and the transition as texts, the transition's own JSON in doc,
-- and for treatment.started when the wait began and its paused days.
INSERT INTO transitions (pathway_id, seq, event_id, type, from_phase,
                         to_phase, from_level, to_level, unit, occurred_at,
                         recorded_at, data, event, response, waited_since,
                         paused_days, doc)
SELECT pathway_id, k, event_id, type, prev_phase, phase, prev_level, level,
       unit, at, recorded_at, data::text, event::text,
       '{"pathway":' || doc || ',"transition":' || tdoc || '}', waited_since,
       paused_days, tdoc
FROM (
    SELECT pathway_id, k, event_id, type, prev_phase, phase, prev_level,
           level, unit, at, recorded_at, data, doc,
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
                   ELSE '{}' END AS event,
           json_build_object(
               'seq', k, 'event_id', event_id, 'type', type,
               'from_phase', prev_phase, 'to_phase', phase,
               'from_level', prev_level, 'to_level', level, 'unit', unit,
               'occurred_at', bench_coord_ts(at),
               'recorded_at', bench_coord_ts(recorded_at),
               'data', data::json)::text AS tdoc,
           CASE WHEN type = 'treatment.started' THEN t_recv END
               AS waited_since,
           CASE WHEN type = 'treatment.started' THEN 0 END AS paused_days
    FROM bench_coord_steps
    WHERE i BETWEEN :lo AND :hi
) s;
\else
INSERT INTO pathways (pathway_id, patient_id, model, region, level, unit,
                      phase, version, flags, doc, opened_at, updated_at,
                      closed_at, due_transit, due_assessment, due_treatment,
                      due_free_choice, due_level_review, next_due,
                      ref_to_level, ref_unit, ref_received_at,
                      content_covered, gp_unit, close_reason, pain_onset,
                      age_at_opening, levels_visited, last_change_at,
                      ref_from_level, ref_from_unit, ref_to_unit,
                      ref_received_unit, ref_private, ref_sent_at,
                      ref_accepted_at, ref_deadline, ref_content_covered,
                      clocks)
SELECT pathway_id, patient_id, model, region, level, unit, phase, k, flags,
       doc, t_open, recorded_at,
       CASE WHEN phase = 'closed' THEN t_close END,
       r_tr, r_as, r_tm, r_fc, r_lr,
       least(r_tr, r_as, r_tm, r_fc, r_lr),
       CASE WHEN open_ref THEN l1 END,
       -- The receiving unit, from the referral on (schema 005).
       CASE WHEN open_ref THEN u1 END,
       CASE WHEN phase IN ('assessing', 'waiting') THEN t_recv END,
       CASE WHEN k >= k_sent THEN covered END,
       CASE WHEN l0 = 'gp' THEN u0 END,
       CASE WHEN phase = 'closed' THEN close_reason END,
       pain_onset, age, levels_visited, last_change_at,
       CASE WHEN open_ref THEN l0 END,
       CASE WHEN open_ref THEN u0 END,
       CASE WHEN open_ref THEN u1 END,
       CASE WHEN phase IN ('assessing', 'waiting') THEN u1 END,
       CASE WHEN open_ref THEN private_unit END,
       CASE WHEN open_ref THEN t_sent END,
       CASE WHEN phase = 'waiting' THEN t_acc END,
       CASE WHEN phase = 'waiting' AND model = 'no' THEN d_treat END,
       CASE WHEN open_ref THEN covered END,
       clocks
FROM (SELECT *, phase IN ('referred', 'assessing', 'waiting') AS open_ref
      FROM bench_coord_steps
      WHERE i BETWEEN :lo AND :hi AND k = n) s;
\endif
