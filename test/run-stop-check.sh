#!/usr/bin/env bash
# make run-stop-check: SIGTERM sent to `make run`'s process group (what a
# terminal's Ctrl-C, `kill -TERM -PGID` or a CI runner's timeout does) must
# drain the daemon: a request in flight gets its answer, then everything
# stops.  Regression test for run.sh forwarding a second TERM to a daemon
# that had the group's already (a second signal skips the drain).
#
# A request is kept in flight by a lock: psql holds the pathways and
# transitions tables, the posted event waits for them inside the daemon,
# the group gets SIGTERM, and the lock is let go only once the daemon says
# it is draining.  Every wait polls with a deadline; nothing sleeps to
# synchronise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."
make=${MAKE:-make}
build=${BUILD:-build}

tmp=$(mktemp -d /tmp/painpath-runstop-XXXXXX)
chmod 0755 "$tmp"
log=$tmp/run.log
run_pid=
psql_pid=
cleanup() {
	local status=$?
	if [[ -n $psql_pid ]]; then kill "$psql_pid" 2>/dev/null || true; fi
	if [[ -n $run_pid ]] && kill -0 "$run_pid" 2>/dev/null; then
		kill -KILL -- "-$run_pid" 2>/dev/null || true
	fi
	contrib/pg-cluster.sh stop "$tmp/var" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT

fail() {
	echo "run-stop-check: FAIL: $*" >&2
	echo "---- make run's output ----" >&2
	cat "$log" >&2
	exit 1
}

# Polls `$@` until it succeeds, at most $1 seconds.
within() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# `make run` in a session (so a process group) of its own, as a terminal
# would start it; MAKEFLAGS of an outer make must not leak in.
setsid env -u MAKEFLAGS -u MAKELEVEL "$make" -s --no-print-directory run \
	PORT=0 PAINPATH_VAR="$tmp/var" BUILD="$build" >"$log" 2>&1 </dev/null &
run_pid=$!

port() { sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1; }
serving() { [[ -n $(port) ]]; }
within 120 serving || fail "make run did not start serving"
p=$(port)
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/readyz") == 200 ]]; }
within 30 ready || fail "the daemon did not become ready"

conninfo=$(contrib/pg-cluster.sh status "$tmp/var")
conninfo=${conninfo#running: }
sql() { psql -XAtq -d "$conninfo" -c "$1"; }

# Hold the tables the event needs, in a session kept open through a fifo.
mkfifo "$tmp/sql"
psql -XAtq -d "$conninfo" <"$tmp/sql" >"$tmp/psql.out" 2>&1 &
psql_pid=$!
exec 4>"$tmp/sql"
echo "BEGIN; LOCK TABLE pathways, transitions IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&4
locked() { grep -qs '^locked$' "$tmp/psql.out"; }
within 30 locked || fail "could not lock the tables: $(cat "$tmp/psql.out")"

event='{"event_id":"runstop-1","type":"pathway.opened","patient_id":"p-runstop-1",
  "occurred_at":"2025-03-03T09:15:00+01:00","model":"no","region":"helse-vest",
  "unit":"fastlege-bergen","data":{"age":40}}'
curl -s -o "$tmp/answer" -w '%{http_code}' -X POST \
	-H 'Authorization: Bearer dev-ehr' -H 'Content-Type: application/json' \
	--data "$event" "http://127.0.0.1:$p/v1/events" >"$tmp/status" &
curl_pid=$!
waiting() {
	[[ $(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") -ge 1 ]]
}
within 30 waiting || fail "the event did not reach the database"

# The whole group, as Ctrl-C or a runner would.
kill -TERM -- "-$run_pid"
draining() { grep -q "draining" "$log"; }
within 30 draining || fail "the daemon did not start draining"
echo "COMMIT;" >&4
exec 4>&-

wait "$curl_pid" || true
status=$(cat "$tmp/status")
run_status=0
wait "$run_pid" || run_status=$?
# make may return before run.sh has stopped the cluster; the session
# (make, run.sh, the daemon in its own group) must empty by itself.
session_empty() { ! pgrep -s "$run_pid" >/dev/null; }
within 60 session_empty || fail "processes of make run are left: $(pgrep -a -s "$run_pid")"
run_pid=

[[ $status == 201 ]] || fail "the request in flight got \"$status\", not 201: $(cat "$tmp/answer")"
! grep -q "second signal" "$log" || fail "the daemon got a second signal and skipped the drain"
grep -q "\[main\] stopped" "$log" || fail "the daemon did not stop cleanly"
grep -q "pg-cluster: stopped" "$log" || fail "the cluster was not stopped"
[[ $(sql "SELECT count(*) FROM transitions WHERE event_id = 'runstop-1'" 2>/dev/null) == "" ]] ||
	fail "PostgreSQL still answers after make run ended"
echo "run-stop-check: ok: SIGTERM to the group drained the request in flight (201), make run exited $run_status"
