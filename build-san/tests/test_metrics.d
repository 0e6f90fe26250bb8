build-san/tests/test_metrics: tests/unit/test_metrics.c \
 userspace/metrics.h include/novascope/hist.h
userspace/metrics.h:
include/novascope/hist.h:
