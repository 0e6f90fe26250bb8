build-san/userspace/probes/probes.o: userspace/probes/probes.c \
 userspace/probe.h userspace/probes/probes.h
userspace/probe.h:
userspace/probes/probes.h:
