#!/usr/bin/env bash
# Multifd live migration (2 channels + the main one): one session per side, not three, with
# bytes within 2% of QEMU's ram.transferred. The destination QEMU is started before the agent,
# so its -incoming port is found by the start-up scan of /proc rather than a listen event.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
PORT=$((30000 + $$ % 9000))
mig_multifd_qemus $PORT
ns_start_daemon --probes=tcp,migration --collect.interval=500ms

$QMP "$NS_TMP/src.qmp" migrate "{\"uri\": \"tcp:127.0.0.1:$PORT\"}" >/dev/null
mig_wait_done
ram=$RAM
mfd=$(python3 -c "import json; print(json.load(open('$NS_TMP/qm.json'))['ram']['multifd-bytes'])")
[ "$mfd" -gt 0 ] || ns_fail "QEMU reports no multifd bytes: multifd was not used"
ns_wait_collect 1.5
ns_scrape >"$NS_TMP/m.txt"
grep "msg=\"migration" "$NS_LOG"
mm() { ns_metric_in "$NS_TMP/m.txt" "$1" 'vm="mvm"' "role=\"$2\""; }
for role in source destination; do
	expect_eq "sessions ($role), multifd" 1 "$(mm novascope_migrations_total $role)"
	expect_eq "sessions active after completion ($role)" 0 "$(mm novascope_migrations_active $role)"
	within_pct "migration bytes ($role) vs ram.transferred" "$ram" \
		"$(mm novascope_migration_bytes_total $role)" 2
	grep -q "msg=\"migration ended\" vm=mvm role=$role .* connections=3 " "$NS_LOG" ||
		ns_fail "the $role session did not gather 3 connections"
done
ns_ok "main channel + 2 multifd channels = one session per side"
