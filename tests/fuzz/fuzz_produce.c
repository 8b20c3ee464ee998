/*
 * fuzz_produce.c - Produce requests (v0-7), decoded as the dispatcher and
 * the handler do: the body, then every partition's records blob through the
 * produce-time batch validation (wire-protocol.md 5.10).
 */
#include "proto/kp_batch.h"
#include "proto/kp_produce.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void walk(const fz_input_t *in, const kp_produce_request_t *req, int16_t version) {
    fz_str(in, req->transactional_id);
    fz_array(req->topic_data, req->n_topic_data, sizeof(*req->topic_data));
    for (int32_t t = 0; t < req->n_topic_data; t++) {
        const kp_produce_request_topic_t *topic = &req->topic_data[t];
        fz_str(in, topic->name);
        fz_array(topic->partition_data, topic->n_partition_data, sizeof(*topic->partition_data));
        for (int32_t p = 0; p < topic->n_partition_data; p++) {
            const kp_produce_request_partition_t *part = &topic->partition_data[p];
            fz_slice(in, part->records, part->records_len);
            if (part->records_len < 0) continue;
            kp_batch_header_t h;
            int16_t err = kp_batch_validate_produce(part->records, (size_t)part->records_len, version,
                                                    1000012, &h);
            if (err == KP_ERR_NONE) FZ_CHECK(kp_batch_size(&h) == (size_t)part->records_len);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_produce_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_PRODUCE, 0, 7, 9) == 0) {
        int rc = kp_produce_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) walk(&r.in, &req, r.version);
        kp_produce_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
