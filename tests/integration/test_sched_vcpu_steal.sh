#!/usr/bin/env bash
# A real QEMU VM (-name testvm,debug-threads=on, 64 MB, no disk; its firmware is a 64 KiB
# image whose reset vector is `jmp $`, so the vCPU is always runnable) shares one CPU
# with two busy loops: novascope_vcpu_runqueue_latency_seconds{vm="testvm"} must appear, its sum
# must grow by the vCPU threads' run_delay growth within 5%, and the steal counter with it.
# The VM is frozen with SIGSTOP around the measured window so both sides are read at rest.
# Under KVM its vCPU thread is "CPU 0/KVM"; without /dev/kvm, TCG's "CPU 0/TCG" spins the same
# `jmp $` in translated code and waits in the run queue just the same.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
command -v qemu-system-x86_64 >/dev/null || ns_fail "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
CPU=$(($(nproc) - 1))
# The label is the VM name: another VM called testvm on this machine would share the series.
if pgrep -f -- '-name testvm' >/dev/null; then ns_fail "another VM named testvm is running: $(pgrep -af -- '-name testvm')"; fi
python3 -c "
b = bytearray(65536); b[0xfff0:0xfff2] = b'\xeb\xfe'   # reset vector: jmp \$
open('$NS_TMP/spin.bios', 'wb').write(b)"

ns_start_daemon --probes=sched --collect.interval=500ms
ns_qemu_accel
qemu-system-x86_64 -accel "$NS_QEMU_ACCEL" -name testvm,debug-threads=on -m 64 -nographic \
	-nodefaults -display none -bios "$NS_TMP/spin.bios" >"$NS_TMP/qemu.log" 2>&1 &
qpid=$!
ns_on_exit "kill -CONT $qpid 2>/dev/null; kill $qpid 2>/dev/null; wait $qpid 2>/dev/null"
vcpus=()
for _ in $(seq 50); do
	for t in /proc/$qpid/task/*; do
		[[ "$(cat "$t/comm" 2>/dev/null)" =~ ^CPU\ [0-9]+/(KVM|TCG)$ ]] && vcpus+=("$(basename "$t")")
	done
	[ ${#vcpus[@]} -gt 0 ] && break
	sleep 0.1
done
[ ${#vcpus[@]} -gt 0 ] || { cat "$NS_TMP/qemu.log" >&2; ns_fail "no 'CPU n/KVM' or 'CPU n/TCG' thread in qemu $qpid"; }

stop_vm() { # SIGSTOP, then wait until the vCPU threads are stopped (state T)
	local t n
	kill -STOP $qpid
	for _ in $(seq 100); do
		n=0
		for t in "${vcpus[@]}"; do [ "$(sed 's/.*) //' /proc/$qpid/task/$t/stat | cut -c1)" = T ] || n=1; done
		[ $n = 0 ] && return 0
		sleep 0.05
	done
	ns_fail "qemu's vCPU threads did not stop"
}
run_delay() { local s=0 t; for t in "${vcpus[@]}"; do s=$((s + $(ns_schedstat $qpid $t 2))); done; echo $s; }
snap() {
	ns_scrape >"$NS_TMP/m.txt"
	echo "$(run_delay)" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_vcpu_runqueue_latency_seconds_sum 'vm="testvm"')" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_vcpu_steal_seconds_total 'vm="testvm"')"
}
sleep 0.5
stop_vm
for t in "${vcpus[@]}"; do taskset -pc "$CPU" "$t" >/dev/null; done
ns_wait_collect 1.2
read -r rd0 ms0 st0 <<<"$(snap)"
ns_hogs 2 "$CPU"
kill -CONT $qpid
sleep 3
stop_vm
ns_hogs_stop
ns_wait_collect 1.2
read -r rd1 ms1 st1 <<<"$(snap)"

grep -q '^novascope_vcpu_runqueue_latency_seconds_bucket{vm="testvm"' "$NS_TMP/m.txt" ||
	ns_fail "no novascope_vcpu_runqueue_latency_seconds series for vm=\"testvm\""
kernel=$(python3 -c "print(($rd1 - $rd0) / 1e9)")
ours=$(python3 -c "print($ms1 - $ms0)")
steal=$(python3 -c "print($st1 - $st0)")
echo "vCPU threads ${vcpus[*]}: run_delay grew ${kernel}s; novascope sum ${ours}s, steal ${steal}s"
python3 -c "import sys; sys.exit(0 if $rd1 - $rd0 > 0.3e9 else 1)" ||
	ns_fail "too little contention to compare: vCPU run_delay grew only ${kernel}s"
ns_within "$ours" "$kernel" 5 || ns_fail "vCPU run-queue sum grew ${ours}s, kernel run_delay ${kernel}s (more than 5% apart)"
ns_within "$steal" "$ours" 0.001 || ns_fail "steal grew ${steal}s, vCPU run-queue sum ${ours}s"
ns_ok "vm=testvm: novascope ${ours}s (steal ${steal}s) vs kernel ${kernel}s"
