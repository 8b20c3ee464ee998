/*
 * fuzz_heartbeat.c - Heartbeat requests (v0-3).
 */
#include "proto/kp_group.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_heartbeat_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_HEARTBEAT, 0, KP_HEARTBEAT_VERSION_MAX,
                         KP_HEARTBEAT_FLEX_FROM) == 0) {
        int rc = kp_heartbeat_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_str(&r.in, req.group_id);
            fz_str(&r.in, req.member_id);
            fz_str(&r.in, req.group_instance_id);
            if (r.version < 3) FZ_CHECK(req.group_instance_id.len == KP_NULL_LEN);
        }
    }
    fz_request_end(&r);
    return 0;
}
