/*
 * fuzz_reassign.c - AlterPartitionReassignments (key 45) and
 * ListPartitionReassignments (key 46) requests, v0 (flexible), the one
 * decoder the frame's api key names (46 the List, any other the Alter).
 */
#include "proto/kp_reassign.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void alter(fz_request_t *r) {
    kp_alterreassign_request_t req = {0};
    int rc = kp_alterreassign_request_decode(&r->body, r->version, &req);
    fz_request_verdict(r, rc);
    if (rc == 0) {
        fz_array(req.topics, req.n_topics, sizeof(*req.topics));
        for (int32_t t = 0; t < req.n_topics; t++) {
            fz_str(&r->in, req.topics[t].name);
            fz_array(req.topics[t].partitions, req.topics[t].n_partitions, sizeof(*req.topics[t].partitions));
            for (int32_t p = 0; p < req.topics[t].n_partitions; p++) {
                const kp_alterreassign_request_partition_t *part = &req.topics[t].partitions[p];
                FZ_CHECK(part->n_replicas >= -1 && (part->n_replicas > 0) == (part->replicas != NULL));
                fz_array(part->replicas, part->n_replicas, sizeof(*part->replicas));
            }
        }
    }
    kp_alterreassign_request_clear(&req);
}

static void list(fz_request_t *r) {
    kp_listreassign_request_t req = {0};
    int rc = kp_listreassign_request_decode(&r->body, r->version, &req);
    fz_request_verdict(r, rc);
    if (rc == 0) {
        FZ_CHECK(req.n_topics >= -1 && (req.n_topics > 0) == (req.topics != NULL));
        fz_array(req.topics, req.n_topics, sizeof(*req.topics));
        for (int32_t t = 0; t < req.n_topics; t++) {
            fz_str(&r->in, req.topics[t].name);
            fz_array(req.topics[t].partition_indexes, req.topics[t].n_partition_indexes,
                     sizeof(*req.topics[t].partition_indexes));
        }
    }
    kp_listreassign_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    if (fz_request_begin(&r, data, size, KP_API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, 0) == 0) {
        if (r.header.request_api_key == KP_API_LIST_PARTITION_REASSIGNMENTS) list(&r);
        else alter(&r);
    }
    fz_request_end(&r);
    return 0;
}
