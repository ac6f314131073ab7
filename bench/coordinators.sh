#!/usr/bin/env bash
# The coordinators' benchmark (issue 4): worklist pages and the night's
# escalation report against one million pathways.  See
# bench/coordinators-README.
#
#   BUILD=build-bench2 bench/coordinators.sh     (after make BUILD=... all)
#
# It starts a PostgreSQL cluster of its own in /tmp/painpath-coord-XXXXXX
# (unix socket only, as the postgres user when root), lets painpathd apply
# the schema, loads the pathways and their transitions with SQL, then
# measures over HTTP and with the CLI, and removes everything at the end,
# also on Ctrl-C.  The report goes to stdout, progress to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."

BUILD=${BUILD:-build}
PATHWAYS=${BENCH_PATHWAYS:-1000000}
OVERDUE_PCT=${BENCH_OVERDUE_PCT:-20}
REQUESTS=${BENCH_REQUESTS:-2000}
SEED=${BENCH_SEED:-0.42}
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-1GB}
NIGHT=${BENCH_DATE:-$(TZ=Europe/Stockholm date +%F)}
TOKEN=dev-admin

daemon=$BUILD/painpathd
cli=$BUILD/painpath
client=$BUILD/coordinators-client
for f in "$daemon" "$cli"; do
	[[ -x $f ]] || {
		echo "coordinators: $f is missing: run make BUILD=$BUILD all" >&2
		exit 1
	}
done

say() { echo "coordinators: $*" >&2; }
die() {
	say "$*"
	exit 1
}

bindir=
for d in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)" \
	/usr/lib/postgresql/*/bin; do
	if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
		bindir=$d
		break
	fi
done
[[ -n $bindir ]] || die "no initdb/pg_ctl: run contrib/install-deps.sh"

if ((EUID == 0)); then
	id postgres >/dev/null 2>&1 || die "no postgres user: install postgresql"
	pguser=postgres
	as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
	pguser=$(id -un)
	as_pg() { (cd / && "$@"); }
fi
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGDATA

tmp=
daemon_pid=
loader_pids=()
pg_started=

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	local status=$?
	trap '' INT TERM
	trap - EXIT
	for pid in "${loader_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	stop_daemon
	if [[ -n $pg_started ]]; then
		as_pg "$bindir/pg_ctl" -D "$tmp/pg/data" -m fast -w -t 120 -s stop ||
			as_pg "$bindir/pg_ctl" -D "$tmp/pg/data" -m immediate -w -s stop ||
			true
	fi
	for pid in "${loader_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $tmp && -d $tmp ]]; then
		rm -rf -- "$tmp"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_daemon() {
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		timeout 20 tail -s 0.1 --pid="$daemon_pid" -f /dev/null ||
			kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
		daemon_pid=
	fi
}

# Starts painpathd on a free loopback port; sets daemon_pid and port.
start_daemon() {
	local fifo=$tmp/ready
	rm -f "$fifo"
	mkfifo "$fifo"
	"$daemon" --config "$tmp/painpath.conf" --listen 127.0.0.1 --port 0 \
		--ready-fd 3 --db "$conninfo" --tokens config/dev-tokens.conf \
		3>"$fifo" 2>>"$tmp/painpathd.log" &
	daemon_pid=$!
	port=
	read -r -t 300 port <"$fifo" || true
	[[ $port =~ ^[0-9]+$ ]] || {
		tail -n 20 "$tmp/painpathd.log" >&2 || true
		die "painpathd did not report its port"
	}
}

psql_() { as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp/pg" -U "$pguser" -d painpath "$@"; }
sql() { psql_ -At -c "$1"; }

secs() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(secs)" 'BEGIN { printf "%.1f", b - a }'; }

# --- 1. the cluster and the schema ------------------------------------------

tmp=$(mktemp -d /tmp/painpath-coord-XXXXXX)
chmod 0755 "$tmp"
mkdir -p "$tmp/pg"
chmod 0700 "$tmp/pg"
if ((EUID == 0)); then
	chown postgres: "$tmp/pg"
fi
say "cluster in $tmp/pg"
as_pg "$bindir/initdb" -D "$tmp/pg/data" -A trust -E UTF8 --locale=C \
	-U "$pguser" --no-instructions >"$tmp/initdb.log" 2>&1 || {
	cat "$tmp/initdb.log" >&2
	die "initdb failed"
}
cat >>"$tmp/pg/data/postgresql.conf" <<CONF

# bench/coordinators.sh: durability stays at the defaults.
listen_addresses = ''
unix_socket_directories = '$tmp/pg'
port = 5432
shared_buffers = $SHARED_BUFFERS
maintenance_work_mem = 1GB
max_wal_size = 16GB
checkpoint_timeout = 30min
CONF
as_pg "$bindir/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/log" -w -t 120 -s start ||
	die "the server did not start (log: $tmp/pg/log)"
pg_started=1
as_pg "$bindir/createdb" -h "$tmp/pg" -U "$pguser" painpath
conninfo="host=$tmp/pg port=5432 dbname=painpath user=$pguser"

# The nightly schedule stays off: at start it would run the missed night
# over the million pathways, and the runs measured here are the admin's.
cat >"$tmp/painpath.conf" <<CONF
report_enabled = 0
CONF

start_daemon
say "painpathd applied the schema (port $port)"
stop_daemon

# --- 2. the load --------------------------------------------------------------

half=$(((PATHWAYS + 1) / 2))
load_start=$(secs)
say "load: planning $PATHWAYS pathways"
psql_ -v n="$PATHWAYS" -v overdue_pct="$OVERDUE_PCT" -v today="$NIGHT" \
	-v seed="$SEED" <bench/coordinators-load.sql >"$tmp/plan.txt"
t_plan=$(elapsed "$load_start")

# Two sessions, one per core, on two halves of the pathways.
insert_halves() {
	local what=$1 status=0 pid
	loader_pids=()
	psql_ -v lo=1 -v hi="$half" -v transitions="$what" \
		<bench/coordinators-insert.sql &
	loader_pids+=($!)
	psql_ -v lo=$((half + 1)) -v hi="$PATHWAYS" -v transitions="$what" \
		<bench/coordinators-insert.sql &
	loader_pids+=($!)
	for pid in "${loader_pids[@]}"; do
		wait "$pid" || status=1
	done
	loader_pids=()
	return "$status"
}

step=$(secs)
say "load: pathways"
insert_halves false || die "loading the pathways failed"
t_pathways=$(elapsed "$step")
step=$(secs)
say "load: transitions"
insert_halves true || die "loading the transitions failed"
t_transitions=$(elapsed "$step")
step=$(secs)
say "load: vacuum, analyze, checks"
orphans=$(sql "SELECT count(*) FROM transitions t WHERE NOT EXISTS
	(SELECT 1 FROM pathways p WHERE p.pathway_id = t.pathway_id)")
sql "DROP VIEW bench_coord_steps; DROP TABLE bench_coord_gen, bench_coord_regions;
	DROP FUNCTION bench_coord_ts(timestamptz); DROP FUNCTION bench_coord_ms(timestamptz)"
sql "VACUUM (ANALYZE) pathways" >/dev/null
sql "ANALYZE transitions" >/dev/null
sql "CHECKPOINT" >/dev/null
t_after=$(elapsed "$step")
t_load=$(elapsed "$load_start")

echo "painpath coordinators benchmark: $(date -u '+%F %T') UTC"
echo "machine: $(nproc) CPU(s), $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM;" \
	"PostgreSQL $(sql 'SHOW server_version'), shared_buffers $SHARED_BUFFERS;" \
	"night $NIGHT"
echo
echo "== load"
printf '%-40s %8s s\n' "plan (bench_coord_gen)" "$t_plan" \
	"pathways (2 sessions)" "$t_pathways" \
	"transitions (2 sessions)" "$t_transitions" \
	"FK check, vacuum/analyze, checkpoint" "$t_after" \
	"total" "$t_load"
[[ $orphans == 0 ]] || die "$orphans transitions have no pathway"
echo "every transition has its pathway (anti-join: 0 orphans)"
psql_ -P footer=off -c "
SELECT c.relname AS table, c.reltuples::bigint AS rows,
       pg_size_pretty(pg_table_size(c.oid)) AS heap_toast,
       pg_size_pretty(pg_indexes_size(c.oid)) AS indexes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total
FROM pg_class c WHERE c.relname IN ('pathways', 'transitions')
ORDER BY c.relname"
psql_ -P footer=off -c "
SELECT phase, count(*) AS pathways,
       count(next_due) AS with_clock,
       count(*) FILTER (WHERE next_due < '$NIGHT') AS overdue,
       round(avg(version), 2) AS avg_transitions
FROM pathways GROUP BY phase ORDER BY count(*) DESC"
psql_ -P footer=off -c "
SELECT count(DISTINCT region) AS regions, count(DISTINCT unit) AS units,
       count(*) FILTER (WHERE flags <> '{}') AS flagged,
       round(avg(pg_column_size(doc))) AS doc_bytes
FROM pathways"
psql_ -P footer=off -c "
SELECT round(avg(pg_column_size(event))) AS event_bytes,
       round(avg(pg_column_size(response))) AS response_bytes
FROM transitions TABLESAMPLE SYSTEM (1)"

# --- 3. worklists over HTTP -------------------------------------------------

cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
	-o "$client" bench/coordinators-client.c
start_daemon
say "painpathd on port $port"

mapfile -t regions < <(sql "SELECT region FROM pathways GROUP BY region
	ORDER BY md5(region)")
big=$(sql "SELECT region FROM pathways WHERE closed_at IS NULL
	GROUP BY region ORDER BY count(*) DESC LIMIT 1")
small=$(sql "SELECT region FROM pathways WHERE closed_at IS NULL
	GROUP BY region ORDER BY count(*) LIMIT 1")
first=()
overdue=()
for r in "${regions[@]}"; do
	first+=("/v1/pathways?region=$r&limit=100")
	overdue+=("/v1/pathways?region=$r&overdue=true&as_of=$NIGHT&limit=100")
done
run_client() { "$client" -p "$port" -t "$TOKEN" "$@" || die "the client saw errors"; }

echo
echo "== worklists: GET /v1/pathways?region=R&limit=100 (${#regions[@]} regions;" \
	"open pathways per region: $small smallest, $big largest)"
echo "quickack: the client acknowledges at once (what painpathd costs);" \
	"plain: a keep-alive client with Linux's delayed ACKs"
run_client -q -w -n "$REQUESTS" -l "walk pages, quickack" "${first[@]}"
run_client -w -n $((REQUESTS / 4)) -l "walk pages, plain" "${first[@]}"
run_client -q -n $((REQUESTS / 2)) -l "first pages, quickack" "${first[@]}"
run_client -q -w -n $((REQUESTS / 2)) -l "overdue, walk, quickack" "${overdue[@]}"
run_client -q -w -c 4 -n "$REQUESTS" -l "walk pages, 4 conns, quickack" "${first[@]}"

# --- 4. the night's report --------------------------------------------------

run_report() {
	curl -sS -m 600 -o "$tmp/run.json" -w '%{http_code} %{time_total}\n' \
		-X POST -H "Authorization: Bearer $TOKEN" \
		"http://127.0.0.1:$port/v1/escalations/run?date=$NIGHT"
}
items_of() { sed -n 's/.*"items": *\([0-9]*\).*/\1/p' "$tmp/run.json"; }

echo
echo "== the night's report: POST /v1/escalations/run?date=$NIGHT (statement_timeout_ms 10000)"
read -r code1 time1 < <(run_report)
items1=$(items_of)
stored1=$(sql "SELECT count(*) FROM escalation_items WHERE report_date = '$NIGHT'")
read -r code2 time2 < <(run_report)
items2=$(items_of)
stored2=$(sql "SELECT count(*) FROM escalation_items WHERE report_date = '$NIGHT'")
printf 'first run   HTTP %s  %7.2f s  items %s\n' "$code1" "$time1" "${items1:--}"
printf 'second run  HTTP %s  %7.2f s  items %s  (items added: %s)\n' "$code2" "$time2" \
	"${items2:--}" $((stored2 - stored1))
[[ $code1 == 200 && $code2 == 200 ]] || {
	say "a run failed: $(cat "$tmp/run.json")"
	grep -i 'report\|error' "$tmp/painpathd.log" | tail -n 5 >&2 || true
}
psql_ -P footer=off -c "
SELECT rule, count(*) AS items, min(due) AS oldest_due, max(due) AS latest_due
FROM escalation_items i JOIN escalations e USING (escalation_id)
WHERE i.report_date = '$NIGHT' GROUP BY rule ORDER BY rule"

next_night=$(date -d "$NIGHT + 1 day" +%F)
for d in "$NIGHT" "$next_night"; do
	step=$(secs)
	"$cli" report --date "$d" --format csv --db "$conninfo" >"$tmp/report.csv" ||
		die "painpath report --date $d failed"
	printf 'painpath report --date %s --format csv: %6s s, %s lines%s\n' "$d" \
		"$(elapsed "$step")" "$(wc -l <"$tmp/report.csv")" \
		"$([[ $d == "$NIGHT" ]] && echo " (3rd run of the night)" || echo " (the next night)")"
done

# --- 5. plans -----------------------------------------------------------------

# The statements exactly as the sources hold them: the C string literals
# of lib/store.c store_worklist_sql and lib/store_report.c report_run_sql.
c_string() {
	sed -n "/^$2 =/,/;\$/p" "$1" | sed 's/CONTENT_ITEMS_TEXT/"13"/g' |
		grep -o '"[^"]*"' | sed 's/^"//; s/"$//' | tr -d '\n'
}
worklist_sql=$(c_string lib/store.c 'const char store_worklist_sql\[\]')
report_sql=$(c_string lib/store_report.c 'const char report_run_sql\[\]')
[[ $worklist_sql == SELECT* && $report_sql == WITH* ]] ||
	die "cannot find the SQL in lib/store.c or lib/store_report.c"

# A cursor in the middle of the largest region's worklist.
IFS='|' read -r mid_micros mid_id < <(sql "SELECT
	(extract(epoch FROM opened_at) * 1000000)::bigint, pathway_id FROM pathways
	WHERE closed_at IS NULL AND region = '$big'
	ORDER BY opened_at, pathway_id
	OFFSET (SELECT count(*) / 2 FROM pathways
	        WHERE closed_at IS NULL AND region = '$big') LIMIT 1")
# The report's windows: the models' warning is 3 working days (weekends
# only here; the daemon also skips holidays).
plan_night=$(date -d "$NIGHT + 2 day" +%F)
window_end=$(sql "SELECT d::date FROM generate_series('$plan_night'::date + 1,
	'$plan_night'::date + 10, interval '1 day') d WHERE extract(isodow FROM d) < 6
	ORDER BY d OFFSET 2 LIMIT 1")

# One line per plan: the root node, the indexes used, the times.
explain() {
	local label=$1 setup=$2 statement=$3 out
	out=$(psql_ -At <<SQL
$setup
BEGIN;
EXPLAIN (ANALYZE, BUFFERS) $statement;
ROLLBACK;
SQL
	) || die "EXPLAIN $label failed"
	printf '%-26s %s | indexes: %s | seq scans: %s | %s | %s\n' "$label" \
		"$(sed -n 1p <<<"$out" | sed 's/  (cost=[^)]*)//')" \
		"$(grep -o 'using [a-z_0-9]*\|Index Scan on [a-z_0-9]*' <<<"$out" |
			awk '{ print $NF }' | sort -u | paste -sd, -)" \
		"$(grep -o 'Seq Scan on [a-z_0-9]*' <<<"$out" |
			awk '{ print $NF }' | sort -u | paste -sd, -)" \
		"$(grep -o 'Buffers: shared [^$]*' <<<"$out" | head -n 1)" \
		"$(grep 'Execution Time' <<<"$out" | sed 's/^ *//')"
}

w_prepare="PREPARE w AS $worklist_sql;"
echo
echo "== plans (EXPLAIN ANALYZE, BUFFERS of the daemon's statements, rolled back)"
explain "worklist region=$big" "$w_prepare" \
	"EXECUTE w('$big', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 101, NULL)"
explain "worklist, deep cursor" "$w_prepare" \
	"EXECUTE w('$big', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, $mid_micros, '$mid_id', 101, NULL)"
explain "worklist overdue" "$w_prepare" \
	"EXECUTE w('$big', NULL, NULL, NULL, NULL, NULL, '{\"dk\":\"$NIGHT\",\"no\":\"$NIGHT\",\"se-adult\":\"$NIGHT\",\"se-child\":\"$NIGHT\"}', NULL, NULL, false, NULL, NULL, 101, NULL)"
explain "worklist small region" "$w_prepare" \
	"EXECUTE w('$small', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 101, NULL)"
explain "report run $plan_night" "PREPARE r AS $report_sql;" \
	"EXECUTE r('$plan_night', '{dk,no,se-adult,se-child}', '{$window_end,$window_end,$window_end,$window_end}')"

# --- 6, 7. the page's figures and the exports (issue 14) -----------------------

# shellcheck source=bench/coordinators-stats.sh
. bench/coordinators-stats.sh

say "done; cleaning up"
