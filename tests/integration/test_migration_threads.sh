#!/usr/bin/env bash
# A migration where ports say nothing about the source: the destination QEMU listens with
# `-incoming defer` + QMP migrate-incoming (so its command line names no port) on a port that a
# config rule puts in the migration class (a class named `migration` adds its rules to the
# built-in ones). The source's connection matches no port rule: it must be classified by the
# name of the QEMU thread that sends first (live_migration), not the one that connected
# (io-task-worker). Over 127.0.0.1 in a namespace of its own.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
PORT=$((30000 + $$ % 9000))
cat >"$NS_TMP/cfg.yml" <<EOC
tcp.classes:
  - name: migration
    local_ports: ["$PORT"]
EOC
mig_netns
mig_memfiles
ns_start_daemon --probes=tcp,migration --collect.interval=500ms --config.file="$NS_TMP/cfg.yml"
qemu_start mvm $MNS "$DST_MEM" "$NS_TMP/dst.qmp" -incoming defer
qemu_start mvm $MNS "$SRC_MEM" "$NS_TMP/src.qmp"
$QMP "$NS_TMP/dst.qmp" migrate-incoming "{\"uri\": \"tcp:127.0.0.1:$PORT\"}" >/dev/null
$QMP "$NS_TMP/src.qmp" migrate "{\"uri\": \"tcp:127.0.0.1:$PORT\"}" >/dev/null
mig_wait_done
ram=$RAM
ns_wait_collect 1.5
ns_scrape >"$NS_TMP/m.txt"
grep "msg=\"migration" "$NS_LOG"
grep -q 'msg="migration started" vm=mvm role=source .* thread=live_migration' "$NS_LOG" ||
	ns_fail "the source session was not started by the live_migration thread"
ns_ok "source recognised by QEMU's migration thread name"
mm() { ns_metric_in "$NS_TMP/m.txt" "$1" 'vm="mvm"' "role=\"$2\""; }
for role in source destination; do
	expect_eq "sessions ($role)" 1 "$(mm novascope_migrations_total $role)"
	within_pct "migration bytes ($role) vs ram.transferred" "$ram" \
		"$(mm novascope_migration_bytes_total $role)" 2
done
