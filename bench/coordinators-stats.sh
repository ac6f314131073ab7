# bench/coordinators.sh, parts 6 and 7 (sourced, with its variables and
# functions: port, daemon_pid, NIGHT, TOKEN, run_client, psql_, sql, secs,
# elapsed, say, die, tmp, cli, conninfo): the coordinators' page's figures
# and the exports at a million pathways (issue 14).  See
# bench/coordinators-README.

# The largest region's name, for a coordinator's view of one region.
stats_region=$(sql "SELECT region FROM pathways WHERE closed_at IS NULL
	GROUP BY region ORDER BY count(*) DESC LIMIT 1")
stats_n=${BENCH_STATS_REQUESTS:-40}

# --- 6. the figures -----------------------------------------------------------

echo
echo "== the summary: POST /v1/stats/build (the nightly build, whole history)"
read -r build_code build_time < <(curl -sS -m 3600 -o "$tmp/build.json" \
	-w '%{http_code} %{time_total}\n' -X POST \
	-H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/stats/build")
printf 'build  HTTP %s  %7.2f s  %s\n' "$build_code" "$build_time" \
	"$(cat "$tmp/build.json")"
psql_ -P footer=off -c "
SELECT 'stats_days' AS summary, count(*) AS rows,
       pg_size_pretty(pg_total_relation_size('stats_days')) AS size
FROM stats_days UNION ALL
SELECT 'stats_months', count(*), pg_size_pretty(pg_total_relation_size('stats_months'))
FROM stats_months"

# The whole country's figures answer from the snapshots (schema 008) the
# daemon computes every half minute at this size: wait for those of the
# summary just built (a minute at most).
snapshots_since() {
	sql "SELECT count(*) FROM stats_snapshots WHERE computed_at > '$1'"
}
built_at=$(sql "SELECT now()")
for _ in $(seq 120); do
	[[ $(snapshots_since "$built_at") == 4 ]] && break
	sleep 0.5
done
[[ $(snapshots_since "$built_at") == 4 ]] ||
	say "no snapshots after the build: the whole country's figures below are live"

# Every call of the page, with the admin's token of every region (from the
# snapshots), the same counted live (snapshots off: stats_snapshot_pathways
# raised by a reload, the snapshots dropped), and with the largest region
# asked for; keep-alive, quickack (the daemon's cost).
echo
echo "== the page's figures ($stats_n requests each, as_of $NIGHT; all regions from the snapshots, all regions live, region=$stats_region)"
echo "   label                                 n  median     p90     p99     max   req/s  bytes"
q="as_of=$NIGHT"
snapshots_off() {
	printf 'stats_snapshot_pathways = 2000000000\n' >>"$tmp/painpath.conf"
	kill -HUP "$daemon_pid"
	# The reload is done when the daemon has answered after it.
	curl -sS -o /dev/null "http://127.0.0.1:$port/v1/health"
	# A refresh begun before the reload ends first.
	while [[ $(sql "SELECT count(*) FROM pg_stat_activity WHERE query
		LIKE 'INSERT INTO stats_snapshots%' AND state = 'active'") != 0 ]]; do
		sleep 0.2
	done
	sql "DELETE FROM stats_snapshots" >/dev/null
}
for scope in all live region; do
	extra=
	[[ $scope == region ]] && extra="&region=$stats_region"
	[[ $scope == live ]] && snapshots_off
	for call in \
		"whoami|/v1/whoami" \
		"clocks|/v1/stats/clocks?$q$extra" \
		"waiting|/v1/stats/waiting?$q$extra" \
		"histogram|/v1/stats/histogram?$q$extra" \
		"histogram no/assessment|/v1/stats/histogram?$q$extra&model=no&rule=assessment" \
		"trend 12 months|/v1/stats/trend?$q$extra&months=12" \
		"flow 12 weeks|/v1/stats/flow?$q$extra&weeks=12" \
		"deadlines 7 days|/v1/deadlines?within_days=7$extra" \
		"deadlines 14 days|/v1/deadlines?within_days=14$extra"; do
		label="${call%%|*} ($scope)"
		path="${call#*|}"
		[[ $scope != all && $path == /v1/whoami ]] && continue
		run_client -q -n "$stats_n" -l "$label" "$path"
	done
done

# The figures with nothing summarised: every event derived live.  The
# summary is put aside for this, and restored.
echo
echo "== without the summary (an empty stats_build: the whole history live; a few requests)"
sql "CREATE TABLE bench_kept_build AS SELECT * FROM stats_build; DELETE FROM stats_build" >/dev/null
for call in "trend 12 months|/v1/stats/trend?$q&months=12" \
	"flow 12 weeks|/v1/stats/flow?$q&weeks=12"; do
	# The client directly: run_client would end the run on the errors
	# this step may well see (the statement timeout, 503).
	"$client" -p "$port" -t "$TOKEN" -q -n 3 \
		-l "${call%%|*} (no summary)" "${call#*|}" ||
		echo "   ${call%%|*} without the summary: errors (the 10 s statement timeout: 503)"
done
sql "INSERT INTO stats_build SELECT * FROM bench_kept_build; DROP TABLE bench_kept_build" >/dev/null

# --- 7. exports at constant memory ------------------------------------------

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$daemon_pid/status"; }

# Samples the daemon's RSS every 200 ms while a command runs; prints
# "before max after" in MB.
with_rss() {
	local before after max=0 kb pid
	before=$(rss_kb)
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		kb=$(rss_kb)
		((kb > max)) && max=$kb
		sleep 0.2
	done
	wait "$pid" || say "$* failed"
	after=$(rss_kb)
	awk -v a="$before" -v m="$max" -v b="$after" \
		'BEGIN { printf "RSS before %.1f MB, max %.1f MB, after %.1f MB", a / 1024, m / 1024, b / 1024 }'
}

# shellcheck disable=SC2086 # $2: curl's options, split on purpose
export_to() {
	curl -sS -m 7200 -H "Authorization: Bearer $TOKEN" $2 \
		-o "$tmp/$1" -w '%{http_code} %{time_total} %{size_download}\n' \
		"http://127.0.0.1:$port$3" >"$tmp/$1.curl"
}

echo
echo "== exports: the daemon's memory (VmRSS sampled every 200 ms; VmHWM at start $(($(hwm_kb) / 1024)) MB)"
for run in \
	"registry.ndjson||/v1/export?from=2000-01-01&to=$NIGHT|GET /v1/export, every pathway" \
	"registry-slow.ndjson|--limit-rate 20M|/v1/export?from=2000-01-01&to=$NIGHT|the same, a client reading 20 MB/s" \
	"worklist.csv|-H Accept:text/csv|/v1/pathways?limit=1|GET /v1/pathways as CSV, every open pathway" \
	"escalations.csv|-H Accept:text/csv|/v1/escalations?date=$NIGHT|GET /v1/escalations as CSV"; do
	IFS='|' read -r file opts path label <<<"$run"
	step=$(secs)
	rss=$(with_rss export_to "$file" "$opts" "$path")
	read -r code secs_taken bytes <"$tmp/$file.curl"
	printf '%-52s HTTP %s %8.1f s %8d lines %8.1f MB  %s\n' "$label" "$code" \
		"$secs_taken" "$(wc -l <"$tmp/$file")" \
		"$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$rss"
	rm -f "$tmp/$file"
done
printf 'VmHWM (the peak of the whole run) %d MB\n' $(($(hwm_kb) / 1024))
echo "the registry exports' audit rows: $(sql "SELECT count(*) || ' row(s), '
	|| max(cardinality(patient_ids)) || ' patients named in the largest'
	FROM audit_log WHERE route = '/v1/export'")"

step=$(secs)
"$cli" export --from 2000-01-01 --to "$NIGHT" --db "$conninfo" 2>/dev/null |
	wc -l >"$tmp/cli.lines"
printf 'painpath export (CLI), every pathway: %s s, %s lines\n' \
	"$(elapsed "$step")" "$(cat "$tmp/cli.lines")"
