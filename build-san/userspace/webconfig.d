build-san/userspace/webconfig.o: userspace/webconfig.c \
 userspace/config_sections.h userspace/webconfig.h
userspace/config_sections.h:
userspace/webconfig.h:
