build-san/userspace/main.o: userspace/main.c userspace/config.h \
 userspace/expose.h userspace/metrics.h include/novascope/hist.h \
 userspace/strbuf.h userspace/features.h userspace/http.h userspace/log.h \
 userspace/privs.h userspace/probe.h userspace/probe_util.h \
 userspace/report.h userspace/selfmon.h userspace/summary.h \
 userspace/webconfig.h
userspace/config.h:
userspace/expose.h:
userspace/metrics.h:
include/novascope/hist.h:
userspace/strbuf.h:
userspace/features.h:
userspace/http.h:
userspace/log.h:
userspace/privs.h:
userspace/probe.h:
userspace/probe_util.h:
userspace/report.h:
userspace/selfmon.h:
userspace/summary.h:
userspace/webconfig.h:
