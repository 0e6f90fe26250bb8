#!/usr/bin/env bash
# Runs the script-driven suites: every tests/<suite>/test_*.sh is one test, run as root with a
# time limit. Prints each result, then "N passed, N failed" alone on the last line ("N skipped"
# on the line before it when any were). A test that cannot run here (e.g. needs /dev/kvm) exits
# 77 after printing "SKIP: reason" (ns_skip in tests/lib.sh); 77 without that line is a failure,
# so a command that happens to exit 77 (EX_NOPERM) cannot pass itself off as a skip.
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
pass=0 fail=0 skip=0 failed=()
logdir=${NS_TEST_LOGDIR:-build/test-logs}
mkdir -p "$logdir"
for s in "${suites[@]}"; do
	for t in tests/"$s"/test_*.sh; do
		[ -e "$t" ] || continue
		[ -z "$pattern" ] || [[ "$t" == *$pattern* ]] || continue
		name="$s/$(basename "$t" .sh)"
		log="$logdir/${name//\//_}.log"
		# A test may ask for more than the limit with a "# ns-timeout: SECS" line; it sees the
		# limit it runs under in NS_TEST_TIMEOUT.
		limit=${NS_TEST_TIMEOUT:-300}
		own=$(sed -n 's/^# ns-timeout: *\([0-9][0-9]*\) *$/\1/p' "$t" | head -1)
		[ -z "$own" ] || [ "$own" -le "$limit" ] || limit=$own
		start=$(date +%s)
		NS_TEST_TIMEOUT=$limit timeout --kill-after=10 "$limit" bash "$t" >"$log" 2>&1
		rc=$?
		secs=$(($(date +%s) - start))
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			echo "PASS $name (${secs}s)"
		elif [ $rc -eq 77 ] && why=$(grep '^SKIP: ' "$log" | tail -1) && [ -n "$why" ]; then
			skip=$((skip + 1))
			echo "SKIP $name (${secs}s): ${why#SKIP: }"
		else
			fail=$((fail + 1))
			failed+=("$name")
			echo "FAIL $name (${secs}s, exit $rc) -- last lines of $log:"
			tail -25 "$log" | sed 's/^/    /'
		fi
	done
done
[ $fail -eq 0 ] || echo "failed: ${failed[*]}"
[ $skip -eq 0 ] || echo "$skip skipped"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
