#!/usr/bin/env bash
# pg_auto_failover on one machine, for trying painpath's high availability:
# a monitor, a primary and a synchronous secondary, each a PostgreSQL 15 of
# its own on loopback, all kept under <vardir>/ha (like `make run`'s
# cluster under <vardir>/pg).  Needs the Debian packages
# postgresql-15-auto-failover and pg-auto-failover-cli (contrib/
# install-deps.sh installs them).  As root, everything runs as postgres,
# which must be able to reach <vardir>.
#
#   contrib/ha/ha-cluster.sh start <vardir>     create when missing, start,
#                                               wait for primary + secondary,
#                                               print the daemons' conninfo
#   contrib/ha/ha-cluster.sh stop <vardir>      stop the nodes, then the monitor
#   contrib/ha/ha-cluster.sh status <vardir>    pg_autoctl show state
#   contrib/ha/ha-cluster.sh conninfo <vardir>  the multi-host conninfo
#   contrib/ha/ha-cluster.sh state <vardir>     "name reported assigned" lines
#   contrib/ha/ha-cluster.sh primary-pid <vardir>
#                                               the primary's postmaster pid
#   contrib/ha/ha-cluster.sh wait-stable <vardir>
#                                               until one primary and one
#                                               secondary (HA_WAIT_S, 120 s)
#   contrib/ha/ha-cluster.sh switchover <vardir>
#                                               pg_autoctl perform switchover,
#                                               then wait-stable
#
# Ports: the monitor listens on HA_PORT (default 6540), the nodes on the two
# ports after it; the first start writes them to <vardir>/ha/ports and later
# commands read them from there.  Every wait polls with a deadline.
set -euo pipefail

usage() {
	sed -n '/^#   contrib/,/^#$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

die() {
	echo "ha-cluster: $*" >&2
	exit 1
}

(($# == 2)) || usage
cmd=$1
case $cmd in
start | stop | status | conninfo | state | primary-pid | wait-stable | switchover) ;;
*) usage ;;
esac

mkdir -p -- "$2"
vardir=$(cd -- "$2" && pwd -P)
ha=$vardir/ha
dbname=painpath
wait_s=${HA_WAIT_S:-120}

bindir=
for d in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)"; do
	if [[ -n $d && -x $d/pg_ctl && -x $d/initdb ]]; then
		bindir=$d
		break
	fi
done
[[ -n $bindir ]] || die "no PostgreSQL 15 (pg_ctl): run contrib/install-deps.sh"
command -v pg_autoctl >/dev/null 2>&1 ||
	die "no pg_autoctl: install postgresql-15-auto-failover and pg-auto-failover-cli"

if ((EUID == 0)); then
	id postgres >/dev/null 2>&1 || die "no postgres user: install postgresql"
	user=postgres
	runas=(runuser -u postgres --)
else
	user=$(id -un)
	runas=()
fi

# pg_autoctl keeps its configuration, state and pid files under the XDG
# directories: here, inside $ha, so nothing lands in a home directory and
# two clusters in two vardirs never meet.  PG* variables of the caller must
# not point these commands at another server.
autoctl() {
	(cd / && "${runas[@]}" env -i PATH="$bindir:/usr/bin:/bin" HOME="$ha" \
		XDG_RUNTIME_DIR="$ha/run" XDG_CONFIG_HOME="$ha/config" \
		XDG_DATA_HOME="$ha/share" LANG=C.UTF-8 pg_autoctl "$@")
}

read_ports() {
	[[ -f $ha/ports ]] || die "no cluster in $ha (run start first)"
	read -r port_monitor port_node1 port_node2 <"$ha/ports"
}

monitor_uri() {
	echo "postgres://autoctl_node@127.0.0.1:$port_monitor/pg_auto_failover?sslmode=disable"
}

conninfo() {
	read_ports
	echo "host=127.0.0.1,127.0.0.1 port=$port_node1,$port_node2 dbname=$dbname" \
		"user=$user target_session_attrs=read-write connect_timeout=5"
}

# "name reported assigned" for each node, from the monitor.
state() {
	read_ports
	autoctl show state --pgdata "$ha/monitor" 2>/dev/null |
		awk -F'|' 'NF >= 7 && $2 ~ /[0-9]/ {
			gsub(/ /, "", $1); gsub(/ /, "", $6); gsub(/ /, "", $7)
			print $1, $6, $7 }'
}

# Polls until cond (a function over the state lines) holds.
wait_for() { # what cond
	local deadline=$((SECONDS + wait_s)) lines
	while :; do
		lines=$(state || true)
		if "$2" "$lines"; then
			return 0
		fi
		((SECONDS < deadline)) || die "no $1 after ${wait_s}s: $(tr '\n' ';' <<<"$lines")"
		sleep 0.2
	done
}

is_single() { grep -q "^node1 single single$" <<<"$1"; }
is_stable() {
	[[ $(grep -c " primary primary$" <<<"$1") == 1 &&
		$(grep -c " secondary secondary$" <<<"$1") == 1 ]]
}

running() { # pgdata
	autoctl status --pgdata "$1" >/dev/null 2>&1
}

# `pg_autoctl run` in the background, detached from our terminal and fds.
run_service() { # name
	if running "$ha/$1"; then
		return
	fi
	"${runas[@]}" true # fail here, not in the background, if we cannot
	# Nothing of ours stays open in it: a caller reading our stdout to its
	# end would otherwise wait for as long as the cluster runs.
	(cd / && exec setsid "${runas[@]}" env -i PATH="$bindir:/usr/bin:/bin" \
		HOME="$ha" XDG_RUNTIME_DIR="$ha/run" XDG_CONFIG_HOME="$ha/config" \
		XDG_DATA_HOME="$ha/share" LANG=C.UTF-8 \
		pg_autoctl run --pgdata "$ha/$1") >>"$ha/log/$1.log" 2>&1 </dev/null &
}

create_monitor() {
	[[ -f $ha/monitor/PG_VERSION ]] && return
	autoctl create monitor --pgdata "$ha/monitor" --pgport "$port_monitor" \
		--pgctl "$bindir/pg_ctl" --hostname 127.0.0.1 --auth trust --no-ssl \
		>>"$ha/log/create.log" 2>&1 || die "creating the monitor failed (log: $ha/log/create.log)"
	# Loopback only: by default the monitor listens on every address.
	autoctl config set --pgdata "$ha/monitor" postgresql.listen_addresses 127.0.0.1 \
		>>"$ha/log/create.log" 2>&1
}

create_node() { # name port
	[[ -f $ha/$1/PG_VERSION ]] && return
	autoctl create postgres --pgdata "$ha/$1" --pgport "$2" --pgctl "$bindir/pg_ctl" \
		--hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl \
		--monitor "$(monitor_uri)" --dbname "$dbname" --name "$1" \
		>>"$ha/log/create.log" 2>&1 || die "creating $1 failed (log: $ha/log/create.log)"
}

setup_dirs() {
	mkdir -p -- "$ha/log" "$ha/run" "$ha/config" "$ha/share"
	chmod 0700 "$ha"
	if ((EUID == 0)); then
		chown -R postgres: "$ha"
		runuser -u postgres -- test -w "$ha" ||
			die "the postgres user cannot reach $ha; use a vardir such as /var/tmp/painpath-ha"
	fi
	if [[ ! -f $ha/ports ]]; then
		local base=${HA_PORT:-6540}
		echo "$base $((base + 1)) $((base + 2))" >"$ha/ports"
	fi
	read_ports
}

start() {
	setup_dirs
	create_monitor
	run_service monitor
	create_node node1 "$port_node1"
	run_service node1
	if [[ ! -f $ha/node2/PG_VERSION ]]; then
		# The secondary is a base backup of a registered primary.
		wait_for "single primary node1" is_single
		create_node node2 "$port_node2"
	fi
	run_service node2
	wait_for "primary and secondary" is_stable
	echo "ha-cluster: $(state | tr '\n' ';')" >&2
	conninfo
}

supervisor_pid() { # name
	local f=$ha/run/pg_autoctl$ha/$1/pg_autoctl.pid
	[[ -f $f ]] && head -1 "$f"
}

stop() {
	local pids=() deadline=$((SECONDS + wait_s)) pid
	read_ports
	for n in node2 node1 monitor; do
		pid=$(supervisor_pid "$n" || true)
		if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
			pids+=("$pid")
			autoctl stop --pgdata "$ha/$n" >/dev/null 2>&1 || true
		fi
	done
	# pg_autoctl stop only asks; each supervisor exits once its postgres
	# has stopped, so when they are gone the data directories are free.
	for pid in "${pids[@]}"; do
		while kill -0 "$pid" 2>/dev/null; do
			((SECONDS < deadline)) || die "pg_autoctl (pid $pid) did not stop within ${wait_s}s"
			sleep 0.1
		done
	done
	echo "ha-cluster: stopped" >&2
}

status() {
	read_ports
	autoctl show state --pgdata "$ha/monitor" || exit 3
}

primary_pid() {
	local name
	name=$(state | awk '$2 == "primary" && $3 == "primary" { print $1 }')
	[[ -n $name ]] || die "no primary now"
	head -1 "$ha/$name/postmaster.pid"
}

switchover() {
	read_ports
	autoctl perform switchover --pgdata "$ha/monitor" --wait "$wait_s" \
		>>"$ha/log/switchover.log" 2>&1 || die "switchover failed (log: $ha/log/switchover.log)"
	wait_for "primary and secondary" is_stable
}

unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGDATA

case $cmd in
start) start ;;
stop) stop ;;
status) status ;;
conninfo) conninfo ;;
state) state ;;
primary-pid) primary_pid ;;
wait-stable) wait_for "primary and secondary" is_stable ;;
switchover) switchover ;;
esac
