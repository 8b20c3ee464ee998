/*
 * fuzz_syncgroup.c - SyncGroup requests (v0-3).
 */
#include "proto/kp_group.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_syncgroup_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_SYNC_GROUP, 0, KP_SYNCGROUP_VERSION_MAX,
                         KP_SYNCGROUP_FLEX_FROM) == 0) {
        int rc = kp_syncgroup_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_str(&r.in, req.group_id);
            fz_str(&r.in, req.member_id);
            fz_str(&r.in, req.group_instance_id);
            if (r.version < 3) FZ_CHECK(req.group_instance_id.len == KP_NULL_LEN);
            fz_array(req.assignments, req.n_assignments, sizeof(*req.assignments));
            for (int32_t i = 0; i < req.n_assignments; i++) {
                fz_str(&r.in, req.assignments[i].member_id);
                kp_bytes_t a = req.assignments[i].assignment;
                fz_slice(&r.in, a.ptr, a.len);
            }
        }
        kp_syncgroup_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
