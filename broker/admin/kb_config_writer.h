/*
 * kb_config_writer.h - the service that writes a topic's config overrides
 * on a client's behalf (AlterConfigs), so the handler writes nothing to
 * ZooKeeper itself.  Today it writes /config/topics/T and a change
 * notification through libkcoord (coord/kc_configs.h); every broker's
 * metadata cache then learns the new set.  Explicit lifetime: main creates
 * it with the session and frees it before the session.
 */
#ifndef KB_CONFIG_WRITER_H
#define KB_CONFIG_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "coord/kc_model.h" /* kc_config_entry_t: a plain key/value pair */

typedef struct kb_config_writer kb_config_writer_t;
typedef struct kc_session kc_session_t;

/* error is NULL when the write succeeded, else a short reason (static). */
typedef void (*kb_config_written_fn)(const char *error, void *arg);

/* True when entries are a topic override set the writer accepts: every key
 * a topic config with a valid value kbroker supports, no key twice, and the
 * rules spanning keys (coord/kc_configs.h, shared with kbroker-admin); else
 * false with a one-line reason in why. */
bool kb_config_writer_topic_set_valid(const kc_config_entry_t *entries, int n, char *why, size_t whylen);

kb_config_writer_t *kb_config_writer_new(kc_session_t *zk);
void kb_config_writer_free(kb_config_writer_t *cw);
/* Replaces topic's whole override set with entries (copied).  done runs
 * exactly once, on the loop, or inside the session's release at teardown. */
void kb_config_writer_topic(kb_config_writer_t *cw, const char *topic, const kc_config_entry_t *entries, int n,
                            kb_config_written_fn done, void *arg);

#endif
