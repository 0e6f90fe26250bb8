build-san/userspace/expose.o: userspace/expose.c userspace/expose.h \
 userspace/metrics.h include/novascope/hist.h userspace/strbuf.h
userspace/expose.h:
userspace/metrics.h:
include/novascope/hist.h:
userspace/strbuf.h:
