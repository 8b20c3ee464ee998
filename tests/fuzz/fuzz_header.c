/*
 * fuzz_header.c - request headers of every key and version, as the
 * dispatcher reads them before it knows whether it handles the API: the
 * ids, then the rest in whichever header version (0, 1 or 2) the key and
 * version imply.  Header v2 keeps a classic int16 client_id and adds tags.
 */
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    memset(&r, 0, sizeof(r));
    if (size < 1) return 0;
    /* The first byte picks the API's first flexible version (0-15, or
     * never), so flexible headers of every key are reached. */
    int16_t flex_from = data[0] < 0xf0 ? (int16_t)(data[0] & 0x0f) : KP_FLEX_NEVER;
    r.buf = malloc(size - 1 ? size - 1 : 1);
    if (!r.buf) return 0;
    memcpy(r.buf, data + 1, size - 1);
    r.in = (fz_input_t){r.buf, size - 1};
    kp_reader_init(&r.body, r.buf, size - 1);
    if (kp_request_header_decode_ids(&r.body, &r.header) == 0) {
        int hv = kp_request_header_version(r.header.request_api_key, r.header.request_api_version, flex_from);
        FZ_CHECK(hv >= 0 && hv <= 2);
        size_t before = kp_reader_left(&r.body);
        if (kp_request_header_decode_rest(&r.body, hv, &r.header) == 0) {
            fz_str(&r.in, r.header.client_id);
            FZ_CHECK(hv == 0 ? kp_reader_left(&r.body) == before : kp_reader_left(&r.body) <= before - 2);
        }
        (void)kp_api_key_name(r.header.request_api_key);
    } else {
        FZ_CHECK(size - 1 < 8);
    }
    fz_request_end(&r);
    return 0;
}
