/*
 * fuzz_offsetcommit.c - OffsetCommit requests (v0-7): group fields that
 * come and go by version, topics and their partitions.  Seeds: the unit
 * fixtures, and spec-offsetcommit-v<N> (one request per version, written
 * from group-protocol.md 2.6: every field set, a null metadata).
 */
#include "proto/kp_offsets.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void walk(const fz_input_t *in, const kp_offsetcommit_request_t *req) {
    fz_str(in, req->group_id);
    fz_str(in, req->member_id);
    fz_str(in, req->group_instance_id);
    fz_array(req->topics, req->n_topics, sizeof(*req->topics));
    for (int32_t t = 0; t < req->n_topics; t++) {
        const kp_offsetcommit_request_topic_t *topic = &req->topics[t];
        fz_str(in, topic->name);
        fz_array(topic->partitions, topic->n_partitions, sizeof(*topic->partitions));
        for (int32_t p = 0; p < topic->n_partitions; p++) fz_str(in, topic->partitions[p].committed_metadata);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_offsetcommit_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_OFFSET_COMMIT, 0, KP_OFFSETCOMMIT_VERSION_MAX,
                         KP_OFFSETCOMMIT_FLEX_FROM) == 0) {
        int rc = kp_offsetcommit_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) walk(&r.in, &req);
        kp_offsetcommit_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
