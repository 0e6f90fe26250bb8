#!/usr/bin/env bash
# `novascope selftest` for the RDMA probes: rdma_uprobes makes a child call the real librdmacm
# and must count that one call; rdma_counters checks the exported bytes against the files
# (PASS on the fixture tree, SKIP on this node without RDMA ports); rdma_kernel is unsupported.
. "$(dirname "$0")/../lib.sh"

out=$("$NS_BIN" selftest --probes=rdma_counters,rdma_uprobes,rdma_kernel) || ns_fail "selftest failed: $out"
echo "$out"
grep -q '^PASS rdma_uprobes .*counted 1 (1 failed)' <<<"$out" || ns_fail "rdma_uprobes: $out"
grep -q '^SKIP rdma_counters .*no RDMA port' <<<"$out" || ns_fail "rdma_counters: $out"
grep -q '^SKIP rdma_kernel .*unsupported' <<<"$out" || ns_fail "rdma_kernel: $out"
out=$("$NS_BIN" selftest --probes=rdma_counters --rdma.sysfs-root="$NS_ROOT/tests/fixtures/rdma") ||
	ns_fail "selftest on the fixture failed: $out"
echo "$out"
grep -q '^PASS rdma_counters  2 ports' <<<"$out" || ns_fail "rdma_counters on the fixture: $out"
ns_ok "selftest"
