/*
 * fuzz_initproducerid.c - InitProducerId requests (v0-4, flexible from v2:
 * librdkafka's idempotent producer sends v2-4).
 */
#include "proto/kp_initproducerid.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_initproducerid_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_INIT_PRODUCER_ID, 0, 4, 2) == 0) {
        int rc = kp_initproducerid_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) fz_str(&r.in, req.transactional_id);
    }
    fz_request_end(&r);
    return 0;
}
