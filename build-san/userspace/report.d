build-san/userspace/report.o: userspace/report.c userspace/report.h \
 userspace/metrics.h include/novascope/hist.h
userspace/report.h:
userspace/metrics.h:
include/novascope/hist.h:
