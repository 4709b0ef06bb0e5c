/*
 * channel.h: the agent's end of the protocol's byte stream.
 *
 * Normally the virtio-serial port /dev/virtio-ports/org.nube.agent.0: it
 * stays open, and poll() reports POLLHUP (and read() returns 0) while no
 * host side (nubed) is connected to the libvirt channel's socket.  For
 * tests the path may be a unix socket instead, which the agent connects
 * to; there EOF or a reset means disconnected.  Either way the channel is
 * re-checked every second while down, messages sent while disconnected
 * are dropped, and lines are delivered whole (at most NUBE_AGENT_MAX_LINE
 * bytes with the newline; longer ones are discarded and logged).
 */
#pragma once

#include "proto.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#define AGENT_CHANNEL_QUEUE 64

typedef struct {
    char *data;
    size_t len;
    size_t off;
} AgentOut;

typedef void (*AgentLineFn)(void *ctx, const char *line, size_t len);

typedef struct {
    char *path;
    int fd;          /* -1 when not open */
    bool is_socket;  /* PATH is a unix socket we connect to */
    bool connected;  /* a peer is there */
    double retry_at; /* when to look again while down (monotonic) */
    bool said_waiting;

    char in[NUBE_AGENT_MAX_LINE];
    size_t in_len;
    bool discarding; /* inside an over-long line */

    AgentOut out[AGENT_CHANNEL_QUEUE];
    size_t out_head, out_count;
} AgentChannel;

/* Sets up CH for PATH (copied); nothing is opened yet.  Returns 0 or -ENOMEM. */
int agent_channel_init(AgentChannel *ch, const char *path);
void agent_channel_close(AgentChannel *ch);

/*
 * While down and at RETRY_AT: opens or connects, or checks for a host.
 * Returns true exactly when the channel just became connected (the caller
 * then says hello).
 */
bool agent_channel_tick(AgentChannel *ch, double now);

/* The poll() entry for the channel: fd -1 while down. */
void agent_channel_pollfd(const AgentChannel *ch, struct pollfd *pfd);

/*
 * Handles REVENTS of the channel's fd: reads lines (calling FN for each,
 * newline removed) and flushes queued output.  Returns false when the
 * channel went down.
 */
bool agent_channel_handle(AgentChannel *ch, short revents, double now, AgentLineFn fn, void *ctx);

/*
 * Queues LINE (a formatted message, '\n'-terminated) and tries to write
 * it at once.  Dropped when not connected or the queue is full.  Returns
 * false when the channel went down while writing.
 */
bool agent_channel_send(AgentChannel *ch, const char *line, double now);

/* Whether queued output is left. */
bool agent_channel_pending(const AgentChannel *ch);
