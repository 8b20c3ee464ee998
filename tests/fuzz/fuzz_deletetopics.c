/*
 * fuzz_deletetopics.c - DeleteTopics requests (v0-4; flexible from 4).
 */
#include "proto/kp_deletetopics.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_deletetopics_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_DELETE_TOPICS, 0, KP_DELETETOPICS_VERSION_MAX,
                         KP_DELETETOPICS_FLEX_FROM) == 0) {
        int rc = kp_deletetopics_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_array(req.topic_names, req.n_topic_names, sizeof(*req.topic_names));
            for (int32_t i = 0; i < req.n_topic_names; i++) fz_str(&r.in, req.topic_names[i]);
        }
        kp_deletetopics_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
