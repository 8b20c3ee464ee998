/*
 * fuzz_checkpoint.c - the checkpoint file reader (recovery-point,
 * log-start-offset and replication-offset checkpoints share Kafka's text
 * form "0\n<n>\n<topic> <partition> <offset>\n...").  A file it accepts is
 * rewritten by the broker with kb_checkpoint_format, so that text must
 * read back as the same entries.
 */
#include "broker/log/kb_log_internal.h"
#include "common/kc_log.h"
#include "tests/fuzz/fuzz_file.h"

#define MAX_ENTRIES 4096

typedef struct {
    kb_ckpt_entry_t e[MAX_ENTRIES];
    char *names[MAX_ENTRIES];
    size_t n;
    bool overflow;
} entries_t;

static void collect(void *arg, const char *topic, int32_t partition, int64_t offset) {
    entries_t *es = arg;
    FZ_CHECK(topic != NULL && partition >= 0);
    if (es->n == MAX_ENTRIES) {
        es->overflow = true;
        return;
    }
    es->names[es->n] = strdup(topic);
    FZ_CHECK(es->names[es->n] != NULL);
    es->e[es->n] = (kb_ckpt_entry_t){es->names[es->n], partition, offset};
    es->n++;
}

static void entries_free(entries_t *es) {
    for (size_t i = 0; i < es->n; i++) free(es->names[i]);
    es->n = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    kc_log_init("fuzz", -1, (kc_log_level_t)(KC_LOG_ERROR + 1));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static entries_t first, again;
    char err[512] = "";
    int rc = kb_checkpoint_read(fz_file(data, size), collect, &first, err, sizeof(err));
    if (rc != 0) {
        FZ_CHECK(err[0] != '\0' && first.n == 0);
    } else if (!first.overflow) {
        size_t len;
        char *text = kb_checkpoint_format(first.e, first.n, &len);
        FZ_CHECK(text != NULL);
        FZ_CHECK(kb_checkpoint_read(fz_file((const uint8_t *)text, len), collect, &again, err, sizeof(err)) == 0);
        FZ_CHECK(again.n == first.n);
        for (size_t i = 0; i < first.n; i++)
            FZ_CHECK(!strcmp(first.e[i].topic, again.e[i].topic) && first.e[i].partition == again.e[i].partition &&
                     first.e[i].offset == again.e[i].offset);
        free(text);
    }
    entries_free(&first);
    entries_free(&again);
    first.overflow = again.overflow = false;
    return 0;
}
