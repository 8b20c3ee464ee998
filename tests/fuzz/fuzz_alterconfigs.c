/*
 * fuzz_alterconfigs.c - AlterConfigs requests (v0-1).
 */
#include "proto/kp_configs.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_alterconfigs_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_ALTER_CONFIGS, 0, 1, 2) == 0) {
        int rc = kp_alterconfigs_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_array(req.resources, req.n_resources, sizeof(*req.resources));
            for (int32_t i = 0; i < req.n_resources; i++) {
                const kp_alterconfigs_resource_t *res = &req.resources[i];
                fz_str(&r.in, res->resource_name);
                fz_array(res->configs, res->n_configs, sizeof(*res->configs));
                for (int32_t k = 0; k < res->n_configs; k++) {
                    fz_str(&r.in, res->configs[k].name);
                    fz_str(&r.in, res->configs[k].value);
                }
            }
        }
        kp_alterconfigs_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
