#!/usr/bin/env bash
# `make run`: the private cluster under $PAINPATH_VAR, then painpathd in the
# foreground on 127.0.0.1:$PORT.  Ctrl-C or SIGTERM stops the daemon, then
# the cluster, so no postgres is left running.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."

PORT=${PORT:-8080}
PAINPATH_VAR=${PAINPATH_VAR:-$PWD/var}
BUILD=${BUILD:-build}
daemon=$BUILD/painpathd
[[ -x $daemon ]] || {
	echo "run: $daemon is missing: run make first" >&2
	exit 1
}

daemon_pid=
cluster_started=

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	local status=$?
	# A second Ctrl-C must not cut the clean-up short.
	trap '' INT TERM
	trap - EXIT
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		# A daemon that ignores SIGTERM still must not keep us here.
		timeout 20 tail -s 0.1 --pid="$daemon_pid" -f /dev/null ||
			kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	if [[ -n $cluster_started ]]; then
		"$here/pg-cluster.sh" stop "$PAINPATH_VAR" || status=1
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_started=1
conninfo=$("$here/pg-cluster.sh" start "$PAINPATH_VAR")
echo "run: painpathd on http://127.0.0.1:$PORT/ (database: $conninfo); Ctrl-C stops" >&2

# In the background so that the shell stays free to run its traps when a
# signal arrives; waiting on it keeps it in the foreground for the user.
# In a process group of its own (job control on for this one command): a
# signal sent to make's group (Ctrl-C, kill -TERM -PGID, a CI runner's
# timeout) reaches make and this script, and the daemon hears of it once,
# from cleanup.  In our group it would get the group's signal and then
# cleanup's, and a second signal means "exit now, skip the drain".
set -m
"$daemon" --listen 127.0.0.1 --port "$PORT" --db "$conninfo" \
	--config config/painpath.conf &
daemon_pid=$!
set +m
status=0
wait "$daemon_pid" || status=$?
daemon_pid=
if ((status != 0)); then
	echo "run: painpathd exited with status $status" >&2
fi
exit "$status"
