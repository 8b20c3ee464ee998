# broker/: the kbroker daemon.  Everything but main.c is a library so the
# unit tests can link single modules (the log, the config) against it.
noinst_LIBRARIES += broker/libkbroker.a
broker_libkbroker_a_SOURCES = \
	broker/kb_broker.h \
	broker/kb_config.h broker/kb_config_internal.h \
	broker/kb_config_keys.c broker/kb_config_props.c broker/kb_config_derive.c \
	broker/kb_registration.c broker/kb_registration.h \
	broker/kb_controlled_shutdown.c broker/kb_controlled_shutdown.h \
	broker/kb_session_record.c broker/kb_session_record.h \
	broker/net/kb_net.h broker/net/kb_net_internal.h \
	broker/net/kb_conn.c broker/net/kb_listen.c broker/net/kb_outbound.c \
	broker/net/kb_sendfile.c broker/net/kb_sendfile.h \
	broker/rpc/kb_rpc.h broker/rpc/kb_rpc_internal.h \
	broker/rpc/kb_rpc_common.c broker/rpc/kb_rpc_server.c broker/rpc/kb_rpc_client.c \
	broker/api/kb_api.c broker/api/kb_api.h broker/api/kb_api_internal.h \
	broker/api/kb_api_listen.c broker/api/kb_api_listen.h \
	broker/api/kb_api_metadata.c \
	broker/api/kb_api_produce.c \
	broker/api/kb_api_fetch.c \
	broker/api/kb_api_listoffsets.c \
	broker/api/kb_api_findcoordinator.c \
	broker/api/kb_api_group.c broker/api/kb_api_offsets.c broker/api/kb_api_groupadmin.c \
	broker/api/kb_api_topicops.c \
	broker/api/kb_api_createtopics.c broker/api/kb_api_createpartitions.c broker/api/kb_api_deletetopics.c \
	broker/api/kb_api_deleterecords.c \
	broker/api/kb_api_reassign.c \
	broker/api/kb_api_electleaders.c \
	broker/api/kb_api_initproducerid.c \
	broker/api/kb_api_describeconfigs.c \
	broker/api/kb_api_alterconfigs.c \
	broker/kb_topic_config.c broker/kb_topic_config.h \
	broker/kb_control_requests.c broker/kb_control_requests.h broker/kb_control_internal.h broker/kb_control_rpc.c \
	broker/kb_control_metadata.c \
	broker/metadata/kb_metadata.c broker/metadata/kb_metadata.h \
	broker/metadata/kb_metadata_view.c broker/metadata/kb_metadata_view.h \
	broker/admin/kb_admin_op.c broker/admin/kb_admin_op.h \
	broker/admin/kb_topic_creator.c broker/admin/kb_topic_creator.h \
	broker/admin/kb_capacity.c broker/admin/kb_capacity.h \
	broker/admin/kb_partition_adder.c broker/admin/kb_partition_adder.h \
	broker/admin/kb_topic_deleter.c broker/admin/kb_topic_deleter.h \
	broker/admin/kb_producer_ids.c broker/admin/kb_producer_ids.h \
	broker/admin/kb_config_writer.c broker/admin/kb_config_writer.h \
	broker/log/kb_retention.c \
	broker/log/kb_producer_state.c broker/log/kb_producer_state.h \
	broker/controller/kb_controller.c broker/controller/kb_controller.h broker/controller/kb_ctl_internal.h \
	broker/controller/kb_elect.c broker/controller/kb_elect.h \
	broker/controller/kb_reassign.c broker/controller/kb_reassign.h \
	broker/controller/kb_ctl_reassign.c \
	broker/controller/kb_ctl_delete.c \
	broker/controller/kb_elect_moves.c broker/controller/kb_elect_moves.h \
	broker/controller/kb_ctl_shutdown.c broker/controller/kb_ctl_shutdown.h broker/controller/kb_ctl_unhosted.c \
	broker/controller/kb_ctl_elections.c broker/controller/kb_ctl_preferred.c broker/controller/kb_leader_election.h \
	broker/controller/kb_ctl_keys.c broker/controller/kb_ctl_keys.h \
	broker/controller/kb_ctl_requests.c broker/controller/kb_ctl_requests.h \
	broker/controller/kb_ctl_queue.c broker/controller/kb_ctl_queue.h \
	broker/controller/kb_ctl_fanout.c broker/controller/kb_ctl_fanout.h \
	broker/controller/kb_ctl_rpc.c broker/controller/kb_ctl_rpc.h \
	broker/log/kb_log.h broker/log/kb_log_internal.h \
	broker/log/kb_logmgr.c broker/log/kb_logcreate.c broker/log/kb_logdelete.c broker/log/kb_log.c broker/log/kb_segment.c \
	broker/log/kb_checkpoint.c broker/log/kb_flusher.c broker/log/kb_log_timestamp.c \
	broker/log/kb_epoch_cache.c broker/log/kb_epoch_cache.h broker/log/kb_log_epochs.c broker/log/kb_log_truncate.c \
	broker/replica/kb_partition.c broker/replica/kb_partition.h broker/replica/kb_replicas.h \
	broker/replica/kb_partition_internal.h broker/replica/kb_partition_isr.c broker/replica/kb_partition_roles.c \
	broker/replica/kb_partition_turns.c \
	broker/replica/kb_isr.c broker/replica/kb_isr.h \
	broker/replica/kb_fetcher.c broker/replica/kb_fetcher.h broker/replica/kb_fetch_serve.c \
	broker/replica/kb_roles.h \
	broker/replica/kb_topic_settings.c broker/replica/kb_settings_view.c broker/replica/kb_settings_view.h \
	broker/metrics/kb_metrics.c broker/metrics/kb_metrics.h \
	broker/metrics/kb_metrics_groups.c broker/metrics/kb_metrics_internal.h \
	broker/group/kb_group.h broker/group/kb_group_internal.h broker/group/kb_coordinator.c \
	broker/group/kb_group_join.c broker/group/kb_group_sync.c broker/group/kb_group_offsets.c \
	broker/group/kb_group_store.c broker/group/kb_group_admin.c broker/group/kb_group_ids.c
broker_libkbroker_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUF_C_CFLAGS)
# broker/rpc includes the header protoc-c generates: wait for it under -j.
$(broker_libkbroker_a_OBJECTS): proto/kbroker_rpc.pb-c.h

# The controller's requests are the generated RPC messages: its objects wait
# for protoc-c's header like proto/'s own (proto/local.mk).
$(broker_libkbroker_a_OBJECTS): proto/kbroker_rpc.pb-c.h

KBROKER_LIBS = broker/libkbroker.a proto/libkproto.a $(KCOORD_LIBS) $(KBCOMMON_LIBS) $(ISAL_LIBS) $(CODEC_LIBS) $(PROTOBUF_C_LIBS)

sbin_PROGRAMS += kbroker
kbroker_SOURCES = broker/main.c
kbroker_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUF_C_CFLAGS)
kbroker_LDADD = $(KBROKER_LIBS)
