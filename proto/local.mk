# proto/: byte formats, no I/O.  The inter-broker RPC schema is compiled by
# protoc-c at build time; the generated files are never committed.
noinst_LIBRARIES += proto/libkproto.a
proto_libkproto_a_SOURCES = \
	proto/kp_buf.c proto/kp_buf.h \
	proto/kp_types.h \
	proto/kp_header.c proto/kp_header.h \
	proto/kp_error_names.c \
	proto/kp_apiversions.c proto/kp_apiversions.h \
	proto/kp_metadata.c proto/kp_metadata.h \
	proto/kp_batch.c proto/kp_batch.h \
	proto/kp_codec.c proto/kp_codec.h \
	proto/kp_compress.c proto/kp_compress.h \
	proto/kp_recompress.c proto/kp_recompress.h \
	proto/kp_records.c proto/kp_records.h \
	proto/kp_record_iter.c proto/kp_record_iter.h \
	proto/kp_batch_build.c proto/kp_batch_build.h \
	proto/kp_produce.c proto/kp_produce.h \
	proto/kp_fetch.c proto/kp_fetch.h \
	proto/kp_listoffsets.c proto/kp_listoffsets.h \
	proto/kp_findcoordinator.c proto/kp_findcoordinator.h \
	proto/kp_group.c proto/kp_group.h \
	proto/kp_createtopics.c proto/kp_createtopics.h \
	proto/kp_createpartitions.c proto/kp_createpartitions.h \
	proto/kp_configs.c proto/kp_configs.h \
	proto/kp_deleterecords.c proto/kp_deleterecords.h \
	proto/kp_deletetopics.c proto/kp_deletetopics.h \
	proto/kp_electleaders.c proto/kp_electleaders.h \
	proto/kp_initproducerid.c proto/kp_initproducerid.h \
	proto/kp_group_records.c proto/kp_group_records.h \
	proto/kp_offsets.c proto/kp_offsets.h \
	proto/kp_groupadmin.c proto/kp_groupadmin.h \
	proto/kp_reassign.c proto/kp_reassign.h \
	proto/kp_consumer_protocol.c proto/kp_consumer_protocol.h \
	proto/kp_client_topics.c proto/kp_client_topics.h \
	proto/kp_client_configs.c proto/kp_client_configs.h \
	proto/kp_client_reassign.c proto/kp_client_reassign.h \
	proto/kp_rpc.c proto/kp_rpc.h
nodist_proto_libkproto_a_SOURCES = proto/kbroker_rpc.pb-c.c proto/kbroker_rpc.pb-c.h
proto_libkproto_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ISAL_CFLAGS) $(CODEC_CFLAGS)
BUILT_SOURCES += proto/kbroker_rpc.pb-c.c proto/kbroker_rpc.pb-c.h
CLEANFILES += proto/kbroker_rpc.pb-c.c proto/kbroker_rpc.pb-c.h
EXTRA_DIST += proto/kbroker_rpc.proto

# One protoc-c run makes both files: the header is made by the rule of the
# .c file (two targets on one rule would run protoc-c twice at once under
# make -j, each overwriting what the other reads).  BUILT_SOURCES covers
# `make`, `make check`; an explicit target (`make kbroker`, the
# benchmarks') reaches the header through the objects that include it.
proto/kbroker_rpc.pb-c.c: $(srcdir)/proto/kbroker_rpc.proto
	$(AM_V_GEN)$(MKDIR_P) proto && $(PROTOC_C) --proto_path=$(srcdir)/proto --c_out=proto $(srcdir)/proto/kbroker_rpc.proto
proto/kbroker_rpc.pb-c.h: proto/kbroker_rpc.pb-c.c
	@test -f $@ || { rm -f proto/kbroker_rpc.pb-c.c; $(MAKE) $(AM_MAKEFLAGS) proto/kbroker_rpc.pb-c.c; }
$(proto_libkproto_a_OBJECTS): proto/kbroker_rpc.pb-c.h
