build-san/userspace/selfmon.o: userspace/selfmon.c userspace/probe.h \
 userspace/probe_util.h userspace/features.h userspace/selfmon.h \
 userspace/metrics.h include/novascope/hist.h
userspace/probe.h:
userspace/probe_util.h:
userspace/features.h:
userspace/selfmon.h:
userspace/metrics.h:
include/novascope/hist.h:
