#!/usr/bin/env bash
# Runs the script-driven suites: every tests/<suite>/test_*.sh is one test, run as root with a
# time limit. Prints each result, then "N passed, N failed" alone on the last line.
# Usage: tests/run.sh SUITE... [-k PATTERN]
set -u
cd "$(dirname "$0")/.."
suites=() pattern=""
while [ $# -gt 0 ]; do
	case "$1" in
	-k) pattern=$2; shift 2 ;;
	*) suites+=("$1"); shift ;;
	esac
done
[ ${#suites[@]} -gt 0 ] || suites=(integration e2e)
pass=0 fail=0 failed=()
logdir=${NS_TEST_LOGDIR:-build/test-logs}
mkdir -p "$logdir"
for s in "${suites[@]}"; do
	for t in tests/"$s"/test_*.sh; do
		[ -e "$t" ] || continue
		[ -z "$pattern" ] || [[ "$t" == *$pattern* ]] || continue
		name="$s/$(basename "$t" .sh)"
		log="$logdir/${name//\//_}.log"
		start=$(date +%s)
		timeout --kill-after=10 "${NS_TEST_TIMEOUT:-300}" bash "$t" >"$log" 2>&1
		rc=$?
		secs=$(($(date +%s) - start))
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			echo "PASS $name (${secs}s)"
		else
			fail=$((fail + 1))
			failed+=("$name")
			echo "FAIL $name (${secs}s, exit $rc) -- last lines of $log:"
			tail -25 "$log" | sed 's/^/    /'
		fi
	done
done
[ $fail -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
