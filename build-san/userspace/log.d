build-san/userspace/log.o: userspace/log.c userspace/log.h \
 userspace/strbuf.h
userspace/log.h:
userspace/strbuf.h:
