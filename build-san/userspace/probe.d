build-san/userspace/probe.o: userspace/probe.c userspace/probe.h \
 userspace/probe_util.h userspace/features.h
userspace/probe.h:
userspace/probe_util.h:
userspace/features.h:
