build-san/userspace/config.o: userspace/config.c userspace/config.h \
 userspace/config_sections.h
userspace/config.h:
userspace/config_sections.h:
