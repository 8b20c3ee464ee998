/*
 * fuzz_client_responses.c - the client-side decoders the admin tool's Kafka
 * client (client/) runs on whatever a broker, or anything listening on its
 * address, sends back: the response header (v0, v1 with tags), and the
 * FindCoordinator (v0-2), Metadata (v0-6) and ListOffsets (v0-3) response
 * bodies.  The first input byte picks the decoder (byte % 4) and the
 * version (byte / 4, folded into the decoder's range); the rest is the
 * header or body.
 *
 * Besides memory safety and slices inside the input: a decoded body encodes
 * back (with the broker-side encoder) to the bytes it was read from, except
 * that a boolean (Metadata's is_internal) may have been any non-zero byte,
 * read as true and written as 1; a decoded header gives back its
 * correlation id.
 *
 * Seeds (spec-*): one answer per decoder and version, written from the spec
 * tables, including error answers (COORDINATOR_NOT_AVAILABLE, a topic
 * without a leader, NOT_LEADER_OR_FOLLOWER) and a v1 header with a tag.
 */
#include "proto/kp_findcoordinator.h"
#include "proto/kp_listoffsets.h"
#include "proto/kp_metadata.h"
#include "tests/fuzz/fuzz.h"

enum { HEADER, FINDCOORDINATOR, METADATA, LISTOFFSETS, N_DECODERS };

/* The writer holds the input's bytes; with booleans, a byte > 1 of the
 * input may have been written as 1 (a boolean read back). */
static void same_bytes(const kp_writer_t *w, const fz_input_t *in, bool booleans) {
    FZ_CHECK(w->err == 0 && w->len == in->n);
    for (size_t i = 0; i < in->n; i++)
        FZ_CHECK(w->buf[i] == in->p[i] || (booleans && in->p[i] > 1 && w->buf[i] == 1));
}

static void header(const fz_input_t *in, int hv) {
    kp_reader_t r;
    int32_t corr;
    kp_reader_init(&r, in->p, in->n);
    if (kp_response_header_decode(&r, hv, &corr) == 0) {
        FZ_CHECK(in->n >= (size_t)(hv == 0 ? 4 : 5));
        FZ_CHECK(corr == (int32_t)kp_get_be(in->p, 4));
    } else {
        FZ_CHECK(r.err != 0);
    }
}

static void findcoordinator(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_findcoordinator_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    if (kp_findcoordinator_response_decode(&r, v, &resp) == 0) {
        fz_str(in, resp.error_message);
        fz_str(in, resp.host);
        FZ_CHECK(resp.host.len >= 0);
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_findcoordinator_response_encode(&w, v, &resp) == 0);
        same_bytes(&w, in, false);
        kp_writer_free(&w);
    }
}

static void walk_partition(const kp_metadata_response_partition_t *p) {
    fz_array(p->replica_nodes, p->n_replica_nodes, sizeof(int32_t));
    fz_array(p->isr_nodes, p->n_isr_nodes, sizeof(int32_t));
    fz_array(p->offline_replicas, p->n_offline_replicas, sizeof(int32_t));
}

static void walk_metadata(const fz_input_t *in, const kp_metadata_response_t *resp) {
    fz_array(resp->brokers, resp->n_brokers, sizeof(*resp->brokers));
    for (int32_t i = 0; i < resp->n_brokers; i++) {
        fz_str(in, resp->brokers[i].host);
        fz_str(in, resp->brokers[i].rack);
    }
    fz_str(in, resp->cluster_id);
    fz_array(resp->topics, resp->n_topics, sizeof(*resp->topics));
    for (int32_t t = 0; t < resp->n_topics; t++) {
        fz_str(in, resp->topics[t].name);
        fz_array(resp->topics[t].partitions, resp->topics[t].n_partitions, sizeof(*resp->topics[t].partitions));
        for (int32_t p = 0; p < resp->topics[t].n_partitions; p++) walk_partition(&resp->topics[t].partitions[p]);
    }
}

static void metadata(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_metadata_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    if (kp_metadata_response_decode(&r, v, &resp) == 0) {
        walk_metadata(in, &resp);
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_metadata_response_encode(&w, v, &resp) == 0);
        same_bytes(&w, in, true);
        kp_writer_free(&w);
    }
    kp_metadata_response_clear(&resp);
}

static void listoffsets(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_listoffsets_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    if (kp_listoffsets_response_decode(&r, v, &resp) == 0) {
        fz_array(resp.topics, resp.n_topics, sizeof(*resp.topics));
        for (int32_t t = 0; t < resp.n_topics; t++) {
            const kp_listoffsets_response_topic_t *topic = &resp.topics[t];
            fz_str(in, topic->name);
            fz_array(topic->partitions, topic->n_partitions, sizeof(*topic->partitions));
            for (int32_t p = 0; p < topic->n_partitions; p++) {
                const kp_listoffsets_response_partition_t *part = &topic->partitions[p];
                fz_array(part->old_style_offsets, part->n_old_style_offsets, sizeof(int64_t));
                FZ_CHECK(v == 0 || part->n_old_style_offsets == 0);
            }
        }
        kp_writer_t w;
        kp_writer_init(&w);
        FZ_CHECK(kp_listoffsets_response_encode(&w, v, &resp) == 0);
        same_bytes(&w, in, false);
        kp_writer_free(&w);
    }
    kp_listoffsets_response_clear(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = data[0] % N_DECODERS;
    int16_t v = (int16_t)(data[0] / N_DECODERS);
    /* A copy so ASan knows exactly where the answer ends. */
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    if (!copy) return 0;
    memcpy(copy, data + 1, size - 1);
    fz_input_t in = {copy, size - 1};
    if (which == HEADER)
        header(&in, v % 2);
    else if (which == FINDCOORDINATOR)
        findcoordinator(&in, (int16_t)(v % (KP_FINDCOORDINATOR_VERSION_MAX + 1)));
    else if (which == METADATA)
        metadata(&in, (int16_t)(v % (KP_METADATA_VERSION_MAX + 1)));
    else
        listoffsets(&in, (int16_t)(v % (KP_LISTOFFSETS_VERSION_MAX + 1)));
    free(copy);
    return 0;
}
