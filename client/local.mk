# client/: libkclient, the admin tool's Kafka client (design.md): a blocking
# connection with deadlines, the cluster's brokers, and the consumer-group
# views kbroker-admin prints.  It speaks the Kafka protocol through proto/
# so that coord/ never has to.
noinst_LIBRARIES += client/libkclient.a
client_libkclient_a_SOURCES = \
	client/kcl_error.c client/kcl_error.h \
	client/kcl_conn.c client/kcl_conn.h \
	client/kcl_cluster.c client/kcl_cluster.h \
	client/kcl_group_offsets.c client/kcl_group_offsets.h \
	client/kcl_list_groups.c \
	client/kcl_describe_group.c \
	client/kcl_elect.c client/kcl_elect.h \
	client/kcl_groups.h
client_libkclient_a_CFLAGS = $(AM_CFLAGS)

KCLIENT_LIBS = client/libkclient.a proto/libkproto.a
