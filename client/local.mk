# client/: libkclient, the admin tool's Kafka client (design.md): a blocking
# connection with deadlines, the cluster's brokers, the consumer-group
# views kbroker-admin prints, and the topics and configs its Kafka front
# ends (kafka-topics.sh, kafka-configs.sh --bootstrap-server) work on.  It
# speaks the Kafka protocol through proto/ so that coord/ never has to.
noinst_LIBRARIES += client/libkclient.a
client_libkclient_a_SOURCES = \
	client/kcl_error.c client/kcl_error.h client/kcl_exception.c \
	client/kcl_conn.c client/kcl_conn.h \
	client/kcl_cluster.c client/kcl_cluster.h \
	client/kcl_group_offsets.c client/kcl_group_offsets.h \
	client/kcl_list_groups.c \
	client/kcl_describe_group.c \
	client/kcl_groups.h \
	client/kcl_elect.c client/kcl_elect.h \
	client/kcl_admin.c client/kcl_admin.h client/kcl_admin_internal.h \
	client/kcl_admin_topics.c \
	client/kcl_admin_configs.c \
	client/kcl_admin_reassign.c
client_libkclient_a_CFLAGS = $(AM_CFLAGS)

KCLIENT_LIBS = client/libkclient.a proto/libkproto.a
