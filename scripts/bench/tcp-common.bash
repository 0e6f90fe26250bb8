# Sourced by tcp-tax.sh and tcp-ab.sh (not a benchmark of its own: run.sh runs *.sh).

# bench_veth NSA NSB PREFIX: namespaces NSA (PREFIX.1) and NSB (PREFIX.2) joined by veth.
bench_veth() {
	ip netns add "$1"
	ip netns add "$2"
	ip link add va netns "$1" type veth peer name vb netns "$2"
	ip -n "$1" addr add "$3.1/24" dev va
	ip -n "$2" addr add "$3.2/24" dev vb
	ip -n "$1" link set va up
	ip -n "$2" link set vb up
}

bench_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }

# bench_xfer SERVER_PID NS MODE HOST PORT SECS -> "rate client_cpu_ns server_cpu_ns": one
# tcp_xfer client run from NS, its rate, and the CPU time of the client and of the server.
bench_xfer() {
	local t0 out
	t0=$(bench_ticks "$1")
	out=$(python3 -c '
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(p.stdout.strip(), int((r.ru_utime + r.ru_stime) * 1e9))' \
		ip netns exec "$2" build/tests/progs/tcp_xfer "$3" "$4" "$5" "$6")
	echo "$out $((($(bench_ticks "$1") - t0) * 1000000000 / $(getconf CLK_TCK)))"
}
