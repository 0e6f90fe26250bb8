#!/usr/bin/env bash
# Deployment artefacts agree with the binary: yamllint-clean manifests; flags, ports, health
# paths, mounts and capabilities as the binary needs them; the agent runs with exactly the
# declared capabilities; the systemd unit's command line is valid; make install installs.
. "$(dirname "$0")/../lib.sh"
cd "$NS_ROOT"
yamllint -s deploy/ || ns_fail "yamllint found problems in deploy/"
ns_ok "yamllint clean"

"$NS_BIN" --help >"$NS_TMP/help"
python3 - "$NS_TMP/help" <<'PY' || ns_fail "manifests disagree with the binary"
import re, sys, yaml, configparser
flags = set(re.findall(r"^  --([a-z0-9.-]+)", open(sys.argv[1]).read(), re.M))
docs = {}
for f in ["daemonset", "service", "podmonitor", "configmap", "namespace", "serviceaccount"]:
    docs[f] = yaml.safe_load(open(f"deploy/kubernetes/{f}.yaml"))
ds = docs["daemonset"]
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
args = dict(a[2:].split("=", 1) for a in c["args"])
bad = [a for a in args if a not in flags]
assert not bad, f"DaemonSet args unknown to the binary: {bad}"
port = int(args["web.listen-address"].rsplit(":", 1)[1])
cports = {p["name"]: p["containerPort"] for p in c["ports"]}
assert cports["metrics"] == port, (cports, port)
assert docs["service"]["spec"]["ports"][0]["port"] == port
assert docs["service"]["spec"]["clusterIP"] == "None", "Service must be headless"
for probe in ("livenessProbe", "readinessProbe"):
    assert c[probe]["httpGet"]["path"] == "/health", probe
    assert c[probe]["httpGet"]["port"] in ("metrics", port), probe
pm = docs["podmonitor"]["spec"]["podMetricsEndpoints"][0]
assert pm["port"] == "metrics" and pm["path"] == "/metrics"
assert pod["hostPID"] is True
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
for need in ["/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/sys/class/infiniband", "/sys/fs/bpf"]:
    assert need in mounts, f"missing mount {need}"
for ro in ["/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/sys/class/infiniband"]:
    assert mounts[ro].get("readOnly"), f"{ro} should be read-only"
assert args.get("bpf.pin-path", "").startswith("/sys/fs/bpf/"), "pinning on in the DaemonSet"
sc = c["securityContext"]
assert sc.get("privileged") is False and sc["capabilities"]["drop"] == ["ALL"]
k8s_caps = sorted(sc["capabilities"]["add"])
unit = open("deploy/systemd/novascope.service").read()
bound = re.search(r"^CapabilityBoundingSet=(.*)$", unit, re.M).group(1).split()
sd_caps = sorted(x.replace("CAP_", "") for x in bound)
assert k8s_caps == sd_caps, f"DaemonSet caps {k8s_caps} != systemd {sd_caps}"
assert re.search(r"^NoNewPrivileges=yes", unit, re.M)
assert "--bpf.pin-path=" in unit
open(sys.argv[1] + ".caps", "w").write(",".join("+" + x.lower() for x in k8s_caps))
open(sys.argv[1] + ".cfg", "w").write(docs["configmap"]["data"]["novascope.yml"])
open(sys.argv[1] + ".exec", "w").write(re.search(r"^ExecStart=\S+ (.*)$", unit, re.M).group(1))
PY
ns_ok "DaemonSet, Service, PodMonitor and the systemd unit agree with the binary"

# The ConfigMap's config and the unit's flags are accepted by the binary.
sed -i 's#/sys/fs/bpf/novascope#/sys/fs/bpf/novascope-deploytest-'$$'#' "$NS_TMP/help.cfg"
"$NS_BIN" --config.file="$NS_TMP/help.cfg" --list-probes >/dev/null || ns_fail "ConfigMap config rejected"
exec_flags=$(sed "s#/etc/novascope/novascope.yml#$NS_ROOT/deploy/novascope.yml#; s#/sys/fs/bpf/novascope#/sys/fs/bpf/novascope-deploytest-$$#" "$NS_TMP/help.exec")
"$NS_BIN" $exec_flags --list-probes >/dev/null || ns_fail "systemd ExecStart flags rejected: $exec_flags"
ns_ok "ConfigMap and ExecStart accepted"

# Run as root with exactly the declared capabilities: every supported probe comes up.
caps=$(cat "$NS_TMP/help.caps")
port=$(ns_free_port)
setpriv --bounding-set=-all,$caps --inh-caps=-all -- "$NS_BIN" --web.listen-address=127.0.0.1:$port \
	--collect.interval=300ms >"$NS_TMP/caps.log" 2>&1 &
pid=$!
ns_on_exit "ns_stop_daemon $pid"
NS_URL=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -sf -o /dev/null "$NS_URL/health" && break; sleep 0.1; done
sleep 0.5
curl -s "$NS_URL/health" | python3 -c '
import json,sys
h=json.load(sys.stdin)
down=[p for p in h["probes"] if p["enabled"] and p["state"]!="up"]
assert not down, down
print("up:", [p["name"] for p in h["probes"] if p["state"]=="up"])' || { cat "$NS_TMP/caps.log"; ns_fail "probes down with the declared capabilities"; }
grep -q "^CapBnd:[[:space:]]*0000000000000000" /proc/$pid/status || ns_fail "capabilities not dropped after start-up"
ns_ok "runs with exactly: $caps"

make -s install DESTDIR="$NS_TMP/root" >/dev/null
for f in usr/local/bin/novascope etc/novascope/novascope.yml etc/systemd/system/novascope.service; do
	[ -f "$NS_TMP/root/$f" ] || ns_fail "make install did not install $f"
done
ns_ok "make install"
