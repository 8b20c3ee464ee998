/*
 * fuzz_joingroup.c - JoinGroup requests (v0-5).
 */
#include "proto/kp_group.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_joingroup_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_JOIN_GROUP, 0, KP_JOINGROUP_VERSION_MAX,
                         KP_JOINGROUP_FLEX_FROM) == 0) {
        int rc = kp_joingroup_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_str(&r.in, req.group_id);
            fz_str(&r.in, req.member_id);
            fz_str(&r.in, req.group_instance_id);
            fz_str(&r.in, req.protocol_type);
            if (r.version < 1) FZ_CHECK(req.rebalance_timeout_ms == req.session_timeout_ms);
            if (r.version < 5) FZ_CHECK(req.group_instance_id.len == KP_NULL_LEN);
            fz_array(req.protocols, req.n_protocols, sizeof(*req.protocols));
            for (int32_t i = 0; i < req.n_protocols; i++) {
                fz_str(&r.in, req.protocols[i].name);
                fz_slice(&r.in, req.protocols[i].metadata.ptr, req.protocols[i].metadata.len);
            }
        }
        kp_joingroup_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
