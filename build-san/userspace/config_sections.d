build-san/userspace/config_sections.o: userspace/config_sections.c \
 userspace/config_sections.h
userspace/config_sections.h:
