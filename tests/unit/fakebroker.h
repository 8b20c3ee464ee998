/*
 * fakebroker.h - a scripted Kafka broker on 127.0.0.1 (an ephemeral port)
 * for the suites of client/: a thread accepts connections and hands every
 * request to the test's handler, which writes the answer body with the
 * broker-side encoders of proto/ and says how to send it, or that it must
 * not be sent properly (silence, a closed connection, a wrong correlation
 * id, an absurd frame size).  That is how the client's handling of a broker
 * that misbehaves is shown without a broker that does.
 *
 * The handler runs on the fake's thread; it must only touch what the test
 * does not touch while a client call is in progress (the usual shape: the
 * test sets up a script, runs one client call, then reads the counters).
 */
#ifndef KB_FAKEBROKER_H
#define KB_FAKEBROKER_H

#include <stdint.h>

#include "proto/kp_buf.h"

typedef enum {
    FB_ANSWER,            /* send the body written into w */
    FB_SILENT,            /* send nothing, keep the connection */
    FB_CLOSE,             /* close the connection without answering */
    FB_WRONG_CORRELATION, /* answer with another correlation id */
    FB_HUGE_FRAME,        /* announce a 2 GiB answer and send nothing more */
} fb_action_t;

/* One request: its API key and version, and a reader over its body. */
typedef fb_action_t (*fb_handler_fn)(void *arg, int16_t api_key, int16_t version, kp_reader_t *body,
                                     kp_writer_t *w);

typedef struct fakebroker fakebroker_t;

/* Listens and starts the thread; fails the test if it cannot. */
fakebroker_t *fakebroker_start(fb_handler_fn fn, void *arg);
int fakebroker_port(const fakebroker_t *fb);
/* Requests of api_key seen so far (every key when api_key < 0). */
int fakebroker_seen(fakebroker_t *fb, int16_t api_key);
/* The client_id of the last request seen (a copy, "" before any). */
void fakebroker_last_client_id(fakebroker_t *fb, char *buf, size_t size);
/* Stops the thread, closes every socket and frees fb. */
void fakebroker_stop(fakebroker_t *fb);

#endif
