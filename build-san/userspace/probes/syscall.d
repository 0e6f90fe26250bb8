build-san/userspace/probes/syscall.o: userspace/probes/syscall.c \
 userspace/config.h userspace/log.h userspace/metrics.h \
 include/novascope/hist.h userspace/probe_util.h userspace/features.h \
 userspace/probes/probes.h userspace/probe.h include/novascope/syscall.h \
 build-san/syscall.skel.h userspace/syscall_names.h
userspace/config.h:
userspace/log.h:
userspace/metrics.h:
include/novascope/hist.h:
userspace/probe_util.h:
userspace/features.h:
userspace/probes/probes.h:
userspace/probe.h:
include/novascope/syscall.h:
build-san/syscall.skel.h:
userspace/syscall_names.h:
