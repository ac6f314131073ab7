#!/usr/bin/env bash
# make install-check: installs into temporary directories and runs what was
# installed.
#   1. PREFIX=/usr with a DESTDIR: Debian's layout (/usr/sbin, /etc/painpath,
#      /lib/systemd/system, /usr/share/man), the paths compiled in, the unit
#      pointing at them, and nothing written outside DESTDIR.
#   2. PREFIX=<tmp>/usr without DESTDIR: the installed man pages render
#      without a warning, both binaries say the build's version, and the
#      installed daemon, started the way the installed systemd unit starts
#      it, and again with no configuration at all (so with the compiled-in
#      share directory), applies the installed schema, loads the installed
#      models, answers /healthz, records an event and drains on SIGTERM.
#      It runs against a private PostgreSQL in the same temporary directory.
#   3. A second install keeps an edited painpath.conf.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."
src=$PWD
make=${MAKE:-make}
build=${BUILD:-build}
version=$("$build/painpathd" --version 2>/dev/null) || {
	echo "install-check: build $build first (make all)" >&2
	exit 1
}
version=${version#painpathd }

tmp=$(mktemp -d /tmp/painpath-install-XXXXXX)
# As root, the private cluster runs as postgres, which must reach it.
chmod 0755 "$tmp"
daemon_pid=
cleanup() {
	local status=$?
	if [[ -n $daemon_pid ]]; then
		kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	"$src/contrib/pg-cluster.sh" stop "$tmp/var" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT

failures=0
ok() { echo "install-check: ok: $*"; }
fail() {
	echo "install-check: FAIL: $*" >&2
	failures=$((failures + 1))
}
expect_file() {
	if [[ -f $1 ]]; then ok "$1"; else fail "missing $1"; fi
}
expect_eq() { # what got want
	if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got \"$2\", want \"$3\""; fi
}

install_into() { # make arguments...
	"$make" -s --no-print-directory install INSTALL_BUILD=build-install-check \
		"$@" >"$tmp/install.log" 2>&1 || {
		cat "$tmp/install.log" >&2
		fail "make install $*"
		exit 1
	}
}

# --- 1. Debian's layout under a DESTDIR --------------------------------------

stage=$tmp/stage
install_into PREFIX=/usr DESTDIR="$stage"
for f in usr/sbin/painpathd usr/bin/painpath usr/share/painpath/schema/001_core.sql \
	usr/share/painpath/models/no.json usr/share/man/man8/painpathd.8 \
	usr/share/man/man1/painpath.1 usr/share/man/man5/painpath.conf.5 \
	etc/painpath/painpath.conf etc/painpath/models/dk.json \
	lib/systemd/system/painpathd.service usr/share/doc/painpath/README \
	usr/share/painpath/web/index.html usr/share/painpath/web/js/dashboard.js \
	usr/share/painpath/web/vendor/uplot/uPlot.iife.min.js; do
	expect_file "$stage/$f"
done
unexpected=$(cd "$stage" && find . -type f | { grep -Ev '^\./(usr/(s?bin|share)|etc/painpath|lib/systemd/system)/' || true; })
expect_eq "nothing outside the layout" "$unexpected" ""
expect_eq "unit ExecStart (PREFIX=/usr)" \
	"$(sed -n 's/^ExecStart=//p' "$stage/lib/systemd/system/painpathd.service")" \
	"/usr/sbin/painpathd --config /etc/painpath/painpath.conf"
printed=$("$stage/usr/sbin/painpathd" --print-config)
expect_eq "compiled-in models_dir (PREFIX=/usr)" \
	"$(sed -n 's/^models_dir = //p' <<<"$printed")" /usr/share/painpath/models
expect_eq "compiled-in schema_dir (PREFIX=/usr)" \
	"$(sed -n 's/^schema_dir = //p' <<<"$printed")" /usr/share/painpath/schema
expect_eq "example config's models_dir" \
	"$(sed -n 's/^models_dir = //p' "$stage/etc/painpath/painpath.conf")" /etc/painpath/models

# --- 2. an installation that runs -------------------------------------------

prefix=$tmp/usr
install_into PREFIX="$prefix"
sysconf=$prefix/etc

for page in "$prefix"/share/man/man*/*; do
	warnings=$(man --warnings -l "$page" 2>&1 >/dev/null)
	expect_eq "man -l ${page##*/} without warnings" "$warnings" ""
done
for name in painpathd painpath painpath.conf; do
	rendered=$(MANWIDTH=80 man --warnings -M "$prefix/share/man" "$name" 2>&1 | head -5)
	if grep -q "^NAME" <<<"$rendered"; then ok "man $name"; else fail "man $name: $rendered"; fi
done

expect_eq "painpathd --version" "$("$prefix/sbin/painpathd" --version)" "painpathd $version"
expect_eq "painpath --version" "$("$prefix/bin/painpath" --version)" "painpath $version"
if [[ -n ${VERSION:-} ]]; then
	expect_eq "version is make's" "$version" "$VERSION"
fi

conninfo=$("$src/contrib/pg-cluster.sh" start "$tmp/var" 2>"$tmp/pg.log") || {
	cat "$tmp/pg.log" >&2
	fail "private PostgreSQL"
	exit 1
}

# Starts the installed daemon with the given arguments plus a free port and
# --ready-fd; sets port.  The fifo's reader sees EOF if the daemon dies
# before it is ready, so this never hangs.
start_daemon() {
	rm -f "$tmp/ready"
	mkfifo "$tmp/ready"
	"$@" --listen 127.0.0.1 --port 0 --db "$conninfo" \
		--tokens "$src/test/data/tokens.conf" --ready-fd 3 \
		3>"$tmp/ready" 2>>"$tmp/daemon.log" &
	daemon_pid=$!
	port=
	read -r port <"$tmp/ready" || true
	if [[ -z $port ]]; then
		cat "$tmp/daemon.log" >&2
		fail "the installed daemon did not start: $*"
		exit 1
	fi
}

stop_daemon() {
	local status=0
	kill -TERM "$daemon_pid"
	wait "$daemon_pid" || status=$?
	daemon_pid=
	expect_eq "exit status after SIGTERM" "$status" 0
}

http() { # method path [body]
	local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$1"
		-H 'Authorization: Bearer dev-admin')
	if (($# > 2)); then
		args+=(-H 'Content-Type: application/json' --data "$3")
	fi
	curl "${args[@]}" "http://127.0.0.1:$port$2"
}

models_in() {
	grep -o '"key": *"[a-z-]*"' "$tmp/body" | wc -l
}

# As the installed unit starts it.
unit=$prefix/lib/systemd/system/painpathd.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
expect_eq "unit ExecStart" "$exec_start" \
	"$prefix/sbin/painpathd --config $sysconf/painpath/painpath.conf"
read -r -a argv <<<"$exec_start"
start_daemon "${argv[@]}"
expect_eq "/healthz (the unit's command line)" "$(http GET /healthz)" 200
expect_eq "/v1/models (from $sysconf/painpath/models)" "$(http GET /v1/models)" 200
expect_eq "models loaded" "$(models_in)" 4
event='{"event_id":"install-1","type":"pathway.opened","patient_id":"p-install-1",
  "occurred_at":"2025-03-03T09:15:00+01:00","model":"no","region":"helse-vest",
  "unit":"fastlege-bergen","data":{"age":40}}'
expect_eq "an event recorded" "$(http POST /v1/events "$event")" 201
stop_daemon

# With no configuration at all: the compiled-in share directory.  The
# installed page is marked, so that the source tree's copy cannot pass.
echo "<!-- installed copy -->" >>"$prefix/share/painpath/web/index.html"
start_daemon "$prefix/sbin/painpathd"
expect_eq "GET / (from $prefix/share/painpath/web)" "$(http GET /)" 200
expect_eq "the installed page served" \
	"$(grep -c "installed copy" "$tmp/body")" 1
expect_eq "/healthz (no configuration)" "$(http GET /healthz)" 200
expect_eq "/v1/models (from $prefix/share/painpath/models)" "$(http GET /v1/models)" 200
expect_eq "models loaded" "$(models_in)" 4
expect_eq "the event is there" "$(http POST /v1/events "$event")" 200
stop_daemon

if command -v systemd-analyze >/dev/null 2>&1; then
	# It checks the binaries and the Documentation= man pages exist.
	out=$(MANPATH=$prefix/share/man: systemd-analyze verify "$unit" 2>&1) || true
	expect_eq "systemd-analyze verify" "$out" ""
fi

# --- 3. a second install keeps the operator's configuration -----------------

echo "port = 9999" >>"$sysconf/painpath/painpath.conf"
install_into PREFIX="$prefix"
if grep -q "^port = 9999" "$sysconf/painpath/painpath.conf"; then
	ok "an edited painpath.conf is kept"
else
	fail "make install overwrote painpath.conf"
fi

if ((failures > 0)); then
	echo "install-check: $failures failure(s)" >&2
	exit 1
fi
echo "install-check: all passed"
