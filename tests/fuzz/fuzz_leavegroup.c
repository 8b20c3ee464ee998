/*
 * fuzz_leavegroup.c - LeaveGroup requests (v0-3): the v0-2 single member
 * must come out as a batch of exactly one without an instance id.
 */
#include "proto/kp_group.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_leavegroup_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_LEAVE_GROUP, 0, KP_LEAVEGROUP_VERSION_MAX,
                         KP_LEAVEGROUP_FLEX_FROM) == 0) {
        int rc = kp_leavegroup_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_str(&r.in, req.group_id);
            FZ_CHECK(req.single_member == (r.version < 3));
            if (req.single_member)
                FZ_CHECK(req.n_members == 1 && req.members[0].group_instance_id.len == KP_NULL_LEN);
            fz_array(req.members, req.n_members, sizeof(*req.members));
            for (int32_t i = 0; i < req.n_members; i++) {
                fz_str(&r.in, req.members[i].member_id);
                fz_str(&r.in, req.members[i].group_instance_id);
            }
        }
        kp_leavegroup_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
