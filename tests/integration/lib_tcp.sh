# Helpers for the tcp/migration integration tests (sourced after tests/lib.sh).
XFER=$NS_BUILD/tests/progs/tcp_xfer
[ -x "$XFER" ] || ns_fail "build $XFER first (make build/tests/progs/tcp_xfer)"

# tcp_netns_pair: two namespaces joined by a veth pair; sets NSA NSB (names) IPA IPB.
tcp_netns_pair() {
	NSA=nsta$$ NSB=nstb$$ IPA=10.77.0.1 IPB=10.77.0.2
	ip netns add $NSA
	ns_on_exit "ip netns del $NSA"
	ip netns add $NSB
	ns_on_exit "ip netns del $NSB"
	ip link add va netns $NSA type veth peer name vb netns $NSB
	ip -n $NSA addr add $IPA/24 dev va
	ip -n $NSB addr add $IPB/24 dev vb
	ip -n $NSA link set va up
	ip -n $NSB link set vb up
	ip -n $NSA link set lo up
	ip -n $NSB link set lo up
}

# Inode of a named network namespace: the value of the netns label.
tcp_netns_ino() { stat -L -c %i /run/netns/"$1"; }

# tcp_snmp NS FIELD: a Tcp: counter of /proc/net/snmp inside namespace NS.
tcp_snmp() {
	ip netns exec "$1" cat /proc/net/snmp | awk -v f="$2" '
		$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Tcp:" && h { print $col[f] }'
}

# tcp_bg NS CMD...: run CMD in namespace NS in the background, killed at exit.
tcp_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" >/dev/null 2>&1 &
	ns_on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
}

# tcp_wait_port NS PORT: until something listens on PORT in NS.
tcp_wait_port() {
	for _ in $(seq 1 50); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	ns_fail "nothing listens on port $2 in $1"
}

# expect_eq WHAT EXPECTED GOT
expect_eq() {
	[ "$2" = "$3" ] || ns_fail "$1: expected $2, got $3"
	ns_ok "$1: $3"
}

# ---- QEMU live migration (see ../shared/RECIPES.md) ----
QMP="python3 $NS_ROOT/tests/qmp.py"

# qemu_start NAME NS MEMFILE QMPSOCK [EXTRA...]: a guest (KVM, or TCG without /dev/kvm: see
# ns_qemu_accel) with 128 MB of RAM backed by MEMFILE, started in network namespace NS; sets
# QEMU_PID. Killed at exit.
qemu_start() {
	local name=$1 ns=$2 mem=$3 sock=$4
	shift 4
	command -v qemu-system-x86_64 >/dev/null || ns_fail "qemu-system-x86_64 missing (scripts/deps.sh)"
	ns_qemu_accel
	ip netns exec "$ns" qemu-system-x86_64 -accel "$NS_QEMU_ACCEL" -m 128 -nographic -nodefaults \
		-display none -name "$name,debug-threads=on" \
		-object memory-backend-file,id=m0,size=128M,mem-path="$mem",share=on \
		-machine memory-backend=m0 -qmp unix:"$sock",server=on,wait=off "$@" \
		>>"$NS_TMP/qemu.log" 2>&1 &
	QEMU_PID=$!
	ns_on_exit "kill $QEMU_PID 2>/dev/null; wait $QEMU_PID 2>/dev/null"
	$QMP "$sock" query-status >/dev/null || ns_fail "QEMU $name did not answer QMP"
}

# mig_netns: a namespace with loopback up for the two QEMUs; sets MNS.
mig_netns() {
	MNS=nsmig$$
	ip netns add $MNS
	ns_on_exit "ip netns del $MNS"
	ip -n $MNS link set lo up
}

# mig_memfiles: SRC_MEM (128 MB from /dev/urandom, so migration moves real bytes), DST_MEM.
mig_memfiles() {
	SRC_MEM=$NS_TMP/src.mem DST_MEM=$NS_TMP/dst.mem
	head -c 128M /dev/urandom >"$SRC_MEM"
	truncate -s 128M "$DST_MEM"
}

# mig_multifd_qemus PORT: source and destination QEMUs of VM "mvm" in a namespace of their
# own (MNS), the destination waiting on PORT, both set for multifd with 2 channels.
mig_multifd_qemus() {
	mig_netns
	mig_memfiles
	qemu_start mvm $MNS "$DST_MEM" "$NS_TMP/dst.qmp" -incoming tcp:127.0.0.1:$1
	qemu_start mvm $MNS "$SRC_MEM" "$NS_TMP/src.qmp"
	for q in src dst; do
		$QMP "$NS_TMP/$q.qmp" migrate-set-capabilities \
			'{"capabilities": [{"capability": "multifd", "state": true}]}' >/dev/null
		$QMP "$NS_TMP/$q.qmp" migrate-set-parameters '{"multifd-channels": 2}' >/dev/null
	done
}

# mig_wait_done: wait for the source's migration to complete; QEMU's query-migrate answer in
# $NS_TMP/qm.json, its ram.transferred in RAM.
mig_wait_done() {
	$QMP "$NS_TMP/src.qmp" wait-migrate 60 >"$NS_TMP/qm.json" ||
		ns_fail "migration failed: $(cat "$NS_TMP/qm.json")"
	echo "QEMU: $(cat "$NS_TMP/qm.json")"
	RAM=$(python3 -c "import json; print(json.load(open('$NS_TMP/qm.json'))['ram']['transferred'])")
}

# tcp_fifo_client NS HOST PORT: a long-lived connection from NS; each line written to fd 9
# is a byte count to send, closing fd 9 closes it (wait $CLIENT). Sets CLIENT.
tcp_fifo_client() {
	mkfifo "$NS_TMP/ctl"
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
for line in open(sys.argv[3]):
    s.sendall(b"x" * int(line))
s.close()' "$2" "$3" "$NS_TMP/ctl" &
	CLIENT=$!
	ns_on_exit "kill $CLIENT 2>/dev/null"
	exec 9>"$NS_TMP/ctl"
}

# within_pct WHAT EXPECTED GOT PCT
within_pct() {
	python3 -c "import sys; e,g,p=float('$2'),float('$3'),float('$4'); sys.exit(abs(g-e) > e*p/100)" ||
		ns_fail "$1: expected $2 within $4%, got $3"
	ns_ok "$1: $3 (QEMU: $2, diff $(python3 -c "print('%.3f%%' % ((float('$3')-float('$2'))*100/float('$2')))"))"
}
