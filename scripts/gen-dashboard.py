#!/usr/bin/env python3
"""Generates deploy/grafana/novascope.json: one row per domain, each panel's PromQL over the
metric names the probes export. Every panel's description starts with "probe: NAME" (or
"probe: none"): tests/e2e/test_anomaly_dashboard.sh uses it to skip panels of probes that
are down or absent. Usage: scripts/gen-dashboard.py > deploy/grafana/novascope.json"""
import json

SEL = 'instance=~"$instance"'
RI = "$__rate_interval"


def sel(extra=""):
    return "{" + SEL + ("," + extra if extra else "") + "}"


def q(quant, fam, by, extra=""):
    return ("histogram_quantile(%s, sum by (instance, %sle) (rate(%s_bucket%s[%s])))"
            % (quant, "".join(b + ", " for b in by), fam, sel(extra), RI))


def rate(fam, by, extra=""):
    return "sum by (instance%s) (rate(%s%s[%s]))" % ("".join(", " + b for b in by), fam, sel(extra), RI)


def topk(expr, k=10):
    return "topk(%d, %s)" % (k, expr)


# (row title, [(panel title, probe, unit, [(expr, legend)], kind)]). kind: timeseries | table.
ROWS = [
    ("CPU and vCPU steal", [
        ("vCPU run-queue latency p99 by VM (guest steal)", "sched", "s",
         [(q(0.99, "novascope_vcpu_runqueue_latency_seconds", ["vm"]), "{{instance}} {{vm}}")]),
        ("vCPU steal (vCPU-seconds per second) by VM", "sched", "short",
         [(rate("novascope_vcpu_steal_seconds_total", ["vm"]), "{{instance}} {{vm}}")]),
        ("Run-queue latency p99 by cgroup (top 10)", "sched", "s",
         [(topk(q(0.99, "novascope_runqueue_latency_seconds", ["cgroup"])), "{{instance}} {{cgroup}}")]),
        ("Context switches per second", "sched", "ops",
         [(rate("novascope_context_switches_total", ["kind"]), "{{instance}} {{kind}}")]),
        ("CPU migrations per second", "sched", "ops",
         [(rate("novascope_cpu_migrations_total", []), "{{instance}}")]),
        ("KVM exits per second by reason", "kvm", "ops",
         [(topk(rate("novascope_kvm_exits_total", ["reason"])), "{{instance}} {{reason}}")]),
        ("KVM exits to userspace per second by reason", "kvm", "ops",
         [(rate("novascope_kvm_userspace_exits_total", ["reason"]), "{{instance}} {{reason}}")]),
        ("KVM exit handling latency p99 by reason", "kvm", "s",
         [(q(0.99, "novascope_kvm_exit_latency_seconds", ["reason"]), "{{instance}} {{reason}}")]),
    ]),
    ("Disk", [
        ("Device time p99 by device", "block", "s",
         [(q(0.99, "novascope_block_io_latency_seconds", ["device"], 'phase="device"'), "{{instance}} {{device}}")]),
        ("Queue time p99 by device", "block", "s",
         [(q(0.99, "novascope_block_io_latency_seconds", ["device"], 'phase="queue"'), "{{instance}} {{device}}")]),
        ("I/O per second by device and op", "block", "iops",
         [(rate("novascope_block_io_latency_seconds_count", ["device", "op"], 'phase="device"'),
           "{{instance}} {{device}} {{op}}")]),
        ("Throughput by device and op", "block", "Bps",
         [(rate("novascope_block_io_bytes_total", ["device", "op"]), "{{instance}} {{device}} {{op}}")]),
        ("Request size p50 by device and op", "block", "bytes",
         [(q(0.5, "novascope_block_io_size_bytes", ["device", "op"]), "{{instance}} {{device}} {{op}}")]),
        ("Slow I/Os per second by device", "block", "ops",
         [(rate("novascope_block_slow_io_total", ["device"]), "{{instance}} {{device}}")]),
        ("I/O errors per second by device", "block", "ops",
         [(rate("novascope_block_io_errors_total", ["device", "op"]), "{{instance}} {{device}} {{op}}")]),
    ]),
    ("TCP", [
        ("Smoothed RTT p99 by traffic class", "tcp", "s",
         [(q(0.99, "novascope_tcp_rtt_seconds", ["class"]), "{{instance}} {{class}}")]),
        ("Retransmitted segments per second by class", "tcp", "ops",
         [(rate("novascope_tcp_retransmitted_segments_total", ["class"]), "{{instance}} {{class}}")]),
        ("Throughput by class and direction", "tcp", "Bps",
         [(rate("novascope_tcp_bytes_total", ["class", "direction"]), "{{instance}} {{class}} {{direction}}")]),
        ("Active connections by class", "tcp", "short",
         [("sum by (instance, class) (novascope_tcp_connections_active%s)" % sel(), "{{instance}} {{class}}")]),
        ("Connect latency p99 by class", "tcp", "s",
         [(q(0.99, "novascope_tcp_connect_latency_seconds", ["class"]), "{{instance}} {{class}}")]),
        ("Resets per second by class and direction", "tcp", "ops",
         [(rate("novascope_tcp_resets_total", ["class", "direction"]), "{{instance}} {{class}} {{direction}}")]),
        ("Connection lifetime p50 by class", "tcp", "s",
         [(q(0.5, "novascope_tcp_connection_duration_seconds", ["class"]), "{{instance}} {{class}}")]),
    ]),
    ("Live migration", [
        ("Migration throughput by VM and role (last interval)", "tcp", "Bps",
         [("sum by (instance, vm, role) (novascope_migration_throughput_bytes_per_second%s)" % sel(),
           "{{instance}} {{vm}} {{role}}")]),
        ("Migration bytes per second by VM and role", "tcp", "Bps",
         [(rate("novascope_migration_bytes_total", ["vm", "role"]), "{{instance}} {{vm}} {{role}}")]),
        ("Active migrations", "tcp", "short",
         [("sum by (instance, vm, role) (novascope_migrations_active%s)" % sel(), "{{instance}} {{vm}} {{role}}")]),
        ("Migrations in the last hour", "tcp", "short",
         [("sum by (instance, vm, role) (increase(novascope_migrations_total%s[1h]))" % sel(),
           "{{instance}} {{vm}} {{role}}")]),
        ("Migration duration p95 (last hour)", "tcp", "s",
         [("histogram_quantile(0.95, sum by (instance, le) (rate(novascope_migration_duration_seconds_bucket%s[1h])))" % sel(),
           "{{instance}}")]),
        ("Migration retransmitted segments per second", "tcp", "ops",
         [(rate("novascope_migration_retransmitted_segments_total", ["vm", "role"]), "{{instance}} {{vm}} {{role}}")]),
    ]),
    ("RDMA", [
        ("Port throughput by device, port and direction", "rdma_counters", "Bps",
         [(rate("novascope_rdma_port_bytes_total", ["device", "port", "direction"]),
           "{{instance}} {{device}}/{{port}} {{direction}}")]),
        ("Port packets per second", "rdma_counters", "pps",
         [(rate("novascope_rdma_port_packets_total", ["device", "port", "direction"]),
           "{{instance}} {{device}}/{{port}} {{direction}}")]),
        ("Port errors per second by counter", "rdma_counters", "ops",
         [(rate("novascope_rdma_port_errors_total", ["device", "port", "counter"]),
           "{{instance}} {{device}}/{{port}} {{counter}}")]),
        ("Hardware counters per second (top 10)", "rdma_counters", "ops",
         [(topk(rate("novascope_rdma_hw_counter_total", ["device", "port", "counter"])),
           "{{instance}} {{device}}/{{port}} {{counter}}")]),
        ("Ports", "rdma_counters", "short",
         [("novascope_rdma_port_info%s" % sel(), "")], "table"),
        ("CM events per second by event and status", "rdma_uprobes", "ops",
         [(rate("novascope_rdma_cm_events_total", ["event", "status"]), "{{instance}} {{event}} {{status}}")]),
        ("RDMA connect latency p99 by process", "rdma_uprobes", "s",
         [(q(0.99, "novascope_rdma_connect_latency_seconds", ["comm"]), "{{instance}} {{comm}}")]),
        ("Memory registrations per second by process", "rdma_uprobes", "ops",
         [(rate("novascope_rdma_mr_registrations_total", ["comm"]), "{{instance}} {{comm}}")]),
        ("Memory registered per second by process", "rdma_uprobes", "Bps",
         [(rate("novascope_rdma_mr_registered_bytes_total", ["comm"]), "{{instance}} {{comm}}")]),
        ("Memory registration latency p99 by process", "rdma_uprobes", "s",
         [(q(0.99, "novascope_rdma_mr_registration_latency_seconds", ["comm"]), "{{instance}} {{comm}}")]),
    ]),
    ("Syscalls", [
        ("Syscall latency p99 (top 10)", "syscall", "s",
         [(topk(q(0.99, "novascope_syscall_latency_seconds", ["syscall"])), "{{instance}} {{syscall}}")]),
        ("Syscalls per second (top 10)", "syscall", "ops",
         [(topk(rate("novascope_syscall_latency_seconds_count", ["syscall"])), "{{instance}} {{syscall}}")]),
        ("Time in syscalls, seconds per second (top 10)", "syscall", "short",
         [(topk(rate("novascope_syscall_latency_seconds_sum", ["syscall"])), "{{instance}} {{syscall}}")]),
        ("Syscall errors per second (top 10)", "syscall", "ops",
         [(topk(rate("novascope_syscall_errors_total", ["syscall"])), "{{instance}} {{syscall}}")]),
    ]),
    ("Alerts (on-node detection)", [
        ("Alerts firing by name", "none", "short",
         [("sum by (instance, alertname) (novascope_alerts_firing%s)" % sel(), "{{instance}} {{alertname}}")]),
        ("Anomaly scores, robust z (top 10; alert at 3)", "none", "short",
         [(topk("novascope_anomaly_score%s" % sel()), "{{instance}} {{signal}}")]),
        ("Alertmanager notifications per second by result", "none", "ops",
         [(rate("novascope_alert_notifications_total", ["result"]), "{{instance}} {{result}}")]),
    ]),
    ("Collector self-cost", [
        ("Collection time p99", "none", "s",
         [(q(0.99, "novascope_collect_duration_seconds", []), "{{instance}}")]),
        ("Collector CPU (cores)", "none", "short",
         [("rate(process_cpu_seconds_total%s[%s]) and on (instance, job) novascope_build_info" % (sel(), RI),
           "{{instance}}")]),
        ("Collector resident memory", "none", "bytes",
         [("process_resident_memory_bytes%s and on (instance, job) novascope_build_info" % sel(), "{{instance}}")]),
        ("CPU in BPF programs by probe (needs --collect.bpf-stats)", "none", "short",
         [(rate("novascope_bpf_run_time_seconds_total", ["probe"]), "{{instance}} {{probe}}")]),
        ("BPF program runs per second by probe", "none", "ops",
         [(rate("novascope_bpf_run_count_total", ["probe"]), "{{instance}} {{probe}}")]),
        ("Ring-buffer events dropped per second by probe", "none", "ops",
         [(rate("novascope_events_dropped_total", ["probe"]), "{{instance}} {{probe}}")]),
        ("Probes", "none", "short",
         [("novascope_probe_up%s" % sel(), "")], "table"),
    ]),
]


def panel(pid, title, probe, unit, targets, kind, x, y):
    p = {
        "id": pid, "type": kind, "title": title,
        "description": "probe: %s" % probe,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": l,
                     "datasource": {"type": "prometheus", "uid": "${datasource}"},
                     **({"format": "table", "instant": True} if kind == "table" else {})}
                    for i, (e, l) in enumerate(targets)],
    }
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom"},
                        "tooltip": {"mode": "multi"}}
    return p


def main():
    panels, pid, y = [], 1, 0
    for title, ps in ROWS:
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        for i, spec in enumerate(ps):
            t, probe, unit, targets = spec[:4]
            kind = spec[4] if len(spec) > 4 else "timeseries"
            panels.append(panel(pid, t, probe, unit, targets, kind, (i % 2) * 12, y + (i // 2) * 8))
            pid += 1
        y += ((len(ps) + 1) // 2) * 8
    dash = {
        "title": "novascope", "uid": "novascope", "tags": ["novascope", "ebpf"],
        "timezone": "browser", "schemaVersion": 38, "version": 1, "editable": True,
        "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source",
             "current": {}, "hide": 0},
            {"name": "instance", "type": "query", "label": "Node",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(novascope_build_info, instance)", "refId": "instance"},
             "definition": "label_values(novascope_build_info, instance)",
             "multi": True, "includeAll": True, "allValue": ".*", "refresh": 2, "current": {}},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }
    print(json.dumps(dash, indent=1))


main()
