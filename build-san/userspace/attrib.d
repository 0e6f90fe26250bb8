build-san/userspace/attrib.o: userspace/attrib.c userspace/attrib.h
userspace/attrib.h:
