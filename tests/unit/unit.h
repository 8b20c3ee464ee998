/*
 * unit.h - the suite constructors each tests/unit/test_*.c file exports, so
 * one runner per module (test_coord.c, test_proto.c, test_broker.c) can
 * gather them into a single Check run.
 */
#ifndef KB_UNIT_H
#define KB_UNIT_H

#include <check.h>

Suite *json_suite(void);
Suite *assign_suite(void);
Suite *topic_grow_suite(void);
Suite *names_suite(void);
Suite *fd_budget_suite(void);
Suite *capacity_suite(void);
Suite *zkclient_suite(void);
Suite *reassign_json_suite(void);
Suite *reassign_rules_suite(void);
Suite *reassign_codec_suite(void);
Suite *client_reassign_codec_suite(void);
Suite *session_record_suite(void);
Suite *buf_suite(void);
Suite *apiversions_suite(void);
Suite *metadata_suite(void);
Suite *config_suite(void);
Suite *batch_suite(void);
Suite *produce_suite(void);
Suite *fetch_suite(void);
Suite *listoffsets_suite(void);
Suite *log_suite(void);
Suite *epoch_cache_suite(void);
Suite *log_truncate_suite(void);
Suite *log_limits_suite(void);
Suite *logcreate_suite(void);
Suite *createtopics_suite(void);
Suite *createpartitions_suite(void);
Suite *configs_suite(void);
Suite *deleterecords_suite(void);
Suite *electleaders_suite(void);
Suite *deletetopics_suite(void);
Suite *group_suite(void);
Suite *initproducerid_suite(void);
Suite *group_records_suite(void);
Suite *offsets_suite(void);
Suite *groupadmin_suite(void);
Suite *client_codecs_suite(void);
Suite *client_admin_codecs_suite(void);
Suite *kclient_suite(void);
Suite *kclient_admin_suite(void);
Suite *retention_suite(void);
Suite *flusher_suite(void);
Suite *producer_state_suite(void);
Suite *topic_config_suite(void);
Suite *codec_suite(void);
Suite *rpc_suite(void);
Suite *control_suite(void);
Suite *topic_deleter_suite(void);
Suite *isr_suite(void);
Suite *worker_suite(void);
Suite *records_suite(void);
Suite *recompress_suite(void);
Suite *log_timestamp_suite(void);
Suite *sendfile_suite(void);
Suite *replica_suite(void);
Suite *net_suite(void);
Suite *api_suite(void);
Suite *partition_adder_suite(void);
Suite *election_suite(void);
Suite *elect_moves_suite(void);
Suite *rpc_channel_suite(void);
Suite *ctl_queue_suite(void);
Suite *group_coordinator_suite(void);

/* Runs every suite in the NULL-terminated list; returns the process exit status. */
static inline int unit_run(Suite **suites) {
    SRunner *sr = srunner_create(suites[0]);
    for (int i = 1; suites[i]; i++) srunner_add_suite(sr, suites[i]);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

#endif
