#!/usr/bin/env bash
# Command line: --version, --help, --list-probes, bad flags (exit 2 with a clear message),
# report mode, and a bind failure.
. "$(dirname "$0")/../lib.sh"

# Whole outputs first: grep -q exits at its first match, and under pipefail the writer's
# SIGPIPE would fail the check.
out=$("$NS_BIN" --version) && [[ "$out" == "novascope "* ]] || ns_fail "--version: $out"
out=$("$NS_BIN" --help) && [[ "$out" == *--web.listen-address* ]] || ns_fail "--help"
out=$("$NS_BIN" --list-probes) || ns_fail "--list-probes exit $?"
echo "$out"
echo "$out" | grep -Eq '^syscall +yes +tp_btf' || ns_fail "--list-probes: syscall not supported via tp_btf"

check_bad() { # args... ; expect exit 2 and a message containing $want
	local out rc
	out=$("$NS_BIN" "$@" 2>&1) && rc=0 || rc=$?
	[ $rc -eq 2 ] || ns_fail "'$*' exited $rc, want 2 (output: $out)"
	echo "$out" | grep -qF -- "$want" || ns_fail "'$*': message '$out' lacks '$want'"
	echo "ok: '$*' -> $out"
}
want=--collect.interval check_bad --collect.interval=fast
want=--web.listen-address check_bad --web.listen-address=:99999
want=unknown check_bad --what
want=bogus check_bad --probes=syscall,bogus
want=unknown check_bad frobnicate
want=/nonexistent check_bad --config.file=/nonexistent.yml

# Report mode prints a libbpf-tools-style histogram for the top syscalls.
"$NS_BUILD/tests/progs/getppid_loop" 2000000 >/dev/null &
loop=$!
ns_on_exit "kill $loop 2>/dev/null"
out=$("$NS_BIN" report syscall --duration 1s --top 3 2>/dev/null) || ns_fail "report exit $?"
echo "$out"
echo "$out" | grep -q 'nsecs *: count *distribution' || ns_fail "report lacks the histogram header"
echo "$out" | grep -Eq '\|\*+ *\|' || ns_fail "report lacks bars"

# The port is taken: a clear error and a non-zero exit, nothing left attached.
# The holder binds a port the kernel picks and says which: no race with other tests.
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$NS_TMP/holder" &
holder=$!
ns_on_exit "kill $holder 2>/dev/null"
for _ in $(seq 50); do [ -s "$NS_TMP/holder" ] && break; sleep 0.1; done
port=$(cat "$NS_TMP/holder")
out=$(timeout 10 "$NS_BIN" --web.listen-address=127.0.0.1:$port 2>&1) && rc=0 || rc=$?
[ $rc -ne 0 ] || ns_fail "daemon started on a taken port"
echo "$out" | grep -q "cannot listen on 127.0.0.1:$port" || ns_fail "bind error message: $out"
ns_ok "taken port reported: $(echo "$out" | tail -1)"

# The operator self-test passes on this kernel, one line per probe: the syscall burst, the
# O_DIRECT I/O on a temporary loop device and the loopback TCP transfer among them.
out=$("$NS_BIN" selftest) || ns_fail "selftest failed: $out"
echo "$out"
for p in syscall block tcp sched kvm; do
	# Its workload is a VM: without /dev/kvm (only then) the kvm probe's self-test says SKIP.
	if [ $p = kvm ] && [ ! -e /dev/kvm ] && echo "$out" | grep -q "^SKIP kvm "; then
		echo "NOTE: /dev/kvm missing: the kvm self-test skipped"
		continue
	fi
	echo "$out" | grep -q "^PASS $p " || ns_fail "selftest has no PASS line for $p"
done
! echo "$out" | grep -q '^FAIL' || ns_fail "selftest has FAIL lines"
