# tests/unit: Check suites, one per module.
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(CODEC_CFLAGS) $(PROTOBUF_C_CFLAGS)

check_PROGRAMS += tests/unit/test_common
tests_unit_test_common_SOURCES = tests/unit/test_common.c tests/unit/test_worker.c tests/unit/test_names.c \
	tests/unit/test_fd_budget.c tests/unit/unit.h
tests_unit_test_common_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_common_LDADD = $(KBCOMMON_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_coord
tests_unit_test_coord_SOURCES = tests/unit/test_coord.c tests/unit/test_json.c \
	tests/unit/test_assign.c tests/unit/test_topic_grow.c tests/unit/test_zkclient.c tests/unit/test_reassign_json.c \
	tests/unit/unit.h
tests_unit_test_coord_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_coord_LDADD = $(KCOORD_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_proto
tests_unit_test_proto_SOURCES = tests/unit/test_proto.c tests/unit/test_buf.c \
	tests/unit/test_apiversions.c tests/unit/test_metadata.c tests/unit/test_batch.c \
	tests/unit/test_produce.c tests/unit/test_fetch.c tests/unit/test_listoffsets.c \
	tests/unit/test_createtopics.c tests/unit/test_createpartitions.c tests/unit/test_configs.c \
	tests/unit/test_deleterecords.c tests/unit/test_deletetopics.c tests/unit/test_electleaders.c \
	tests/unit/test_group.c tests/unit/test_group_records.c tests/unit/test_offsets.c tests/unit/test_groupadmin.c \
	tests/unit/test_client_codecs.c tests/unit/test_client_admin_codecs.c \
	tests/unit/test_initproducerid.c tests/unit/test_reassign_codec.c tests/unit/test_client_reassign_codec.c tests/unit/test_codec.c tests/unit/test_records.c \
	tests/unit/test_recompress.c \
	tests/unit/test_rpc.c \
	tests/unit/batchfix.c tests/unit/batchfix.h tests/unit/protofix.h tests/unit/unit.h
tests_unit_test_proto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_proto_LDADD = proto/libkproto.a $(ISAL_LIBS) $(CODEC_LIBS) $(PROTOBUF_C_LIBS) $(CHECK_LIBS)

# client/ against scripted brokers on 127.0.0.1 (fakebroker.c, a thread).
check_PROGRAMS += tests/unit/test_client
tests_unit_test_client_SOURCES = tests/unit/test_client.c tests/unit/test_kclient.c tests/unit/test_kclient_admin.c \
	tests/unit/fakebroker.c tests/unit/fakebroker.h tests/unit/unit.h
tests_unit_test_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_client_LDADD = $(KCLIENT_LIBS) $(CHECK_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_broker
tests_unit_test_broker_SOURCES = tests/unit/test_broker.c tests/unit/test_config.c \
	tests/unit/test_log.c tests/unit/test_log_limits.c tests/unit/test_logcreate.c tests/unit/test_retention.c tests/unit/test_flusher.c \
	tests/unit/test_producer_state.c tests/unit/test_topic_config.c tests/unit/test_isr.c \
	tests/unit/test_session_record.c tests/unit/test_log_timestamp.c \
	tests/unit/test_epoch_cache.c tests/unit/test_log_truncate.c tests/unit/test_elect_moves.c \
	tests/unit/logfix.c tests/unit/logfix.h \
	tests/unit/batchfix.c tests/unit/batchfix.h tests/unit/unit.h
tests_unit_test_broker_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_broker_LDADD = $(KBROKER_LIBS) $(CHECK_LIBS)

# The serving path: partitions, listener framing, the dispatcher, the
# controller's decisions.  viewfix.c stands in for coord/kc_view.c.
check_PROGRAMS += tests/unit/test_serving
tests_unit_test_serving_SOURCES = tests/unit/test_serving.c tests/unit/test_replica.c tests/unit/test_net.c tests/unit/test_sendfile.c \
	tests/unit/test_api.c tests/unit/test_partition_adder.c tests/unit/test_capacity.c tests/unit/test_election.c tests/unit/test_reassign_rules.c \
	tests/unit/test_rpc_channel.c tests/unit/test_ctl_queue.c tests/unit/test_control.c tests/unit/test_topic_deleter.c \
	tests/unit/test_group_coordinator.c \
	tests/unit/viewfix.c tests/unit/viewfix.h \
	tests/unit/stderrfix.c tests/unit/stderrfix.h \
	tests/unit/netfix.c tests/unit/netfix.h tests/unit/logfix.c tests/unit/logfix.h tests/unit/unit.h
tests_unit_test_serving_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_serving_LDADD = $(KBROKER_LIBS) $(CHECK_LIBS)

TESTS += tests/unit/test_common tests/unit/test_coord tests/unit/test_proto tests/unit/test_client tests/unit/test_broker tests/unit/test_serving

# Not a Check suite: the key table's used/unused marks held against the code
# and the man page (a shell script reading the sources under $srcdir).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
TESTS += tests/unit/config_keys_used.sh
EXTRA_DIST += tests/unit/config_keys_used.sh
# The module graph of design.md held against the #include lines.
TESTS += tests/unit/include_graph.sh
EXTRA_DIST += tests/unit/include_graph.sh
