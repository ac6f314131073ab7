-- bench/coordinators.sh, step 1 of the load: the plan of every pathway.
--
-- psql variables: n (pathways), overdue_pct (share of clocked open pathways
-- whose earliest clock is already overdue), today (YYYY-MM-DD, the night
-- the report is run for) and seed (for setseed, -1..1).
--
-- One row of bench_coord_gen decides everything about one pathway: region,
-- model, phase, levels, units, flags and the time of every event.  The view
-- bench_coord_steps unfolds it into its 3-6 steps, each with the pathway as
-- it was after the step (the shape lib/pathway.c pathway_to_json writes),
-- the event as the EHR posted it and the answer the daemon gave.  The
-- pathways and transitions are then INSERT ... SELECT from that view
-- (bench/coordinators-insert.sql), in two sessions at once.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

SELECT setseed(:seed);

DROP VIEW IF EXISTS bench_coord_steps;
DROP TABLE IF EXISTS bench_coord_gen, bench_coord_regions;

-- About 20 regions of the three countries, weighted by population.
CREATE UNLOGGED TABLE bench_coord_regions (
    ri      integer PRIMARY KEY,
    region  text NOT NULL,
    country text NOT NULL,
    ehr     text NOT NULL,
    gp_word text NOT NULL,
    weight  float8 NOT NULL,
    lo      float8
);
INSERT INTO bench_coord_regions (ri, region, country, ehr, gp_word, weight)
VALUES
    (1, 'stockholm', 'se', 'takecare', 'vc', 2.4),
    (2, 'vastra-gotaland', 'se', 'millennium', 'vc', 1.7),
    (3, 'skane', 'se', 'melior', 'vc', 1.4),
    (4, 'ostergotland', 'se', 'cosmic', 'vc', 0.47),
    (5, 'uppsala', 'se', 'cosmic', 'vc', 0.4),
    (6, 'jonkoping', 'se', 'cosmic', 'vc', 0.37),
    (7, 'halland', 'se', 'cosmic', 'vc', 0.34),
    (8, 'orebro', 'se', 'cosmic', 'vc', 0.31),
    (9, 'dalarna', 'se', 'cosmic', 'vc', 0.29),
    (10, 'gavleborg', 'se', 'cosmic', 'vc', 0.29),
    (11, 'vasterbotten', 'se', 'cosmic', 'vc', 0.27),
    (12, 'hovedstaden', 'dk', 'sp', 'laegepraksis', 1.9),
    (13, 'midtjylland', 'dk', 'midtep', 'laegepraksis', 1.35),
    (14, 'syddanmark', 'dk', 'cosmic', 'laegepraksis', 1.2),
    (15, 'sjaelland', 'dk', 'sp', 'laegepraksis', 0.84),
    (16, 'nordjylland', 'dk', 'clinical-suite', 'laegepraksis', 0.59),
    (17, 'helse-sor-ost', 'no', 'dips', 'fastlege', 3.1),
    (18, 'helse-vest', 'no', 'dips', 'fastlege', 1.1),
    (19, 'helse-midt', 'no', 'helseplattformen', 'fastlege', 0.74),
    (20, 'helse-nord', 'no', 'dips', 'fastlege', 0.49);
UPDATE bench_coord_regions r SET lo = c.lo
FROM (SELECT ri, coalesce(sum(weight) OVER w, 0) / sum(weight) OVER () AS lo
      FROM bench_coord_regions
      WINDOW w AS (ORDER BY ri ROWS BETWEEN UNBOUNDED PRECEDING
                   AND 1 PRECEDING)) c
WHERE r.ri = c.ri;

-- Milliseconds since the epoch, as the clocks text holds a start.
CREATE OR REPLACE FUNCTION bench_coord_ms(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT ((extract(epoch FROM t) * 1000)::bigint)::text
$$;

-- Timestamps as the daemon writes them (calendar_format_timestamp).
CREATE OR REPLACE FUNCTION bench_coord_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- kind: A active, never referred (gp or team); B active after a referral
-- and treatment start; C referred; D assessing; E waiting; F closed from
-- active; G closed after treatment.
CREATE UNLOGGED TABLE bench_coord_gen AS
WITH u AS (
    SELECT i, random() AS u_region, random() AS u_kind, random() AS u_n,
           random() AS u_over, random() AS u_due, random() AS u_fut,
           random() AS u_l0, random() AS u_l1, random() AS u_unit0,
           random() AS u_unit1, random() AS u_age, random() AS u_child,
           random() AS u_flag, random() AS u_flag1, random() AS u_flag2,
           random() AS u_onset, random() AS u_cov, random() AS u_priv,
           random() AS u_t1, random() AS u_t2, random() AS u_t3,
           random() AS u_t4, random() AS u_t5, random() AS u_tod
    FROM generate_series(1, :n) AS i
    OFFSET 0
), a AS (
    SELECT u.*, r.region, r.country, r.ehr, r.gp_word,
           CASE WHEN u_kind < 0.18 THEN 'A' WHEN u_kind < 0.30 THEN 'B'
                WHEN u_kind < 0.38 THEN 'C' WHEN u_kind < 0.50 THEN 'D'
                WHEN u_kind < 0.70 THEN 'E' WHEN u_kind < 0.82 THEN 'F'
                ELSE 'G' END AS kind,
           r.country = 'se' AND u_child < 0.10 AS child
    FROM u
    JOIN bench_coord_regions r
      ON r.ri = width_bucket(u.u_region,
                             (SELECT array_agg(lo ORDER BY ri)
                              FROM bench_coord_regions))
    OFFSET 0
), b AS (
    SELECT a.*,
           CASE country WHEN 'dk' THEN 'dk' WHEN 'no' THEN 'no'
                ELSE CASE WHEN child THEN 'se-child' ELSE 'se-adult' END
           END AS model,
           CASE kind WHEN 'A' THEN 3 + floor(u_n * 4)::int
                     WHEN 'B' THEN 5 + floor(u_n * 2)::int
                     WHEN 'E' THEN 4 + floor(u_n * 3)::int
                     WHEN 'G' THEN 6
                     ELSE 3 + floor(u_n * 4)::int END AS n,
           CASE kind WHEN 'A' THEN 0 WHEN 'B' THEN 4 WHEN 'C' THEN 1
                     WHEN 'D' THEN 2 WHEN 'E' THEN 3 WHEN 'F' THEN 1
                     ELSE 5 END AS ntail,
           CASE WHEN kind IN ('A', 'F')
                THEN CASE WHEN u_l0 < 0.7 THEN 'gp' ELSE 'team' END
                ELSE CASE WHEN u_l0 < 0.80 THEN 'gp'
                          WHEN u_l0 < 0.95 THEN 'team'
                          ELSE 'clinic' END
           END AS l0,
           CASE WHEN child THEN 6 + floor(u_age * 12)::int
                ELSE 18 + floor(u_age * 70)::int END AS age
    FROM a
    OFFSET 0
), c AS (
    SELECT b.*,
           CASE WHEN kind IN ('A', 'F') THEN NULL
                WHEN l0 = 'gp' THEN CASE WHEN u_l1 < 0.30 THEN 'team'
                                         WHEN u_l1 < 0.85 THEN 'clinic'
                                         ELSE 'centre' END
                WHEN l0 = 'team' THEN CASE WHEN u_l1 < 0.8 THEN 'clinic'
                                           ELSE 'centre' END
                ELSE 'centre' END AS l1,
           -- The earliest running clock's length in days, when one runs.
           CASE kind
               WHEN 'A' THEN CASE WHEN l0 = 'gp' AND u_onset < 0.55
                                  THEN 182 END
               WHEN 'C' THEN 7
               ELSE NULL END AS dur_a
    FROM b
    OFFSET 0
), d AS (
    SELECT c.*,
           CASE WHEN kind = 'D' THEN
                    CASE model WHEN 'dk' THEN 30 WHEN 'no' THEN 14
                         ELSE CASE WHEN l1 IN ('clinic', 'centre') THEN 90
                              END END
                WHEN kind = 'E' THEN
                    CASE model
                        WHEN 'dk' THEN CASE WHEN u_priv >= 0.08 THEN 30 END
                        WHEN 'no' THEN 30 + floor(u_t5 * 90)::int
                        ELSE CASE WHEN l1 IN ('clinic', 'centre') THEN 90
                             END END
                ELSE dur_a END AS dur,
           model = 'dk' AND kind IN ('D', 'E') AND u_priv < 0.08
               AS private_unit
    FROM c
    OFFSET 0
), e AS (
    SELECT d.*,
           -- The earliest clock's due date: overdue_pct% of them up to a
           -- year ago (most of them recently), the others ahead, up to the
           -- clock's length.
           CASE WHEN dur IS NULL THEN NULL
                WHEN u_over < :overdue_pct / 100.0
                THEN :'today'::date - (1 + floor(364 * u_due * u_due))::int
                ELSE :'today'::date + floor(u_fut * (dur + 1))::int
           END AS due,
           interval '8 hours' + u_tod * interval '9 hours' AS tod
    FROM d
    OFFSET 0
), f AS (
    SELECT e.*,
           -- When the earliest clock started, never after now.
           least((due - dur) + tod, now() - interval '1 minute')
               AS clock_start
    FROM e
    OFFSET 0
), g AS (
    SELECT f.*,
           CASE kind
               WHEN 'C' THEN clock_start
               WHEN 'D' THEN coalesce(clock_start,
                                      now() - u_t1 * interval '60 days')
                             - (1 + u_t2 * 9) * interval '1 day'
               WHEN 'E' THEN
                   CASE WHEN model = 'no' AND dur IS NOT NULL
                        THEN clock_start - (2 + u_t2 * 8) * interval '1 day'
                        ELSE coalesce(clock_start,
                                      now() - u_t1 * interval '90 days')
                        END - (1 + u_t3 * 9) * interval '1 day'
               WHEN 'B' THEN now() - u_t1 * interval '365 days'
                             - (10 + u_t2 * 80) * interval '1 day'
                             - (2 + u_t3 * 12) * interval '1 day'
                             - (1 + u_t4 * 6) * interval '1 day'
               WHEN 'G' THEN now() - u_t1 * interval '1000 days'
                             - (30 + u_t5 * 270) * interval '1 day'
                             - (10 + u_t2 * 80) * interval '1 day'
                             - (2 + u_t3 * 12) * interval '1 day'
                             - (1 + u_t4 * 6) * interval '1 day'
           END AS t_sent_raw
    FROM f
    OFFSET 0
), h AS (
    SELECT g.*,
           CASE kind
               WHEN 'D' THEN coalesce(clock_start,
                                      now() - u_t1 * interval '60 days')
               WHEN 'E' THEN
                   CASE WHEN model = 'no' AND dur IS NOT NULL
                        THEN clock_start - (2 + u_t2 * 8) * interval '1 day'
                        ELSE coalesce(clock_start,
                                      now() - u_t1 * interval '90 days')
                        END
               WHEN 'B' THEN t_sent_raw + (1 + u_t4 * 6) * interval '1 day'
               WHEN 'G' THEN t_sent_raw + (1 + u_t4 * 6) * interval '1 day'
           END AS t_recv_raw
    FROM g
    OFFSET 0
), k AS (
    SELECT h.*,
           CASE kind
               WHEN 'E' THEN
                   CASE WHEN model = 'no' AND dur IS NOT NULL
                        THEN clock_start
                        ELSE t_recv_raw + least(now() - t_recv_raw,
                                                interval '10 days')
                                          * (0.05 + 0.9 * u_t4)
                        END
               WHEN 'B' THEN t_recv_raw + (2 + u_t3 * 12) * interval '1 day'
               WHEN 'G' THEN t_recv_raw + (2 + u_t3 * 12) * interval '1 day'
           END AS t_acc_raw,
           CASE kind
               WHEN 'F' THEN now() - u_t1 * interval '1000 days'
               WHEN 'G' THEN now() - u_t1 * interval '1000 days'
           END AS t_close_raw
    FROM h
    OFFSET 0
), m AS (
    SELECT k.*,
           CASE WHEN kind IN ('B', 'G')
                THEN t_acc_raw + (10 + u_t2 * 80) * interval '1 day'
           END AS t_start_raw,
           -- pain_onset: the level_review clock runs 6 months from it.
           CASE WHEN kind = 'A' AND dur IS NOT NULL
                THEN (due - interval '6 months')::date
                WHEN u_onset < 0.55
                THEN (coalesce(t_sent_raw, t_close_raw, now())
                      - (200 + u_t5 * 2000) * interval '1 day')::date
           END AS pain_onset
    FROM k
    OFFSET 0
), p AS (
    SELECT m.*,
           n - ntail AS nfill,
           -- The first event after the fillers (opened, pro.reported,
           -- consultations): the referral or the closing.
           coalesce(t_sent_raw, t_close_raw) AS t_first_tail,
           CASE WHEN kind = 'A' THEN
                    CASE WHEN dur IS NOT NULL
                         THEN least(pain_onset + tod
                                    + u_t1 * interval '120 days',
                                    now() - interval '2 hours')
                         ELSE now() - u_t1 * u_t1 * interval '300 days'
                              - (n - 1) * (5 + u_t2 * 55)
                                * interval '1 day'
                    END
                ELSE coalesce(t_sent_raw, t_close_raw)
                     - (n - ntail) * (3 + u_t5 * 37) * interval '1 day'
                     - (CASE WHEN kind = 'F' THEN 30 ELSE 0 END)
                       * interval '1 day'
           END AS t_open_raw
    FROM m
    OFFSET 0
)
SELECT i,
       'pw-' || substr(md5('pathway' || i), 1, 24) AS pathway_id,
       'p-' || lpad(i::text, 8, '0') AS patient_id,
       region, country, ehr, model, kind, n, nfill,
       CASE WHEN ntail >= 1 AND kind <> 'F' THEN nfill + 1 END AS k_sent,
       CASE WHEN ntail >= 2 AND kind <> 'F' THEN nfill + 2 END AS k_recv,
       CASE WHEN ntail >= 3 AND kind <> 'F' THEN nfill + 3 END AS k_acc,
       CASE WHEN kind IN ('B', 'G') THEN nfill + 4 END AS k_start,
       CASE WHEN kind IN ('F', 'G') THEN n END AS k_close,
       l0,
       CASE l0 WHEN 'gp' THEN region || '-' || gp_word || '-'
                              || lpad((1 + floor(u_unit0 * 30))::text, 2, '0')
               WHEN 'team' THEN region || '-team-'
                                || (1 + floor(u_unit0 * 8))::text
               ELSE region || '-smerteklinikk-'
                    || (1 + floor(u_unit0 * 4))::text END AS u0,
       l1,
       CASE l1 WHEN 'team' THEN region || '-team-'
                                || (1 + floor(u_unit1 * 8))::text
               WHEN 'clinic' THEN region || '-smerteklinikk-'
                                  || (1 + floor(u_unit1 * 4))::text
               WHEN 'centre' THEN region || '-smertecenter' END AS u1,
       private_unit,
       CASE WHEN kind IN ('A', 'F') OR u_cov >= 0.6 THEN NULL
            WHEN u_cov < 0.3 THEN 13
            ELSE 7 + floor(u_cov * 10)::int END AS covered,
       age, pain_onset,
       ARRAY(SELECT (ARRAY['young_adult_at_risk', 'trauma', 'elderly',
                           'mental_illness', 'dependence',
                           'interpreter_needed', 'severe_headache',
                           'orofacial_pain', 'cancer_survivor'])[x]
             FROM unnest(CASE WHEN u_flag < 0.12
                              THEN ARRAY[1 + floor(u_flag1 * 9)::int]
                              WHEN u_flag < 0.17
                              THEN ARRAY[1 + floor(u_flag1 * 9)::int,
                                         1 + (floor(u_flag1 * 9)::int
                                              + 1 + floor(u_flag2 * 8)::int)
                                             % 9]
                              ELSE '{}'::int[] END) AS x
             ORDER BY x) AS flags,
       CASE WHEN kind = 'G' THEN
                CASE WHEN u_t3 < 0.85 THEN 'completed' ELSE 'other' END
            WHEN kind = 'F' THEN
                (ARRAY['completed', 'completed', 'declined', 'moved',
                       'deceased', 'other'])[1 + floor(u_t3 * 6)::int]
       END AS close_reason,
       date_trunc('milliseconds', t_open_raw) AS t_open,
       date_trunc('milliseconds', t_sent_raw) AS t_sent,
       date_trunc('milliseconds', t_recv_raw) AS t_recv,
       date_trunc('milliseconds', t_acc_raw) AS t_acc,
       date_trunc('milliseconds', t_start_raw) AS t_start,
       date_trunc('milliseconds', t_close_raw) AS t_close,
       -- Fillers are spread from opening to the first referral or closing
       -- event (kind A: to the last one, now or the clock's start).
       CASE WHEN kind = 'A'
            THEN date_trunc('milliseconds',
                            t_open_raw + (now() - t_open_raw) * u_t4 * 0.5)
            ELSE date_trunc('milliseconds', t_first_tail) END AS t_fend,
       CASE WHEN kind = 'A' THEN greatest(n - 1, 1) ELSE nfill END AS fdiv,
       -- Every clock the pathway ever had, with its due date.
       CASE WHEN kind NOT IN ('A', 'F')
            THEN (t_sent_raw AT TIME ZONE 'UTC')::date + 7 END AS d_transit,
       CASE WHEN kind IN ('B', 'D', 'E', 'G') AND model IN ('dk', 'no')
            THEN (t_recv_raw AT TIME ZONE 'UTC')::date
                 + CASE model WHEN 'dk' THEN 30 ELSE 14 END END AS d_assess,
       CASE WHEN kind IN ('B', 'D', 'E', 'G') THEN
                CASE WHEN model = 'no' AND kind = 'E' AND dur IS NOT NULL
                     THEN due
                     WHEN model = 'no' AND kind IN ('B', 'G')
                     THEN (t_acc_raw AT TIME ZONE 'UTC')::date + 60
                     WHEN model LIKE 'se-%' AND l1 IN ('clinic', 'centre')
                     THEN (t_recv_raw AT TIME ZONE 'UTC')::date + 90
                END END AS d_treat,
       CASE WHEN kind IN ('B', 'D', 'E', 'G') AND model = 'dk'
                 AND NOT private_unit
            THEN (t_recv_raw AT TIME ZONE 'UTC')::date + 30 END AS d_fc,
       CASE WHEN l0 = 'gp' AND pain_onset IS NOT NULL
            THEN (pain_onset + interval '6 months')::date END AS d_lr
FROM p
OFFSET 0;

-- Each step of each pathway: the transition row, and the pathway after it.
CREATE VIEW bench_coord_steps AS
SELECT g.i, g.pathway_id, g.patient_id, g.model, g.region, g.n, g.flags,
       g.t_open, g.k_close, g.t_close, g.k_sent, g.k_recv, g.covered, g.l1,
       g.u1, g.t_recv, s.k, s.type, s.phase, s.prev_phase, s.level,
       s.prev_level, s.unit, s.at, s.recorded_at, s.event_id,
       c.r_tr, c.r_as, c.r_tm, c.r_fc, c.r_lr,
       g.l0, g.u0, g.private_unit, g.t_sent, g.t_acc, g.d_treat, g.age,
       g.pain_onset, g.close_reason,
       -- The pathway's state as columns (schema 005), after the step.
       CASE WHEN s.k >= g.k_start AND g.l1 <> g.l0 THEN ARRAY[g.l0, g.l1]
            ELSE ARRAY[g.l0] END AS levels_visited,
       CASE WHEN s.k >= g.k_close THEN g.t_close
            WHEN s.k >= g.k_start THEN g.t_start
            WHEN s.k >= g.k_acc THEN g.t_acc
            WHEN s.k >= g.k_recv THEN g.t_recv
            WHEN s.k >= g.k_sent THEN g.t_sent
            ELSE g.t_open END AS last_change_at,
       -- The clocks text lib/store.c reads back: "rule due started_ms
       -- paused_on reason paused_days paused_calendar" a clock.
       concat_ws(';',
           'transit ' || c.r_tr || ' ' || bench_coord_ms(g.t_sent)
               || ' - - 0 0',
           'assessment ' || c.r_as || ' ' || bench_coord_ms(g.t_recv)
               || ' - - 0 0',
           'treatment ' || c.r_tm || ' '
               || bench_coord_ms(CASE WHEN g.model = 'no' THEN g.t_acc
                                      ELSE g.t_recv END) || ' - - 0 0',
           'free_choice ' || c.r_fc || ' ' || bench_coord_ms(g.t_recv)
               || ' - - 0 0',
           'level_review ' || c.r_lr || ' ' || bench_coord_ms(g.t_open)
               || ' - - 0 0') AS clocks,
       d.data,
       json_build_object(
           'pathway_id', g.pathway_id, 'patient_id', g.patient_id,
           'model', g.model, 'region', g.region, 'level', s.level,
           'unit', s.unit, 'phase', s.phase,
           'referral',
           CASE WHEN s.phase IN ('referred', 'assessing', 'waiting') THEN
               json_build_object(
                   'from_level', g.l0, 'from_unit', g.u0,
                   'to_level', g.l1, 'to_unit', g.u1,
                   'received_unit',
                   CASE WHEN s.k >= g.k_recv THEN g.u1 END,
                   'private_unit', g.private_unit,
                   'sent_at', bench_coord_ts(g.t_sent),
                   'received_at',
                   CASE WHEN s.k >= g.k_recv
                        THEN bench_coord_ts(g.t_recv) END,
                   'accepted_at',
                   CASE WHEN s.k >= g.k_acc THEN bench_coord_ts(g.t_acc) END,
                   'deadline',
                   CASE WHEN s.k >= g.k_acc AND g.model = 'no'
                        THEN g.d_treat END,
                   'content_covered', g.covered)
           END,
           'deadlines',
           (SELECT coalesce(json_agg(json_build_object(
                        'rule', v.rule, 'due', v.due,
                        'started_at', bench_coord_ts(v.started))
                        ORDER BY v.ord), '[]'::json)
            FROM (VALUES (1, 'transit', c.r_tr, g.t_sent),
                         (2, 'assessment', c.r_as, g.t_recv),
                         (3, 'treatment', c.r_tm,
                          CASE WHEN g.model = 'no' THEN g.t_acc
                               ELSE g.t_recv END),
                         (4, 'free_choice', c.r_fc, g.t_recv),
                         (5, 'level_review', c.r_lr, g.t_open))
                 AS v(ord, rule, due, started)
            WHERE v.due IS NOT NULL),
           'levels_visited',
           CASE WHEN s.k >= g.k_start AND g.l1 <> g.l0
                THEN json_build_array(g.l0, g.l1)
                ELSE json_build_array(g.l0) END,
           'flags', to_json(g.flags), 'version', s.k,
           'opened_at', bench_coord_ts(g.t_open),
           'updated_at', bench_coord_ts(s.recorded_at),
           'closed_at',
           CASE WHEN s.k = g.k_close THEN bench_coord_ts(g.t_close) END,
           'close_reason', CASE WHEN s.k = g.k_close THEN g.close_reason END,
           'pain_onset', g.pain_onset, 'age_at_opening', g.age,
           'gp_unit', CASE WHEN g.l0 = 'gp' THEN g.u0 END,
           'birth_date', NULL, 'entered_in_error', false,
           'last_change_at', bench_coord_ts(
               CASE WHEN s.k >= g.k_close THEN g.t_close
                    WHEN s.k >= g.k_start THEN g.t_start
                    WHEN s.k >= g.k_acc THEN g.t_acc
                    WHEN s.k >= g.k_recv THEN g.t_recv
                    WHEN s.k >= g.k_sent THEN g.t_sent
                    ELSE g.t_open END),
           'referral_content_covered',
           CASE WHEN s.k >= g.k_sent THEN g.covered END)::text AS doc
FROM bench_coord_gen g
CROSS JOIN LATERAL generate_series(1, g.n) AS step(k)
CROSS JOIN LATERAL (
    SELECT step.k,
           CASE step.k WHEN g.k_sent THEN 'referral.sent'
                       WHEN g.k_recv THEN 'referral.received'
                       WHEN g.k_acc THEN 'referral.accepted'
                       WHEN g.k_start THEN 'treatment.started'
                       WHEN g.k_close THEN 'pathway.closed'
                       ELSE (ARRAY['pathway.opened', 'pro.reported',
                                   'consultation.requested',
                                   'consultation.answered', 'pro.reported',
                                   'collaboration.started'])[step.k]
           END AS type,
           CASE WHEN step.k = g.k_close THEN 'closed'
                WHEN step.k >= g.k_start THEN 'active'
                WHEN step.k >= g.k_acc THEN 'waiting'
                WHEN step.k >= g.k_recv THEN 'assessing'
                WHEN step.k >= g.k_sent THEN 'referred'
                ELSE 'active' END AS phase,
           CASE WHEN step.k = 1 THEN NULL
                WHEN step.k - 1 >= g.k_start THEN 'active'
                WHEN step.k - 1 >= g.k_acc THEN 'waiting'
                WHEN step.k - 1 >= g.k_recv THEN 'assessing'
                WHEN step.k - 1 >= g.k_sent THEN 'referred'
                ELSE 'active' END AS prev_phase,
           CASE WHEN step.k >= g.k_start THEN g.l1 ELSE g.l0 END AS level,
           CASE WHEN step.k - 1 >= g.k_start THEN g.l1 ELSE g.l0 END
               AS prev_level,
           CASE WHEN step.k >= g.k_start THEN g.u1 ELSE g.u0 END AS unit,
           t.at,
           -- Recorded a moment after it happened, and at the latest 5
           -- minutes before the load (an event may be dated up to 5
           -- minutes ahead): the statistics' summary built after the load
           -- holds it, as a nightly build holds the day's events.
           least(t.at + (150 + (g.i::bigint * 7919 + step.k * 104729)
                         % 45000) * interval '1 millisecond',
                 now() - interval '5 minutes') AS recorded_at,
           g.ehr || '-' || lpad(to_hex(g.i * 8 + step.k), 8, '0')
               AS event_id
    FROM (SELECT CASE step.k WHEN g.k_sent THEN g.t_sent
                             WHEN g.k_recv THEN g.t_recv
                             WHEN g.k_acc THEN g.t_acc
                             WHEN g.k_start THEN g.t_start
                             WHEN g.k_close THEN g.t_close
                             ELSE date_trunc('milliseconds',
                                             g.t_open + (g.t_fend - g.t_open)
                                             * ((step.k - 1)::float8
                                                / g.fdiv))
                         END AS at) AS t
    OFFSET 0
) AS s
CROSS JOIN LATERAL (
    -- The clocks running after the step.
    SELECT CASE WHEN s.phase = 'referred' THEN g.d_transit END AS r_tr,
           CASE WHEN s.phase = 'assessing' THEN g.d_assess END AS r_as,
           CASE WHEN s.phase = 'waiting'
                     OR (s.phase = 'assessing' AND g.model <> 'no')
                THEN g.d_treat END AS r_tm,
           CASE WHEN s.phase IN ('assessing', 'waiting') THEN g.d_fc END
               AS r_fc,
           CASE WHEN s.phase = 'active' AND s.k < coalesce(g.k_sent, g.n + 1)
                THEN g.d_lr END AS r_lr
    OFFSET 0
) AS c
CROSS JOIN LATERAL (
    -- The event's data, as an EHR sends it.
    SELECT CASE s.type
        WHEN 'pathway.opened' THEN
            jsonb_build_object('age', g.age)
            || CASE WHEN g.pain_onset IS NOT NULL
                    THEN jsonb_build_object('pain_onset', g.pain_onset)
                    ELSE '{}' END
            || CASE WHEN g.flags <> '{}'
                    THEN jsonb_build_object('flags', g.flags)
                    ELSE '{}' END
            || CASE WHEN g.l0 <> 'gp'
                    THEN jsonb_build_object('level', g.l0)
                    ELSE '{}' END
        WHEN 'referral.sent' THEN
            jsonb_build_object('to_level', g.l1, 'to_unit', g.u1)
            || CASE WHEN g.private_unit
                    THEN '{"private_unit": true}'::jsonb ELSE '{}' END
            || CASE WHEN g.l1 = 'centre' AND g.model LIKE 'se-%'
                    THEN jsonb_build_object(
                        'earlier_levels_considered', true,
                        'justification',
                        'Multimodal rehabilitering i primärvården utan '
                        'effekt; komplex smärtproblematik med samsjuklighet.')
                    ELSE '{}' END
            || CASE WHEN g.covered IS NOT NULL THEN
                   jsonb_build_object('content', (
                       SELECT jsonb_object_agg(item,
                           CASE WHEN o > g.covered THEN 'false'::jsonb
                                WHEN o IN (1, 2, 12)
                                THEN to_jsonb('Långvarig smärta i ländrygg '
                                              'och nacke sedan flera år, '
                                              'sömnsvårigheter.'::text)
                                ELSE 'true'::jsonb END)
                       FROM unnest(ARRAY['patient_view', 'pain_description',
                                         'physical_function',
                                         'comorbidity_sleep', 'psychosocial',
                                         'medicines', 'dependence',
                                         'alcohol_drugs', 'examinations',
                                         'earlier_assessments',
                                         'earlier_treatments', 'expectations',
                                         'motivation'])
                            WITH ORDINALITY AS ci(item, o)))
                   ELSE '{}' END
        WHEN 'referral.accepted' THEN
            CASE WHEN g.model = 'no'
                 THEN jsonb_build_object('deadline', g.d_treat)
                 ELSE '{}' END
        WHEN 'pathway.closed' THEN
            jsonb_build_object('reason', g.close_reason)
        WHEN 'pro.reported' THEN
            jsonb_build_object(
                'instrument', 'BPI-SF',
                'scores', jsonb_build_object(
                    'worst', (g.i + s.k * 3) % 11,
                    'least', (g.i + s.k) % 5,
                    'average', (g.i * 3 + s.k) % 9,
                    'now', (g.i * 7 + s.k) % 10,
                    'interference', round(((g.i + s.k * 13) % 100) / 10.0, 1)))
        WHEN 'consultation.requested' THEN
            jsonb_build_object('question',
                'Förslag på fortsatt läkemedelsbehandling? Patienten har '
                'provat paracetamol, NSAID och amitriptylin utan effekt.')
        WHEN 'consultation.answered' THEN
            jsonb_build_object('answer',
                'Pröva duloxetin 30 mg, öka till 60 mg efter två veckor; '
                'fysioterapi parallellt. Återkoppla vid utebliven effekt.')
        WHEN 'collaboration.started' THEN
            jsonb_build_object('partner', g.region || '-fysioterapi')
        ELSE '{}'::jsonb END AS data
) AS d;

ANALYZE bench_coord_gen;
SELECT kind, count(*) AS pathways, sum(n) AS transitions
FROM bench_coord_gen GROUP BY kind ORDER BY kind;
