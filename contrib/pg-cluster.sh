#!/usr/bin/env bash
# A private PostgreSQL cluster for `make run`, kept under <vardir>/pg:
#   data in <vardir>/pg/data, unix socket in <vardir>/pg (no TCP at all),
#   server log in <vardir>/pg/log.
# It never touches a system cluster.  As root the server runs as postgres.
#
#   contrib/pg-cluster.sh start|stop|status <vardir>
#
# start creates the cluster and the painpath database when missing, is fine
# when the server already runs, and prints the conninfo on stdout (and
# nothing else there, so callers can capture it).
set -euo pipefail

usage() {
	echo "usage: $0 start|stop|status <vardir>" >&2
	exit 2
}

die() {
	echo "pg-cluster: $*" >&2
	exit 1
}

(($# == 2)) || usage
cmd=$1
case $cmd in start | stop | status) ;; *) usage ;; esac

mkdir -p -- "$2"
vardir=$(cd -- "$2" && pwd -P)
pgdir=$vardir/pg
data=$pgdir/data
log=$pgdir/log
port=5432
dbname=painpath

# pg_config may belong to a libpq-dev of another major than the server.
bindir=
for d in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/15/bin \
	/usr/lib/postgresql/*/bin; do
	if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
		bindir=$d
		break
	fi
done
[[ -n $bindir ]] || die "no initdb/pg_ctl found: run contrib/install-deps.sh"

if ((EUID == 0)); then
	id postgres >/dev/null 2>&1 || die "no postgres user: install postgresql"
	user=postgres
	as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
	user=$(id -un)
	as_pg() { (cd / && "$@"); }
fi

# A unix socket path is limited to 107 bytes.
sock=$pgdir/.s.PGSQL.$port
((${#sock} < 108)) || die "socket path $sock is too long: use PAINPATH_VAR=/some/shorter/path"

conninfo="host=$pgdir port=$port dbname=$dbname user=$user"

running() {
	[[ -f $data/PG_VERSION ]] && as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# PG* variables from the caller's environment must not redirect these
# commands to some other server.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGDATA

create() {
	mkdir -p -- "$pgdir"
	chmod 0700 "$pgdir"
	if ((EUID == 0)); then
		chown postgres: "$pgdir"
		as_pg test -w "$pgdir" ||
			die "the postgres user cannot reach $pgdir (a parent directory is not" \
				"searchable by it); use e.g. PAINPATH_VAR=/var/tmp/painpath"
	fi
	if [[ -f $data/PG_VERSION ]]; then
		return
	fi
	echo "pg-cluster: creating a cluster in $data" >&2
	as_pg "$bindir/initdb" -D "$data" -A trust -E UTF8 --locale=C \
		-U "$user" --no-instructions >"$pgdir/initdb.log" 2>&1 || {
		cat "$pgdir/initdb.log" >&2
		die "initdb failed"
	}
	cat >>"$data/postgresql.conf" <<CONF

# painpath private cluster (contrib/pg-cluster.sh)
listen_addresses = ''
unix_socket_directories = '$pgdir'
port = $port
max_connections = 100
CONF
}

start() {
	create
	if ! running; then
		as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 120 -s start >&2 || {
			tail -n 20 "$log" >&2 || true
			die "the server did not start (log: $log)"
		}
	fi
	local have
	have=$(as_pg "$bindir/psql" -XAtq -h "$pgdir" -p "$port" -U "$user" -d postgres \
		-c "select 1 from pg_database where datname = '$dbname'") ||
		die "cannot query the server in $pgdir"
	if [[ $have != 1 ]]; then
		as_pg "$bindir/createdb" -h "$pgdir" -p "$port" -U "$user" "$dbname" ||
			die "createdb $dbname failed"
	fi
	echo "$conninfo"
}

stop() {
	if running; then
		as_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t 120 -s stop >&2 ||
			die "the server in $data did not stop"
		echo "pg-cluster: stopped" >&2
	else
		echo "pg-cluster: not running" >&2
	fi
}

status() {
	if running; then
		echo "running: $conninfo"
	elif [[ -f $data/PG_VERSION ]]; then
		echo "stopped: $data"
		exit 3
	else
		echo "absent: $data"
		exit 4
	fi
}

"$cmd"
