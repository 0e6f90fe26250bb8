/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NOVASCOPE_SYSCALL_NAMES_H
#define NOVASCOPE_SYSCALL_NAMES_H

/* Generated from the system's kernel headers at build time (build/syscall_names.c). */
extern const char *const ns_syscalls_x86_64[];
extern const unsigned int ns_syscalls_x86_64_len;
extern const char *const ns_syscalls_arm64[];
extern const unsigned int ns_syscalls_arm64_len;

/* Name of syscall nr on this architecture, or "unknown_<nr>" written into buf. */
const char *ns_syscall_name(unsigned int nr, char *buf, unsigned int buflen);

#endif
