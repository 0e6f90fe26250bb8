build-san/tests/test_http: tests/unit/test_http.c userspace/attrib.h \
 userspace/http.h
userspace/attrib.h:
userspace/http.h:
