/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Log2 histogram layout shared by the BPF programs and userspace. */
#ifndef NOVASCOPE_HIST_H
#define NOVASCOPE_HIST_H

/*
 * Slot i counts values v with floor(log2(v)) == i, i.e. 2^i <= v < 2^(i+1); slot 0 also holds
 * v == 0. 48 slots cover nanoseconds up to ~78 hours and byte sizes up to 256 TiB.
 */
#define NS_HIST_SLOTS 48

struct ns_hist {
	__u64 slots[NS_HIST_SLOTS];
	__u64 sum; /* sum of the recorded values, in the recorded unit */
};

#endif
