#!/usr/bin/env bash
# Cardinality: 300 short-lived cgroups, each running a process that sleeps and wakes a few
# times, are created and removed during a run with --sched.max-cgroups=16. Every scrape taken
# meanwhile must show at most 16 cgroup values (folding into "other" included) in each sched
# family; once the cgroups are gone their series must stop being exported, and their keys must
# be gone from the daemon's BPF map.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
CAP=16
root=$(ns_cg2_root)
[ -n "$root" ] || ns_fail "no cgroup2 mount in /proc/self/mountinfo"
name=novascope-card-$$
base=$root/$name
mkdir "$base"
ns_on_exit "for d in $base/c*; do [ -d \$d ] && rmdir \$d; done; rmdir $base"

ns_start_daemon --probes=sched --collect.interval=200ms --sched.max-cgroups=$CAP
cat >"$NS_TMP/count.py" <<'PY'
import re, sys
fams = {"novascope_runqueue_latency_seconds_count": set(), "novascope_context_switches_total": set(),
        "novascope_cpu_migrations_total": set()}
for line in sys.stdin:
    m = re.match(r'^(\w+)\{(.*)\} ', line)
    if m and m.group(1) in fams:
        fams[m.group(1)].add(re.search(r'cgroup="((?:[^"\\]|\\.)*)"', m.group(2)).group(1))
prefix = sys.argv[1]
ours = set().union(*fams.values())
print(" ".join(str(len(v)) for v in fams.values()),
      sum(1 for c in ours if c.startswith(prefix)), int("other" in ours))
PY
(
	while [ ! -e "$NS_TMP/stop" ]; do
		curl -sf "$NS_URL/metrics" | python3 "$NS_TMP/count.py" "/$name/" >>"$NS_TMP/counts"
		sleep 0.1
	done
) &
poller=$!
ns_on_exit "touch $NS_TMP/stop; wait $poller 2>/dev/null"

for wave in $(seq 0 9); do
	pids=()
	for i in $(seq 0 29); do
		d=$base/c$((wave * 30 + i))
		mkdir "$d"
		stat -c %i "$d" >>"$NS_TMP/ids"
		(
			echo "$BASHPID" >"$d/cgroup.procs"
			exec sh -c 'for k in 1 2 3 4 5; do sleep 0.1; done'
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 0 29); do rmdir "$base/c$((wave * 30 + i))"; done
done
touch "$NS_TMP/stop"
wait $poller
echo "scrapes: $(wc -l <"$NS_TMP/counts"); max values per family (runq csw migrations), max of ours, other seen:"
maxes=$(awk '{for (i = 1; i <= 5; i++) if ($i > m[i]) m[i] = $i} END {print m[1], m[2], m[3], m[4], m[5]}' "$NS_TMP/counts")
echo "$maxes"
read -r mr mc mm mo other <<<"$maxes"
[ "$(wc -l <"$NS_TMP/counts")" -ge 10 ] || ns_fail "too few scrapes taken during the run"
for v in $mr $mc $mm; do
	[ "$v" -le $CAP ] || ns_fail "a family held $v cgroup values, cap $CAP"
done
[ "$mo" -gt 0 ] || ns_fail "no series of the test's cgroups ever appeared (nothing to check)"
[ "$other" = 1 ] || ns_fail "300 cgroups never folded into \"other\" with a cap of $CAP"
ns_ok "at most $CAP cgroup values per family during the run (runq $mr, switches $mc, migrations $mm; ours up to $mo)"

# Series expire STALE_AFTER (5) intervals after their cgroup's last read.
sleep 2.5
left=$(ns_scrape | grep -c "cgroup=\"/$name/" || true)
[ "$left" = 0 ] || { ns_scrape | grep "cgroup=\"/$name/" | head >&2; ns_fail "$left series of removed cgroups still exported"; }
ns_ok "removed cgroups' series no longer exported"

map=$(for id in $(grep -h '^map_id:' /proc/$NS_PID/fdinfo/* | awk '{print $2}' | sort -un); do
	bpftool -j map show id "$id" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["id"]) if m.get("name")=="cg_stats" else None'
done)
[ -n "$map" ] || ns_fail "daemon holds no cg_stats map"
bpftool -j map dump id "$map" | python3 -c '
import json, sys
ids = set(int(x) for x in open(sys.argv[1]))
keys = set()
for e in json.load(sys.stdin):
    k = e.get("key")
    if isinstance(k, list):
        keys.add(int.from_bytes(bytes(int(b, 16) for b in k), "little"))
    else:
        keys.add(int(e["formatted"]["key"]))
left = ids & keys
print(f"{len(keys)} keys in cg_stats, {len(left)} of the {len(ids)} removed cgroups")
sys.exit(1 if left else 0)' "$NS_TMP/ids" || ns_fail "removed cgroups still have keys in the BPF map"
ns_ok "removed cgroups' keys deleted from the BPF map"
