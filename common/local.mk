# common/: what every layer may use (design.md); depends on nothing else in
# the tree.
noinst_LIBRARIES += common/libkbcommon.a
common_libkbcommon_a_SOURCES = \
	common/kc_log.c common/kc_log.h \
	common/kc_names.c common/kc_names.h \
	common/kb_worker.c common/kb_worker.h \
	common/kb_fd_budget.c common/kb_fd_budget.h
common_libkbcommon_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)

KBCOMMON_LIBS = common/libkbcommon.a $(LIBEVENT_LIBS) -lpthread
