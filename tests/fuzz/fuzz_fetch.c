/*
 * fuzz_fetch.c - Fetch requests (v4-11, as the dispatcher accepts them).
 */
#include "proto/kp_fetch.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void walk(const fz_input_t *in, const kp_fetch_request_t *req) {
    fz_str(in, req->rack_id);
    FZ_CHECK(req->n_forgotten_topics_data >= 0);
    fz_array(req->topics, req->n_topics, sizeof(*req->topics));
    for (int32_t t = 0; t < req->n_topics; t++) {
        fz_str(in, req->topics[t].topic);
        fz_array(req->topics[t].partitions, req->topics[t].n_partitions, sizeof(*req->topics[t].partitions));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_fetch_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_FETCH, 4, 11, 12) == 0) {
        int rc = kp_fetch_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) walk(&r.in, &req);
        kp_fetch_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
