build-san/userspace/pin.o: userspace/pin.c userspace/log.h \
 userspace/probe.h userspace/probe_util.h userspace/features.h
userspace/log.h:
userspace/probe.h:
userspace/probe_util.h:
userspace/features.h:
