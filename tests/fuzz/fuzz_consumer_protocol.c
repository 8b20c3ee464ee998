/*
 * fuzz_consumer_protocol.c - the decoders that read what others wrote
 * rather than client requests: the embedded consumer protocol (a member's
 * subscription, an assignment) and the client-side response decoders of
 * OffsetFetch (v0-5), ListGroups (v0-2) and DescribeGroups (v0-4) that the
 * admin tool uses.  The first input byte picks the decoder (byte % 5) and
 * the response version (byte / 5, folded into the decoder's range); the
 * rest is the blob or response body.
 *
 * Besides memory safety and slices inside the input: a decoded response
 * encodes back (with the broker-side encoder) to exactly the bytes it was
 * read from, and a decoded assignment re-encodes to the bytes it read
 * followed by null user data.
 *
 * Seeds (spec-*): the 5.3 subscription example and a v0 one, librdkafka's
 * v0 assignment, a v3 one with user data and an empty one, and the
 * answers of the unit suites for every version, each behind its selector.
 */
#include "proto/kp_consumer_protocol.h"
#include "proto/kp_groupadmin.h"
#include "proto/kp_offsets.h"
#include "tests/fuzz/fuzz.h"

enum { SUBSCRIPTION, ASSIGNMENT, OFFSETFETCH, LISTGROUPS, DESCRIBEGROUPS, N_DECODERS };

/* The writer holds exactly the len bytes at p. */
static void same_bytes(const kp_writer_t *w, const uint8_t *p, size_t len) {
    FZ_CHECK(w->err == 0 && w->len == len && (len == 0 || memcmp(w->buf, p, len) == 0));
}

static void subscription(const fz_input_t *in) {
    kp_consumer_subscription_t sub;
    if (kp_consumer_subscription_decode((kp_bytes_t){(int32_t)in->n, in->p}, &sub) == 0) {
        FZ_CHECK(sub.version >= 0);
        fz_array(sub.topics, sub.n_topics, sizeof(*sub.topics));
        for (int32_t i = 0; i < sub.n_topics; i++) fz_str(in, sub.topics[i]);
    }
    kp_consumer_subscription_clear(&sub);
}

static void assignment(const fz_input_t *in) {
    kp_consumer_assignment_t a;
    if (kp_consumer_assignment_decode((kp_bytes_t){(int32_t)in->n, in->p}, &a) == 0) {
        fz_array(a.assigned_partitions, a.n_assigned_partitions, sizeof(*a.assigned_partitions));
        for (int32_t i = 0; i < a.n_assigned_partitions; i++) {
            fz_str(in, a.assigned_partitions[i].topic);
            fz_array(a.assigned_partitions[i].partitions, a.assigned_partitions[i].n_partitions, sizeof(int32_t));
        }
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_consumer_assignment_encode(&w, &a) == 0 && w.len >= 4);
        if (in->n > 0) FZ_CHECK(w.len - 4 <= in->n && memcmp(w.buf, in->p, w.len - 4) == 0);
        kp_writer_free(&w);
    }
    kp_consumer_assignment_clear(&a);
}

static void offsetfetch(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_offsetfetch_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    if (kp_offsetfetch_response_decode(&r, v, &resp) == 0) {
        fz_array(resp.topics, resp.n_topics, sizeof(*resp.topics));
        for (int32_t t = 0; t < resp.n_topics; t++) {
            fz_str(in, resp.topics[t].name);
            fz_array(resp.topics[t].partitions, resp.topics[t].n_partitions, sizeof(*resp.topics[t].partitions));
            for (int32_t p = 0; p < resp.topics[t].n_partitions; p++) fz_str(in, resp.topics[t].partitions[p].metadata);
        }
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_offsetfetch_response_encode(&w, v, &resp) == 0);
        same_bytes(&w, in->p, in->n);
        kp_writer_free(&w);
    }
    kp_offsetfetch_response_clear(&resp);
}

static void listgroups(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_listgroups_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    if (kp_listgroups_response_decode(&r, v, &resp) == 0) {
        fz_array(resp.groups, resp.n_groups, sizeof(*resp.groups));
        for (int32_t i = 0; i < resp.n_groups; i++) {
            fz_str(in, resp.groups[i].group_id);
            fz_str(in, resp.groups[i].protocol_type);
        }
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_listgroups_response_encode(&w, v, &resp) == 0);
        same_bytes(&w, in->p, in->n);
        kp_writer_free(&w);
    }
    kp_listgroups_response_clear(&resp);
}

static void walk_group(const fz_input_t *in, const kp_describegroups_response_group_t *g) {
    fz_str(in, g->group_id);
    fz_str(in, g->group_state);
    fz_str(in, g->protocol_type);
    fz_str(in, g->protocol_data);
    fz_array(g->members, g->n_members, sizeof(*g->members));
    for (int32_t i = 0; i < g->n_members; i++) {
        const kp_describegroups_response_member_t *m = &g->members[i];
        fz_str(in, m->member_id);
        fz_str(in, m->group_instance_id);
        fz_str(in, m->client_id);
        fz_str(in, m->client_host);
        fz_slice(in, m->member_metadata.ptr, m->member_metadata.len);
        fz_slice(in, m->member_assignment.ptr, m->member_assignment.len);
    }
}

static void describegroups(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_describegroups_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    if (kp_describegroups_response_decode(&r, v, &resp) == 0) {
        fz_array(resp.groups, resp.n_groups, sizeof(*resp.groups));
        for (int32_t i = 0; i < resp.n_groups; i++) walk_group(in, &resp.groups[i]);
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_describegroups_response_encode(&w, v, &resp) == 0);
        same_bytes(&w, in->p, in->n);
        kp_writer_free(&w);
    }
    kp_describegroups_response_clear(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = data[0] % N_DECODERS;
    int16_t v = (int16_t)(data[0] / N_DECODERS);
    /* A copy so ASan knows exactly where the blob ends. */
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    if (!copy) return 0;
    memcpy(copy, data + 1, size - 1);
    fz_input_t in = {copy, size - 1};
    if (which == SUBSCRIPTION)
        subscription(&in);
    else if (which == ASSIGNMENT)
        assignment(&in);
    else if (which == OFFSETFETCH)
        offsetfetch(&in, (int16_t)(v % (KP_OFFSETFETCH_VERSION_MAX + 1)));
    else if (which == LISTGROUPS)
        listgroups(&in, (int16_t)(v % (KP_LISTGROUPS_VERSION_MAX + 1)));
    else
        describegroups(&in, (int16_t)(v % (KP_DESCRIBEGROUPS_VERSION_MAX + 1)));
    free(copy);
    return 0;
}
