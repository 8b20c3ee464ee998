/*
 * fuzz_client_reassign_responses.c - the client-side decoders of
 * AlterPartitionReassignments and ListPartitionReassignments v0
 * (kp_client_reassign.c), behind kafka-reassign-partitions.sh --cancel
 * and kafka-topics.sh --describe --bootstrap-server, run on whatever a
 * broker, or anything listening on its address, sends back.  The first
 * input byte picks the decoder (even: Alter, odd: List); the rest is the
 * body.
 *
 * Besides memory safety: every slice lies inside the input, every count
 * matches its array, and a decoder that accepts has read every byte.
 *
 * Seeds (spec-*): the answers of tests/unit/test_client_reassign_codec.c,
 * written from Kafka's schemas.
 */
#include "proto/kp_client_reassign.h"
#include "tests/fuzz/fuzz.h"

static void verdict(const kp_reader_t *r, int rc) {
    FZ_CHECK((rc == 0) == (r->err == KP_BUF_OK));
    if (rc == 0) FZ_CHECK(kp_reader_left(r) == 0);
}

static void alter(const fz_input_t *in) {
    kp_reader_t r;
    kp_client_alterreassign_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_alterreassign_response_decode(&r, 0, &resp);
    verdict(&r, rc);
    fz_str(in, resp.error_message);
    fz_array(resp.responses, resp.n_responses, sizeof(*resp.responses));
    for (int32_t i = 0; i < resp.n_responses; i++) {
        const kp_client_alterreassign_topic_t *t = &resp.responses[i];
        fz_str(in, t->name);
        fz_array(t->partitions, t->n_partitions, sizeof(*t->partitions));
        for (int32_t p = 0; p < t->n_partitions; p++) fz_str(in, t->partitions[p].error_message);
    }
    kp_client_alterreassign_response_clear(&resp);
}

static void list(const fz_input_t *in) {
    kp_reader_t r;
    kp_client_listreassign_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_listreassign_response_decode(&r, 0, &resp);
    verdict(&r, rc);
    fz_str(in, resp.error_message);
    fz_array(resp.topics, resp.n_topics, sizeof(*resp.topics));
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const kp_client_listreassign_topic_t *t = &resp.topics[i];
        fz_str(in, t->name);
        fz_array(t->partitions, t->n_partitions, sizeof(*t->partitions));
        for (int32_t p = 0; p < t->n_partitions; p++) {
            fz_array(t->partitions[p].replicas, t->partitions[p].n_replicas, sizeof(int32_t));
            fz_array(t->partitions[p].adding, t->partitions[p].n_adding, sizeof(int32_t));
            fz_array(t->partitions[p].removing, t->partitions[p].n_removing, sizeof(int32_t));
        }
    }
    kp_client_listreassign_response_clear(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    /* A copy so ASan knows exactly where the answer ends. */
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    if (!copy) return 0;
    memcpy(copy, data + 1, size - 1);
    fz_input_t in = {copy, size - 1};
    if (data[0] % 2 == 0) alter(&in);
    else list(&in);
    free(copy);
    return 0;
}
