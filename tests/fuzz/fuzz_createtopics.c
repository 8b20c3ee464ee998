/*
 * fuzz_createtopics.c - CreateTopics requests (v0-4): topics, manual
 * assignments and config entries.
 */
#include "proto/kp_createtopics.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void walk(const fz_input_t *in, const kp_createtopics_request_t *req) {
    fz_array(req->topics, req->n_topics, sizeof(*req->topics));
    for (int32_t t = 0; t < req->n_topics; t++) {
        const kp_createtopics_topic_t *topic = &req->topics[t];
        fz_str(in, topic->name);
        fz_array(topic->assignments, topic->n_assignments, sizeof(*topic->assignments));
        for (int32_t a = 0; a < topic->n_assignments; a++)
            fz_array(topic->assignments[a].broker_ids, topic->assignments[a].n_broker_ids, sizeof(int32_t));
        fz_array(topic->configs, topic->n_configs, sizeof(*topic->configs));
        for (int32_t c = 0; c < topic->n_configs; c++) {
            fz_str(in, topic->configs[c].name);
            fz_str(in, topic->configs[c].value);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_createtopics_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_CREATE_TOPICS, 0, 4, 5) == 0) {
        int rc = kp_createtopics_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) walk(&r.in, &req);
        kp_createtopics_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
