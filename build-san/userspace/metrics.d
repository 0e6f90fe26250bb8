build-san/userspace/metrics.o: userspace/metrics.c userspace/metrics.h \
 include/novascope/hist.h
userspace/metrics.h:
include/novascope/hist.h:
