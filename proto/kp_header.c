/*
 * kp_header.c - request header v0/v1/v2 decoding, response header v0/v1
 * encoding, their client-side counterparts, and the rule that picks the
 * header version (see kp_header.h).
 */
#include "proto/kp_header.h"

#include <stddef.h>

int kp_request_header_version(int16_t api_key, int16_t api_version, int16_t flex_from) {
    if (kp_is_flexible(api_version, flex_from)) return 2;
    if (api_key == KP_API_CONTROLLED_SHUTDOWN && api_version == 0) return 0;
    return 1;
}

int kp_response_header_version(int16_t api_key, int16_t api_version, int16_t flex_from) {
    if (api_key == KP_API_API_VERSIONS) return 0;
    return kp_is_flexible(api_version, flex_from) ? 1 : 0;
}

int kp_request_header_decode_ids(kp_reader_t *r, kp_request_header_t *h) {
    h->request_api_key = kp_read_int16(r);
    h->request_api_version = kp_read_int16(r);
    h->correlation_id = kp_read_int32(r);
    h->client_id = KP_STR_NULL;
    return r->err;
}

int kp_request_header_decode_rest(kp_reader_t *r, int hv, kp_request_header_t *h) {
    if (hv >= 1) h->client_id = kp_read_nullable_string(r);
    if (hv >= 2) kp_skip_tags(r);
    return r->err;
}

void kp_response_header_encode(kp_writer_t *w, int hv, int32_t correlation_id) {
    kp_write_int32(w, correlation_id);
    if (hv >= 1) kp_write_empty_tags(w);
}

int kp_request_header_encode(kp_writer_t *w, int hv, const kp_request_header_t *h) {
    if (hv < 0 || hv > 2) return KP_BUF_INVALID;
    kp_write_int16(w, h->request_api_key);
    kp_write_int16(w, h->request_api_version);
    kp_write_int32(w, h->correlation_id);
    /* Header v2 keeps the classic int16-length client_id (KIP-482). */
    if (hv >= 1) kp_write_str(w, h->client_id);
    if (hv >= 2) kp_write_empty_tags(w);
    return w->err;
}

int kp_response_header_decode(kp_reader_t *r, int hv, int32_t *correlation_id) {
    *correlation_id = 0;
    if (hv < 0 || hv > 1) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    *correlation_id = kp_read_int32(r);
    if (hv >= 1) kp_skip_tags(r);
    return r->err;
}

/* Indexed by key; gaps (34, 38-41, 48-59) are keys section 2 leaves out. */
static const char *const kp_api_names[] = {
    [KP_API_PRODUCE] = "Produce",
    [KP_API_FETCH] = "Fetch",
    [KP_API_LIST_OFFSETS] = "ListOffsets",
    [KP_API_METADATA] = "Metadata",
    [KP_API_LEADER_AND_ISR] = "LeaderAndIsr",
    [KP_API_STOP_REPLICA] = "StopReplica",
    [KP_API_UPDATE_METADATA] = "UpdateMetadata",
    [KP_API_CONTROLLED_SHUTDOWN] = "ControlledShutdown",
    [KP_API_OFFSET_COMMIT] = "OffsetCommit",
    [KP_API_OFFSET_FETCH] = "OffsetFetch",
    [KP_API_FIND_COORDINATOR] = "FindCoordinator",
    [KP_API_JOIN_GROUP] = "JoinGroup",
    [KP_API_HEARTBEAT] = "Heartbeat",
    [KP_API_LEAVE_GROUP] = "LeaveGroup",
    [KP_API_SYNC_GROUP] = "SyncGroup",
    [KP_API_DESCRIBE_GROUPS] = "DescribeGroups",
    [KP_API_LIST_GROUPS] = "ListGroups",
    [KP_API_SASL_HANDSHAKE] = "SaslHandshake",
    [KP_API_API_VERSIONS] = "ApiVersions",
    [KP_API_CREATE_TOPICS] = "CreateTopics",
    [KP_API_DELETE_TOPICS] = "DeleteTopics",
    [KP_API_DELETE_RECORDS] = "DeleteRecords",
    [KP_API_INIT_PRODUCER_ID] = "InitProducerId",
    [KP_API_OFFSET_FOR_LEADER_EPOCH] = "OffsetForLeaderEpoch",
    [KP_API_ADD_PARTITIONS_TO_TXN] = "AddPartitionsToTxn",
    [KP_API_ADD_OFFSETS_TO_TXN] = "AddOffsetsToTxn",
    [KP_API_END_TXN] = "EndTxn",
    [KP_API_WRITE_TXN_MARKERS] = "WriteTxnMarkers",
    [KP_API_TXN_OFFSET_COMMIT] = "TxnOffsetCommit",
    [KP_API_DESCRIBE_ACLS] = "DescribeAcls",
    [KP_API_CREATE_ACLS] = "CreateAcls",
    [KP_API_DELETE_ACLS] = "DeleteAcls",
    [KP_API_DESCRIBE_CONFIGS] = "DescribeConfigs",
    [KP_API_ALTER_CONFIGS] = "AlterConfigs",
    [KP_API_DESCRIBE_LOG_DIRS] = "DescribeLogDirs",
    [KP_API_SASL_AUTHENTICATE] = "SaslAuthenticate",
    [KP_API_CREATE_PARTITIONS] = "CreatePartitions",
    [KP_API_DELETE_GROUPS] = "DeleteGroups",
    [KP_API_ELECT_LEADERS] = "ElectLeaders",
    [KP_API_INCREMENTAL_ALTER_CONFIGS] = "IncrementalAlterConfigs",
    [KP_API_ALTER_PARTITION_REASSIGNMENTS] = "AlterPartitionReassignments",
    [KP_API_LIST_PARTITION_REASSIGNMENTS] = "ListPartitionReassignments",
    [KP_API_OFFSET_DELETE] = "OffsetDelete",
    [KP_API_DESCRIBE_CLUSTER] = "DescribeCluster",
};

const char *kp_api_key_name(int16_t api_key) {
    size_t n = sizeof(kp_api_names) / sizeof(kp_api_names[0]);

    if (api_key < 0 || (size_t)api_key >= n) return NULL;
    return kp_api_names[api_key];
}
