#!/usr/bin/env bash
# The agent starts while a multifd migration runs, so every connection is first seen
# mid-life (no handshake, no direction from the kernel): the sessions still get their roles
# right (the destination's main thread reads the main channel, which the thread name alone
# would call the source's), one session per side, and the bytes since the agent started.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
PORT=$((30000 + $$ % 9000))
mig_multifd_qemus $PORT
# At 16 MB/s, so the agent starts mid-way: ~230 MB under KVM (about 14 s), 134 MB under TCG,
# which re-sends less (about 8 s; at 32 MB/s it was over before the agent was up).
$QMP "$NS_TMP/src.qmp" migrate-set-parameters '{"max-bandwidth": 16777216}' >/dev/null
$QMP "$NS_TMP/src.qmp" migrate "{\"uri\": \"tcp:127.0.0.1:$PORT\"}" >/dev/null
sleep 1.5
xfer() {
	$QMP "$NS_TMP/src.qmp" query-migrate |
		python3 -c "import json,sys; m=json.load(sys.stdin); print(m['status'], m['ram']['transferred'])"
}
read -r st before < <(xfer)
[ "$st" = active ] || ns_fail "migration not active before the agent started: $st"
ns_start_daemon --probes=tcp,migration --collect.interval=500ms
read -r st after < <(xfer)
[ "$st" = active ] || ns_fail "migration finished before the agent was up: $st"
echo "QEMU had sent $before bytes before the agent started, $after when it was up"
mig_wait_done
ram=$RAM
ns_wait_collect 1.5
ns_scrape >"$NS_TMP/m.txt"
grep "msg=\"migration" "$NS_LOG"
mm() { ns_metric_in "$NS_TMP/m.txt" "$1" 'vm="mvm"' "role=\"$2\""; }
for role in source destination; do
	expect_eq "sessions ($role), first seen mid-life" 1 "$(mm novascope_migrations_total $role)"
	grep -q "msg=\"migration ended\" vm=mvm role=$role .* connections=3 " "$NS_LOG" ||
		ns_fail "the $role session did not gather 3 connections"
	got=$(mm novascope_migration_bytes_total $role)
	# Counted from each socket's first sight, between the two queries (1% for headers).
	python3 -c "import sys; g,r,b,a=map(float,sys.argv[1:]); sys.exit(not (r-a)*0.99 <= g <= (r-b)*1.01)" \
		"$got" "$ram" "$before" "$after" ||
		ns_fail "$role bytes $got outside [$((ram - after)), $((ram - before))] (x0.99, x1.01)"
	ns_ok "$role bytes $got within [$((ram - after)), $((ram - before))]"
done
ns_ok "a migration first seen mid-life: one session per side with the right roles"
