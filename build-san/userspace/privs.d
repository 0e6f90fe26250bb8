build-san/userspace/privs.o: userspace/privs.c userspace/privs.h
userspace/privs.h:
