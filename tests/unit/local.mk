# tests/unit: Check suites, one per module.
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(CODEC_CFLAGS)

check_PROGRAMS += tests/unit/test_common
tests_unit_test_common_SOURCES = tests/unit/test_common.c tests/unit/test_worker.c tests/unit/unit.h
tests_unit_test_common_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_common_LDADD = $(KBCOMMON_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_coord
tests_unit_test_coord_SOURCES = tests/unit/test_coord.c tests/unit/test_json.c \
	tests/unit/test_assign.c tests/unit/test_names.c tests/unit/unit.h
tests_unit_test_coord_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_coord_LDADD = $(KCOORD_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_proto
tests_unit_test_proto_SOURCES = tests/unit/test_proto.c tests/unit/test_buf.c \
	tests/unit/test_apiversions.c tests/unit/test_metadata.c tests/unit/test_batch.c \
	tests/unit/test_produce.c tests/unit/test_fetch.c tests/unit/test_listoffsets.c \
	tests/unit/test_createtopics.c tests/unit/test_configs.c tests/unit/test_deleterecords.c \
	tests/unit/test_initproducerid.c tests/unit/test_codec.c tests/unit/protofix.h tests/unit/unit.h
tests_unit_test_proto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_proto_LDADD = proto/libkproto.a $(ISAL_LIBS) $(CODEC_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_broker
tests_unit_test_broker_SOURCES = tests/unit/test_broker.c tests/unit/test_config.c \
	tests/unit/test_log.c tests/unit/test_log_limits.c tests/unit/test_logcreate.c tests/unit/test_retention.c tests/unit/test_producer_state.c \
	tests/unit/test_topic_config.c tests/unit/test_isr.c tests/unit/logfix.c tests/unit/logfix.h tests/unit/unit.h
tests_unit_test_broker_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_broker_LDADD = $(KBROKER_LIBS) $(CHECK_LIBS)

TESTS += tests/unit/test_common tests/unit/test_coord tests/unit/test_proto tests/unit/test_broker
