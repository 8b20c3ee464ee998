# broker/: the kbroker daemon.
sbin_PROGRAMS += kbroker
kbroker_SOURCES = \
	broker/main.c \
	broker/kb_broker.h \
	broker/kb_config.c broker/kb_config.h \
	broker/kb_registration.c broker/kb_registration.h \
	broker/net/kb_net.c broker/net/kb_net.h \
	broker/api/kb_api.c broker/api/kb_api.h \
	broker/api/kb_api_metadata.c broker/api/kb_api_internal.h \
	broker/controller/kb_controller.c broker/controller/kb_controller.h
kbroker_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUF_C_CFLAGS)
kbroker_LDADD = proto/libkproto.a $(KCOORD_LIBS) $(PROTOBUF_C_LIBS)
