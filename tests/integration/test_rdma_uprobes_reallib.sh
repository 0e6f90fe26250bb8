#!/usr/bin/env bash
# rdma_uprobes on Debian's librdmacm1/libibverbs1, found in the dynamic linker's directories:
# attaching succeeds, and a client started afterwards that calls the real libraries (which fail
# here: no RDMA device) has each failed call counted as an error for that function.
. "$(dirname "$0")/../lib.sh"

comm=rdmareal$$
cp "$NS_BUILD/tests/progs/rdma_client" "$NS_TMP/$comm"
ns_start_daemon --probes=rdma_uprobes --collect.interval=200ms --log.level=debug
health=$(curl -s "$NS_URL/health")
python3 - "$health" <<'PY' || ns_fail "rdma_uprobes not up on the system libraries: $health"
import json, sys
p = [p for p in json.loads(sys.argv[1])["probes"] if p["name"] == "rdma_uprobes"][0]
print(p)
assert p["state"] == "up" and p["hook"].endswith("in 2 libraries"), p
PY
for lib in librdmacm libibverbs; do
	grep -q "rdma uprobes attached\" library=/usr/lib/$(uname -m)-linux-gnu/$lib.so.1" "$NS_LOG" ||
		ns_fail "no uprobes on Debian's $lib: $(grep 'rdma uprobes' "$NS_LOG")"
done

runs=3
for _ in $(seq $runs); do
	"$NS_TMP/$comm" real >>"$NS_TMP/calls"
done
cat "$NS_TMP/calls"
ns_wait_collect 0.6
n=0
while read -r _ fn result errname; do
	[ "$result" = fail ] || ns_fail "$fn succeeded without an RDMA device? ($errname)"
	n=$((n + 1))
done < <(sort -u "$NS_TMP/calls")
[ $n -ge 4 ] || ns_fail "client made $n distinct calls"
for fn in $(awk '{print $2}' "$NS_TMP/calls" | sort -u); do
	want=$(grep -c "^CALL $fn fail" "$NS_TMP/calls")
	calls=$(ns_metric novascope_rdma_calls_total "call=\"$fn\"" "comm=\"$comm\"")
	errs=$(ns_metric novascope_rdma_call_errors_total "call=\"$fn\"" "comm=\"$comm\"")
	echo "$fn: client failed $want, novascope calls=$calls errors=$errs"
	[ "$calls" = "$want" ] && [ "$errs" = "$want" ] ||
		ns_fail "$fn: expected $want calls and $want errors, got $calls and $errs"
done
ns_ok "failed calls into the real libraries counted exactly"
