#include "store_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The SQL is written as it reads, one clause a line; clang-format would
 * break the literals between the macros that compose them.
 */
/* clang-format off */

/* Events recorded this close before a build are left to the live part:
 * an event is stamped before its transaction commits, and one committing
 * while the build reads must fall on one side only. */
#define STATS_MARGIN "interval '2 minutes'"

/* The models' zones and limits as a relation: $7..$11 in the reads,
 * $2..$6 in the build. */
#define MZ_READS \
	"mz AS (SELECT * FROM unnest($7::text[], $8::text[], $9::text[], " \
	"$10::int[], $11::text[]) AS mz(model, tz, lim_kind, lim_days, " \
	"lim_levels))"
#define MZ_BUILD \
	"mz AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], " \
	"$5::int[], $6::text[]) AS mz(model, tz, lim_kind, lim_days, " \
	"lim_levels))"

/* The read's scope on rows of alias p: region $2, model $5, the token's
 * regions $6. */
#define SCOPE(p) \
	"($2::text IS NULL OR " p ".region = $2) AND ($5::text IS NULL OR " \
	p ".model = $5) AND ($6::text[] IS NULL OR " p ".region = ANY " \
	"($6::text[]))"

#define FLOW_TYPES \
	"('referral.received', 'referral.accepted', 'referral.rejected', " \
	"'treatment.started')"
#define WAIT_ENDS \
	"('treatment.started', 'referral.rejected', 'referral.withdrawn', " \
	"'pathway.closed')"

/*
 * The instant an RFC 3339 text X names (a column), read as the daemon
 * reads it (calendar_parse_timestamp): milliseconds (digits past them
 * dropped), a leap second as 23:59:59.999, and any offset it takes (up to
 * 23:59, where timestamptz input stops at 15:59 and would fail the whole
 * statement).  NULL for a text of another form.  The fields are taken by
 * position (a regular expression with captures costs tens of
 * microseconds a row).
 */
#define TIMESTAMP_OF(X) \
	"CASE WHEN " X " ~ '^\\d{4}-\\d\\d-\\d\\d[Tt]\\d\\d:\\d\\d:\\d\\d" \
	"(?:\\.\\d+)?(?:[Zz]|[+-]\\d\\d:\\d\\d)$' THEN ((left(" X ", 10) || " \
	"' ' || substr(" X ", 12, 6) || least(substr(" X ", 18, 2), '59'))" \
	"::timestamp + CASE WHEN substr(" X ", 18, 2) = '60' THEN 999 " \
	"WHEN substr(" X ", 20, 1) = '.' THEN rpad(left(substr(" X ", 21, " \
	"length(" X ") - CASE WHEN right(" X ", 1) IN ('Z', 'z') THEN 21 " \
	"ELSE 26 END), 3), 3, '0')::int ELSE 0 END * interval '1 ms' - " \
	"CASE WHEN right(" X ", 1) IN ('Z', 'z') THEN 0 ELSE " \
	"(substr(" X ", length(" X ") - 4, 2)::int * 60 + " \
	"right(" X ", 2)::int) * CASE substr(" X ", length(" X ") - 5, 1) " \
	"WHEN '-' THEN -1 ELSE 1 END END * interval '1 minute') " \
	"AT TIME ZONE 'UTC' END"

/*
 * The history, one row per transition that matters to the flow and the
 * waits, each with its referral's context: the level referred to (from
 * referral.sent), the receiving unit (the sent to_unit, the received
 * event's own unit, or the unit a free choice moved the wait to), the
 * deadline set on acceptance, and for a receipt the time its wait ended.
 * One pass of window functions over each pathway's transitions in order;
 * SOURCE yields the rows of transitions as t, each with its pathway's
 * model, region and close_reason (pw_*): all of them for the nightly
 * build, those of the pathways with flow events recorded since it for the
 * live part.
 *
 * The history as the state machine replays it (issue 12): retracted
 * events do not count; a corrected event counts with its corrections
 * applied, in the order they were recorded (the last data.occurred_at
 * given is its time, the last data.data its data): SOURCE's rows carry
 * them as retracted, fixed_at and fixed_data (NULL when uncorrected).  A
 * treatment's wait runs from its referral's receipt as corrected, not from
 * the receipt time recorded with the start (waited_since), which a later
 * correction of the receipt does not change; its paused days stay those
 * recorded with the start.  A pathway entered in error (its opening
 * retracted) has no history at all.  The order within a pathway stays the
 * recorded one: the phases these events need let a correction move them
 * only where the replay's occurred_at order is the same.
 */
#define CORRECTED_TO(KEY) \
	"(array_agg(c.data::json ->> '" KEY "' ORDER BY c.seq DESC) FILTER " \
	"(WHERE c.type = 'event.corrected' AND c.data::json ->> '" KEY "' " \
	"IS NOT NULL))[1]"
/* The corrections of the rows c of FROM, one row per corrected event
 * (KEYS: the grouping columns, the corrected seq last). */
#define FIXES(KEYS, FROM) \
	"SELECT " KEYS ", bool_or(c.type = 'event.retracted') AS retracted, " \
	CORRECTED_TO("occurred_at") " AS fixed_at, " \
	CORRECTED_TO("data") " AS fixed_data FROM " FROM " AND " \
	"c.corrects IS NOT NULL AND c.type IN ('event.corrected', " \
	"'event.retracted') GROUP BY " KEYS
/* Every transition with its corrections, for the nightly build: cx is
 * every correction, from the partial index transitions_corrects. */
#define ALL_FIXES \
	"cx AS (" FIXES("c.pathway_id, c.corrects", \
			"transitions c WHERE true") ")"
#define PATHWAY_COLUMNS \
	"p.model AS pw_model, p.region AS pw_region, " \
	"p.close_reason AS pw_close_reason"
#define ALL_TRANSITIONS \
	"(SELECT t1.*, " PATHWAY_COLUMNS ", cx.retracted, cx.fixed_at, " \
	"cx.fixed_data FROM transitions t1 JOIN pathways p USING " \
	"(pathway_id) LEFT JOIN cx ON cx.pathway_id = t1.pathway_id AND " \
	"cx.corrects = t1.seq) t"
/* The transitions of the pathways of LP (a FROM item naming pathway_id),
 * one pathway after another, each with its pathway's row and its own
 * corrections: a pathway without any costs one probe of
 * transitions_corrects, and no plan scans transitions or pathways however
 * stale their statistics (joined after the window functions, pathways was
 * hashed whole for a region's live part, seconds at a million). */
#define PATHWAY_TRANSITIONS(LP) \
	LP " CROSS JOIN LATERAL (SELECT t1.*, " PATHWAY_COLUMNS ", " \
	"cx.retracted, cx.fixed_at, cx.fixed_data FROM pathways p JOIN " \
	"transitions t1 ON t1.pathway_id = p.pathway_id LEFT JOIN (" \
	FIXES("c.corrects", "transitions c WHERE c.pathway_id = " \
	      "lp.pathway_id") ") cx ON cx.corrects = t1.seq " \
	"WHERE p.pathway_id = lp.pathway_id OFFSET 0) t"
#define HISTORY(SOURCE) \
	"t0 AS (SELECT t.pathway_id, t.seq, t.type, " \
	"CASE WHEN t.fixed_at IS NULL THEN t.occurred_at ELSE coalesce(" \
	TIMESTAMP_OF("t.fixed_at") ", t.occurred_at) END AS occurred_at, " \
	"t.recorded_at, t.to_level, t.unit, t.waited_since, t.paused_days, " \
	"coalesce(t.fixed_data, t.data) AS data, t.event, " \
	"t.pw_model AS model, t.pw_region AS region FROM " SOURCE " " \
	"WHERE t.type IN ('referral.sent', 'referral.received', " \
	"'referral.accepted', 'referral.rejected', 'referral.withdrawn', " \
	"'treatment.started', 'pathway.closed', 'free_choice.chosen') " \
	"AND t.retracted IS NOT TRUE AND t.pw_close_reason IS DISTINCT " \
	"FROM 'entered_in_error'), " \
	/* The JSON texts are read only for the rows kept. */ \
	"t1 AS (SELECT t0.*, " \
	"CASE type WHEN 'referral.sent' THEN data::json ->> 'to_level' " \
	"END AS sent_level, " \
	"CASE type WHEN 'referral.sent' THEN data::json ->> 'to_unit' " \
	"WHEN 'free_choice.chosen' THEN data::json ->> 'to_unit' " \
	"WHEN 'referral.received' THEN event::json ->> 'unit' END " \
	"AS unit_hint, " \
	"CASE type WHEN 'referral.accepted' THEN " \
	"(data::json ->> 'deadline')::date END AS deadline, " \
	"count(*) FILTER (WHERE type = 'referral.sent') " \
	"OVER (PARTITION BY pathway_id ORDER BY seq) AS refno FROM t0), " \
	"t2 AS (SELECT t1.*, " \
	"count(unit_hint) OVER (PARTITION BY pathway_id, refno ORDER BY seq) " \
	"AS ugrp, " \
	"max(sent_level) OVER (PARTITION BY pathway_id, refno) AS ref_level, " \
	"max(deadline) OVER (PARTITION BY pathway_id, refno ORDER BY seq) " \
	"AS ref_deadline, " \
	"max(occurred_at) FILTER (WHERE type = 'referral.received') OVER " \
	"(PARTITION BY pathway_id, refno ORDER BY seq) AS ref_received_at, " \
	"min(occurred_at) FILTER (WHERE type IN " WAIT_ENDS ") OVER " \
	"(PARTITION BY pathway_id ORDER BY seq ROWS BETWEEN 1 FOLLOWING AND " \
	"UNBOUNDED FOLLOWING) AS ended_at FROM t1), " \
	"t3 AS (SELECT t2.*, max(unit_hint) OVER (PARTITION BY pathway_id, " \
	"refno, ugrp) AS ref_unit FROM t2), " \
	"hist AS (SELECT t3.type, t3.occurred_at, t3.recorded_at, " \
	"t3.ended_at, CASE WHEN t3.waited_since IS NOT NULL THEN " \
	"coalesce(t3.ref_received_at, t3.waited_since) END AS waited_since, " \
	"t3.paused_days, t3.ref_deadline, " \
	"t3.model, t3.region, mz.tz, mz.lim_kind, mz.lim_days, " \
	"mz.lim_levels, " \
	"coalesce(t3.ref_level, t3.to_level) AS level, " \
	"coalesce(t3.ref_unit, t3.unit, '') AS unit, " \
	"(t3.occurred_at AT TIME ZONE mz.tz)::date AS day " \
	"FROM t3 JOIN mz ON mz.model = t3.model)"

/* A started treatment's wait and whether it was within its model's
 * limit (NULL: no limit applies), for the hist rows of days [LO, HI]
 * that meet COND. */
#define EVENTS(LO, HI, COND) \
	"ev0 AS (SELECT h.*, CASE WHEN h.type = 'treatment.started' AND " \
	"h.waited_since IS NOT NULL THEN greatest(0, h.day - " \
	"(h.waited_since AT TIME ZONE h.tz)::date - " \
	"coalesce(h.paused_days, 0)) END AS wait " \
	"FROM hist h WHERE h.type IN " FLOW_TYPES " AND h.day >= " LO " " \
	"AND h.day <= " HI " AND " COND "), " \
	"ev AS (SELECT ev0.*, CASE WHEN type <> 'treatment.started' THEN NULL " \
	"WHEN lim_kind = 'deadline' THEN CASE WHEN ref_deadline IS NOT NULL " \
	"THEN day <= ref_deadline END " \
	"WHEN lim_kind = 'days' AND wait IS NOT NULL AND (lim_levels = '' OR " \
	"strpos(',' || lim_levels || ',', ',' || level || ',') > 0) " \
	"THEN wait <= lim_days END AS within FROM ev0)"

/* ev aggregated into rows of stats_days' shape. */
#define DAY_ROWS \
	"SELECT day, region, model, level, unit, " \
	"count(*) FILTER (WHERE type = 'referral.received')::int AS received, " \
	"count(*) FILTER (WHERE type = 'referral.accepted')::int AS accepted, " \
	"count(*) FILTER (WHERE type = 'referral.rejected')::int AS rejected, " \
	"count(*) FILTER (WHERE type = 'treatment.started')::int AS started, " \
	"count(*) FILTER (WHERE within IS NOT NULL)::int AS limited, " \
	"count(*) FILTER (WHERE within)::int AS within, " \
	"coalesce(array_agg(wait ORDER BY wait) FILTER (WHERE wait IS NOT " \
	"NULL), '{}') AS waits " \
	"FROM ev GROUP BY day, region, model, level, unit"

/*
 * The days a read needs, [$1 - SPAN, $1] (SPAN an SQL integer
 * expression).  The summary holds every event recorded before its
 * watermark (stats_build.recorded_before: the last build's or addition's,
 * a little before it began, so that no event committing meanwhile falls
 * between); the events recorded since are derived live, from the pathways
 * with flow events recorded since (transitions_stats_recorded finds them).
 * Leaves sum_days (from the summary) and live (derived), both of
 * stats_days' shape and within the read's scope, and sdays, their union
 * narrowed to level $3 and unit $4.
 */
#define LIVE_PATHWAYS \
	"(SELECT DISTINCT f.pathway_id FROM transitions f, b WHERE " \
	"f.type IN " FLOW_TYPES " AND f.recorded_at >= b.mark) lp"
#define DAYS(SPAN) \
	"b AS (SELECT ($1::date - (" SPAN "))::date AS lo, " \
	"coalesce((SELECT cutoff FROM stats_build), '-infinity'::date) " \
	"AS cutoff, coalesce((SELECT recorded_before FROM stats_build), " \
	"'-infinity'::timestamptz) AS mark), " \
	HISTORY(PATHWAY_TRANSITIONS(LIVE_PATHWAYS)) ", " \
	EVENTS("(SELECT lo FROM b)", "$1::date", \
	       "h.recorded_at >= (SELECT mark FROM b)") ", " \
	"live0 AS (" DAY_ROWS "), " \
	"live AS (SELECT l.* FROM live0 l WHERE " SCOPE("l") "), " \
	"sum_days AS (SELECT s.* FROM stats_days s WHERE s.day >= " \
	"$1::date - (" SPAN ") AND s.day <= $1::date AND " SCOPE("s") "), " \
	"sdays AS (SELECT * FROM (SELECT * FROM sum_days UNION ALL " \
	"SELECT * FROM live) d WHERE ($3::text IS NULL OR level = $3) AND " \
	"($4::text IS NULL OR unit = $4))"

/* A waiting pathway's days paused up to $1. */
#define PAUSED_UNTIL_AS_OF \
	"(p.ref_paused_days + CASE WHEN p.ref_paused_on < $1::date THEN " \
	"$1::date - p.ref_paused_on ELSE 0 END)"

/* Who waits on $1 (received by then, treatment not started), within the
 * read's scope, level $3 and unit $4 of the referral, and EXTRA: one row
 * each with its days waited and paused.  The local day of the receipt
 * is stored with the pathway (ref_received_on, schema 007); a row written
 * before its model's zone was known is converted here.  Each statement
 * reads now_w once, so it is not materialised and the aggregate over it
 * can run in parallel. */
#define RECEIVED_ON \
	"coalesce(p.ref_received_on, (p.ref_received_at AT TIME ZONE " \
	"(SELECT z.tz FROM mz z WHERE z.model = p.model))::date)"
#define WAITING_NOW(EXTRA) \
	"w0 AS (SELECT p.region, p.ref_to_level AS level, " \
	"p.ref_unit AS unit, p.model, p.next_due, " \
	"p.ref_paused_on IS NOT NULL AND p.ref_paused_on <= $1::date " \
	"AS paused_now, " PAUSED_UNTIL_AS_OF " AS paused_days, " \
	RECEIVED_ON " AS received_on " \
	"FROM pathways p " \
	"WHERE p.closed_at IS NULL AND p.ref_received_at IS NOT NULL " \
	"AND " SCOPE("p") " AND ($3::text IS NULL OR p.ref_to_level = $3) " \
	"AND ($4::text IS NULL OR p.ref_unit = $4)" EXTRA "), " \
	"now_w AS (SELECT w0.*, greatest(0, $1::date - received_on - " \
	"paused_days) AS days FROM w0 WHERE received_on <= $1::date)"

/*
 * percentile_cont from counts: of the waits grouped as G(KEY..., days,
 * c, ...), the median and the 90th percentile per KEY, computed as
 * PostgreSQL computes them (the values at ranks floor and ceil of
 * p * (n - 1), interpolated), without sorting every wait; EXTRA adds
 * aggregates of G's other columns.
 */
#define RANKS(G, KEY, EXTRA) \
	"gc AS (SELECT " G ".*, sum(c) OVER (PARTITION BY " KEY \
	" ORDER BY days) AS upto, sum(c) OVER (PARTITION BY " KEY ") AS n " \
	"FROM " G "), " \
	"pq AS (SELECT " KEY ", max(n) AS n" EXTRA ", " \
	"min(days) FILTER (WHERE upto > floor(0.5::float8 * (n - 1))) AS m0, " \
	"min(days) FILTER (WHERE upto > ceil(0.5::float8 * (n - 1))) AS m1, " \
	"min(days) FILTER (WHERE upto > floor(0.9::float8 * (n - 1))) AS q0, " \
	"min(days) FILTER (WHERE upto > ceil(0.9::float8 * (n - 1))) AS q1 " \
	"FROM gc GROUP BY " KEY "), " \
	"pct AS (SELECT pq.*, " \
	"m0 + (0.5::float8 * (n - 1) - floor(0.5::float8 * (n - 1))) * " \
	"(m1 - m0) AS median, " \
	"q0 + (0.9::float8 * (n - 1) - floor(0.9::float8 * (n - 1))) * " \
	"(q1 - q0) AS p90 FROM pq)"

/* The running clocks, each with the level and unit it is counted under:
 * the referral's, the level review's the pathway's own. */
#define CLOCK_VALUES(P) \
	"(VALUES ('transit', " P ".due_transit, " P ".ref_to_level, " \
	P ".ref_unit), " \
	"('assessment', " P ".due_assessment, " P ".ref_to_level, " \
	P ".ref_unit), " \
	"('treatment', " P ".due_treatment, " P ".ref_to_level, " \
	P ".ref_unit), " \
	"('free_choice', " P ".due_free_choice, " P ".ref_to_level, " \
	P ".ref_unit), " \
	"('level_review', " P ".due_level_review, " P ".level, " P ".unit)) " \
	"AS v(rule, due, level, unit)"

/* A paused clock in the clocks text: its fourth field is a date where a
 * running one has "-".  The index predicate's form, and the rule's. */
#define PAUSED_ANY STATS_PAUSED_ANY
#define PAUSED_RULE "'(?:^|;)([a-z_]+) \\S+ -?\\d+ \\d'"

/* A referral clock's level and unit are the referral's; the level
 * review's the pathway's own. */
#define REF_FILTER \
	"($3::text IS NULL OR p.ref_to_level = $3) AND " \
	"($4::text IS NULL OR p.ref_unit = $4)"
#define OWN_FILTER \
	"($3::text IS NULL OR p.level = $3) AND ($4::text IS NULL OR p.unit = $4)"
#define RULE_COUNTS(DUE, F) \
	"count(*) FILTER (WHERE p." DUE " IS NOT NULL AND " F "), " \
	"count(*) FILTER (WHERE p." DUE " < $1::date AND " F ")"

/* Each pathway is read once (an index-only scan of the clocks index),
 * every rule counted by FILTER, the counts unfolded per rule after. */
#define CLOCKS_SQL \
	"WITH c AS (SELECT p.model, " \
	RULE_COUNTS("due_transit", REF_FILTER) ", " \
	RULE_COUNTS("due_assessment", REF_FILTER) ", " \
	RULE_COUNTS("due_treatment", REF_FILTER) ", " \
	RULE_COUNTS("due_free_choice", REF_FILTER) ", " \
	RULE_COUNTS("due_level_review", OWN_FILTER) " " \
	"FROM pathways p WHERE p.closed_at IS NULL AND p.next_due IS NOT NULL " \
	"AND " SCOPE("p") " GROUP BY p.model), " \
	"r AS (SELECT c.model, v.rule, v.n, v.o FROM c AS c(model, tn, tov, " \
	"an, ao, mn, mo, fn, fo, ln, lo) CROSS JOIN LATERAL (VALUES " \
	"('transit', tn, tov), ('assessment', an, ao), ('treatment', mn, mo), " \
	"('free_choice', fn, fo), ('level_review', ln, lo)) AS v(rule, n, o)), " \
	/* The paused ones: the index on the clocks text finds them. */ \
	"pz AS (SELECT p.model, m[1] AS rule FROM pathways p " \
	"CROSS JOIN LATERAL regexp_matches(p.clocks, " PAUSED_RULE ", 'g') " \
	"AS m WHERE p.closed_at IS NULL AND p.clocks ~ " PAUSED_ANY " " \
	"AND " SCOPE("p") " " \
	"AND ($3::text IS NULL OR CASE WHEN m[1] = 'level_review' " \
	"THEN p.level ELSE p.ref_to_level END = $3) " \
	"AND ($4::text IS NULL OR CASE WHEN m[1] = 'level_review' " \
	"THEN p.unit ELSE p.ref_unit END = $4)), " \
	"a AS (SELECT model, rule, n AS running, o AS overdue, 0 AS paused " \
	"FROM r UNION ALL SELECT model, rule, 0, 0, count(*) FROM pz " \
	"GROUP BY 1, 2) " \
	"SELECT model, rule, sum(running)::int, sum(overdue)::int, " \
	"sum(paused)::int, CASE WHEN sum(running) > 0 THEN " \
	"round((sum(running) - sum(overdue)) / sum(running), 4) END " \
	"FROM a GROUP BY 1, 2 HAVING sum(running) + sum(paused) > 0 " \
	"ORDER BY 1, 2"

static const char clocks_sql[] = CLOCKS_SQL;

#define WAITING_SQL \
	"WITH " MZ_READS ", " WAITING_NOW("") ", " DAYS("89") ", " \
	/* In the index's order, unit after unit: each unit's waits are \
	 * sorted on their own, never all of them at once. */ \
	"w AS (SELECT region, level, unit, count(*) AS n, " \
	"percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median, " \
	"percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90, " \
	"count(*) FILTER (WHERE paused_now) AS paused_now, " \
	"sum(paused_days) AS paused_days, count(next_due) AS clocked, " \
	"count(*) FILTER (WHERE next_due < $1::date) AS overdue " \
	"FROM now_w GROUP BY region, level, unit), " \
	/* Completed waits: treatments started in the 90 days to $1. */ \
	"dw AS (SELECT region, level, nullif(unit, '') AS unit, w FROM sdays " \
	"CROSS JOIN LATERAL unnest(waits) AS w), " \
	"d AS (SELECT region, level, unit, count(*) AS n, " \
	"percentile_cont(0.5) WITHIN GROUP (ORDER BY w) AS median, " \
	"percentile_cont(0.9) WITHIN GROUP (ORDER BY w) AS p90 " \
	"FROM dw GROUP BY 1, 2, 3), " \
	"ds AS (SELECT region, level, nullif(unit, '') AS unit, " \
	"sum(started) AS started, sum(limited) AS limited, " \
	"sum(within) AS within FROM sdays GROUP BY 1, 2, 3), " \
	"j AS (SELECT coalesce(w.region, ds.region) AS region, " \
	"coalesce(w.level, ds.level) AS level, " \
	"coalesce(w.unit, ds.unit) AS unit, w.n, w.median, w.p90, " \
	"w.paused_now, w.paused_days, w.clocked, w.overdue, " \
	"d.median AS dmedian, d.p90 AS dp90, ds.started, ds.limited, " \
	"ds.within FROM w FULL JOIN ds ON ds.region = w.region " \
	"AND ds.level = w.level AND ds.unit IS NOT DISTINCT FROM w.unit " \
	"LEFT JOIN d ON d.region = ds.region AND d.level = ds.level " \
	"AND d.unit IS NOT DISTINCT FROM ds.unit) " \
	"SELECT coalesce(json_agg(json_build_object('region', region, " \
	"'level', level, 'unit', unit, 'waiting_now', coalesce(n, 0), " \
	"'waiting_now_median_days', median, 'waiting_now_p90_days', p90, " \
	"'paused_now', coalesce(paused_now, 0), " \
	"'paused_days', coalesce(paused_days, 0), " \
	"'with_clock', coalesce(clocked, 0), 'overdue', coalesce(overdue, 0), " \
	"'within_limit_share', CASE WHEN clocked > 0 THEN " \
	"round((clocked - overdue)::numeric / clocked, 4) END, " \
	"'completed_90d', coalesce(started, 0), " \
	"'completed_median_days', dmedian, 'completed_p90_days', dp90, " \
	"'completed_within_limit_share', CASE WHEN limited > 0 THEN " \
	"round(within::numeric / limited, 4) END) " \
	"ORDER BY region, level, unit), '[]')::text FROM j"

static const char waiting_sql[] = WAITING_SQL;

/* The same as rows, for CSV. */
static const char waiting_rows_sql[] =
	"SELECT x.* FROM json_to_recordset((" WAITING_SQL ")::json) AS "
	"x(region text, level text, unit text, waiting_now int, "
	"waiting_now_median_days numeric, waiting_now_p90_days numeric, "
	"paused_now int, paused_days int, with_clock int, overdue int, "
	"within_limit_share numeric, completed_90d int, "
	"completed_median_days numeric, completed_p90_days numeric, "
	"completed_within_limit_share numeric)";

#define HISTOGRAM_RULE \
	" AND ($12::text IS NULL OR CASE $12 " \
	"WHEN 'transit' THEN p.due_transit " \
	"WHEN 'assessment' THEN p.due_assessment " \
	"WHEN 'treatment' THEN p.due_treatment " \
	"WHEN 'free_choice' THEN p.due_free_choice " \
	"END IS NOT NULL " \
	"OR (p.ref_paused_on IS NOT NULL AND EXISTS (SELECT 1 FROM " \
	"pathways q WHERE q.pathway_id = p.pathway_id AND q.clocks ~ " \
	"('(^|;)' || $12 || ' \\S+ -?\\d+ \\d'))))"

#define HISTOGRAM_SQL \
	"WITH " MZ_READS ", " WAITING_NOW(HISTOGRAM_RULE) ", " \
	"g AS (SELECT 1 AS k, days, count(*) AS c, count(*) FILTER (WHERE " \
	"paused_now) AS pn FROM now_w GROUP BY days), " \
	RANKS("g", "k", "") ", " \
	"s AS (SELECT coalesce(sum(c), 0) AS n, coalesce(sum(pn), 0) AS " \
	"paused, max(days / 7) AS top FROM g), " \
	"h AS (SELECT days / 7 AS band, sum(c) AS n FROM g GROUP BY 1) " \
	"SELECT s.n, s.paused, (SELECT median FROM pct), (SELECT p90 FROM " \
	"pct), (SELECT coalesce(json_agg(json_build_object('from_days', g * 7, " \
	"'to_days', g * 7 + 6, 'count', coalesce(h.n, 0)) ORDER BY g), '[]') " \
	"FROM generate_series(0, s.top) AS g LEFT JOIN h ON h.band = g)::text " \
	"FROM s"

static const char histogram_sql[] = HISTOGRAM_SQL;

/* The months: those before the cutoff's month from stats_months, the
 * rest from the days. */
/* The days of as_of's month; the months before come from stats_months
 * (a month between the summary's last and as_of's shows no treatments:
 * the nightly build has not run for a month then). */
#define TREND_SPAN "$1::date - date_trunc('month', $1::date)::date"

#define TREND_SQL \
	"WITH " MZ_READS ", " WAITING_NOW("") ", " DAYS(TREND_SPAN) ", " \
	"months AS (SELECT (date_trunc('month', $1::date) - " \
	"k * interval '1 month')::date AS month " \
	"FROM generate_series(0, $12::int - 1) AS k), " \
	"sm AS (SELECT s.* FROM stats_months s, b " \
	"WHERE s.month >= (SELECT min(month) FROM months) " \
	"AND s.month < date_trunc('month', b.cutoff) AND " SCOPE("s") " " \
	"AND ($3::text IS NULL OR s.level = $3) " \
	"AND ($4::text IS NULL OR s.unit = $4)), " \
	/* The cutoff's month and after from the days and the live events \
	 * of that span; a month before the cutoff's is the summary's alone \
	 * (an event of it recorded late shows after the next build, as the \
	 * README says). */ \
	"dm AS (SELECT date_trunc('month', d.day)::date AS month, " \
	"d.started, d.limited, d.within, d.waits " \
	"FROM (SELECT s.* FROM sum_days s, b " \
	"WHERE s.day >= date_trunc('month', b.cutoff) " \
	"UNION ALL SELECT * FROM live) d " \
	"WHERE ($3::text IS NULL OR d.level = $3) " \
	"AND ($4::text IS NULL OR d.unit = $4)), " \
	"src AS (SELECT month, waiting_at_end, started, limited, within, " \
	"waits FROM sm UNION ALL SELECT month, 0, started, limited, within, " \
	"waits FROM dm), " \
	"agg AS (SELECT month, sum(waiting_at_end) AS waiting, " \
	"sum(started) AS started, sum(limited) AS limited, " \
	"sum(within) AS within FROM src GROUP BY 1), " \
	/* Percentiles from the count of each wait in each month. */ \
	"g AS (SELECT month, w AS days, count(*) AS c FROM src CROSS JOIN " \
	"LATERAL unnest(waits) AS w GROUP BY 1, 2), " \
	RANKS("g", "month", "") ", " \
	/* as_of's month ends now: who waits is counted from the pathways. \
	 * Months after the summary and before as_of's are not known. */ \
	"cur AS (SELECT count(*) AS n FROM now_w) " \
	"SELECT coalesce(json_agg(json_build_object(" \
	"'month', to_char(m.month, 'YYYY-MM'), " \
	"'waiting_at_end', CASE WHEN m.month = date_trunc('month', $1::date) " \
	"THEN (SELECT n FROM cur) " \
	"WHEN m.month < date_trunc('month', (SELECT cutoff FROM b)) " \
	"THEN coalesce(a.waiting, 0) END, " \
	"'started', coalesce(a.started, 0), " \
	"'median_days', p.median, 'p90_days', p.p90, " \
	"'within_limit_share', CASE WHEN a.limited > 0 THEN " \
	"round(a.within::numeric / a.limited, 4) END) ORDER BY m.month), " \
	"'[]')::text FROM months m LEFT JOIN agg a ON a.month = m.month " \
	"LEFT JOIN pct p ON p.month = m.month"

static const char trend_sql[] = TREND_SQL;

#define FLOW_SPAN \
	"$1::date - (date_trunc('week', $1::date) - " \
	"($12::int - 1) * interval '1 week')::date"

static const char flow_sql[] =
	"WITH " MZ_READS ", " DAYS(FLOW_SPAN) ", "
	"weeks AS (SELECT (date_trunc('week', $1::date) - "
	"k * interval '1 week')::date AS monday "
	"FROM generate_series(0, $12::int - 1) AS k), "
	"a AS (SELECT date_trunc('week', day)::date AS monday, "
	"sum(received) AS received, sum(accepted) AS accepted, "
	"sum(rejected) AS rejected, sum(started) AS started "
	"FROM sdays GROUP BY 1) "
	"SELECT coalesce(json_agg(json_build_object("
	"'week', to_char(w.monday, 'IYYY-\"W\"IW'), "
	"'from', w.monday::text, 'received', coalesce(a.received, 0), "
	"'accepted', coalesce(a.accepted, 0), "
	"'rejected', coalesce(a.rejected, 0), "
	"'started', coalesce(a.started, 0)) ORDER BY w.monday), '[]')::text "
	"FROM weeks w LEFT JOIN a ON a.monday = w.monday";

/* One rule's clocks due in the window, in due order from its own index,
 * at most $8 of them. */
#define DUE_IN_WINDOW(RULE, DUE, UNIT) \
	"(SELECT p.pathway_id, p.patient_id, p.model, p.region, p.level, " \
	"'" RULE "' AS rule, p." DUE " AS due, p." UNIT " AS unit " \
	"FROM pathways p WHERE p.closed_at IS NULL " \
	"AND p." DUE " >= $1::date AND p." DUE " <= $1::date + $7::int " \
	"AND ($5::text IS NULL OR $5 = '" RULE "') " \
	"AND ($2::text IS NULL OR p.region = $2) " \
	"AND ($3::text IS NULL OR p.level = $3) " \
	"AND ($4::text IS NULL OR p." UNIT " = $4) " \
	"AND ($6::text[] IS NULL OR p.region = ANY ($6::text[])) " \
	"ORDER BY p." DUE " LIMIT $8::int)"

/* The clocks due in the window (each rule's own index holds them in due
 * order), and the escalation of the same pathway, rule and due date if a
 * night's report listed it, with its acknowledgement. */
static const char deadlines_sql[] =
	"WITH c AS (" DUE_IN_WINDOW("transit", "due_transit", "ref_unit")
	" UNION ALL " DUE_IN_WINDOW("assessment", "due_assessment", "ref_unit")
	" UNION ALL " DUE_IN_WINDOW("treatment", "due_treatment", "ref_unit")
	" UNION ALL "
	DUE_IN_WINDOW("free_choice", "due_free_choice", "ref_unit")
	" UNION ALL " DUE_IN_WINDOW("level_review", "due_level_review", "unit")
	") "
	"SELECT c.pathway_id, c.patient_id, c.model, c.region, c.level, "
	"c.rule, c.due::text, c.due - $1::date, c.unit, e.escalation_id, "
	"e.acked_by, to_char(e.acked_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), e.ack_note, e.ack_claimed_by "
	"FROM c LEFT JOIN escalations e ON e.pathway_id = c.pathway_id "
	"AND e.rule = c.rule AND e.due = c.due "
	"ORDER BY c.due, c.region, c.pathway_id, c.rule LIMIT $8::int";

/* The events a build summarises: those recorded before its watermark. */
#define BUILD_EVENTS \
	EVENTS("'-infinity'::date", "'infinity'::date", \
	       "h.recorded_at < now() - " STATS_MARGIN)

/* Waiting at the end of each month: a receipt waits from its time to the
 * first event that ended it (or on), and is counted at every month's end
 * (local midnight) in between, up to the cutoff's month. */
#define BUILD_ENDS \
	"ends AS (SELECT m::date AS month, h.region, h.model, h.level, " \
	"h.unit, count(*) AS n FROM hist h CROSS JOIN LATERAL " \
	"generate_series(date_trunc('month', h.occurred_at AT TIME ZONE h.tz), " \
	"least(date_trunc('month', coalesce(h.ended_at AT TIME ZONE h.tz, " \
	"$1::date::timestamp)), date_trunc('month', $1::date::timestamp)) " \
	"- interval '1 month', interval '1 month') AS m " \
	"WHERE h.type = 'referral.received' GROUP BY 1, 2, 3, 4, 5)"

/* The months before the cutoff's: who waited at their end, and their
 * started treatments. */
#define BUILD_MONTHS \
	"ins_m AS (INSERT INTO stats_months SELECT month, region, model, " \
	"level, unit, coalesce(max(n), 0), count(started), count(limited), " \
	"count(within), coalesce(array_agg(w ORDER BY w) FILTER " \
	"(WHERE w IS NOT NULL), '{}') " \
	"FROM (SELECT month, region, model, level, unit, n, " \
	"NULL::int AS started, NULL::int AS limited, NULL::int AS within, " \
	"NULL::int AS w FROM ends " \
	"UNION ALL SELECT date_trunc('month', e.day)::date, e.region, " \
	"e.model, e.level, e.unit, NULL, " \
	"CASE WHEN e.type = 'treatment.started' THEN 1 END, " \
	"CASE WHEN e.within IS NOT NULL THEN 1 END, " \
	"CASE WHEN e.within THEN 1 END, e.wait FROM ev e " \
	"WHERE e.day < date_trunc('month', $1::date)) u " \
	"GROUP BY 1, 2, 3, 4, 5 RETURNING 1)"

#define BUILD_RECORD \
	"rec AS (INSERT INTO stats_build (cutoff, recorded_before, built_at, " \
	"built_by, days_rows, month_rows, millis) SELECT $1::date, " \
	"now() - " STATS_MARGIN ", now(), $7, " \
	"(SELECT count(*) FROM ins_d), (SELECT count(*) FROM ins_m), " \
	"(extract(epoch FROM clock_timestamp() - now()) * 1000)::int " \
	"ON CONFLICT (only_row) DO UPDATE SET cutoff = EXCLUDED.cutoff, " \
	"recorded_before = EXCLUDED.recorded_before, " \
	"built_at = EXCLUDED.built_at, built_by = EXCLUDED.built_by, " \
	"days_rows = EXCLUDED.days_rows, month_rows = EXCLUDED.month_rows, " \
	"millis = EXCLUDED.millis RETURNING days_rows, month_rows)"

/* The summary from the whole history, after STATS_BUILD_CLEAR in the
 * same transaction: readers see the old summary or the new, never half. */
static const char build_sql[] =
	"WITH " MZ_BUILD ", " ALL_FIXES ", " HISTORY(ALL_TRANSITIONS) ", "
	BUILD_EVENTS ", "
	"ins_d AS (INSERT INTO stats_days " DAY_ROWS " RETURNING 1), "
	BUILD_ENDS ", " BUILD_MONTHS ", " BUILD_RECORD " "
	"SELECT days_rows, month_rows FROM rec";

/*
 * An addition to the summary (every few minutes): the events recorded
 * since its watermark, added to their days' and months' rows, the
 * watermark moved on.  Corrections and retractions of summarised events
 * (an opening retracted too) wait for the next nightly build.  $1..$5 the
 * models.
 */
#define ADD_MARKS \
	"b AS (SELECT recorded_before AS mark, now() - " STATS_MARGIN \
	" AS upto, cutoff FROM stats_build)"
#define ADD_PATHWAYS \
	"(SELECT DISTINCT f.pathway_id FROM transitions f, b WHERE " \
	"f.type IN " FLOW_TYPES " AND f.recorded_at >= b.mark AND " \
	"f.recorded_at < b.upto) lp"
#define MERGED_WAITS(T) \
	"ARRAY(SELECT w FROM unnest(" T ".waits || EXCLUDED.waits) AS w " \
	"ORDER BY w)"
#define ADD_DAYS \
	"up_d AS (INSERT INTO stats_days SELECT * FROM d ON CONFLICT (day, " \
	"region, model, level, unit) DO UPDATE SET " \
	"received = stats_days.received + EXCLUDED.received, " \
	"accepted = stats_days.accepted + EXCLUDED.accepted, " \
	"rejected = stats_days.rejected + EXCLUDED.rejected, " \
	"started = stats_days.started + EXCLUDED.started, " \
	"limited = stats_days.limited + EXCLUDED.limited, " \
	"within = stats_days.within + EXCLUDED.within, " \
	"waits = " MERGED_WAITS("stats_days") " RETURNING 1)"
/* Days of months before the cutoff's add to those months too. */
#define ADD_MONTHS \
	"dm AS (SELECT date_trunc('month', d.day)::date AS month, d.region, " \
	"d.model, d.level, d.unit, d.started, d.limited, d.within, d.waits " \
	"FROM d, b WHERE d.day < date_trunc('month', b.cutoff)), " \
	"mc AS (SELECT month, region, model, level, unit, " \
	"sum(started)::int AS started, sum(limited)::int AS limited, " \
	"sum(within)::int AS within FROM dm GROUP BY 1, 2, 3, 4, 5), " \
	"mw AS (SELECT month, region, model, level, unit, array_agg(w ORDER " \
	"BY w) AS waits FROM dm CROSS JOIN LATERAL unnest(dm.waits) AS w " \
	"GROUP BY 1, 2, 3, 4, 5), " \
	"m AS (SELECT mc.month, mc.region, mc.model, mc.level, mc.unit, 0, " \
	"mc.started, mc.limited, mc.within, coalesce(mw.waits, '{}') FROM mc " \
	"LEFT JOIN mw USING (month, region, model, level, unit)), " \
	"up_m AS (INSERT INTO stats_months SELECT * FROM m ON CONFLICT " \
	"(month, region, model, level, unit) DO UPDATE SET " \
	"started = stats_months.started + EXCLUDED.started, " \
	"limited = stats_months.limited + EXCLUDED.limited, " \
	"within = stats_months.within + EXCLUDED.within, " \
	"waits = " MERGED_WAITS("stats_months") " RETURNING 1)"

static const char add_sql[] =
	"WITH mz AS (SELECT * FROM unnest($1::text[], $2::text[], "
	"$3::text[], $4::int[], $5::text[]) AS mz(model, tz, lim_kind, "
	"lim_days, lim_levels)), " ADD_MARKS ", "
	HISTORY(PATHWAY_TRANSITIONS(ADD_PATHWAYS)) ", "
	EVENTS("'-infinity'::date", "'infinity'::date",
	       "h.recorded_at >= (SELECT mark FROM b) AND h.recorded_at < "
	       "(SELECT upto FROM b)") ", "
	"d AS (" DAY_ROWS "), " ADD_DAYS ", " ADD_MONTHS ", "
	"rec AS (UPDATE stats_build SET recorded_before = (SELECT upto FROM "
	"b) RETURNING 1) "
	"SELECT (SELECT count(*) FROM up_d), (SELECT count(*) FROM up_m), "
	"(SELECT count(*) FROM rec)";

/*
 * The whole country's answers from snapshots (schema 008).  A read
 * (SNAPSHOT_READ) takes the rows of its statement's snapshot of $1 when
 * one was computed within SNAPSHOT_FRESH, with the time it was computed
 * as a last column (snapshot_at), and else runs the statement itself (its
 * rows with snapshot_at NULL): the NOT EXISTS is decided once, before the
 * statement would run.  A refresh (SNAPSHOT_REFRESH) writes the rows of
 * the statement, named by NAMES, unless a daemon has within
 * SNAPSHOT_REFRESH_AFTER or holds the lock now.
 */
#define SNAPSHOT_FRESH "interval '60 seconds'"
#define SNAPSHOT_REFRESH_AFTER "interval '25 seconds'"
/* "snapshot" in ASCII. */
#define SNAPSHOT_LOCK_KEY "115110097112"
#define SNAPSHOT_READ(NAME, COLS, LIVE) \
	"WITH snap AS MATERIALIZED (SELECT s.rows, s.computed_at " \
	"FROM stats_snapshots s WHERE s.name = '" NAME "' AND " \
	"s.as_of = $1::date AND s.computed_at > now() - " SNAPSHOT_FRESH ") " \
	"SELECT r.*, to_char(snap.computed_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS snapshot_at FROM snap " \
	"CROSS JOIN LATERAL json_to_recordset(snap.rows) AS r(" COLS ") " \
	"UNION ALL SELECT l.*, NULL FROM (" LIVE ") l " \
	"WHERE NOT EXISTS (SELECT 1 FROM snap)"
#define SNAPSHOT_REFRESH(NAME, NAMES, LIVE) \
	"INSERT INTO stats_snapshots (name, as_of, computed_at, rows) " \
	"SELECT '" NAME "', $1::date, now(), (SELECT json_agg(l) FROM (" \
	LIVE ") AS l(" NAMES ")) WHERE pg_try_advisory_xact_lock(" \
	SNAPSHOT_LOCK_KEY ") AND NOT EXISTS (SELECT 1 FROM stats_snapshots " \
	"s WHERE s.name = '" NAME "' AND s.as_of = $1::date AND " \
	"s.computed_at > now() - " SNAPSHOT_REFRESH_AFTER ") " \
	"ON CONFLICT (name) DO UPDATE SET as_of = EXCLUDED.as_of, " \
	"computed_at = EXCLUDED.computed_at, rows = EXCLUDED.rows"

/* Each statement's columns, in its order: names, and names with types
 * (as the statement's own: read back, they print as it prints them). */
#define CLOCKS_NAMES "model, rule, running, overdue, paused, share"
#define CLOCKS_COLS \
	"model text, rule text, running int, overdue int, paused int, " \
	"share numeric"
#define HISTOGRAM_NAMES "waiting, paused, median, p90, bands"
#define HISTOGRAM_COLS \
	"waiting numeric, paused numeric, median float8, p90 float8, " \
	"bands text"
#define BODY_NAMES "body"
#define BODY_COLS "body text"

const char *const store_stats_sql[STATS_STMT_COUNT] = {
	[STATS_CLOCKS] = clocks_sql,
	[STATS_WAITING] = waiting_sql,
	[STATS_WAITING_ROWS] = waiting_rows_sql,
	[STATS_HISTOGRAM] = histogram_sql,
	[STATS_TREND] = trend_sql,
	[STATS_FLOW] = flow_sql,
	[STATS_DEADLINES] = deadlines_sql,
	[STATS_BUILD_CLEAR] =
		"WITH d AS (DELETE FROM stats_days) DELETE FROM stats_months",
	[STATS_BUILD] = build_sql,
	[STATS_BUILD_ADD] = add_sql,
	[STATS_BUILD_TIMEOUT] = "SET LOCAL statement_timeout = '30min'",
	[STATS_NO_JIT] = "SELECT set_config('jit', 'off', false), "
			 "set_config('work_mem', '32MB', false)",
	[STATS_CLOCKS_SNAPSHOT] = SNAPSHOT_READ("clocks", CLOCKS_COLS,
						CLOCKS_SQL) " ORDER BY 1, 2",
	[STATS_WAITING_SNAPSHOT] = SNAPSHOT_READ("waiting", BODY_COLS,
						 WAITING_SQL),
	[STATS_HISTOGRAM_SNAPSHOT] = SNAPSHOT_READ("histogram",
						   HISTOGRAM_COLS,
						   HISTOGRAM_SQL),
	[STATS_TREND_SNAPSHOT] = SNAPSHOT_READ("trend", BODY_COLS, TREND_SQL),
	[STATS_CLOCKS_REFRESH] = SNAPSHOT_REFRESH("clocks", CLOCKS_NAMES,
						  CLOCKS_SQL),
	[STATS_WAITING_REFRESH] = SNAPSHOT_REFRESH("waiting", BODY_NAMES,
						   WAITING_SQL),
	[STATS_HISTOGRAM_REFRESH] = SNAPSHOT_REFRESH("histogram",
						     HISTOGRAM_NAMES,
						     HISTOGRAM_SQL),
	[STATS_TREND_REFRESH] = SNAPSHOT_REFRESH("trend", BODY_NAMES,
						 TREND_SQL),
	[STATS_PATHWAYS_ESTIMATE] = "SELECT reltuples::bigint FROM pg_class "
				    "WHERE oid = 'pathways'::regclass",
	[STATS_BUILD_STATE] =
		"SELECT cutoff::text, to_char(built_at AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM stats_build",
};

/* clang-format on */

/* --- the models as parameters -------------------------------------------- */

static int duration_days(struct duration d)
{
	switch (d.unit) {
	case DUR_DAYS:
		return d.n;
	case DUR_WORKING_DAYS:
		return (d.n * 7 + 4) / 5;
	case DUR_MONTHS:
		return d.n * 30;
	default:
		return -1;
	}
}

static void levels_text(unsigned mask, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (int l = 0; l < LEVEL_COUNT && mask != 0; l++)
		if (mask & (1u << l))
			used += (size_t)snprintf(
				out + used, used < len ? len - used : 0, "%s%s",
				used ? "," : "", domain_level_name(l));
}

void stats_wait_limit(const struct model *m, const char **kind, int *days,
		      char *levels, size_t levels_len)
{
	const struct clock_rule *c = &m->clocks[RULE_TREATMENT];

	if (!c->enabled)
		c = &m->clocks[RULE_FREE_CHOICE];
	*kind = NULL;
	*days = -1;
	levels[0] = '\0';
	if (!c->enabled)
		return;
	levels_text(c->levels, levels, levels_len);
	if (c->duration.unit == DUR_DEADLINE) {
		*kind = "deadline";
		return;
	}
	*days = duration_days(c->duration);
	*kind = *days >= 0 ? "days" : NULL;
}

bool stats_models_init(struct stats_models *m, const struct model_set *set)
{
	pgarray_init(&m->keys);
	pgarray_init(&m->zones);
	pgarray_init(&m->limit_kinds);
	pgarray_init(&m->limit_days);
	pgarray_init(&m->limit_levels);
	for (size_t i = 0; i < set->count; i++) {
		const struct model *md = &set->models[i];
		const char *kind;
		char levels[64];
		int days;

		stats_wait_limit(md, &kind, &days, levels, sizeof(levels));
		pgarray_add(&m->keys, md->key);
		pgarray_add(&m->zones, md->time_zone);
		pgarray_add(&m->limit_kinds, kind);
		if (days >= 0)
			pgarray_addf(&m->limit_days, "%d", days);
		else
			pgarray_add(&m->limit_days, NULL);
		pgarray_add(&m->limit_levels, levels);
	}
	return pgarray_text(&m->keys) && pgarray_text(&m->zones) &&
	       pgarray_text(&m->limit_kinds) && pgarray_text(&m->limit_days) &&
	       pgarray_text(&m->limit_levels);
}

void stats_models_free(struct stats_models *m)
{
	pgarray_free(&m->keys);
	pgarray_free(&m->zones);
	pgarray_free(&m->limit_kinds);
	pgarray_free(&m->limit_days);
	pgarray_free(&m->limit_levels);
}

void stats_models_params(const struct stats_models *m, const char **out5)
{
	/* pgarray_text only appends the closing brace: the texts are
	 * complete once stats_models_init succeeded. */
	out5[0] = m->keys.buf;
	out5[1] = m->zones.buf;
	out5[2] = m->limit_kinds.buf;
	out5[3] = m->limit_days.buf;
	out5[4] = m->limit_levels.buf;
}

/* --- limits and rows as JSON --------------------------------------------- */

static const char *const duration_units[] = {
	[DUR_DAYS] = "days",
	[DUR_WORKING_DAYS] = "working_days",
	[DUR_MONTHS] = "months",
};

json_t *stats_rule_limit_json(const struct model *m, enum rule r)
{
	struct duration d = m->clocks[r].duration;

	if (!m->clocks[r].enabled || d.unit == DUR_NONE ||
	    d.unit == DUR_DEADLINE)
		return json_null();
	return json_pack("{s:s, s:i}", "unit", duration_units[d.unit], "n",
			 d.n);
}

int stats_rule_limit_days(const struct model *m, enum rule r)
{
	return m->clocks[r].enabled ? duration_days(m->clocks[r].duration) : -1;
}

static json_t *text_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? json_null()
		       : json_string(PQgetvalue(res, row, col));
}

enum deadline_column {
	DL_PATHWAY,
	DL_PATIENT,
	DL_MODEL,
	DL_REGION,
	DL_LEVEL,
	DL_RULE,
	DL_DUE,
	DL_DAYS_LEFT,
	DL_UNIT,
	DL_ESCALATION,
	DL_ACKED_BY,
	DL_ACKED_AT,
	DL_NOTE,
	DL_CLAIMED,
};

json_t *stats_deadline_json(const PGresult *res, int row)
{
	json_t *ack = json_null(), *esc = json_null();

	if (!PQgetisnull(res, row, DL_ESCALATION))
		esc = json_integer(
			strtoll(PQgetvalue(res, row, DL_ESCALATION), NULL, 10));
	if (!PQgetisnull(res, row, DL_ACKED_AT))
		ack = json_pack("{s:o, s:o, s:o, s:o}", "by",
				text_or_null(res, row, DL_ACKED_BY), "at",
				text_or_null(res, row, DL_ACKED_AT), "note",
				text_or_null(res, row, DL_NOTE), "claimed_by",
				text_or_null(res, row, DL_CLAIMED));
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:o}",
		"pathway_id", text_or_null(res, row, DL_PATHWAY), "patient_id",
		text_or_null(res, row, DL_PATIENT), "model",
		text_or_null(res, row, DL_MODEL), "region",
		text_or_null(res, row, DL_REGION), "level",
		text_or_null(res, row, DL_LEVEL), "rule",
		text_or_null(res, row, DL_RULE), "due",
		text_or_null(res, row, DL_DUE), "days_left",
		atoi(PQgetvalue(res, row, DL_DAYS_LEFT)), "responsible_unit",
		text_or_null(res, row, DL_UNIT), "escalation_id", esc,
		"acknowledged", ack);
}

/* --- the zones at start ----------------------------------------------------
 */

static const char zones_sql[] =
	"WITH m AS (SELECT * FROM unnest($1::text[], $2::text[]) AS m(model, "
	"tz)), up AS (INSERT INTO stats_zones SELECT * FROM m ON CONFLICT "
	"(model) DO UPDATE SET tz = EXCLUDED.tz WHERE stats_zones.tz <> "
	"EXCLUDED.tz RETURNING model) "
	"SELECT coalesce(array_agg(model), '{}')::text FROM up";

/* The receipts without a day (pathways_received_on_missing finds them),
 * and all of a model whose zone changed.  Without a changed zone the OR
 * is left out: it kept the planner from the partial index, a scan of
 * every pathway at each start (1 s at a million). */
#define RECEIVED_ON_SET                                                        \
	"UPDATE pathways p SET ref_received_on = (p.ref_received_at AT TIME "  \
	"ZONE z.tz)::date FROM stats_zones z WHERE z.model = p.model AND "     \
	"p.ref_received_at IS NOT NULL AND "
static const char received_on_sql[] =
	RECEIVED_ON_SET "(p.ref_received_on IS NULL OR "
			"p.model = ANY ($1::text[]))";
static const char received_on_missing_sql[] =
	RECEIVED_ON_SET "p.ref_received_on IS NULL";

static bool exec_ok(PGresult *res, char *err, size_t errlen)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return true;
	snprintf(err, errlen, "%s", PQresultErrorMessage(res));
	return false;
}

bool stats_zones_sync(PGconn *conn, const struct model_set *set, long *updated,
		      char *err, size_t errlen)
{
	struct stats_models m;
	const char *p[5];
	PGresult *zones = NULL, *days = NULL;
	bool ok = false;

	*updated = 0;
	if (!stats_models_init(&m, set)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	stats_models_params(&m, p);
	zones = PQexecParams(conn, zones_sql, 2, NULL, p, NULL, NULL, 0);
	if (!exec_ok(zones, err, errlen))
		goto out;
	p[0] = PQgetvalue(zones, 0, 0);
	days = strcmp(p[0], "{}") == 0 ? PQexec(conn, received_on_missing_sql)
				       : PQexecParams(conn, received_on_sql, 1,
						      NULL, p, NULL, NULL, 0);
	if (!exec_ok(days, err, errlen))
		goto out;
	*updated = atol(PQcmdTuples(days));
	ok = true;
out:
	PQclear(zones);
	PQclear(days);
	stats_models_free(&m);
	return ok;
}
