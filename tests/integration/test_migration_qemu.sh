#!/usr/bin/env bash
# A real QEMU live migration over 127.0.0.1 (inside a namespace of its own): guests named
# mvm with 128 MB of random RAM, `migrate` over QMP. The agent must show one session per side
# for vm="mvm" (source found by QEMU's migration thread names, destination by the port of its
# -incoming tcp:127.0.0.1:PORT argument, read when that QEMU starts listening), bytes within
# 2% of QEMU's own ram.transferred, both sessions closed after the migration completed, the
# start/end log lines, and `novascope report migration` listing both.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
PORT=$((30000 + $$ % 9000)) # outside libvirt's range: only -incoming can tell
mig_netns
mig_memfiles
ns_start_daemon --probes=tcp,migration --collect.interval=500ms
qemu_start mvm $MNS "$DST_MEM" "$NS_TMP/dst.qmp" -incoming tcp:127.0.0.1:$PORT
qemu_start mvm $MNS "$SRC_MEM" "$NS_TMP/src.qmp"
"$NS_BIN" report migration --duration 6s >"$NS_TMP/report.txt" 2>"$NS_TMP/report.err" &
REPORT=$!
ns_on_exit "kill $REPORT 2>/dev/null"
sleep 1 # the report's probe is attached

$QMP "$NS_TMP/src.qmp" migrate "{\"uri\": \"tcp:127.0.0.1:$PORT\"}" >/dev/null
mig_wait_done
ram=$RAM
ns_wait_collect 1.5
ns_scrape >"$NS_TMP/m.txt"
mm() { ns_metric_in "$NS_TMP/m.txt" "$1" 'vm="mvm"' "role=\"$2\""; }
for role in source destination; do
	expect_eq "sessions ended ($role)" 1 "$(mm novascope_migrations_total $role)"
	expect_eq "sessions active after completion ($role)" 0 "$(mm novascope_migrations_active $role)"
	expect_eq "duration observations ($role)" 1 "$(mm novascope_migration_duration_seconds_count $role)"
	within_pct "migration bytes ($role) vs ram.transferred" "$ram" \
		"$(mm novascope_migration_bytes_total $role)" 2
done
grep -q 'msg="migration started" vm=mvm role=source' "$NS_LOG" || ns_fail "no start log line (source)"
grep -q 'msg="migration started" vm=mvm role=destination' "$NS_LOG" || ns_fail "no start log line (destination)"
grep "msg=\"migration" "$NS_LOG"
[ "$(grep -c 'msg="migration ended" vm=mvm' "$NS_LOG")" = 2 ] || ns_fail "wanted 2 end log lines"
ns_ok "start and end logged for both sides"
cls=$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_bytes_total 'class="migration"' 'direction="sent"')
python3 -c "import sys; sys.exit(not $cls >= $ram)" || ns_fail "class migration sent $cls < $ram"
ns_ok "tcp class migration carried $cls bytes"

wait $REPORT || ns_fail "report migration failed: $(cat "$NS_TMP/report.err")"
cat "$NS_TMP/report.txt"
grep -Eq '^mvm +source .* done ' "$NS_TMP/report.txt" || ns_fail "report lacks the source session"
grep -Eq '^mvm +destination .* done ' "$NS_TMP/report.txt" || ns_fail "report lacks the destination session"
ns_ok "novascope report migration lists both sessions"
