/*
 * fuzz_deleterecords.c - DeleteRecords requests (v0-1).
 */
#include "proto/kp_deleterecords.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_deleterecords_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_DELETE_RECORDS, 0, 1, 2) == 0) {
        int rc = kp_deleterecords_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            fz_array(req.topics, req.n_topics, sizeof(*req.topics));
            for (int32_t t = 0; t < req.n_topics; t++) {
                fz_str(&r.in, req.topics[t].name);
                fz_array(req.topics[t].partitions, req.topics[t].n_partitions, sizeof(*req.topics[t].partitions));
            }
        }
        kp_deleterecords_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
