#!/usr/bin/env bash
# The three RDMA probes report their support separately: on this kernel (no RDMA core, so no
# rdma_cma/rdma_core/ib_mad tracepoints) rdma_kernel is unsupported with the reason, while
# rdma_counters and rdma_uprobes are supported; selecting all three, the two others work.
. "$(dirname "$0")/../lib.sh"

out=$("$NS_BIN" --list-probes)
echo "$out"
line() { awk -v p="$1" '$1 == p' <<<"$out"; }
[[ "$(line rdma_kernel)" =~ ^rdma_kernel\ +no\ .*"kernel has no rdma_cma, rdma_core or ib_mad tracepoints" ]] ||
	ns_fail "rdma_kernel: $(line rdma_kernel)"
[[ "$(line rdma_counters)" =~ ^rdma_counters\ +yes\ +sysfs\ /sys/class/infiniband ]] ||
	ns_fail "rdma_counters: $(line rdma_counters)"
[[ "$(line rdma_uprobes)" =~ ^rdma_uprobes\ +yes\ +uprobe\ librdmacm,libibverbs ]] ||
	ns_fail "rdma_uprobes: $(line rdma_uprobes)"
# The tracepoints really are absent (the reason is not a guess).
for tp in rdma_cma rdma_core ib_mad; do
	[ ! -e /sys/kernel/tracing/events/$tp ] || ns_fail "tracefs has $tp: the reason would be wrong"
done
ns_ok "list-probes"

# All three selected: rdma_kernel down with its reason, the others up and exporting.
root=$NS_TMP/infiniband
cp -a "$NS_ROOT/tests/fixtures/rdma" "$root"
ns_start_daemon --probes=rdma_counters,rdma_uprobes,rdma_kernel --rdma.sysfs-root="$root"
ns_wait_collect
curl -s "$NS_URL/health" | python3 -c '
import json, sys
h = {p["name"]: p for p in json.load(sys.stdin)["probes"]}
print(h["rdma_kernel"], h["rdma_counters"]["state"], h["rdma_uprobes"]["state"])
assert h["rdma_kernel"]["state"] == "down" and "no rdma_cma" in h["rdma_kernel"]["reason"]
assert h["rdma_counters"]["state"] == "up" and h["rdma_uprobes"]["state"] == "up"
' || ns_fail "health"
[ "$(ns_metric novascope_probe_up 'probe="rdma_kernel"')" = 0 ] || ns_fail "rdma_kernel up?"
[ "$(ns_metric novascope_probe_up 'probe="rdma_uprobes"')" = 1 ] || ns_fail "rdma_uprobes not up"
got=$(ns_metric novascope_rdma_port_bytes_total 'device="mlx5_1"' 'direction="tx"')
want=$(($(cat "$root/mlx5_1/ports/1/counters/port_xmit_data") * 4))
[ "$got" = "$want" ] || ns_fail "rdma_counters beside an unsupported rdma_kernel: $got, want $want"
ns_ok "rdma_kernel unsupported without stopping the other two"
