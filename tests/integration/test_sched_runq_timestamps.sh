#!/usr/bin/env bash
# The run-queue accuracy test with --sched.accounting=timestamps: waits measured by the probe's
# own wakeup/switch timestamps in task storage instead of the kernel's sched_info.
ACCOUNTING=timestamps exec bash "$(dirname "$0")/test_sched_runq_accuracy.sh"
