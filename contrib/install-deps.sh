#!/usr/bin/env bash
# Installs the Debian 12 packages painpath needs to build, test and run.
# Idempotent and quick when everything is there: no apt-get update then.
set -euo pipefail

packages=(build-essential pkg-config libevent-dev libjansson-dev libpq-dev
	check postgresql postgresql-client clang clang-format libclang-rt-14-dev valgrind curl
	libssl-dev openssl chromium postgresql-15-auto-failover pg-auto-failover-cli)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [[ $status != "install ok installed" ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps: missing ${missing[*]}; not root and no sudo: install them as root" >&2
		exit 1
	fi
	sudo=(sudo)
fi

apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
log=$(mktemp "${TMPDIR:-/tmp}/painpath-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
# Without a terminal (CI) apt must not wait for answers: stdin is /dev/null.
if ! "${apt[@]}" update >"$log" 2>&1 </dev/null ||
	! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" \
		>>"$log" 2>&1 </dev/null; then
	cat "$log" >&2
	echo "deps: could not install: ${missing[*]} (see apt-get output above)" >&2
	exit 1
fi
echo "deps: installed ${missing[*]}"
