/*
 * netfix.h - a real kb_server on 127.0.0.1 (an ephemeral port) in the
 * test's own event loop, and a plain TCP client socket to talk to it, for
 * the suites of broker/net and of the API dispatcher: either a bare
 * transport listener with the options the test chose (netfix_listen), or
 * the Kafka listener of the test's configuration (netfix_start).
 *
 * The test is single-threaded: the client writes (small frames fit in the
 * socket buffers), then the loop is run until the state the test waits for
 * is reached, with a generous bound and never a sleep.  Builds on logfix
 * (event base and configuration).
 */
#ifndef KB_NETFIX_H
#define KB_NETFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker/net/kb_net.h"

typedef struct netfix {
    kb_server_t *srv;
    int port;
    int client; /* the client socket (non-blocking), -1 when closed */
} netfix_t;

extern netfix_t nf;

/* Transport options a test starts from: frames up to 100 MiB, handed over
 * one at a time to on_frame(arg), no idle timeout, the system's buffers. */
kb_conn_opts_t netfix_opts(kb_frame_fn on_frame, void *arg);
/* Binds a server with one listener "test" on 127.0.0.1:port (0: any) with
 * opts; nf.port is the bound port.  No client. */
void netfix_listen(const kb_conn_opts_t *opts, int port);
/* Connects the client to nf.port (rcvbuf > 0 sets the client's SO_RCVBUF
 * before connecting). */
void netfix_connect(int rcvbuf);
/* The Kafka listener (kb_api_listen) of lf.cfg with listeners set to
 * 127.0.0.1:0, after the configuration keys the test set with logfix_set,
 * with on_request(arg); then netfix_connect(rcvbuf). */
void netfix_start(kb_frame_fn on_request, void *arg, int rcvbuf);
/* Closes the client and frees the server (either may be gone already). */
void netfix_stop(void);

/* Runs the loop until done(arg) is true or 20 s have passed; returns
 * done(arg), which is called after every loop turn. */
bool netfix_pump(bool (*done)(void *arg), void *arg);
/* Runs the loop over everything due now, without blocking. */
void netfix_pump_once(void);

/* Writes len bytes on the client (all of them: small writes). */
void netfix_send(const void *buf, size_t len);
/* Writes a frame: the 4-byte size, then len bytes. */
void netfix_send_frame(const void *buf, size_t len);

/* Reads one response frame (size prefix stripped) into buf; returns its
 * length, or -1 when the server closed the connection first. */
ssize_t netfix_read_frame(uint8_t *buf, size_t cap);
/* True once the server has closed the connection (EOF after any bytes
 * still unread, which are counted in *unread when not NULL). */
bool netfix_closed(size_t *unread);
/* Reads and discards up to n bytes the server has sent; returns how many. */
size_t netfix_drain(size_t n);

#endif
