/*
 * fuzz_describeconfigs.c - DescribeConfigs requests (v1-2); a null key list
 * means every key.
 */
#include "proto/kp_configs.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_describeconfigs_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_DESCRIBE_CONFIGS, 1, 2, 4) == 0) {
        int rc = kp_describeconfigs_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_array(req.resources, req.n_resources, sizeof(*req.resources));
            for (int32_t i = 0; i < req.n_resources; i++) {
                const kp_describeconfigs_resource_t *res = &req.resources[i];
                fz_str(&r.in, res->resource_name);
                fz_array(res->configuration_keys, res->n_configuration_keys, sizeof(kp_str_t));
                for (int32_t k = 0; k < res->n_configuration_keys; k++) fz_str(&r.in, res->configuration_keys[k]);
            }
        }
        kp_describeconfigs_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
