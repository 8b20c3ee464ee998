/*
 * kb_config_internal.h - what the three parts of the configuration code
 * share, and nothing else includes:
 *
 *   kb_config_keys.c    the key table and the single path every value takes
 *                       (type, range, validator, store), defaults, free, and
 *                       the keys as DescribeConfigs lists them;
 *   kb_config_props.c   Java's .properties file format (kb_config_read);
 *   kb_config_derive.c  what Kafka derives from several keys (listeners,
 *                       advertised listeners, log dirs, retention, ...) and
 *                       the rules that span keys (kb_config_finish).
 */
#ifndef KB_CONFIG_INTERNAL_H
#define KB_CONFIG_INTERNAL_H

#include <stddef.h>

#include "broker/kb_config.h"

#define KB_MAX_MAP 32

/* listener.security.protocol.map, parsed. */
typedef struct {
    char name[64];
    char protocol[32];
} kb_map_entry_t;

typedef struct {
    kb_map_entry_t e[KB_MAX_MAP];
    int n;
    char *why; /* where a parse error is explained */
    size_t whylen;
} kb_protocol_map_t;

/* Sets key to value as a file line at `where` (NULL for kb_config_set)
 * would: an unknown key is warned about and ignored, a bad value gives
 * KB_CONFIG_INVALID with the reason in err. */
int kb_config_apply(kb_config_t *cfg, const char *key, const char *value, const char *where, char *err,
                    size_t errlen);

/* Replaces *slot with a copy of value (NULL allowed); aborts when out of
 * memory, which can only happen while configuring. */
void kb_config_set_str(char **slot, const char *value);
/* Copies [s, s+len) into dst (size n) with surrounding blanks removed; dst
 * may be s itself. */
void kb_config_copy_trimmed(char *dst, size_t n, const char *s, size_t len);
void kb_config_upcase(char *s);

/* Calls fn on every non-empty, trimmed element of a comma list, as Kafka's
 * parseCsvList does; stops at the first non-zero return and returns it. */
typedef int (*kb_csv_fn)(const char *item, void *arg);
int kb_config_csv_each(const char *list, kb_csv_fn fn, void *arg);

/* Parses a listener list ("NAME://host:port,...") into out[KB_MAX_LISTENERS];
 * returns the count, or -1 with the reason in w. */
int kb_config_parse_listeners(const char *text, kb_listener_t *out, char *w, size_t n);
/* Parses listener.security.protocol.map; 0, or -1 with the reason in w. */
int kb_config_parse_protocol_map(const char *v, kb_protocol_map_t *m, char *w, size_t n);
/* The protocol mapped to listener name, or NULL. */
const char *kb_config_map_lookup(const kb_protocol_map_t *m, const char *name);

/* Derives the values Kafka derives from cfg->raw (kb_config_derive.c);
 * KB_CONFIG_OK or KB_CONFIG_INVALID with err naming the key. */
int kb_config_derive(kb_config_t *cfg, char *err, size_t errlen);
void kb_config_free_log_dirs(kb_config_t *cfg);

#endif
