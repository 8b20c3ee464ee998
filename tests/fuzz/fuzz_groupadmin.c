/*
 * fuzz_groupadmin.c - ListGroups (v0-2), DescribeGroups (v0-4) and
 * DeleteGroups (v0-1) requests.  Unlike the one-API targets, the API key
 * in the input's header picks the decoder (15, 16 or 42; any other key
 * picks one by key % 3), so the seeds of all three share one corpus: the
 * unit fixtures and one spec-<api>-v<N> request per API and version.
 *
 * Besides the promises of fuzz.h: a decoded DescribeGroups request encodes
 * back to the body it was read from, except that its v3+ flag may have been
 * any non-zero byte (read as true, written as 1).
 */
#include "proto/kp_groupadmin.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

static int16_t pick_api(const uint8_t *data, size_t size) {
    static const int16_t keys[] = {KP_API_DESCRIBE_GROUPS, KP_API_LIST_GROUPS, KP_API_DELETE_GROUPS};
    int16_t key = size >= 2 ? (int16_t)(data[0] << 8 | data[1]) : 0;

    if (key == KP_API_DESCRIBE_GROUPS || key == KP_API_LIST_GROUPS || key == KP_API_DELETE_GROUPS) return key;
    return keys[(uint16_t)key % 3];
}

static void check_describe_reencodes(const kp_describegroups_request_t *req, int16_t version, const uint8_t *body,
                                     size_t len) {
    size_t flag = version >= 3 ? 1 : 0;
    kp_writer_t w;
    kp_writer_init(&w);
    FZ_CHECK(kp_describegroups_request_encode(&w, version, req) == 0);
    FZ_CHECK(w.len == len && memcmp(w.buf, body, len - flag) == 0);
    if (flag) FZ_CHECK(w.buf[len - 1] == (body[len - 1] != 0));
    kp_writer_free(&w);
}

static void describe(fz_request_t *r) {
    kp_describegroups_request_t req = {0};
    const uint8_t *body = r->body.p;
    size_t len = kp_reader_left(&r->body);
    int rc = kp_describegroups_request_decode(&r->body, r->version, &req);
    fz_request_verdict(r, rc);
    if (rc == 0) {
        fz_array(req.groups, req.n_groups, sizeof(*req.groups));
        for (int32_t i = 0; i < req.n_groups; i++) fz_str(&r->in, req.groups[i]);
        check_describe_reencodes(&req, r->version, body, len);
    }
    kp_describegroups_request_clear(&req);
}

static void delete(fz_request_t *r) {
    kp_deletegroups_request_t req = {0};
    int rc = kp_deletegroups_request_decode(&r->body, r->version, &req);
    fz_request_verdict(r, rc);
    if (rc == 0) {
        fz_array(req.groups_names, req.n_groups_names, sizeof(*req.groups_names));
        for (int32_t i = 0; i < req.n_groups_names; i++) fz_str(&r->in, req.groups_names[i]);
    }
    kp_deletegroups_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_request_t r;
    int16_t key = pick_api(data, size);
    int rc;

    if (key == KP_API_DESCRIBE_GROUPS)
        rc = fz_request_begin(&r, data, size, key, 0, KP_DESCRIBEGROUPS_VERSION_MAX, KP_DESCRIBEGROUPS_FLEX_FROM);
    else if (key == KP_API_LIST_GROUPS)
        rc = fz_request_begin(&r, data, size, key, 0, KP_LISTGROUPS_VERSION_MAX, KP_LISTGROUPS_FLEX_FROM);
    else
        rc = fz_request_begin(&r, data, size, key, 0, KP_DELETEGROUPS_VERSION_MAX, KP_DELETEGROUPS_FLEX_FROM);
    if (rc == 0) {
        if (key == KP_API_DESCRIBE_GROUPS)
            describe(&r);
        else if (key == KP_API_LIST_GROUPS)
            fz_request_verdict(&r, kp_listgroups_request_decode(&r.body, r.version));
        else
            delete(&r);
    }
    fz_request_end(&r);
    return 0;
}
