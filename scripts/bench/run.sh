#!/usr/bin/env bash
# Run every benchmark (scripts/bench/*-tax.sh and friends); each prints its own table.
# Usage: scripts/bench/run.sh [NAME...]   e.g. scripts/bench/run.sh syscall-tax
set -u
cd "$(dirname "$0")/../.."
if [ $# -gt 0 ]; then list=("$@"); else list=($(ls scripts/bench/*.sh | xargs -n1 basename | sed 's/\.sh$//' | grep -v '^run$')); fi
rc=0
for b in "${list[@]}"; do
	echo "== $b"
	bash "scripts/bench/$b.sh" || { echo "$b failed"; rc=1; }
	echo
done
exit $rc
