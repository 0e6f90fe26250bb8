#!/usr/bin/env bash
# rdma_uprobes on the scripted test libraries (tests/rdma_fake: librdmacm.so.1/libibverbs.so.1
# with rdma-core's symbols, versions and ABI), found through --rdma.lib-path, driven by
# tests/progs/rdma_client linked against the real libraries. The libraries produce a known
# sequence of CM events and durations; novascope must count exactly:
#  - CM events by type and status, calls and failed calls per function;
#  - connect latency (rdma_connect -> ESTABLISHED): each latency lies between what the library
#    measured inside the calls and what the client measured around them (the probe's clock
#    reads sit in between), so the count is exact, each log2 bucket is exact whenever those two
#    bounds fall in the same bucket (a loaded machine can stretch a 3 ms sleep past a bucket
#    boundary: the bounds say where it went), and the sum lies between the sums of the bounds;
#  - MR registrations: count and bytes exact, buckets and sum the same way.
# Run once with uprobe_multi links and once with one perf uprobe per function.
. "$(dirname "$0")/../lib.sh"

fake=$NS_BUILD/tests/rdma_fake
[ -e "$fake/librdmacm.so.1" ] || ns_fail "build the test libraries: make build/tests/progs/rdma_client"
comm=rdmacl$$ # unique process name: other tests may run RDMA clients concurrently
cp "$NS_BUILD/tests/progs/rdma_client" "$NS_TMP/$comm"

scenario() {
	local mode=$1 hook out log
	log=$NS_TMP/fake.$mode.log
	ns_start_daemon --probes=rdma_uprobes --rdma.lib-path="$fake" --rdma.uprobe-multi=$mode \
		--collect.interval=200ms
	hook=$(curl -s "$NS_URL/health" | python3 -c 'import json,sys; print([p for p in json.load(sys.stdin)["probes"] if p["name"]=="rdma_uprobes"][0]["hook"])')
	case "$mode:$hook" in
	true:"uprobe_multi 24 functions in 2 libraries" | false:"uprobe 24 functions in 2 libraries") ;;
	*) ns_fail "hook with --rdma.uprobe-multi=$mode: $hook" ;;
	esac
	# 8 connects: 3 of 3 ms, 2 of 12 ms, a rejection, an unreachable peer, a failed call.
	out=$(LD_LIBRARY_PATH=$fake NS_FAKE_RDMA_LOG=$log \
		NS_FAKE_RDMA_CONNECT=ESTABLISHED:3000,ESTABLISHED:12000,REJECTED:1000,ESTABLISHED:3000,UNREACHABLE:2000,FAIL:0,ESTABLISHED:12000,ESTABLISHED:3000 \
		"$NS_TMP/$comm" connect 8)
	# 5 registrations: 3 ms, 3 ms (ibv_reg_mr_iova), a failure, 6 ms, 12 ms.
	out+=$'\n'$(LD_LIBRARY_PATH=$fake NS_FAKE_RDMA_LOG=$log NS_FAKE_RDMA_MR=3000,3000,FAIL,6000,12000 \
		"$NS_TMP/$comm" mr 4096 i65536 1048576 2097152 8388608)
	echo "$out"
	ns_wait_collect 0.6
	ns_scrape >"$NS_TMP/metrics.$mode"
	printf '%s\n' "$out" >"$NS_TMP/client.$mode"
	python3 - "$NS_TMP/metrics.$mode" "$NS_TMP/client.$mode" "$log" "$comm" <<'PY' || ns_fail "mode $mode: counts differ"
import re, sys
metrics, client, inner, comm = sys.argv[1:]
samples = {}
for line in open(metrics):
    m = re.match(r'^(\w+)(\{(.*)\})? (\S+)$', line)
    if m and not line.startswith('#'):
        samples[(m.group(1), m.group(3) or '')] = float(m.group(4))
def get(name, **labels):
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for (n, l), v in samples.items() if n == name and all(w in l for w in want))
bad = []
def expect(what, got, want):
    print(f'{what}: got {got} want {want}')
    if got != want:
        bad.append(what)
# CM events and calls, exact.
for ev, st, n in [('ADDR_RESOLVED', 0, 8), ('ROUTE_RESOLVED', 0, 8), ('ESTABLISHED', 0, 5),
                  ('REJECTED', 28, 1), ('UNREACHABLE', -110, 1), ('DISCONNECTED', 0, 5)]:
    expect(f'cm {ev}/{st}', get('novascope_rdma_cm_events_total', event=ev, status=st), n)
for call, n, err in [('rdma_create_event_channel', 8, 0), ('rdma_create_id', 8, 0),
                     ('rdma_resolve_addr', 8, 0), ('rdma_resolve_route', 8, 0),
                     ('rdma_connect', 8, 1), ('rdma_get_cm_event', 28, 0),
                     ('rdma_disconnect', 5, 0), ('rdma_destroy_id', 8, 0),
                     ('ibv_reg_mr', 4, 1), ('ibv_reg_mr_iova', 1, 0), ('ibv_reg_mr_iova2', 0, 0),
                     ('ibv_alloc_pd', 1, 0)]:
    expect(f'calls {call}', get('novascope_rdma_calls_total', call=call, comm=comm), n)
    expect(f'errors {call}', get('novascope_rdma_call_errors_total', call=call, comm=comm), err)
# Connect latency.
lines = [l.split() for l in open(client)]
outer = [int(l[3]) for l in lines if l[0] == 'CONNECT' and l[1] == 'RDMA_CM_EVENT_ESTABLISHED']
inn = [int(l[2]) for l in map(str.split, open(inner)) if l[0] == 'connect_inner_ns' and l[1] == 'RDMA_CM_EVENT_ESTABLISHED']
def slot(ns):
    return ns.bit_length() - 1  # floor(log2), the probe's log2 slot
def histogram(what, h, inn, out, n):
    expect(f'{what} samples (library, client)', (len(inn), len(out)), (n, n))
    expect(f'{what} count', get(h + '_count', comm=comm), n)
    for i in (20, 21, 22, 23, 24):
        le = '%.10g' % (2 ** (i + 1) * 1e-9)
        lo = sum(slot(o) <= i for o in out)  # surely in a bucket <= i
        hi = sum(slot(x) <= i for x in inn)  # at most these
        got = get(h + '_bucket', comm=comm, le=le)
        print(f'{what} bucket le={le}: got {got} want {lo}' + (f'..{hi}' if hi != lo else ''))
        if not lo <= got <= hi:
            bad.append(f'{what} bucket le={le}')
    expect(f'{what} bucket le=+Inf', get(h + '_bucket', comm=comm, le='+Inf'), n)
    s = get(h + '_sum', comm=comm)
    print(f'{what} sum {s:.9f}s within [{sum(inn)/1e9:.9f}, {sum(out)/1e9:.9f}]')
    if not sum(inn) <= round(s * 1e9) <= sum(out):
        bad.append(f'{what} sum')
lines = [l.split() for l in open(client)]
inner_lines = [l.split() for l in open(inner)]
out = [int(l[3]) for l in lines if l[0] == 'CONNECT' and l[1] == 'RDMA_CM_EVENT_ESTABLISHED']
inn = [int(l[2]) for l in inner_lines if l[0] == 'connect_inner_ns' and l[1] == 'RDMA_CM_EVENT_ESTABLISHED']
histogram('connect', 'novascope_rdma_connect_latency_seconds', inn, out, 5)
# The library slept at least what the script asked for.
if sorted(inn)[:3] < [3000000] * 3 or min(sorted(inn)[3:]) < 12000000:
    bad.append('connect durations')
# Memory registrations.
expect('mr registrations', get('novascope_rdma_mr_registrations_total', comm=comm), 4)
expect('mr bytes', get('novascope_rdma_mr_registered_bytes_total', comm=comm), 4096 + 65536 + 2097152 + 8388608)
out = [int(l[3]) for l in lines if l[0] == 'MR' and l[2] == 'ok']
inn = [int(l[2]) for l in inner_lines if l[0] == 'mr_inner_ns']
histogram('mr', 'novascope_rdma_mr_registration_latency_seconds', inn, out, 4)
if bad:
    print('differ:', ', '.join(bad))
    sys.exit(1)
PY
	ns_stop_daemon "$NS_PID"
	ns_ok "uprobe-multi=$mode: exact counts, buckets and bounded sums"
}

scenario true
scenario false
