#!/usr/bin/env bash
# rdma_counters through --rdma.sysfs-root on tests/fixtures/rdma (an mlx5 RoCE port and an mlx5
# InfiniBand port, files in the kernel's formats): exact values out (port_*_data words x 4),
# counters going backwards after a reset added as the new value (no negative rate), a missing
# file and a garbage file each logged once and skipped while the rest keeps counting.
. "$(dirname "$0")/../lib.sh"

root=$NS_TMP/infiniband
cp -a "$NS_ROOT/tests/fixtures/rdma" "$root"
p0=$root/mlx5_0/ports/1
p1=$root/mlx5_1/ports/1
ns_start_daemon --probes=rdma_counters --rdma.sysfs-root="$root" --collect.interval=200ms
ns_wait_collect 0.5

expect() { # NAME MATCHERS... EXPECTED
	local want=${*: -1} got
	got=$(ns_metric "${@:1:$#-1}")
	[ "$got" = "$want" ] || ns_fail "$* : expected $want, got $got"
}

# Exact values, as the kernel's counters are (words x 4 for the data counters).
expect novascope_rdma_port_bytes_total 'device="mlx5_0"' 'direction="tx"' $(($(cat $p0/counters/port_xmit_data) * 4))
expect novascope_rdma_port_bytes_total 'device="mlx5_0"' 'direction="rx"' $(($(cat $p0/counters/port_rcv_data) * 4))
expect novascope_rdma_port_bytes_total 'device="mlx5_1"' 'direction="rx"' $(($(cat $p1/counters/port_rcv_data) * 4))
expect novascope_rdma_port_packets_total 'device="mlx5_1"' 'direction="tx"' "$(cat $p1/counters/port_xmit_packets)"
expect novascope_rdma_port_errors_total 'device="mlx5_1"' 'counter="symbol_error"' "$(cat $p1/counters/symbol_error)"
expect novascope_rdma_port_xmit_wait_total 'device="mlx5_0"' "$(cat $p0/counters/port_xmit_wait)"
for c in np_cnp_sent rp_cnp_handled out_of_sequence packet_seq_err local_ack_timeout_err roce_adp_retrans; do
	expect novascope_rdma_hw_counter_total 'device="mlx5_0"' 'port="1"' "counter=\"$c\"" "$(cat $p0/hw_counters/$c)"
done
expect novascope_rdma_hw_counter_total 'device="mlx5_0"' 'port=""' 'counter="rx_write_requests"' "$(cat $root/mlx5_0/hw_counters/rx_write_requests)"
expect novascope_rdma_hw_counter_total 'counter="lifespan"' 0
expect novascope_rdma_port_info 'device="mlx5_0"' 'state="ACTIVE"' 'rate="100 Gb/sec (4X EDR)"' 'netdev="ens1f0np0"' 'link_layer="Ethernet"' 1
expect novascope_rdma_port_info 'device="mlx5_1"' 'state="ACTIVE"' 'rate="200 Gb/sec (4X HDR)"' 'netdev=""' 'link_layer="InfiniBand"' 1
ns_ok "exact values"

# Traffic, then a device reset: counters restart near zero.
tx0=$(cat $p0/counters/port_xmit_data)
echo $((tx0 + 1000)) >$p0/counters/port_xmit_data
ns_wait_collect 0.5
expect novascope_rdma_port_bytes_total 'device="mlx5_0"' 'direction="tx"' $(((tx0 + 1000) * 4))
cnp=$(cat $p0/hw_counters/np_cnp_sent)
echo 25 >$p0/counters/port_xmit_data
echo 3 >$p0/hw_counters/np_cnp_sent
ns_wait_collect 0.5
expect novascope_rdma_port_bytes_total 'device="mlx5_0"' 'direction="tx"' $(((tx0 + 1000 + 25) * 4))
expect novascope_rdma_hw_counter_total 'device="mlx5_0"' 'port="1"' 'counter="np_cnp_sent"' $((cnp + 3))
ns_ok "reset handled as new value, no decrease"

# Garbage (what old kernels write when the PMA query fails) and a missing file.
rcv=$(cat $p1/counters/port_rcv_packets)
echo "N/A (no PMA)" >$p1/counters/port_rcv_packets
rm $p1/hw_counters/rx_read_requests
ns_wait_collect 1.2 # several collections
expect novascope_rdma_port_packets_total 'device="mlx5_1"' 'direction="rx"' "$rcv"
expect novascope_rdma_hw_counter_total 'device="mlx5_1"' 'counter="rx_read_requests"' 1200334
n=$(grep -c 'not a counter value.*mlx5_1/ports/1/counters/port_rcv_packets' "$NS_LOG" || true)
[ "$n" = 1 ] || ns_fail "garbage logged $n times, want once: $(grep rdma "$NS_LOG")"
n=$(grep -c 'file skipped.*rx_read_requests.*reason=missing' "$NS_LOG" || true)
[ "$n" = 1 ] || ns_fail "missing file logged $n times, want once: $(grep rdma "$NS_LOG")"
g=$(ns_metric novascope_rdma_sysfs_errors_total 'device="mlx5_1"' 'reason="garbage"')
[ "$g" -ge 3 ] || ns_fail "garbage reads counted $g times over >=3 collections"
# The other counters of the same port kept counting meanwhile.
echo $(($(cat $p1/counters/port_xmit_packets) + 7)) >$p1/counters/port_xmit_packets
ns_wait_collect 0.5
expect novascope_rdma_port_packets_total 'device="mlx5_1"' 'direction="tx"' "$(cat $p1/counters/port_xmit_packets)"
# A valid value again counts from the last good one.
echo $((rcv + 5)) >$p1/counters/port_rcv_packets
ns_wait_collect 0.5
expect novascope_rdma_port_packets_total 'device="mlx5_1"' 'direction="rx"' $((rcv + 5))
kill -0 $NS_PID || ns_fail "daemon died"
[ "$(curl -s -o /dev/null -w '%{http_code}' $NS_URL/health)" = 200 ] || ns_fail "health not 200"
ns_ok "garbage and missing files reported once and skipped"
