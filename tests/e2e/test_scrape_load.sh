#!/usr/bin/env bash
# 200 concurrent scrapers (wrk) for 90 s while the probes run: no errors, no RSS growth after
# the first minute, and scrapes are served from the rendered buffer (collections stay at one
# per interval however many scrapes arrive).
. "$(dirname "$0")/../lib.sh"
DUR=${NS_LOAD_SECONDS:-90}
ns_start_daemon --collect.interval=1s
c0=$(ns_metric novascope_collect_duration_seconds_count)
rss() { awk '/^VmRSS/{print $2}' /proc/$NS_PID/status; }
wrk -t2 -c200 -d${DUR}s --timeout 10s -H 'Accept-Encoding: gzip' "$NS_URL/metrics" >"$NS_TMP/wrk.txt" 2>&1 &
wrk_pid=$!
ns_on_exit "kill $wrk_pid 2>/dev/null"
sleep 60
r60=$(rss)
sleep $((DUR - 60 + 2))
wait $wrk_pid || ns_fail "wrk failed: $(cat $NS_TMP/wrk.txt)"
r_end=$(rss)
cat "$NS_TMP/wrk.txt"
c1=$(ns_metric novascope_collect_duration_seconds_count)
reqs=$(awk '/requests in/{print $1}' "$NS_TMP/wrk.txt")
grep -q 'Non-2xx' "$NS_TMP/wrk.txt" && ns_fail "non-2xx responses under load"
grep -q 'Socket errors' "$NS_TMP/wrk.txt" && ns_fail "socket errors under load: $(grep 'Socket errors' $NS_TMP/wrk.txt)"
[ "${reqs:-0}" -gt $((DUR * 50)) ] || ns_fail "only $reqs scrapes served in ${DUR}s"
echo "RSS at 60s: ${r60} kB, at end: ${r_end} kB; collections: $((c1 - c0)) for $reqs scrapes"
if ldd "$NS_BIN" | grep -q libasan; then
	# ASan keeps freed memory in its quarantine (256 MiB): RSS says nothing about leaks there.
	echo "skip: RSS check under AddressSanitizer"
else
	[ $((r_end - r60)) -le 1024 ] || ns_fail "RSS grew by $((r_end - r60)) kB after the first minute"
fi
[ $((c1 - c0)) -le $((DUR + 10)) ] || ns_fail "$((c1 - c0)) collections in ${DUR}s: scrapes trigger collections"
ns_ok "$reqs scrapes, no errors, RSS flat (${r60} -> ${r_end} kB)"
