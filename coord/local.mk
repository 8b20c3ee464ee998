# coord/: libkcoord (every ZooKeeper path and JSON format) and kbroker-admin.
noinst_LIBRARIES += coord/libkcoord.a
coord_libkcoord_a_SOURCES = \
	coord/kc_model.c coord/kc_model.h \
	coord/kc_json.c coord/kc_json.h \
	coord/kc_assign.c coord/kc_assign.h \
	coord/kc_paths.c coord/kc_paths.h \
	coord/kc_zk.c coord/kc_zk.h \
	coord/kc_zk_log.c coord/kc_zk_log.h \
	coord/kc_view.c coord/kc_view.h \
	coord/kc_registry.c coord/kc_registry.h \
	coord/kc_election.c coord/kc_election.h \
	coord/kc_topics.c coord/kc_topics.h \
	coord/kc_isr.c coord/kc_isr.h \
	coord/kc_preferred.c coord/kc_preferred.h \
	coord/kc_configs.c coord/kc_configs.h \
	coord/kc_producer_ids.c coord/kc_producer_ids.h
coord_libkcoord_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS)

KCOORD_LIBS = coord/libkcoord.a $(KBCOMMON_LIBS) $(ZOOKEEPER_LIBS) $(JANSSON_LIBS) $(LIBEVENT_LIBS) -lm

# kbroker-admin: the ZooKeeper commands through libkcoord, the consumer-group
# commands through libkclient (client/kcl_groups.h, plain structs only).
bin_PROGRAMS += kbroker-admin
kbroker_admin_SOURCES = coord/kbroker_admin.c coord/kbroker_admin.h coord/kbroker_admin_groups.c \
	coord/kbroker_admin_elect.c
kbroker_admin_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS)
kbroker_admin_LDADD = $(KCLIENT_LIBS) $(KCOORD_LIBS)
