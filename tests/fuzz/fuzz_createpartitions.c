/*
 * fuzz_createpartitions.c - CreatePartitions requests (v0-2): topics, their
 * null, empty or explicit assignments of new partitions.
 */
#include "proto/kp_createpartitions.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void walk(const fz_input_t *in, const kp_createpartitions_request_t *req) {
    fz_array(req->topics, req->n_topics, sizeof(*req->topics));
    for (int32_t t = 0; t < req->n_topics; t++) {
        const kp_createpartitions_topic_t *topic = &req->topics[t];
        fz_str(in, topic->name);
        fz_array(topic->assignments, topic->n_assignments, sizeof(*topic->assignments));
        for (int32_t a = 0; a < topic->n_assignments; a++)
            fz_array(topic->assignments[a].broker_ids, topic->assignments[a].n_broker_ids, sizeof(int32_t));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_createpartitions_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_CREATE_PARTITIONS, 0, KP_CREATEPARTITIONS_VERSION_MAX,
                         KP_CREATEPARTITIONS_FLEX_FROM) == 0) {
        int rc = kp_createpartitions_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) walk(&r.in, &req);
        kp_createpartitions_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
