/*
 * fuzz_client_admin_responses.c - the client-side decoders behind
 * kafka-topics.sh and kafka-configs.sh --bootstrap-server
 * (kp_client_topics.c, kp_client_configs.c), run on whatever a broker, or
 * anything listening on its address, sends back: the CreateTopics (v0-4),
 * DeleteTopics (v0-4), CreatePartitions (v0-2), DescribeConfigs (v1-2),
 * AlterConfigs (v0-1) and ApiVersions (v0-3) response bodies.  The first
 * input byte picks the decoder (byte % 6) and the version (byte / 6,
 * folded into the decoder's range); the rest is the body.
 *
 * Besides memory safety: every slice lies inside the input, every count
 * matches its array, and a decoder that accepts has read every byte.
 *
 * Seeds (spec-*): one answer per decoder, written from Kafka's schemas
 * (the fixtures of tests/unit/test_client_admin_codecs.c), classic and
 * flexible.
 */
#include "proto/kp_client_configs.h"
#include "proto/kp_client_topics.h"
#include "tests/fuzz/fuzz.h"

enum { CREATETOPICS, DELETETOPICS, CREATEPARTITIONS, DESCRIBECONFIGS, ALTERCONFIGS, APIVERSIONS, N_DECODERS };

/* A decoder that accepted consumed the whole body. */
static void verdict(const kp_reader_t *r, int rc) {
    FZ_CHECK((rc == 0) == (r->err == KP_BUF_OK));
    if (rc == 0) FZ_CHECK(kp_reader_left(r) == 0);
}

static void createtopics(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_client_createtopics_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_createtopics_response_decode(&r, v, &resp);
    verdict(&r, rc);
    fz_array(resp.topics, resp.n_topics, sizeof(*resp.topics));
    for (int32_t i = 0; rc == 0 && i < resp.n_topics; i++) {
        fz_str(in, resp.topics[i].name);
        fz_str(in, resp.topics[i].error_message);
        FZ_CHECK(resp.topics[i].name.len >= 0);
    }
    kp_client_createtopics_response_clear(&resp);
}

static void deletetopics(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_client_deletetopics_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_deletetopics_response_decode(&r, v, &resp);
    verdict(&r, rc);
    fz_array(resp.responses, resp.n_responses, sizeof(*resp.responses));
    for (int32_t i = 0; rc == 0 && i < resp.n_responses; i++) fz_str(in, resp.responses[i].name);
    kp_client_deletetopics_response_clear(&resp);
}

static void createpartitions(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_client_createpartitions_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_createpartitions_response_decode(&r, v, &resp);
    verdict(&r, rc);
    fz_array(resp.results, resp.n_results, sizeof(*resp.results));
    for (int32_t i = 0; rc == 0 && i < resp.n_results; i++) {
        fz_str(in, resp.results[i].name);
        fz_str(in, resp.results[i].error_message);
    }
    kp_client_createpartitions_response_clear(&resp);
}

static void walk_config(const fz_input_t *in, const kp_client_config_entry_t *c) {
    fz_str(in, c->name);
    fz_str(in, c->value);
    fz_array(c->synonyms, c->n_synonyms, sizeof(*c->synonyms));
    for (int32_t s = 0; s < c->n_synonyms; s++) {
        fz_str(in, c->synonyms[s].name);
        fz_str(in, c->synonyms[s].value);
        FZ_CHECK(kp_config_source_name(c->synonyms[s].source) != NULL);
    }
}

static void describeconfigs(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_client_describeconfigs_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_describeconfigs_response_decode(&r, v, &resp);
    verdict(&r, rc);
    fz_array(resp.results, resp.n_results, sizeof(*resp.results));
    for (int32_t i = 0; rc == 0 && i < resp.n_results; i++) {
        const kp_client_describeconfigs_result_t *res = &resp.results[i];
        fz_str(in, res->error_message);
        fz_str(in, res->resource_name);
        fz_array(res->configs, res->n_configs, sizeof(*res->configs));
        for (int32_t c = 0; c < res->n_configs; c++) walk_config(in, &res->configs[c]);
    }
    kp_client_describeconfigs_response_clear(&resp);
}

static void alterconfigs(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_client_alterconfigs_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_alterconfigs_response_decode(&r, v, &resp);
    verdict(&r, rc);
    fz_array(resp.responses, resp.n_responses, sizeof(*resp.responses));
    for (int32_t i = 0; rc == 0 && i < resp.n_responses; i++) {
        fz_str(in, resp.responses[i].error_message);
        fz_str(in, resp.responses[i].resource_name);
    }
    kp_client_alterconfigs_response_clear(&resp);
}

static void apiversions(const fz_input_t *in, int16_t v) {
    kp_reader_t r;
    kp_client_apiversions_response_t resp;
    kp_reader_init(&r, in->p, in->n);
    int rc = kp_client_apiversions_response_decode(&r, v, &resp);
    verdict(&r, rc);
    fz_array(resp.api_keys, resp.n_api_keys, sizeof(*resp.api_keys));
    kp_client_apiversions_response_clear(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = data[0] % N_DECODERS;
    int v = data[0] / N_DECODERS;
    /* A copy so ASan knows exactly where the answer ends. */
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    if (!copy) return 0;
    memcpy(copy, data + 1, size - 1);
    fz_input_t in = {copy, size - 1};
    switch (which) {
    case CREATETOPICS: createtopics(&in, (int16_t)(v % (KP_CLIENT_CREATETOPICS_VERSION_MAX + 1))); break;
    case DELETETOPICS: deletetopics(&in, (int16_t)(v % (KP_DELETETOPICS_VERSION_MAX + 1))); break;
    case CREATEPARTITIONS: createpartitions(&in, (int16_t)(v % (KP_CREATEPARTITIONS_VERSION_MAX + 1))); break;
    case DESCRIBECONFIGS:
        describeconfigs(&in, (int16_t)(KP_CLIENT_DESCRIBECONFIGS_VERSION_MIN +
                                       v % (KP_CLIENT_DESCRIBECONFIGS_VERSION_MAX -
                                            KP_CLIENT_DESCRIBECONFIGS_VERSION_MIN + 1)));
        break;
    case ALTERCONFIGS: alterconfigs(&in, (int16_t)(v % (KP_ALTERCONFIGS_VERSION_MAX + 1))); break;
    default: apiversions(&in, (int16_t)(v % (KP_APIVERSIONS_VERSION_MAX + 1))); break;
    }
    free(copy);
    return 0;
}
