/*
 * fuzz_apiversions.c - ApiVersions requests (v0-3; v3 carries the client's
 * software name and version as compact strings plus tags).
 */
#include "proto/kp_apiversions.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_apiversions_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_API_VERSIONS, 0, 3, 3) == 0) {
        int rc = kp_apiversions_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_str(&r.in, req.client_software_name);
            fz_str(&r.in, req.client_software_version);
        }
    }
    fz_request_end(&r);
    return 0;
}
