#!/usr/bin/env bash
# `make bench`: how many durable events per second painpathd records, next to
# what PostgreSQL does with the same SQL driven by pgbench.  See bench/README.
#
# Everything lives in a temporary directory under /tmp (a private cluster on
# a unix socket, default durability: fsync, synchronous_commit and
# full_page_writes on), removed at the end; Ctrl-C leaves nothing behind.
#
# Knobs (environment):
#   BENCH_PATIENTS=100000      patients loaded for reads and verify
#   BENCH_LOAD_STEPS=5         each patient gets 1..N events of its pathway
#   BENCH_CONCURRENCY="16 64"  connections / pgbench clients
#   BENCH_FRESH=10             seconds measured on a fresh database
#   BENCH_DURATION=15          seconds per warm measurement (plus 1 s warm-up)
#   BENCH_GET_CONCURRENCY="16 64"     connections for the read test
#   BENCH_IDLE=1000            idle connections for the memory test
#   BENCH_POOL_SIZE=           the daemon's pool_size (default: the config's)
#   BENCH_INGEST_GROUPS=       the daemon's ingest_groups (default: the config's)
#   BENCH_PG_CONF=             lines added to the cluster's postgresql.conf,
#                              e.g. "wal_compression = lz4"
#   BENCH_PERF=1               a perf profile of the warm 16-connection run
#   BENCH_WRITE_TOKEN=dev-ehr, BENCH_READ_TOKEN=dev-coordinator   bearer tokens
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."

SECONDS=0
BUILD=${BUILD:-build}
PATIENTS=${BENCH_PATIENTS:-100000}
LOAD_STEPS=${BENCH_LOAD_STEPS:-5}
read -r -a CONCURRENCY <<<"${BENCH_CONCURRENCY:-16 64}"
FRESH=${BENCH_FRESH:-10}
DURATION=${BENCH_DURATION:-15}
PERF=${BENCH_PERF:-}
read -r -a GET_CONCURRENCY <<<"${BENCH_GET_CONCURRENCY:-16 64}"
IDLE=${BENCH_IDLE:-1000}
POOL_SIZE=${BENCH_POOL_SIZE:-}
INGEST_GROUPS=${BENCH_INGEST_GROUPS:-}
PG_CONF=${BENCH_PG_CONF:-}
# The development tokens of config/dev-tokens.conf (loopback only).
WRITE_TOKEN=${BENCH_WRITE_TOKEN:-dev-ehr}
READ_TOKEN=${BENCH_READ_TOKEN:-dev-coordinator}
CONFIG=config/painpath.conf
PG_PORT=5432

log() {
	printf 'bench: [%4ss] %s\n' "$SECONDS" "$*" >&2
}

die() {
	log "$*"
	exit 1
}

daemon=$BUILD/painpathd
load=$BUILD/bench-load
[[ -x $daemon ]] || die "$daemon is missing: run make BUILD=$BUILD all first"

# pg_config may belong to a libpq-dev of another major than the server.
pgbin=
for d in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/15/bin \
	/usr/lib/postgresql/*/bin; do
	if [[ -n $d && -x $d/initdb && -x $d/pgbench ]]; then
		pgbin=$d
		break
	fi
done
[[ -n $pgbin ]] || die "no initdb/pgbench found: run contrib/install-deps.sh"

if ((EUID == 0)); then
	id postgres >/dev/null 2>&1 || die "no postgres user: install postgresql"
	user=postgres
	as_pg() { (cd / && exec runuser -u postgres -- "$@"); }
else
	user=$(id -un)
	as_pg() { (cd / && exec "$@"); }
fi

# PG* variables from the caller's environment must not redirect anything.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGDATA

tmp=
daemon_pid=
pg_started=
child=

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	local status=$?
	# A second Ctrl-C must not cut the clean-up short.
	trap '' INT TERM
	trap - EXIT
	if [[ -n $child ]]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		timeout 20 tail -s 0.1 --pid="$daemon_pid" -f /dev/null ||
			kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	if [[ -n $pg_started && -f $tmp/pg/data/postmaster.pid ]]; then
		as_pg "$pgbin/pg_ctl" -D "$tmp/pg/data" -m fast -w -t 60 -s stop \
			>/dev/null 2>&1 ||
			as_pg "$pgbin/pg_ctl" -D "$tmp/pg/data" -m immediate -w -t 60 \
				-s stop >/dev/null 2>&1 || status=1
	fi
	# Whatever happened above, no postmaster outlives its directory.
	if [[ -n $pg_started && -f $tmp/pg/data/postmaster.pid ]]; then
		local pm
		pm=$(head -n 1 "$tmp/pg/data/postmaster.pid")
		if [[ $pm =~ ^[0-9]+$ ]] && kill -QUIT "$pm" 2>/dev/null; then
			timeout 20 tail -s 0.1 --pid="$pm" -f /dev/null || true
		fi
	fi
	if [[ -n $tmp && -d $tmp ]]; then
		if ((status != 0)); then
			for f in pg/server.log painpathd.log; do
				[[ -f $tmp/$f ]] || continue
				echo "---- last lines of $f ----" >&2
				tail -n 15 "$tmp/$f" >&2 || true
			done
		fi
		rm -rf -- "$tmp"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the load generator ---------------------------------------------------

read -r -a jansson_cflags <<<"$(pkg-config --cflags jansson)"
read -r -a jansson_libs <<<"$(pkg-config --libs jansson)"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE "${jansson_cflags[@]}" \
	-o "$load" bench/load.c "${jansson_libs[@]}"

# --- the cluster ------------------------------------------------------------

tmp=$(mktemp -d /tmp/painpath-bench-XXXXXX)
chmod 0755 "$tmp"
mkdir "$tmp/pg"
chmod 0700 "$tmp/pg"
if ((EUID == 0)); then
	chown postgres: "$tmp/pg"
fi
pgdir=$tmp/pg
log "cluster in $pgdir"
as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -E UTF8 --locale=C \
	-U "$user" --no-instructions >"$tmp/initdb.log" 2>&1 ||
	die "initdb failed: $(cat "$tmp/initdb.log")"
# Durability stays at its defaults (stated explicitly).  Checkpoints happen
# only when this script asks for one (before each measurement), so that
# every measurement starts from the same state.
cat >>"$pgdir/data/postgresql.conf" <<CONF

# painpath bench (bench/run.sh)
listen_addresses = ''
unix_socket_directories = '$pgdir'
port = $PG_PORT
max_connections = 300
fsync = on
synchronous_commit = on
full_page_writes = on
max_wal_size = 8GB
checkpoint_timeout = 1h
$PG_CONF
CONF
pg_started=1
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 120 -s \
	start >&2 || die "the server did not start"
as_pg "$pgbin/createdb" -h "$pgdir" -p "$PG_PORT" -U "$user" painpath
conninfo="host=$pgdir port=$PG_PORT dbname=painpath user=$user"

psql() {
	as_pg "$pgbin/psql" -XAtq -v ON_ERROR_STOP=1 -d "$conninfo" "$@"
}

# --- the daemon (started and stopped per phase) ---------------------------

config=$tmp/painpath.conf
cp "$CONFIG" "$config"
if [[ -n $POOL_SIZE ]]; then
	echo "pool_size = $POOL_SIZE" >>"$config"
fi
if [[ -n $INGEST_GROUPS ]]; then
	echo "ingest_groups = $INGEST_GROUPS" >>"$config"
fi
# 1,000 idle connections need more descriptors than a default 1024.
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true

psql() {
	as_pg "$pgbin/psql" -XAtq -v ON_ERROR_STOP=1 -d "$conninfo" "$@"
}
psql_admin() {
	as_pg "$pgbin/psql" -XAtq -v ON_ERROR_STOP=1 \
		-d "host=$pgdir port=$PG_PORT dbname=postgres user=$user" "$@"
}

start_daemon() {
	: >"$tmp/port"
	"$daemon" --config "$config" --listen 127.0.0.1 --port 0 \
		--db "$conninfo" --ready-fd 3 3>"$tmp/port" \
		2>>"$tmp/painpathd.log" &
	daemon_pid=$!
	for _ in $(seq 600); do
		[[ -s $tmp/port ]] && break
		kill -0 "$daemon_pid" 2>/dev/null || die "painpathd exited at start"
		sleep 0.1
	done
	port=$(head -n 1 "$tmp/port")
	[[ $port =~ ^[0-9]+$ ]] || die "painpathd did not report its port"
}

stop_daemon() {
	kill -TERM "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=
}

# A new, empty database: what a new installation starts from.
fresh_database() {
	psql_admin -c 'DROP DATABASE IF EXISTS painpath' >/dev/null
	psql_admin -c 'CREATE DATABASE painpath' >/dev/null
}

# --- helpers ----------------------------------------------------------------

# A measurement where requests were refused measured something else.
all_2xx() {
	local n
	n=$(field non2xx "$1")
	[[ $n == 0 ]] || die "refused requests in a measurement: $1"
}

# run_to FILE CMD...: CMD with its stdout in FILE, in the background so that
# Ctrl-C or SIGTERM reaches the traps at once (and the clean-up stops it).
run_to() {
	local out=$1
	shift
	local rc=0
	"$@" >"$out" &
	child=$!
	wait "$child" || rc=$?
	child=
	return "$rc"
}

# field KEY LINE: the value of KEY=... in a bench-load line.
field() {
	local k
	for k in $2; do
		if [[ $k == "$1="* ]]; then
			echo "${k#*=}"
			return
		fi
	done
	echo "?"
}

status_kb() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"
}

checkpoint() {
	psql -c 'CHECKPOINT' >/dev/null
}

# metric_values NAME...: the values of these lines of /metrics (a name
# with its labels), on one line; 0 for one not shown.
metric_values() {
	curl -s -H "Authorization: Bearer $READ_TOKEN" \
		"http://127.0.0.1:$port/metrics" | awk -v names="$*" '
		BEGIN { n = split(names, want, " ") }
		{ value[$1] = $2 }
		END {
			for (i = 1; i <= n; i++)
				printf "%s%s", value[want[i]] + 0, (i < n ? " " : "\n")
		}'
}

commit_phases=(lease check decide write)
read_phases=(gather statement)

# group_figures commit|read: its groups, their events or reads, then the
# seconds of each phase.
group_figures() {
	local -n phases=$1_phases
	local names=() sums p
	if [[ $1 == commit ]]; then
		names=(painpath_commit_groups_total painpath_commit_group_events_total)
		sums=painpath_commit_phase_seconds_sum
	else
		names=(painpath_read_groups_total painpath_read_group_reads_total)
		sums=painpath_read_group_phase_seconds_sum
	fi
	for p in "${phases[@]}"; do
		names+=("$sums{phase=\"$p\"}")
	done
	metric_values "${names[@]}"
}

# per_group commit|read BEFORE AFTER: the mean group between two
# group_figures, and where its time went.
per_group() {
	local -n phases=$1_phases
	awk -v a="$2" -v b="$3" -v phases="${phases[*]}" -v what="$1" 'BEGIN {
		split(a, x); split(b, y); n = split(phases, p, " ")
		g = y[1] - x[1]
		if (g <= 0) { print "?"; exit }
		printf "%.1f %s; ms per group:", (y[2] - x[2]) / g,
			what == "commit" ? "events" : "reads"
		for (i = 1; i <= n; i++)
			printf "%s %s %.2f", (i > 1 ? "," : ""), p[i],
				(y[i + 2] - x[i + 2]) * 1000 / g
		print ""
	}'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "?" }'
}

run_id=b$(date +%s)
epoch=$(($(date +%s) - 3 * 365 * 86400))
state=$tmp/patients.state
ncpu=$(nproc)

# --- 1. opening pathways: fresh and warm --------------------------------------

# Each request opens a pathway for a patient never seen before; on a new,
# empty database first (the first FRESH seconds: no statistics yet, which
# is when a plan chosen on an empty table used to collapse), then warm.
declare -A f_rate f_p50 f_p99 f_non2xx w_rate w_p50 w_p99 w_non2xx w_groups
for c in "${CONCURRENCY[@]}"; do
	fresh_database
	start_daemon
	log "daemon: opening pathways on a fresh database, $c connections, ${FRESH}s"
	run_to "$tmp/line" "$load" open --port "$port" --token "$WRITE_TOKEN" \
		--run "$run_id-f$c" --epoch "$epoch" --conns "$c" --warmup 0 \
		--duration "$FRESH"
	line=$(<"$tmp/line")
	log "  $line"
	all_2xx "$line"
	f_rate[$c]=$(field events_per_s "$line") f_p50[$c]=$(field p50_ms "$line")
	f_p99[$c]=$(field p99_ms "$line") f_non2xx[$c]=$(field non2xx "$line")
	checkpoint
	if [[ -n $PERF && $c == "${CONCURRENCY[0]}" ]] && command -v perf >/dev/null; then
		perf record -q -F 499 -g -p "$daemon_pid" -o "$tmp/perf.data" \
			-- sleep "$DURATION" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	log "daemon: opening pathways, warm, $c connections, ${DURATION}s"
	figures=$(group_figures commit)
	run_to "$tmp/line" "$load" open --port "$port" --token "$WRITE_TOKEN" \
		--run "$run_id-w$c" --epoch "$epoch" --conns "$c" \
		--duration "$DURATION"
	line=$(<"$tmp/line")
	w_groups[$c]=$(per_group commit "$figures" "$(group_figures commit)")
	log "  groups: ${w_groups[$c]}"
	log "  $line"
	all_2xx "$line"
	w_rate[$c]=$(field events_per_s "$line") w_p50[$c]=$(field p50_ms "$line")
	w_p99[$c]=$(field p99_ms "$line") w_non2xx[$c]=$(field non2xx "$line")
	if [[ -n ${perf_pid:-} ]]; then
		wait "$perf_pid" || true
		perf_pid=
		perf report -i "$tmp/perf.data" --no-children --sort dso,sym \
			--stdio 2>/dev/null | grep -v '^#' | grep '%' | head -n 25 \
			>"$tmp/perf.txt" || true
	fi
	stop_daemon
done

# --- 2. pgbench: the same work, one transaction per event -------------------

# Insert the pathway and its first transition, in one transaction, the
# rows shaped exactly like one the daemon recorded (every column, the same
# indexes and checks): a copy of a sample row under new ids.
sample_pw=$(psql -c "SELECT pathway_id FROM pathways LIMIT 1")
[[ -n $sample_pw ]] || die "no pathway recorded to copy for pgbench"
# The column lists come from the tables themselves, so that a new column
# is copied too; only the ids change.
cols() {
	psql -c "SELECT string_agg(CASE column_name $2 ELSE column_name END,
		', ' ORDER BY ordinal_position)
		FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = '$1'"
}
pw_cols=$(cols pathways "WHEN 'pathway_id' THEN '''pgb-'' || :id'
	WHEN 'patient_id' THEN '''pgb-p-'' || :id'")
tr_cols=$(cols transitions "WHEN 'pathway_id' THEN '''pgb-'' || :id'
	WHEN 'event_id' THEN '''pgb-e-'' || :id'")
cat >"$tmp/open.sql" <<SQL
\\set n :n + 1
\\set id :tag * 1000000000000 + :client_id * 100000000 + :n
BEGIN;
INSERT INTO pathways SELECT $pw_cols FROM pathways WHERE pathway_id = '$sample_pw';
INSERT INTO transitions SELECT $tr_cols FROM transitions WHERE pathway_id = '$sample_pw' AND seq = 1;
COMMIT;
SQL

pgbench_tag=0
# pgbench_run CLIENTS SCRIPT: sets pgb="tps p50_ms p99_ms failed".
pgbench_run() {
	local c=$1 script=$2 j out tps failed lat
	j=$((c < ncpu ? c : ncpu))
	pgbench_tag=$((pgbench_tag + 1))
	mkdir -p "$tmp/pgb"
	if ((EUID == 0)); then
		chown postgres: "$tmp/pgb"
	fi
	rm -f "$tmp/pgb/"*
	run_to "$tmp/pgbench.out" as_pg "$pgbin/pgbench" -h "$pgdir" \
		-p "$PG_PORT" -U "$user" -n -M prepared -c "$c" -j "$j" \
		-T "$DURATION" -f "$script" -D "tag=$pgbench_tag" -D n=0 \
		--log --log-prefix="$tmp/pgb/tx" painpath \
		2>"$tmp/pgbench.err" || {
		cat "$tmp/pgbench.err" >&2
		die "pgbench failed"
	}
	out=$(<"$tmp/pgbench.out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | tail -n 1)
	tps=$(awk -v t="$tps" 'BEGIN { if (t ~ /^[0-9.]+$/) printf "%.1f", t; else print "?" }')
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' \
		<<<"$out")
	# Per-transaction log: the third field is the latency in microseconds.
	lat=$(cat "$tmp/pgb/"tx.* | awk '{ print $3 }' | sort -n |
		awk '{ v[NR] = $1 }
		     END { if (NR == 0) { print "? ?"; exit }
		           printf "%.2f %.2f", v[int(0.5 * (NR - 1) + 1.5)] / 1000,
		                  v[int(0.99 * (NR - 1) + 1.5)] / 1000 }')
	pgb="${tps:-?} $lat ${failed:-0}"
}

declare -A p_tps p_p50 p_p99 p_fail
for c in "${CONCURRENCY[@]}"; do
	checkpoint
	log "pgbench: insert pathway + first transition, $c clients, ${DURATION}s"
	pgbench_run "$c" "$tmp/open.sql"
	log "  tps p50 p99 failed: $pgb"
	read -r tps p50 p99 failed <<<"$pgb"
	p_tps[$c]=$tps p_p50[$c]=$p50 p_p99[$c]=$p99 p_fail[$c]=$failed
done

# --- 3. a loaded database: mixed events, latency at half the peak, reads ----

fresh_database
start_daemon
common=(--port "$port" --token "$WRITE_TOKEN" --patients "$PATIENTS"
	--state "$state" --run "$run_id" --epoch "$epoch")
log "loading $PATIENTS patients (1..$LOAD_STEPS events each, batches of 100)"
run_to "$tmp/line" "$load" load "${common[@]}" --conns 16 --batch 100 \
	--steps "$LOAD_STEPS"
load_line=$(<"$tmp/line")
log "  $load_line"
rss_after_load=$(status_kb VmRSS)
counts=$(psql -F ' ' -c "SELECT (SELECT count(*) FROM pathways),
	(SELECT count(*) FROM transitions),
	pg_size_pretty(pg_database_size('painpath'))")

# p99 at half the peak: 8 connections, each a request in flight, is about
# half the rate of 16 on a machine where the database is the limit.
checkpoint
log "daemon: mixed events (the pathway cycle), 8 connections, ${DURATION}s"
figures=$(group_figures commit)
run_to "$tmp/line" "$load" post "${common[@]}" --conns 8 --duration "$DURATION"
half_line=$(<"$tmp/line")
half_groups=$(per_group commit "$figures" "$(group_figures commit)")
log "  groups: $half_groups"
all_2xx "$half_line"
log "  $half_line"

psql -c "SELECT pathway_id FROM pathways ORDER BY random() LIMIT 50000" \
	>"$tmp/ids"
declare -A g_rate g_p50 g_p99 g_non2xx g_groups
for c in "${GET_CONCURRENCY[@]}"; do
	log "daemon: GET /v1/pathways/{id}, $c connection(s), ${DURATION}s"
	figures=$(group_figures read)
	run_to "$tmp/line" "$load" get --port "$port" --ids "$tmp/ids" \
		--conns "$c" --duration "$DURATION" --token "$READ_TOKEN"
	line=$(<"$tmp/line")
	g_groups[$c]=$(per_group read "$figures" "$(group_figures read)")
	log "  groups: ${g_groups[$c]}"
	log "  $line"
	all_2xx "$line"
	g_rate[$c]=$(field req_per_s "$line")
	g_p50[$c]=$(field p50_ms "$line")
	g_p99[$c]=$(field p99_ms "$line")
	g_non2xx[$c]=$(field non2xx "$line")
done

# The same reads by pgbench: the pathway by its id, then its audit row,
# committed before the next read (the daemon answers only then, too).
psql -c "CREATE TABLE bench_read_ids (i serial PRIMARY KEY, id text)"
psql -c "\\copy bench_read_ids (id) FROM pstdin" <"$tmp/ids"
nids=$(psql -c "SELECT count(*) FROM bench_read_ids")
cat >"$tmp/read.sql" <<SQL
\\set i random(1, $nids)
SELECT doc, patient_id, region FROM pathways WHERE pathway_id = (SELECT id FROM bench_read_ids WHERE i = :i);
INSERT INTO audit_log (token_id, method, route, uri, patient_ids, remote, status) VALUES ('pgbench', 'GET', '/v1/pathways/{id}', '/v1/pathways/x', ARRAY[(:i)::text], '127.0.0.1', 200);
SQL
declare -A r_tps r_p50 r_p99
for c in "${GET_CONCURRENCY[@]}"; do
	log "pgbench: read a pathway + insert its audit row, $c clients, ${DURATION}s"
	pgbench_run "$c" "$tmp/read.sql"
	log "  tps p50 p99 failed: $pgb"
	read -r tps p50 p99 failed <<<"$pgb"
	((failed == 0)) || die "pgbench reads failed: $pgb"
	r_tps[$c]=$tps r_p50[$c]=$p50 r_p99[$c]=$p99
done

log "daemon: $IDLE idle connections"
run_to "$tmp/line" "$load" idle --port "$port" --conns "$IDLE" \
	--pid "$daemon_pid"
idle_line=$(<"$tmp/line")
log "  $idle_line"
hwm=$(status_kb VmHWM)

# --- 4. a long history: 1,000 transitions, 50 of them corrections -----------

log "a pathway with 1,000 transitions and 50 corrections"
long=$tmp/long.json
{
	printf '{"events":[{"event_id":"%s-long-0","type":"pathway.opened","patient_id":"%s-long","occurred_at":"2025-01-02T09:00:00Z","data":{"age":40},"model":"no","region":"helse-vest","unit":"gp-1"}' "$run_id" "$run_id"
	for i in $(seq 1 949); do
		printf ',{"event_id":"%s-long-%d","type":"pro.reported","patient_id":"%s-long","occurred_at":"2025-01-02T09:%02d:%02dZ","data":{"instrument":"pain-pro","scores":{"pain":%d}}}' \
			"$run_id" "$i" "$run_id" $((i / 60 + 1)) $((i % 60)) $((i % 10))
	done
	printf ']}'
} >"$long"
curl -s -o /dev/null -H "Authorization: Bearer $WRITE_TOKEN" \
	-H 'Content-Type: application/json' --data-binary "@$long" \
	"http://127.0.0.1:$port/v1/events"
for i in $(seq 1 50); do
	printf '{"event_id":"%s-fix-%d","type":"event.corrected","patient_id":"%s-long","occurred_at":"2025-02-01T09:00:00Z","data":{"event_id":"%s-long-%d","reason":"score entered wrong","data":{"instrument":"pain-pro","scores":{"pain":5}}}}\n' \
		"$run_id" "$i" "$run_id" "$run_id" $((i * 10))
done | while read -r ev; do
	curl -s -o /dev/null -H "Authorization: Bearer $WRITE_TOKEN" \
		-H 'Content-Type: application/json' -d "$ev" \
		"http://127.0.0.1:$port/v1/events"
done
long_pw=$(psql -c "SELECT pathway_id FROM pathways WHERE patient_id = '$run_id-long'")
long_n=$(psql -c "SELECT count(*) FROM transitions WHERE pathway_id = '$long_pw'")
long_fix=$(psql -c "SELECT count(*) FROM transitions WHERE pathway_id = '$long_pw' AND corrects IS NOT NULL")
((long_n == 1000 && long_fix == 50)) ||
	die "the long history has $long_n transitions, $long_fix corrections"
for i in $(seq 1 100); do
	curl -s -H "Authorization: Bearer $READ_TOKEN" -o /dev/null \
		-w '%{time_total}\n' \
		"http://127.0.0.1:$port/v1/pathways/$long_pw/transitions"
done | sort -n >"$tmp/long.times"
long_p50=$(awk '{ v[NR] = $1 } END { printf "%.2f", v[int(NR / 2) + 1] * 1000 }' "$tmp/long.times")
long_p99=$(awk '{ v[NR] = $1 } END { printf "%.2f", v[int(NR * 0.99)] * 1000 }' "$tmp/long.times")
log "  $long_n transitions ($long_fix corrections): p50 $long_p50 ms, p99 $long_p99 ms"

stop_daemon
final_counts=$(psql -F ' ' -c "SELECT (SELECT count(*) FROM pathways),
	(SELECT count(*) FROM transitions),
	pg_size_pretty(pg_database_size('painpath'))")

# --- 5. painpath verify: every pathway against the replay of its history ---

cli=$BUILD/painpath
log "painpath verify on $(psql -c 'SELECT count(*) FROM pathways') pathways"
verify_ok=$("$cli" verify --db "$conninfo" 2>&1 >"$tmp/verify.out" | tail -n 1)
log "  $verify_ok"
psql -c "UPDATE pathways SET version = version + 1 WHERE pathway_id = '$long_pw'"
verify_bad=$("$cli" verify --db "$conninfo" 2>&1 >"$tmp/verify.bad" | tail -n 1) || true
log "  after a row changed by hand: $verify_bad: $(head -n 1 "$tmp/verify.bad")"

elapsed=$SECONDS
daemon_problems=$(grep -c -v ' INFO ' "$tmp/painpathd.log" || true)
if ((daemon_problems > 0)); then
	log "painpathd logged $daemon_problems warning/error line(s), the first ones:"
	grep -v ' INFO ' "$tmp/painpathd.log" | head -n 10 >&2
fi

# --- the report ---------------------------------------------------------------

mb() {
	awk -v k="$1" 'BEGIN { if (k ~ /^[0-9]+$/) printf "%.1f MB", k / 1024; else print "?" }'
}
kb_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) printf "%+d", a - b; else print "?" }'
}
per_conn() {
	awk -v a="$1" -v b="$2" -v n="$IDLE" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && n > 0) printf "%.1f", (a - b) / n; else print "?" }'
}
rss_idle0=$(field rss_before_kb "$idle_line")
rss_idle=$(field rss_kb "$idle_line")
read -r lp_pathways lp_transitions lp_size <<<"$counts"
read -r fp_pathways fp_transitions fp_size <<<"$final_counts"
pool=$(awk -F' *= *' '$1 == "pool_size" { v = $2 } END { print v }' "$config")
groups=$(awk -F' *= *' '$1 == "ingest_groups" { v = $2 } END { print v }' "$config")

cat <<EOF

painpath bench  $(date -u '+%Y-%m-%d %H:%M UTC')
  machine     $ncpu CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -r)
  postgres    $(psql -c 'SHOW server_version'), fsync=$(psql -c 'SHOW fsync'), synchronous_commit=$(psql -c 'SHOW synchronous_commit'), full_page_writes=$(psql -c 'SHOW full_page_writes'), wal_sync_method=$(psql -c 'SHOW wal_sync_method'), shared_buffers=$(psql -c 'SHOW shared_buffers'), wal_compression=$(psql -c 'SHOW wal_compression')
  painpathd   $daemon, pool_size=$pool, ingest_groups=${groups:-default}; every answer after its durable commit

1. Opening a pathway for a new patient, one ~350-byte event per request,
   keep-alive, one request in flight per connection

   conns   fresh: first ${FRESH}s ev/s   p50 ms   p99 ms   warm ev/s   p50 ms   p99 ms   fresh/warm
EOF
for c in "${CONCURRENCY[@]}"; do
	printf '   %5s   %18s   %6s   %6s   %9s   %6s   %6s   %10s\n' "$c" \
		"${f_rate[$c]}" "${f_p50[$c]}" "${f_p99[$c]}" "${w_rate[$c]}" \
		"${w_p50[$c]}" "${w_p99[$c]}" "$(ratio "${f_rate[$c]}" "${w_rate[$c]}")"
done
echo
echo "   the warm runs' groups (painpath_commit_phase_seconds; the warm-up included):"
for c in "${CONCURRENCY[@]}"; do
	printf '   %5s   %s\n' "$c" "${w_groups[$c]}"
done
cat <<EOF

2. The same rows written by pgbench (-M prepared), one transaction per
   event: INSERT pathway + INSERT first transition, copies of a row the
   daemon wrote (every column, the same indexes)

   clients   pgbench tps   p50 ms   p99 ms   failed   painpathd warm/pgbench   fresh/pgbench
EOF
for c in "${CONCURRENCY[@]}"; do
	printf '   %7s   %11s   %6s   %6s   %6s   %22s   %13s\n' "$c" \
		"${p_tps[$c]}" "${p_p50[$c]}" "${p_p99[$c]}" "${p_fail[$c]}" \
		"$(ratio "${w_rate[$c]}" "${p_tps[$c]}")" \
		"$(ratio "${f_rate[$c]}" "${p_tps[$c]}")"
done
half_rate=$(field events_per_s "$half_line")
cat <<EOF

3. A loaded database: $lp_pathways pathways, $lp_transitions transitions, $lp_size
   load: $load_line
   mixed events (the pathway cycle), 8 connections: $(field events_per_s "$half_line") ev/s, p50 $(field p50_ms "$half_line") ms, p99 $(field p99_ms "$half_line") ms, non-2xx $(field non2xx "$half_line")
     ($(ratio "$half_rate" "${w_rate[${CONCURRENCY[0]}]}") of the warm ${CONCURRENCY[0]}-connection opening rate)
     groups: $half_groups

   GET /v1/pathways/{id} (each read audited), and pgbench reading the same
   row and inserting its audit row, each committed (-M prepared)
   conns      req/s   p50 ms   p99 ms   non-2xx   pgbench tps   p50 ms   p99 ms   painpathd/pgbench
EOF
for c in "${GET_CONCURRENCY[@]}"; do
	printf '   %5s   %8s   %6s   %6s   %7s   %11s   %6s   %6s   %17s\n' "$c" \
		"${g_rate[$c]}" "${g_p50[$c]}" "${g_p99[$c]}" "${g_non2xx[$c]}" \
		"${r_tps[$c]}" "${r_p50[$c]}" "${r_p99[$c]}" \
		"$(ratio "${g_rate[$c]}" "${r_tps[$c]}")"
done
echo
echo "   the daemon's gathered reads (painpath_read_group_phase_seconds):"
for c in "${GET_CONCURRENCY[@]}"; do
	printf '   %5s   %s\n' "$c" "${g_groups[$c]}"
done
cat <<EOF

   memory: RSS $(mb "$rss_after_load") after the load; $IDLE idle connections: $(mb "$rss_idle0") -> $(mb "$rss_idle") ($(kb_delta "$rss_idle" "$rss_idle0") kB, $(per_conn "$rss_idle" "$rss_idle0") kB each); high-water mark $(mb "$hwm")

4. A pathway with $long_n transitions, $long_fix of them corrections:
   GET /v1/pathways/{id}/transitions x100: p50 $long_p50 ms, p99 $long_p99 ms

5. painpath verify on $fp_pathways pathways, $fp_transitions transitions ($fp_size):
   $verify_ok
   after one row's version was changed by hand: $verify_bad
     $(head -n 1 "$tmp/verify.bad")

took ${elapsed}s
EOF
if [[ -s $tmp/perf.txt ]]; then
	printf '\nperf: where painpathd spends its time, warm %s connections\n' \
		"${CONCURRENCY[0]}"
	cat "$tmp/perf.txt"
fi
