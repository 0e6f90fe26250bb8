#!/usr/bin/env bash
# Every panel of deploy/grafana/novascope.json against a real Prometheus that scraped a running
# novascope (and loaded deploy/prometheus/rules.yml): each query must return data when the
# panel's probe is up (novascope_probe_up; the description says "probe: NAME", "none" for
# the collector's own panels). A panel whose families have no series yet because no such event
# happened here (no TCP reset, no I/O error, no migration) is reported as skipped, but only
# after checking that each family it names is one a probe of this build declares, or one the
# issues name for a probe not in this build: a typo in a metric name fails either way.
# Also: every rule in rules.yml evaluates without error, and the syscall recording rules have
# data.
. "$(dirname "$0")/../lib.sh"

cat >"$NS_TMP/cfg.yml" <<EOF
anomaly:
  defaults: {warmup: 5}
EOF
ns_start_daemon --collect.bpf-stats --config.file="$NS_TMP/cfg.yml" \
	--alertmanager.url="http://127.0.0.1:$(ns_free_port)"

# Some activity for probes that may be up in this build (best effort; they are optional).
probe_up() { [ "$(ns_metric novascope_probe_up "probe=\"$1\"")" = 1 ]; }
if probe_up block; then
	img=$NS_TMP/disk.img
	truncate -s 32M "$img"
	dev=$(losetup -f --show --direct-io=on "$img")
	ns_on_exit "losetup -d $dev"
	(for _ in 1 2 3 4 5 6 7 8 9 10; do
		dd if=/dev/zero of="$dev" bs=4k count=500 oflag=direct status=none
		dd if="$dev" of=/dev/null bs=64k count=50 iflag=direct status=none
		sleep 2
	done) &
	ns_on_exit "kill $! 2>/dev/null"
fi
if probe_up tcp; then
	python3 - <<'EOF' &
import socket, threading, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
port = srv.getsockname()[1]
def serve():
    while True:
        c, _ = srv.accept()
        while c.recv(65536): pass
        c.close()
threading.Thread(target=serve, daemon=True).start()
for _ in range(30):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x" * 1000000); s.close()
    try:
        socket.create_connection(("127.0.0.1", 1), timeout=1)  # refused: a reset
    except OSError:
        pass
    time.sleep(1)
EOF
	ns_on_exit "kill $! 2>/dev/null"
fi

PPORT=$(ns_free_port)
mkdir -p "$NS_TMP/prom"
cat >"$NS_TMP/prom/p.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$NS_ROOT/deploy/prometheus/rules.yml"]
scrape_configs:
  - job_name: novascope
    static_configs: [{targets: ["127.0.0.1:$NS_PORT"]}]
EOF
prometheus --config.file="$NS_TMP/prom/p.yml" --storage.tsdb.path="$NS_TMP/prom/data" \
	--web.listen-address=127.0.0.1:$PPORT >"$NS_TMP/prom/log" 2>&1 &
ns_on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
PURL=http://127.0.0.1:$PPORT
samples=0
for _ in $(seq 1 90); do
	samples=$(curl -sf "$PURL/api/v1/query" --data-urlencode 'query=count_over_time(up{job="novascope"}[1m])' |
		jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
	[ "$samples" -ge 20 ] && break
	sleep 1
done
[ "$samples" -ge 20 ] || { tail "$NS_TMP/prom/log" >&2; ns_fail "Prometheus has $samples scrapes of novascope, wanted 20"; }

curl -sf "$NS_URL/metrics" >"$NS_TMP/metrics.txt"
python3 - "$NS_ROOT" "$PURL" "$NS_TMP/metrics.txt" <<'EOF'
import json, os, re, sys, urllib.parse, urllib.request

root, purl, metrics_file = sys.argv[1:]

def query(expr):
    url = purl + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url) as r:
        d = json.load(r)
    assert d["status"] == "success", (expr, d)
    return d["data"]["result"]

# Families this build declares (string literals in the sources) and those the issues name.
declared = set()
for dp, _, fs in os.walk(os.path.join(root, "userspace")):
    for f in fs:
        if f.endswith(".c"):
            declared |= set(re.findall(r'"(novascope_[a-z0-9_]+)"', open(os.path.join(dp, f)).read()))
issues = set("""novascope_build_info novascope_probe_up novascope_collect_duration_seconds
novascope_bpf_run_time_seconds_total novascope_bpf_run_count_total novascope_events_dropped_total
novascope_syscall_latency_seconds novascope_syscall_errors_total novascope_runqueue_latency_seconds
novascope_vcpu_runqueue_latency_seconds novascope_vcpu_steal_seconds_total
novascope_context_switches_total novascope_cpu_migrations_total novascope_kvm_exits_total
novascope_kvm_exit_latency_seconds novascope_kvm_userspace_exits_total
novascope_block_io_latency_seconds novascope_block_io_bytes_total novascope_block_io_errors_total
novascope_block_io_size_bytes novascope_block_slow_io_total novascope_tcp_rtt_seconds
novascope_tcp_connect_latency_seconds novascope_tcp_retransmitted_segments_total
novascope_tcp_resets_total novascope_tcp_bytes_total novascope_tcp_connections_active
novascope_tcp_connection_duration_seconds novascope_migration_bytes_total novascope_migrations_total
novascope_migration_duration_seconds novascope_migrations_active
novascope_migration_throughput_bytes_per_second novascope_migration_retransmitted_segments_total
novascope_rdma_port_bytes_total novascope_rdma_port_packets_total novascope_rdma_port_errors_total
novascope_rdma_hw_counter_total novascope_rdma_port_info novascope_rdma_cm_events_total
novascope_rdma_connect_latency_seconds novascope_rdma_mr_registrations_total
novascope_rdma_mr_registered_bytes_total novascope_rdma_mr_registration_latency_seconds
novascope_anomaly_score novascope_alerts_firing novascope_alert_notifications_total""".split())
exposed = set()
for line in open(metrics_file):
    m = re.match(r"# TYPE (\S+) ", line)
    if m:
        exposed.add(m.group(1))
probes_in_build = {r["metric"]["probe"] for r in query('novascope_probe_up{job="novascope"}')}
up = {r["metric"]["probe"] for r in query('novascope_probe_up{job="novascope"} == 1')}

def family(name):
    return re.sub(r"_(bucket|count|sum)$", "", name) if name not in declared | issues else name

dash = json.load(open(os.path.join(root, "deploy/grafana/novascope.json")))
rows = {r["title"] for r in dash["panels"] if r["type"] == "row"}
want_rows = ["CPU", "Disk", "TCP", "migration", "RDMA", "Syscalls", "Alerts", "self-cost"]
for w in want_rows:
    assert any(w.lower() in r.lower() for r in rows), "no row for %s in %s" % (w, rows)
passed, skipped, failed = [], [], []
for p in dash["panels"]:
    if p["type"] == "row":
        continue
    probe = re.match(r"probe: (\S+)", p["description"]).group(1)
    for t in p["targets"]:
        expr = t["expr"]
        fams = {family(n) for n in re.findall(r"\bnovascope_[a-z0-9_]+", expr)}
        unknown = fams - declared - issues
        if unknown:
            failed.append("%s: unknown metric(s) %s" % (p["title"], sorted(unknown)))
            continue
        if probe != "none" and probe in probes_in_build:
            undeclared = fams - declared
            if undeclared:
                failed.append("%s: probe %s is in this build but does not declare %s"
                              % (p["title"], probe, sorted(undeclared)))
                continue
        if probe != "none" and probe not in probes_in_build and fams <= declared:
            failed.append("%s: says probe %s, not a probe of this build (%s), but this build "
                          "declares its metrics %s: fix the panel's probe name"
                          % (p["title"], probe, sorted(probes_in_build), sorted(fams)))
            continue
        if probe != "none" and probe not in up:
            skipped.append("%s (probe %s %s)" % (p["title"], probe,
                           "down" if probe in probes_in_build else "not in this build"))
            continue
        q = expr.replace("$instance", ".*").replace("$__rate_interval", "15s")
        res = query(q)
        if res:
            passed.append(p["title"])
            continue
        absent = sorted(f for f in fams if f not in exposed)
        if absent:
            skipped.append("%s (no %s series here yet: no such events)" % (p["title"], ", ".join(absent)))
        else:
            failed.append("%s: empty result for %s" % (p["title"], q))
for s in skipped:
    print("skip:", s)
for f in failed:
    print("FAIL:", f)
print("panels with data: %d, skipped: %d, failed: %d" % (len(passed), len(skipped), len(failed)))
# The syscall, alert and self-cost panels must all have data here, bar ring-buffer drops
# (the syscall probe has no ring buffer).
need = [p["title"] for p in dash["panels"] if p["type"] != "row"
        and re.match(r"probe: (syscall|none)\b", p["description"]) and "dropped" not in p["title"]]
missing = [t for t in need if t not in passed]
assert not missing, "these panels must have data: %s" % missing
sys.exit(1 if failed else 0)
EOF
ns_ok "dashboard panels checked"

# Every rule evaluates cleanly in a real Prometheus, and the syscall quantiles are recorded.
curl -sf "$PURL/api/v1/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
n = sum(len(g["rules"]) for g in groups)
assert n > 50 and not bad, (n, bad)
print("ok: %d rules healthy" % n)'
n=$(curl -sf "$PURL/api/v1/query" --data-urlencode 'query=count(instance_syscall:novascope_syscall_latency_seconds:p99_rate1m)' |
	jq -r '.data.result[0].value[1] // 0')
[ "$n" -gt 0 ] || ns_fail "recording rule instance_syscall:novascope_syscall_latency_seconds:p99_rate1m has no data"
ns_ok "recording rules: $n syscall p99 series"
