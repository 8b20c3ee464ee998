# tests/tools: small programs the integration tests drive, built by
# `make check` (never installed).
check_PROGRAMS += tests/tools/kb_rpc_probe
tests_tools_kb_rpc_probe_SOURCES = tests/tools/kb_rpc_probe.c
tests_tools_kb_rpc_probe_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_tools_kb_rpc_probe_LDADD = proto/libkproto.a $(ISAL_LIBS) $(CODEC_LIBS) $(PROTOBUF_C_LIBS)
# It includes the header protoc-c generates.
$(tests_tools_kb_rpc_probe_OBJECTS): proto/kbroker_rpc.pb-c.h
