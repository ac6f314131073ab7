#!/usr/bin/env bash
# Installs the test-only Node tools pinned in test/node/package-lock.json
# (puppeteer-core, fhir, fhir-kit-client, @redocly/cli, ajv, ajv-formats,
# uplot) into test/node/node_modules, which git ignores.  The daemon never
# uses Node: these drive a real browser, a stock FHIR client, an
# independent FHIR validator, the OpenAPI linter and the check of answers
# against the OpenAPI document in `make check`.
#
# Quick when nothing changed: the lock file's hash is kept beside the
# installed tree, and npm runs only when it differs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$here/../test/node
stamp=$dir/node_modules/.painpath-lock-sha256

command -v npm >/dev/null 2>&1 || {
	echo "node-tools: npm is missing (Node 20 and npm are needed for the browser, FHIR and OpenAPI tests)" >&2
	exit 1
}
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
	echo "node-tools: up to date"
	exit 0
fi
# --ignore-scripts: no package may download a browser or run code at
# install; puppeteer-core uses Debian's chromium.
(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
	</dev/null)
echo "$want" >"$stamp"
echo "node-tools: installed into test/node/node_modules"
