# Helpers for the tcp/migration integration tests (sourced after tests/lib.sh).
XFER=$NS_ROOT/build/tests/progs/tcp_xfer
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
