/*
 * fuzz_offsetfetch.c - OffsetFetch requests (v0-5), with their null (all
 * partitions) and empty topic arrays.  Seeds: the unit fixtures, and
 * spec-offsetfetch-v<N> / spec-offsetfetch-all-v<N> (one request per version,
 * the second with null topics).
 *
 * Besides the promises of fuzz.h: a decoded request encodes back (with the
 * client-side encoder) to exactly the body it was read from, so the two
 * sides of the codec agree on every version.
 */
#include "proto/kp_offsets.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static void walk(const fz_input_t *in, const kp_offsetfetch_request_t *req) {
    fz_str(in, req->group_id);
    FZ_CHECK(!req->topics_null || (req->n_topics == 0 && req->topics == NULL));
    fz_array(req->topics, req->n_topics, sizeof(*req->topics));
    for (int32_t t = 0; t < req->n_topics; t++) {
        fz_str(in, req->topics[t].name);
        fz_array(req->topics[t].partition_indexes, req->topics[t].n_partition_indexes, sizeof(int32_t));
    }
}

static void check_reencodes(const kp_offsetfetch_request_t *req, int16_t version, const uint8_t *body, size_t len) {
    kp_writer_t w;
    kp_writer_init(&w);
    FZ_CHECK(kp_offsetfetch_request_encode(&w, version, req) == 0);
    FZ_CHECK(w.len == len && (len == 0 || memcmp(w.buf, body, len) == 0));
    kp_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    kp_offsetfetch_request_t req = {0};
    if (fz_request_begin(&r, data, size, KP_API_OFFSET_FETCH, 0, KP_OFFSETFETCH_VERSION_MAX,
                         KP_OFFSETFETCH_FLEX_FROM) == 0) {
        const uint8_t *body = r.body.p;
        size_t len = kp_reader_left(&r.body);
        int rc = kp_offsetfetch_request_decode(&r.body, r.version, &req);
        fz_request_verdict(&r, rc);
        if (rc == 0) {
            walk(&r.in, &req);
            check_reencodes(&req, r.version, body, len);
        }
        kp_offsetfetch_request_clear(&req);
    }
    fz_request_end(&r);
    return 0;
}
