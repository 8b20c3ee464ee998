/*
 * fuzz_electleaders.c - ElectLeaders (v0-2) both ways: the broker's
 * request decoder, and the response decoder kbroker-admin runs on what a
 * broker (or anything at its address) sends back.  The first input byte
 * picks: even, the rest is a request frame (header included); odd, the
 * rest is a response body of version (byte / 2) % 3.
 *
 * Besides memory safety and slices inside the input: a decoded response
 * of v0 or v1 encodes back to the bytes it was read from (v2 may carry
 * tagged fields, which the decoder skips).
 *
 * Seeds: the unit fixtures of tests/unit/test_electleaders.c with their
 * mode byte (corpus/fuzz_electleaders/spec-*).
 */
#include "proto/kp_electleaders.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void request(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_electleaders_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_ELECT_LEADERS, 0, 2, KP_ELECTLEADERS_FLEX_FROM) == 0) {
        int rc = kp_electleaders_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0 && req.n_topics >= 0) {
            fz_array(req.topics, req.n_topics, sizeof(*req.topics));
            for (int32_t t = 0; t < req.n_topics; t++) {
                fz_str(&r.in, req.topics[t].topic);
                fz_array(req.topics[t].partitions, req.topics[t].n_partitions, sizeof(int32_t));
            }
        }
        kp_electleaders_request_clear(&req);
    }
    fz_request_end(&r);
}

static void response(const uint8_t *data, size_t size, int16_t v) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return;
    memcpy(buf, data, size);
    fz_input_t in = {buf, size};
    kp_reader_t r;
    kp_electleaders_response_t resp;
    kp_reader_init(&r, buf, size);
    if (kp_electleaders_response_decode(&r, v, &resp) == 0) {
        fz_array(resp.topics, resp.n_topics, sizeof(*resp.topics));
        for (int32_t t = 0; t < resp.n_topics; t++) {
            fz_str(&in, resp.topics[t].topic);
            fz_array(resp.topics[t].partitions, resp.topics[t].n_partitions, sizeof(*resp.topics[t].partitions));
            for (int32_t p = 0; p < resp.topics[t].n_partitions; p++)
                fz_str(&in, resp.topics[t].partitions[p].error_message);
        }
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_electleaders_response_encode(&w, v, &resp) == 0);
        if (v < KP_ELECTLEADERS_FLEX_FROM) FZ_CHECK(w.len == size && memcmp(w.buf, buf, size) == 0);
        kp_writer_free(&w);
    }
    kp_electleaders_response_clear(&resp);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    if (data[0] % 2 == 0) request(data + 1, size - 1);
    else response(data + 1, size - 1, (int16_t)((data[0] / 2) % 3));
    return 0;
}
