#!/usr/bin/env bash
# Run libFuzzer targets for FUZZ_SECONDS each, two at a time (one per core), on their corpus
# in tests/fuzz/corpus/<name>; new inputs found go to a scratch copy, crashes to tests/fuzz/.
# Prints a line per target and fails if any target crashed.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
pids=() names=() fail=0
run() {
	local bin=$1 name
	name=$(basename "$bin" | sed 's/^fuzz_//')
	local work=build/fuzz/corpus-$name
	mkdir -p "$work"
	cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix=tests/fuzz/ "$work" >build/fuzz/$name.log 2>&1
}
for bin in "$@"; do
	run "$bin" &
	pids+=($!)
	names+=("$bin")
	if [ ${#pids[@]} -ge 2 ]; then
		for i in "${!pids[@]}"; do
			if wait "${pids[$i]}"; then echo "fuzz ${names[$i]}: ok (${secs}s)"; else echo "fuzz ${names[$i]}: CRASH (see build/fuzz/)"; fail=1; fi
		done
		pids=() names=()
	fi
done
for i in "${!pids[@]}"; do
	if wait "${pids[$i]}"; then echo "fuzz ${names[$i]}: ok (${secs}s)"; else echo "fuzz ${names[$i]}: CRASH (see build/fuzz/)"; fail=1; fi
done
exit $fail
