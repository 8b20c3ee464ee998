/*
 * fuzz_config.c - the server.properties parser (Java properties syntax:
 * comments, continuations, escapes, '=' ':' or blanks as separators) and
 * the key validators behind it, then the cross-key checks of
 * kb_config_finish.  Whatever the file says, the parser must answer with a
 * verdict and a message, and free what it took.
 */
#include "broker/kb_config.h"
#include "common/kc_log.h"
#include "tests/fuzz/fuzz_file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    kc_log_init("fuzz", -1, (kc_log_level_t)(KC_LOG_ERROR + 1));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kb_config_t cfg;
    char err[512] = "";
    kb_config_defaults(&cfg);
    int rc = kb_config_read(&cfg, fz_file(data, size), err, sizeof(err));
    FZ_CHECK(rc == KB_CONFIG_OK || rc == KB_CONFIG_IO || rc == KB_CONFIG_INVALID);
    FZ_CHECK(rc == KB_CONFIG_OK || err[0] != '\0');
    FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (rc == KB_CONFIG_OK) {
        err[0] = '\0';
        rc = kb_config_finish(&cfg, err, sizeof(err));
        FZ_CHECK(rc == KB_CONFIG_OK || err[0] != '\0');
        /* Every key the table knows can be shown (what --print-config and
         * DescribeConfigs do). */
        for (int i = 0; i < kb_config_item_count(); i++) {
            kb_config_item_t item;
            kb_config_item_at(&cfg, i, &item);
            fz_sink ^= (uint8_t)(strlen(item.name) + (item.value ? strlen(item.value) : 0));
        }
    }
    kb_config_free(&cfg);
    return 0;
}
