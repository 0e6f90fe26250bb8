build-san/userspace/summary.o: userspace/summary.c userspace/strbuf.h \
 userspace/summary.h userspace/metrics.h include/novascope/hist.h
userspace/strbuf.h:
userspace/summary.h:
userspace/metrics.h:
include/novascope/hist.h:
