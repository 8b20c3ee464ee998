/*
 * kb_session_record.h - the ZooKeeper sessions this broker's processes used,
 * remembered in its log dirs.
 *
 * A broker restarted right after kill -9 finds /brokers/ids/N still held by
 * its previous process's session, which lives on in ZooKeeper until it
 * times out.  It may replace that registration at once only if it can tell
 * it apart from a live broker's (a second process started with the same
 * broker.id must be refused, never take over).  The proof: each process
 * writes every session it opens into the log dirs it holds locked, before
 * registering with that session.  A registration whose owner is listed
 * there was made by a process that held these log dirs; since this process
 * holds their .lock now, that process is gone.  A live broker on the same
 * machine holds its own log dirs' lock (a second process on the same dirs
 * fails to start), and a broker on another machine has other log dirs: in
 * both cases the owner is not listed, and the registration is left alone.
 *
 * The file is <log dir>/.kbroker-zk-sessions: one session id in hex per
 * line, newest last, at most KB_SESSION_RECORD_MAX.  It is rewritten
 * (temporary file + rename, no fsync: it must survive a killed process, not
 * a lost machine, whose sessions expire meanwhile) once per new session.
 */
#ifndef KB_SESSION_RECORD_H
#define KB_SESSION_RECORD_H

#include <stdint.h>

#include "broker/kb_config.h"

#define KB_SESSION_RECORD_FILE ".kbroker-zk-sessions"
#define KB_SESSION_RECORD_MAX 8

typedef struct kb_session_record {
    int64_t ids[KB_SESSION_RECORD_MAX]; /* oldest first */
    int n;
} kb_session_record_t;

/* Reads the sessions recorded in every log dir of cfg (a missing or
 * unreadable file counts as empty; the newest ids win when the dirs list
 * more than fit). */
void kb_session_record_load(kb_session_record_t *rec, const kb_config_t *cfg);

/* Appends id (dropping the oldest when full) and rewrites the file in every
 * log dir.  Returns 0, or -1 when a dir could not be written (logged). */
int kb_session_record_add(kb_session_record_t *rec, const kb_config_t *cfg, int64_t id);

#endif
