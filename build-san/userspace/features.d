build-san/userspace/features.o: userspace/features.c userspace/features.h
userspace/features.h:
