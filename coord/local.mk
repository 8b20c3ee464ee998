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
	coord/kc_topics.c coord/kc_topics.h coord/kc_topic_grow.c coord/kc_topic_grow.h \
	coord/kc_admin.c coord/kc_admin.h \
	coord/kc_isr.c coord/kc_isr.h \
	coord/kc_preferred.c coord/kc_preferred.h \
	coord/kc_configs.c coord/kc_configs.h \
	coord/kc_producer_ids.c coord/kc_producer_ids.h \
	coord/kc_reassign.c coord/kc_reassign.h
coord_libkcoord_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS)

KCOORD_LIBS = coord/libkcoord.a $(KBCOMMON_LIBS) $(ZOOKEEPER_LIBS) $(JANSSON_LIBS) $(LIBEVENT_LIBS) -lm

# kbroker-admin: the ZooKeeper commands through libkcoord, the consumer-group
# commands through libkclient (client/kcl_groups.h, plain structs only), and
# the front ends for Kafka's kafka-topics.sh, kafka-configs.sh,
# kafka-reassign-partitions.sh and kafka-leader-election.sh command lines
# (client/kcl_admin.h through the brokers).
bin_PROGRAMS += kbroker-admin
kbroker_admin_SOURCES = coord/kbroker_admin.c coord/kbroker_admin.h coord/kbroker_admin_alter.c coord/kbroker_admin_groups.c \
	coord/kbroker_admin_describe.c \
	coord/kbroker_admin_capacity.c \
	coord/kbroker_admin_reassign.c coord/kbroker_admin_reassign_api.c coord/kbroker_admin_reassign_generate.c coord/kbroker_admin_delete.c \
	coord/kbroker_admin_elect.c \
	coord/kbroker_admin_kafka.c coord/kbroker_admin_kafka.h \
	coord/kbroker_admin_kafka_topics.c coord/kbroker_admin_kafka_configs.c coord/kbroker_admin_kafka_tools.c
kbroker_admin_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS)
kbroker_admin_LDADD = $(KCLIENT_LIBS) $(KCOORD_LIBS)

# kafka-topics.sh, kafka-configs.sh, kafka-reassign-partitions.sh and
# kafka-leader-election.sh: Kafka's entry points, installed next to
# kbroker-admin and made in the build tree too (build/kafka-topics.sh),
# each running the kbroker-admin beside it in that tool's mode.
KAFKA_TOOLS = kafka-topics.sh kafka-configs.sh kafka-reassign-partitions.sh kafka-leader-election.sh
bin_SCRIPTS = $(KAFKA_TOOLS)
CLEANFILES += $(KAFKA_TOOLS)
EXTRA_DIST += coord/kafka-tool.sh.in
$(KAFKA_TOOLS): $(srcdir)/coord/kafka-tool.sh.in
	$(AM_V_GEN)sed 's/@TOOL@/$(@:.sh=)/g' $(srcdir)/coord/kafka-tool.sh.in >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@
