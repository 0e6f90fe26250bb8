build-san/tests/test_config: tests/unit/test_config.c userspace/config.h
userspace/config.h:
