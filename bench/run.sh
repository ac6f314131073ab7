#!/usr/bin/env bash
# `make bench`: how many durable events per second painpathd records, next to
# what PostgreSQL does with the same SQL driven by pgbench.  See bench/README.
#
# Everything lives in a temporary directory under /tmp (a private cluster on
# a unix socket, default durability: fsync, synchronous_commit and
# full_page_writes on), removed at the end; Ctrl-C leaves nothing behind.
#
# Knobs (environment):
#   BENCH_PATIENTS=100000      patients loaded before the measurements
#   BENCH_LOAD_STEPS=5         each patient gets 1..N events of its pathway
#   BENCH_CONCURRENCY="1 16 64 256"   connections / pgbench clients
#   BENCH_DURATION=15          seconds per measurement (plus a 1 s warm-up)
#   BENCH_GET_CONCURRENCY="16 64"     connections for the read test
#   BENCH_IDLE=1000            idle connections for the memory test
#   BENCH_POOL_SIZE=           the daemon's pool_size (default: the config's)
#   BENCH_WRITE_TOKEN=dev-ehr, BENCH_READ_TOKEN=dev-coordinator   bearer tokens
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."

SECONDS=0
BUILD=${BUILD:-build}
PATIENTS=${BENCH_PATIENTS:-100000}
LOAD_STEPS=${BENCH_LOAD_STEPS:-5}
read -r -a CONCURRENCY <<<"${BENCH_CONCURRENCY:-1 16 64 256}"
DURATION=${BENCH_DURATION:-15}
read -r -a GET_CONCURRENCY <<<"${BENCH_GET_CONCURRENCY:-16 64}"
IDLE=${BENCH_IDLE:-1000}
POOL_SIZE=${BENCH_POOL_SIZE:-}
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
CONF
pg_started=1
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 120 -s \
	start >&2 || die "the server did not start"
as_pg "$pgbin/createdb" -h "$pgdir" -p "$PG_PORT" -U "$user" painpath
conninfo="host=$pgdir port=$PG_PORT dbname=painpath user=$user"

psql() {
	as_pg "$pgbin/psql" -XAtq -v ON_ERROR_STOP=1 -d "$conninfo" "$@"
}

# --- the daemon -------------------------------------------------------------

config=$tmp/painpath.conf
cp "$CONFIG" "$config"
if [[ -n $POOL_SIZE ]]; then
	echo "pool_size = $POOL_SIZE" >>"$config"
fi
# 1,000 idle connections need more descriptors than a default 1024.
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
"$daemon" --config "$config" --listen 127.0.0.1 --port 0 --db "$conninfo" \
	--ready-fd 3 3>"$tmp/port" 2>"$tmp/painpathd.log" &
daemon_pid=$!
for _ in $(seq 600); do
	[[ -s $tmp/port ]] && break
	kill -0 "$daemon_pid" 2>/dev/null || die "painpathd exited at start"
	sleep 0.1
done
port=$(head -n 1 "$tmp/port")
[[ $port =~ ^[0-9]+$ ]] || die "painpathd did not report its port"
log "painpathd pid $daemon_pid on 127.0.0.1:$port"

# --- helpers ----------------------------------------------------------------

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

run_id=b$(date +%s)
epoch=$(($(date +%s) - 3 * 365 * 86400))
state=$tmp/patients.state
common=(--port "$port" --token "$WRITE_TOKEN" --patients "$PATIENTS" --state "$state" --run "$run_id"
	--epoch "$epoch")


# --- 1. load ------------------------------------------------------------------

log "loading $PATIENTS patients (1..$LOAD_STEPS events each, batches of 100)"
run_to "$tmp/line" "$load" load "${common[@]}" --conns 16 --batch 100 \
	--steps "$LOAD_STEPS"
load_line=$(<"$tmp/line")
log "  $load_line"
psql -c 'ANALYZE' >/dev/null
rss_after_load=$(status_kb VmRSS)
counts=$(psql -F ' ' -c "SELECT (SELECT count(*) FROM pathways),
	(SELECT count(*) FROM transitions),
	pg_size_pretty(pg_database_size('painpath'))")

# --- pgbench: a scratch copy and the daemon's SQL ---------------------------

# One open pathway per patient, keyed by numbers pgbench can compute: the
# k-th patient (0-based) is patient_id 10000000+k and pathway_id 20000000+k.
# The copy has the same columns, indexes, checks and foreign key as the real
# tables.
log "setting up the pgbench scratch tables"
psql >/dev/null <<'SQL'
CREATE TABLE bench_pathways (LIKE pathways INCLUDING ALL);
CREATE TABLE bench_transitions (LIKE transitions INCLUDING ALL);
ALTER TABLE bench_transitions ADD FOREIGN KEY (pathway_id)
    REFERENCES bench_pathways (pathway_id);
CREATE TEMP TABLE latest AS
    SELECT pathway_id, row_number() OVER (ORDER BY patient_id) - 1 AS k
    FROM (SELECT DISTINCT ON (patient_id) pathway_id, patient_id
          FROM pathways ORDER BY patient_id, opened_at DESC) d;
INSERT INTO bench_pathways
    SELECT (20000000 + l.k)::text, (10000000 + l.k)::text, model, region,
           level, unit,
           CASE WHEN closed_at IS NULL THEN phase ELSE 'active' END,
           version, flags, state, opened_at, updated_at, NULL,
           due_transit, due_assessment, due_treatment, due_free_choice,
           due_level_review, next_due
    FROM pathways p JOIN latest l USING (pathway_id);
INSERT INTO bench_transitions
    SELECT (20000000 + l.k)::text, seq, event_id, type, from_phase,
           to_phase, from_level, to_level, unit, occurred_at, recorded_at,
           data, event, response
    FROM transitions t JOIN latest l USING (pathway_id);
ANALYZE bench_pathways;
ANALYZE bench_transitions;
SQL

# Real values for the parameters, from one recorded pro.reported event.
sample_pw=$(psql -c "SELECT pathway_id FROM transitions
	WHERE type = 'pro.reported' LIMIT 1")
if [[ -z $sample_pw ]]; then
	sample_pw=$(psql -c "SELECT pathway_id FROM transitions LIMIT 1")
fi
sample() {
	psql -c "SELECT $1 FROM transitions t JOIN pathways p USING (pathway_id)
		WHERE pathway_id = '$sample_pw' ORDER BY seq DESC LIMIT 1"
}
scratch_patients=$(psql -c "SELECT count(*) FROM bench_pathways")
pgb_vars=(-D "patients=$scratch_patients" -D n=0
	-D "state=$(sample 'p.state::text')"
	-D "event=$(sample 't.event::text')"
	-D "data=$(sample 't.data::text')"
	-D "response=$(sample 't.response::text')"
	-D "lvl=$(sample 'p.level')" -D "unit=$(sample 'p.unit')"
	-D "phase=$(sample 'p.phase')" -D "flags=$(sample 'p.flags::text')"
	-D "ts=$(sample 't.recorded_at')"
	-D "due=$(sample "coalesce(p.next_due, current_date + 30)")")

# The SQL of daemon/statements.c for one event on an existing pathway
# (lock_open, event_lookup, pathway_update, transition_insert), in the
# daemon's two pipelined round trips ...
write_script() {
	local pipe=$1 start='' end=''
	if [[ $pipe == 1 ]]; then
		start='\startpipeline'
		end='\endpipeline'
	fi
	cat <<SQL
\\set n :n + 1
\\set k random(0, :patients - 1)
\\set pat 10000000 + :k
\\set pw 20000000 + :k
\\set eid :tag * 1000000000000 + :client_id * 100000000 + :n
\\set seq 1000 + (:tag * 300 + :client_id) * 100000 + :n
$start
BEGIN;
SELECT state::text FROM bench_pathways WHERE patient_id = :pat AND closed_at IS NULL FOR UPDATE;
SELECT pathway_id, event = :event::jsonb, response::text FROM bench_transitions WHERE event_id = :eid;
$end
$start
UPDATE bench_pathways SET level = :lvl, unit = :unit, phase = :phase, version = version + 1, flags = :flags::text[], state = :state::json, updated_at = :ts, closed_at = NULL, due_transit = NULL, due_assessment = NULL, due_treatment = :due, due_free_choice = NULL, due_level_review = NULL, next_due = :due WHERE pathway_id = :pw;
INSERT INTO bench_transitions (pathway_id, seq, event_id, type, from_phase, to_phase, from_level, to_level, unit, occurred_at, recorded_at, data, event, response) VALUES (:pw, :seq, :eid, 'pro.reported', :phase, :phase, :lvl, :lvl, :unit, :ts, :ts, :data::jsonb, :event::jsonb, :response::json);
COMMIT;
$end
SQL
}
# ... and the same six statements one round trip each.
write_script 1 >"$tmp/event-pipelined.sql"
write_script 0 >"$tmp/event-plain.sql"

ncpu=$(nproc)
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
		-T "$DURATION" -f "$script" -D "tag=$pgbench_tag" \
		"${pgb_vars[@]}" --log --log-prefix="$tmp/pgb/tx" painpath \
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

# --- 2-4. ingest, pgbench, reads, idle connections --------------------------

declare -A d_rate d_p50 d_p99 d_non2xx d_err d_mix
declare -A pp_tps pp_p50 pp_p99 pp_fail pl_tps pl_p50 pl_p99 pl_fail
for c in "${CONCURRENCY[@]}"; do
	checkpoint
	log "daemon: POST /v1/events, $c connection(s), ${DURATION}s"
	run_to "$tmp/line" "$load" post "${common[@]}" --conns "$c" \
		--duration "$DURATION"
	line=$(<"$tmp/line")
	log "  $line"
	d_rate[$c]=$(field events_per_s "$line")
	d_p50[$c]=$(field p50_ms "$line")
	d_p99[$c]=$(field p99_ms "$line")
	d_non2xx[$c]=$(field non2xx "$line")
	d_err[$c]=$(field errors "$line")
	d_mix[$c]=$(field statuses "$line")

	checkpoint
	log "pgbench: pipelined like the daemon, $c client(s), ${DURATION}s"
	pgbench_run "$c" "$tmp/event-pipelined.sql"
	log "  tps p50 p99 failed: $pgb"
	read -r tps p50 p99 failed <<<"$pgb"
	pp_tps[$c]=$tps pp_p50[$c]=$p50 pp_p99[$c]=$p99 pp_fail[$c]=$failed

	checkpoint
	log "pgbench: one round trip per statement, $c client(s), ${DURATION}s"
	pgbench_run "$c" "$tmp/event-plain.sql"
	log "  tps p50 p99 failed: $pgb"
	read -r tps p50 p99 failed <<<"$pgb"
	pl_tps[$c]=$tps pl_p50[$c]=$p50 pl_p99[$c]=$p99 pl_fail[$c]=$failed
done

psql -c "SELECT pathway_id FROM pathways ORDER BY random() LIMIT 50000" \
	>"$tmp/ids"
declare -A g_rate g_p50 g_p99 g_non2xx
for c in "${GET_CONCURRENCY[@]}"; do
	log "daemon: GET /v1/pathways/{id}, $c connection(s), ${DURATION}s"
	run_to "$tmp/line" "$load" get --port "$port" --ids "$tmp/ids" \
		--conns "$c" --duration "$DURATION" --token "$READ_TOKEN"
	line=$(<"$tmp/line")
	log "  $line"
	g_rate[$c]=$(field req_per_s "$line")
	g_p50[$c]=$(field p50_ms "$line")
	g_p99[$c]=$(field p99_ms "$line")
	g_non2xx[$c]=$(field non2xx "$line")
done

log "daemon: $IDLE idle connections"
run_to "$tmp/line" "$load" idle --port "$port" --conns "$IDLE" \
	--pid "$daemon_pid"
idle_line=$(<"$tmp/line")
log "  $idle_line"
hwm=$(status_kb VmHWM)
final_counts=$(psql -F ' ' -c "SELECT (SELECT count(*) FROM pathways),
	(SELECT count(*) FROM transitions),
	pg_size_pretty(pg_database_size('painpath'))")
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
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "?" }'
}

read -r lp_pathways lp_transitions lp_size <<<"$counts"
read -r fp_pathways fp_transitions fp_size <<<"$final_counts"
pool=$(awk -F' *= *' '$1 == "pool_size" { v = $2 } END { print v }' "$config")
log_level=$(awk -F' *= *' '$1 == "log_level" { v = $2 } END { print v }' "$config")

cat <<EOF

painpath bench  $(date -u '+%Y-%m-%d %H:%M UTC')
  machine     $ncpu CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -r)
  postgres    $(psql -c 'SHOW server_version'), fsync=$(psql -c 'SHOW fsync'), synchronous_commit=$(psql -c 'SHOW synchronous_commit'), full_page_writes=$(psql -c 'SHOW full_page_writes'), wal_sync_method=$(psql -c 'SHOW wal_sync_method'), shared_buffers=$(psql -c 'SHOW shared_buffers')
  painpathd   $daemon, pool_size=$pool, log_level=$log_level (one log line per request, to a file)
  each run    ${DURATION}s after a 1s warm-up (pgbench: ${DURATION}s, no warm-up); CHECKPOINT before each

Load: $PATIENTS patients, 1..$LOAD_STEPS events each, POST batches of 100 on 16 connections
  $(field events "$load_line") events answered (503s sent again, up to 3 more passes) in $(field seconds "$load_line") s = $(field events_per_s "$load_line") events/s, non-2xx $(field non2xx "$load_line"), errors $(field errors "$load_line")
  database after load: $lp_pathways pathways, $lp_transitions transitions, $lp_size

1. Ingest: POST /v1/events, one ~300-byte event per request, keep-alive,
   one request in flight per connection (mix: opened, referral sent/received/
   accepted, treatment started, 2x pro.reported, closed; dk 70%, no 15%, se-adult 15%)

   conns   events/s    p50 ms    p99 ms   non-2xx  errors  statuses
EOF
for c in "${CONCURRENCY[@]}"; do
	printf '   %5s %10s %9s %9s %9s %7s  %s\n' "$c" "${d_rate[$c]}" \
		"${d_p50[$c]}" "${d_p99[$c]}" "${d_non2xx[$c]}" "${d_err[$c]}" \
		"${d_mix[$c]}"
done
cat <<EOF

2. pgbench -M prepared, the daemon's SQL for one event (daemon/statements.c:
   BEGIN; lock_open; event_lookup | pathway_update; transition_insert; COMMIT)
   on a scratch copy of the tables, random patients among $scratch_patients

           -- 2 round trips (pipelined, as the daemon) --   -- 6 round trips (one per statement) --
 clients       tx/s    p50 ms    p99 ms  failed            tx/s    p50 ms    p99 ms  failed
EOF
for c in "${CONCURRENCY[@]}"; do
	printf ' %7s %10s %9s %9s %7s      %10s %9s %9s %7s\n' "$c" \
		"${pp_tps[$c]}" "${pp_p50[$c]}" "${pp_p99[$c]}" "${pp_fail[$c]}" \
		"${pl_tps[$c]}" "${pl_p50[$c]}" "${pl_p99[$c]}" "${pl_fail[$c]}"
done
cat <<EOF

3. Daemon events/s ÷ pgbench transactions/s

   conns   daemon ev/s   pgbench 2-RT tx/s   ratio   pgbench 6-RT tx/s   ratio
EOF
for c in "${CONCURRENCY[@]}"; do
	printf '   %5s %13s %19s %7s %19s %7s\n' "$c" "${d_rate[$c]}" \
		"${pp_tps[$c]}" "$(ratio "${d_rate[$c]}" "${pp_tps[$c]}")" \
		"${pl_tps[$c]}" "$(ratio "${d_rate[$c]}" "${pl_tps[$c]}")"
done
cat <<EOF

4. Reads: GET /v1/pathways/{id}, random existing ids

   conns      reads/s    p50 ms    p99 ms   non-2xx
EOF
for c in "${GET_CONCURRENCY[@]}"; do
	printf '   %5s %12s %9s %9s %9s\n' "$c" "${g_rate[$c]}" "${g_p50[$c]}" \
		"${g_p99[$c]}" "${g_non2xx[$c]}"
done
cat <<EOF

5. Daemon memory
EOF
printf '   %-38s %s\n' \
	"RSS after the load" "$(mb "$rss_after_load")" \
	"RSS before opening $IDLE connections" "$(mb "$rss_idle0")" \
	"RSS with $IDLE idle connections" \
	"$(mb "$rss_idle") ($(kb_delta "$rss_idle" "$rss_idle0") KB, $(per_conn "$rss_idle" "$rss_idle0") KB per connection)" \
	"RSS after closing them" "$(mb "$(field rss_after_close_kb "$idle_line")")" \
	"peak RSS (VmHWM)" "$(mb "$hwm")"
cat <<EOF

painpathd log: $daemon_problems line(s) above level info (the first ones are on stderr)
database at the end: $fp_pathways pathways, $fp_transitions transitions, $fp_size; bench took ${elapsed}s
EOF
