build-san/userspace/strbuf.o: userspace/strbuf.c userspace/strbuf.h
userspace/strbuf.h:
