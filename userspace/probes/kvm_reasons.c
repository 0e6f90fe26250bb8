// SPDX-License-Identifier: GPL-2.0
/*
 * Exit reason names. VMX: arch/x86/include/uapi/asm/vmx.h (Intel SDM vol. 3 appendix C), SVM:
 * arch/x86/include/uapi/asm/svm.h (AMD APM vol. 2 appendix C), spelled as the kvm:kvm_exit
 * trace output spells them, so that they match what `perf kvm stat` and trace-cmd show
 * (SVM exception exits "DE excp" become "DE_excp": label values without spaces).
 */
#include <stdio.h>
#include <string.h>
#include "kvm_reasons.h"
#include "novascope/kvm.h"

static const char *const vmx[] = {
	[0] = "EXCEPTION_NMI",
	[1] = "EXTERNAL_INTERRUPT",
	[2] = "TRIPLE_FAULT",
	[3] = "INIT_SIGNAL",
	[4] = "SIPI_SIGNAL",
	[5] = "IO_SMI",
	[6] = "OTHER_SMI",
	[7] = "INTERRUPT_WINDOW",
	[8] = "NMI_WINDOW",
	[9] = "TASK_SWITCH",
	[10] = "CPUID",
	[11] = "GETSEC",
	[12] = "HLT",
	[13] = "INVD",
	[14] = "INVLPG",
	[15] = "RDPMC",
	[16] = "RDTSC",
	[17] = "RSM",
	[18] = "VMCALL",
	[19] = "VMCLEAR",
	[20] = "VMLAUNCH",
	[21] = "VMPTRLD",
	[22] = "VMPTRST",
	[23] = "VMREAD",
	[24] = "VMRESUME",
	[25] = "VMWRITE",
	[26] = "VMOFF",
	[27] = "VMON",
	[28] = "CR_ACCESS",
	[29] = "DR_ACCESS",
	[30] = "IO_INSTRUCTION",
	[31] = "MSR_READ",
	[32] = "MSR_WRITE",
	[33] = "INVALID_STATE",
	[34] = "MSR_LOAD_FAIL",
	[36] = "MWAIT_INSTRUCTION",
	[37] = "MONITOR_TRAP_FLAG",
	[39] = "MONITOR_INSTRUCTION",
	[40] = "PAUSE_INSTRUCTION",
	[41] = "MCE_DURING_VMENTRY",
	[43] = "TPR_BELOW_THRESHOLD",
	[44] = "APIC_ACCESS",
	[45] = "EOI_INDUCED",
	[46] = "GDTR_IDTR",
	[47] = "LDTR_TR",
	[48] = "EPT_VIOLATION",
	[49] = "EPT_MISCONFIG",
	[50] = "INVEPT",
	[51] = "RDTSCP",
	[52] = "PREEMPTION_TIMER",
	[53] = "INVVPID",
	[54] = "WBINVD",
	[55] = "XSETBV",
	[56] = "APIC_WRITE",
	[57] = "RDRAND",
	[58] = "INVPCID",
	[59] = "VMFUNC",
	[60] = "ENCLS",
	[61] = "RDSEED",
	[62] = "PML_FULL",
	[63] = "XSAVES",
	[64] = "XRSTORS",
	[67] = "UMWAIT",
	[68] = "TPAUSE",
	[74] = "BUS_LOCK",
	[75] = "NOTIFY",
	[77] = "TDCALL",
	[84] = "MSR_READ_IMM",
	[85] = "MSR_WRITE_IMM",
};

/* SVM codes 0x60..0xa6 (intercepts other than CR/DR accesses and exceptions). */
static const char *const svm_misc[] = {
	[0x00] = "interrupt",
	[0x01] = "nmi",
	[0x02] = "smi",
	[0x03] = "init",
	[0x04] = "vintr",
	[0x05] = "cr0_sel_write",
	[0x06] = "read_idtr",
	[0x07] = "read_gdtr",
	[0x08] = "read_ldtr",
	[0x09] = "read_rt",
	[0x0a] = "write_idtr",
	[0x0b] = "write_gdtr",
	[0x0c] = "write_ldtr",
	[0x0d] = "write_rt",
	[0x0e] = "rdtsc",
	[0x0f] = "rdpmc",
	[0x10] = "pushf",
	[0x11] = "popf",
	[0x12] = "cpuid",
	[0x13] = "rsm",
	[0x14] = "iret",
	[0x15] = "swint",
	[0x16] = "invd",
	[0x17] = "pause",
	[0x18] = "hlt",
	[0x19] = "invlpg",
	[0x1a] = "invlpga",
	[0x1b] = "io",
	[0x1c] = "msr",
	[0x1d] = "task_switch",
	[0x1e] = "ferr_freeze",
	[0x1f] = "shutdown",
	[0x20] = "vmrun",
	[0x21] = "hypercall",
	[0x22] = "vmload",
	[0x23] = "vmsave",
	[0x24] = "stgi",
	[0x25] = "clgi",
	[0x26] = "skinit",
	[0x27] = "rdtscp",
	[0x28] = "icebp",
	[0x29] = "wbinvd",
	[0x2a] = "monitor",
	[0x2b] = "mwait",
	[0x2d] = "xsetbv",
	[0x2f] = "write_efer_trap",
	[0x30] = "write_cr0_trap",
	[0x34] = "write_cr4_trap",
	[0x38] = "write_cr8_trap",
	[0x42] = "invpcid",
	[0x45] = "buslock",
	[0x46] = "idle-halt",
};

static const char *const svm_excp[32] = {
	[0] = "DE",  [1] = "DB",  [3] = "BP",  [4] = "OF",  [5] = "BR",	 [6] = "UD",
	[7] = "NM",  [8] = "DF",  [10] = "TS", [11] = "NP", [12] = "SS", [13] = "GP",
	[14] = "PF", [16] = "MF", [17] = "AC", [18] = "MC", [19] = "XF",
};

static const char *const svm_high[] = {
	[0] = "npf",
	[1] = "avic_incomplete_ipi",
	[2] = "avic_unaccelerated_access",
	[3] = "vmgexit",
};

static const char *const vmgexit[] = {
	[0x01] = "vmgexit_mmio_read",	  [0x02] = "vmgexit_mmio_write",
	[0x03] = "vmgexit_nmi_complete",  [0x04] = "vmgexit_ap_hlt_loop",
	[0x05] = "vmgexit_ap_jump_table", [0x10] = "vmgexit_page_state_change",
	[0x11] = "vmgexit_guest_request", [0x12] = "vmgexit_ext_guest_request",
	[0x13] = "vmgexit_ap_creation",
};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AT(a, i) ((size_t)(i) < LEN(a) ? (a)[i] : NULL)

static const char *svm_name(__u32 c, char *buf, size_t n)
{
	const char *s = NULL;

	if (c < 0x40) {
		/* 0x00-0x0f CR reads, 0x10-0x1f CR writes, 0x20-0x2f DR reads, 0x30-0x3f writes */
		snprintf(buf, n, "%s_%s%u", c & 0x10 ? "write" : "read", c & 0x20 ? "dr" : "cr",
			 c & 0xf);
		return buf;
	}
	if (c >= 0x40 && c < 0x60 && (s = svm_excp[c - 0x40])) {
		snprintf(buf, n, "%s_excp", s);
		return buf;
	}
	if (c >= 0x60 && c < 0x60 + LEN(svm_misc))
		s = svm_misc[c - 0x60];
	else if (c >= 0x400 && c < 0x400 + LEN(svm_high))
		s = svm_high[c - 0x400];
	else if (c >= 0x80000000 && c < 0x80000000 + LEN(vmgexit))
		s = vmgexit[c - 0x80000000];
	else if (c == 0x8000fffd)
		s = "vmgexit_hypervisor_feature";
	else if (c == 0xffffffff)
		s = "invalid_guest_state"; /* SVM_EXIT_ERR, -1 */
	if (s)
		return s;
	snprintf(buf, n, "svm_0x%x", c);
	return buf;
}

const char *ns_kvm_exit_reason(__u32 isa, __u32 reason, char *buf, size_t n)
{
	const char *s;

	if (isa == NS_KVM_ISA_VMX) {
		/* Bits 15:0 are the basic reason; bit 31 marks a failed VM entry. */
		s = AT(vmx, reason & 0xffff);
		if (reason & 0x80000000)
			snprintf(buf, n, "FAILED_VMENTRY_%s", s ? s : "UNKNOWN");
		else if (!s)
			snprintf(buf, n, "vmx_%u", reason & 0xffff);
		return (reason & 0x80000000) || !s ? buf : s;
	}
	if (isa == NS_KVM_ISA_SVM)
		return svm_name(reason, buf, n);
	return "unknown";
}

/* KVM_EXIT_* (include/uapi/linux/kvm.h), by number. */
static const char *const uexit[] = {
	"unknown",
	"exception",
	"io",
	"hypercall",
	"debug",
	"hlt",
	"mmio",
	"irq_window_open",
	"shutdown",
	"fail_entry",
	"intr",
	"set_tpr",
	"tpr_access",
	"s390_sieic",
	"s390_reset",
	"dcr",
	"nmi",
	"internal_error",
	"osi",
	"papr_hcall",
	"s390_ucontrol",
	"watchdog",
	"s390_tsch",
	"epr",
	"system_event",
	"s390_stsi",
	"ioapic_eoi",
	"hyperv",
	"arm_nisv",
	"x86_rdmsr",
	"x86_wrmsr",
	"dirty_ring_full",
	"ap_reset_hold",
	"x86_bus_lock",
	"xen",
	"riscv_sbi",
	"riscv_csr",
	"notify",
	"loongarch_iocsr",
	"memory_fault",
	"tdx",
};

const char *ns_kvm_uexit_reason(__u32 reason, char *buf, size_t n)
{
	if (reason == NS_KVM_UEXIT_RESTART)
		return "restart";
	if (reason == NS_KVM_UEXIT_ERROR)
		return "error";
	if (reason < LEN(uexit))
		return uexit[reason];
	snprintf(buf, n, "exit_%u", reason);
	return buf;
}
