#!/usr/bin/env bash
# painpathd under valgrind, for `make valgrind`: any memory error or leak
# makes the daemon exit 99, which the end-to-end suite reports as a failure.
set -euo pipefail
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect \
	"${VALGRIND_DAEMON:-build/painpathd}" "$@"
