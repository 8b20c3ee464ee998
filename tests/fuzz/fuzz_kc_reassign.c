/*
 * fuzz_kc_reassign.c - the decoder of /admin/reassign_partitions and of
 * reassignment plan files (coord/kc_reassign.h), which reads what any
 * process with write access to ZooKeeper, or any file an operator is
 * handed, says.  A decoded request must be what the controller relies on
 * (partitions >= 0, non-empty replica lists of distinct ids >= 0, no
 * partition twice) and survive a round trip through the encoder, since the
 * controller writes back the entries it keeps.
 */
#include "common/kc_log.h"
#include "coord/kc_reassign.h"
#include "tests/fuzz/fuzz.h"

static void check_entry(const kc_reassign_entry_t *e) {
    FZ_CHECK(e->topic != NULL && e->partition >= 0 && e->n_replicas > 0);
    fz_array(e->replicas, e->n_replicas, sizeof(*e->replicas));
    for (int i = 0; i < e->n_replicas; i++) {
        FZ_CHECK(e->replicas[i] >= 0);
        FZ_CHECK(!kc_int32_contains(e->replicas, i, e->replicas[i]));
    }
}

static bool same_entry(const kc_reassign_entry_t *a, const kc_reassign_entry_t *b) {
    return !strcmp(a->topic, b->topic) && a->partition == b->partition && a->n_replicas == b->n_replicas &&
           !memcmp(a->replicas, b->replicas, (size_t)a->n_replicas * sizeof(*a->replicas));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    kc_log_init("fuzz", -1, (kc_log_level_t)(KC_LOG_ERROR + 1));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kc_reassign_entry_t *e = NULL, *again = NULL;
    int n = 0, n_again = 0;
    char why[256];
    /* An exact-size copy, so a read past the znode's bytes is caught. */
    char *d = malloc(size ? size : 1);
    if (!d) return 0;
    memcpy(d, data, size);
    if (kc_reassign_decode(d, size, &e, &n, why, sizeof(why)) == 0) {
        fz_array(e, n, sizeof(*e));
        for (int i = 0; i < n; i++) check_entry(&e[i]);
        char *json = kc_reassign_encode(e, n);
        FZ_CHECK(json != NULL);
        FZ_CHECK(kc_reassign_decode(json, strlen(json), &again, &n_again, why, sizeof(why)) == 0 && n_again == n);
        for (int i = 0; i < n; i++) FZ_CHECK(same_entry(&e[i], &again[i]));
        free(json);
    } else {
        FZ_CHECK(e == NULL && n == 0 && memchr(why, '\0', sizeof(why)) != NULL);
    }
    kc_reassign_entries_free(e, n);
    kc_reassign_entries_free(again, n_again);
    free(d);
    return 0;
}
