build-san/tests/test_expose: tests/unit/test_expose.c userspace/expose.h \
 userspace/metrics.h include/novascope/hist.h userspace/strbuf.h \
 userspace/metrics.h
userspace/expose.h:
userspace/metrics.h:
include/novascope/hist.h:
userspace/strbuf.h:
userspace/metrics.h:
