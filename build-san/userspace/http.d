build-san/userspace/http.o: userspace/http.c userspace/config.h \
 userspace/http.h userspace/webconfig.h
userspace/config.h:
userspace/http.h:
userspace/webconfig.h:
