/*
 * kb_config_writer.c - topic config writes for AlterConfigs
 * (kb_config_writer.h) over libkcoord's kc_config_write.
 */
#include <stdlib.h>

#include "broker/admin/kb_config_writer.h"
#include "coord/kc_configs.h"

struct kb_config_writer {
    kc_session_t *zk;
};

typedef struct {
    kb_config_written_fn done;
    void *arg;
} cw_write_t;

kb_config_writer_t *kb_config_writer_new(kc_session_t *zk) {
    kb_config_writer_t *cw = calloc(1, sizeof(*cw));
    if (cw) cw->zk = zk;
    return cw;
}

void kb_config_writer_free(kb_config_writer_t *cw) { free(cw); }

bool kb_config_writer_topic_set_valid(const kc_config_entry_t *entries, int n, char *why, size_t whylen) {
    return kc_topic_config_check_set(entries, n, why, whylen);
}

static void on_written(int rc, void *arg) {
    cw_write_t wr = *(cw_write_t *)arg;
    free(arg);
    wr.done(rc == KC_OK ? NULL : kc_strerror(rc), wr.arg);
}

void kb_config_writer_topic(kb_config_writer_t *cw, const char *topic, const kc_config_entry_t *entries, int n,
                            kb_config_written_fn done, void *arg) {
    cw_write_t *wr = malloc(sizeof(*wr));
    if (!wr) {
        done("out of memory", arg);
        return;
    }
    *wr = (cw_write_t){done, arg};
    kc_config_write(cw->zk, "topics", topic, entries, n, on_written, wr);
}
