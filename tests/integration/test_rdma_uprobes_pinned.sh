#!/usr/bin/env bash
# rdma_uprobes with --bpf.pin-path: the counting maps are pinned, so a restarted agent goes on
# from the same totals (the calls made while no agent runs are not seen: the links are not
# pinned), and `novascope cleanup` removes the pins.
. "$(dirname "$0")/../lib.sh"

pin=/sys/fs/bpf/novascope-rdma-$$
ns_on_exit "rm -rf $pin"
comm=rdmapin$$
cp "$NS_BUILD/tests/progs/rdma_client" "$NS_TMP/$comm"
count() { ns_metric novascope_rdma_call_errors_total 'call="rdma_create_id"' "comm=\"$comm\""; }

ns_start_daemon --probes=rdma_uprobes --bpf.pin-path=$pin --collect.interval=200ms
"$NS_TMP/$comm" real >/dev/null
ns_wait_collect 0.6
[ "$(count)" = 1 ] || ns_fail "first agent: $(count) failed rdma_create_id, want 1"
ns_stop_daemon "$NS_PID"
for m in call_stats comm_stats cm_events conns; do
	[ -e "$pin/rdma_uprobes/$m" ] || ns_fail "$m not pinned: $(ls -R $pin)"
done
"$NS_TMP/$comm" real >/dev/null # no agent: not seen

ns_start_daemon --probes=rdma_uprobes --bpf.pin-path=$pin --collect.interval=200ms
grep -q 'adopted pinned state' "$NS_LOG" || ns_fail "second agent did not adopt the pins"
"$NS_TMP/$comm" real >/dev/null
ns_wait_collect 0.6
[ "$(count)" = 2 ] || ns_fail "second agent: $(count) failed rdma_create_id, want 2 (1 carried + 1)"
ns_stop_daemon "$NS_PID"
"$NS_BIN" cleanup --bpf.pin-path=$pin
[ ! -e "$pin/rdma_uprobes" ] || ns_fail "cleanup left $(ls -R $pin)"
ns_ok "counts continue across a restart through the pinned maps"
