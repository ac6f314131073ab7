#!/usr/bin/env bash
# Builds the libFuzzer targets into $BUILD and runs each for $FUZZ_SECONDS on
# a scratch copy of its seed corpus (fuzz/corpus/<target>), so a run adds
# nothing to the repository.  Reproducers in fuzz/regressions/<target> are
# replayed first.  Prints per target the executions and whether it crashed;
# exits non-zero if any target crashed.
#
#   BUILD=build-fuzz FUZZ_SECONDS=60 fuzz/run.sh [target...]
#
# Other knobs: CC (clang), FUZZ_FLAGS (extra libFuzzer flags), FUZZ_BUILD_ONLY=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CC=${CC:-clang}
FUZZ_FLAGS=${FUZZ_FLAGS:-}
FUZZ_BUILD_ONLY=${FUZZ_BUILD_ONLY:-0}
ALL_TARGETS=(fuzz_event fuzz_model fuzz_timestamp fuzz_fhir fuzz_http1)

if [[ "$BUILD" == build || "$BUILD" == build/* ]]; then
	echo "fuzz/run.sh: BUILD=$BUILD is the normal build tree; use another" >&2
	exit 2
fi
if [[ $# -gt 0 ]]; then
	TARGETS=("$@")
else
	TARGETS=("${ALL_TARGETS[@]}")
fi

# The library sources each target needs (none needs libpq or libevent).
# The rules: events, their table, the state machine, clocks and models.
RULES_SOURCES="lib/calendar.c lib/clock.c lib/domain.c lib/error.c \
lib/event.c lib/evtype.c lib/fsm.c lib/model.c lib/pathway.c lib/dirlist.c"
lib_sources() {
	case "$1" in
	fuzz_timestamp) echo "lib/calendar.c" ;;
	fuzz_http1) echo "lib/http1.c" ;;
	fuzz_event | fuzz_model)
		echo "$RULES_SOURCES"
		;;
	fuzz_fhir)
		echo "$RULES_SOURCES lib/sha256.c lib/hmac.c" lib/fhir_*.c
		;;
	*)
		echo "fuzz/run.sh: unknown target $1" >&2
		return 1
		;;
	esac
}

dict_of() {
	case "$1" in
	fuzz_event) echo "fuzz/event.dict" ;;
	fuzz_model) echo "fuzz/model.dict" ;;
	fuzz_fhir) echo "fuzz/fhir.dict" ;;
	*) echo "" ;;
	esac
}

read -r -a JANSSON_CFLAGS <<<"$(pkg-config --cflags jansson)"
read -r -a JANSSON_LIBS <<<"$(pkg-config --libs jansson)"
CFLAGS=(-std=c11 -g -O1 -fno-omit-frame-pointer
	"-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wformat=2 -fno-strict-aliasing
	-D_GNU_SOURCE -Ilib -Ifuzz
	"-DFUZZ_MODEL_DIR=\"$ROOT/config/models\"")

mkdir -p "$BUILD"
for target in "${TARGETS[@]}"; do
	read -r -a sources <<<"$(lib_sources "$target")"
	echo "build  $BUILD/$target"
	"$CC" "${CFLAGS[@]}" "${JANSSON_CFLAGS[@]}" -o "$BUILD/$target" \
		"fuzz/$target.c" "${sources[@]}" "${JANSSON_LIBS[@]}" -lm
done
if [[ "$FUZZ_BUILD_ONLY" == 1 ]]; then
	exit 0
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
summary=()
for target in "${TARGETS[@]}"; do
	run="$BUILD/run/$target"
	rm -rf "$run"
	mkdir -p "$run/corpus" "$run/artifacts"
	if [[ -d "fuzz/corpus/$target" ]]; then
		cp -R "fuzz/corpus/$target/." "$run/corpus/"
	fi
	flags=(-max_total_time="$FUZZ_SECONDS" -print_final_stats=1
		-timeout=10 -rss_limit_mb=2048 -max_len=16384
		-artifact_prefix="$run/artifacts/")
	dict=$(dict_of "$target")
	if [[ -n "$dict" ]]; then
		flags+=(-dict="$dict")
	fi
	if [[ -n "$FUZZ_FLAGS" ]]; then
		read -r -a extra <<<"$FUZZ_FLAGS"
		flags+=("${extra[@]}")
	fi

	# Known reproducers first: each must now run clean.
	regressions="fixed"
	if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
		if ! "$BUILD/$target" -runs=1 "fuzz/regressions/$target"/* \
			>"$run/regressions.log" 2>&1; then
			regressions="STILL CRASH (see $run/regressions.log)"
			failed=1
		fi
	else
		regressions="none"
	fi

	echo "fuzz   $target for ${FUZZ_SECONDS}s (log: $run/fuzz.log)"
	status=0
	"$BUILD/$target" "${flags[@]}" "$run/corpus" >"$run/fuzz.log" 2>&1 ||
		status=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		"$run/fuzz.log" | tail -n 1)
	if [[ -z "$execs" ]]; then
		# -fork mode prints no final stats: take its last "#N" line.
		execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$run/fuzz.log" |
			tail -n 1)
	fi
	crashes=$(find "$run/artifacts" -type f | wc -l)
	if [[ $status -ne 0 || $crashes -gt 0 ]]; then
		result="CRASHED (exit $status; artifacts in $run/artifacts)"
		failed=1
	else
		result="ok"
	fi
	summary+=("$(printf '%-15s executions %-10s %s; regressions: %s' \
		"$target" "${execs:-?}" "$result" "$regressions")")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
