/*
 * fuzz_metadata.c - Metadata requests (v0-6); a null topic list (v1+) means
 * every topic and must come with no array.
 */
#include "proto/kp_metadata.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_metadata_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_METADATA, 0, 6, 9) == 0) {
        int rc = kp_metadata_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            FZ_CHECK(req.n_topics >= 0 || (r.version >= 1 && req.n_topics == -1));
            fz_array(req.topics, req.n_topics, sizeof(*req.topics));
            for (int32_t t = 0; t < req.n_topics; t++) fz_str(&r.in, req.topics[t].name);
        }
        kp_metadata_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
