/*
 * fuzz_findcoordinator.c - FindCoordinator requests (v0-2).
 */
#include "proto/kp_findcoordinator.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_findcoordinator_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_FIND_COORDINATOR, 0, 2, 3) == 0) {
        int rc = kp_findcoordinator_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) fz_str(&r.in, req.key);
    }
    fz_request_end(&r);
    return 0;
}
