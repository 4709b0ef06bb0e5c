/*
 * channel.c: the agent's end of the protocol's byte stream (see channel.h).
 */
#include "channel.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define RETRY_S 1.0

int agent_channel_init(AgentChannel *ch, const char *path)
{
    memset(ch, 0, sizeof(*ch));
    ch->fd = -1;
    ch->path = strdup(path);
    return ch->path ? 0 : -ENOMEM;
}

static void drop_queue(AgentChannel *ch)
{
    for (size_t i = 0; i < ch->out_count; i++)
        free(ch->out[(ch->out_head + i) % AGENT_CHANNEL_QUEUE].data);
    ch->out_head = ch->out_count = 0;
}

/* Down: the virtio port stays open (its POLLHUP ends when a host comes);
 * a socket is closed and connected again later. */
static void go_down(AgentChannel *ch, double now)
{
    drop_queue(ch);
    ch->in_len = 0;
    ch->discarding = false;
    ch->connected = false;
    ch->retry_at = now + RETRY_S;
    if (ch->is_socket && ch->fd >= 0) {
        close(ch->fd);
        ch->fd = -1;
    }
}

void agent_channel_close(AgentChannel *ch)
{
    go_down(ch, 0);
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
    free(ch->path);
    ch->path = NULL;
}

static int connect_socket(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Opens the port, or connects the socket.  Returns 0 or a negative errno. */
static int channel_open(AgentChannel *ch)
{
    struct stat st;
    if (stat(ch->path, &st) < 0)
        return -errno;
    ch->is_socket = S_ISSOCK(st.st_mode);
    int fd = ch->is_socket ? connect_socket(ch->path)
                           : open(ch->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fd == -1 ? -errno : fd;
    ch->fd = fd;
    return 0;
}

/* A virtio port has a host side when poll() shows no POLLHUP. */
static bool host_present(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, 0) < 0)
        return false;
    return !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

bool agent_channel_tick(AgentChannel *ch, double now)
{
    if (ch->connected || now < ch->retry_at)
        return false;
    ch->retry_at = now + RETRY_S;
    if (ch->fd < 0) {
        int r = channel_open(ch);
        if (r < 0) {
            if (!ch->said_waiting)
                log_info("waiting for '%s': %s", ch->path, strerror(-r));
            ch->said_waiting = true;
            return false;
        }
        ch->said_waiting = false;
    }
    if (!ch->is_socket && !host_present(ch->fd))
        return false;
    ch->connected = true;
    ch->in_len = 0;
    ch->discarding = false;
    return true;
}

void agent_channel_pollfd(const AgentChannel *ch, struct pollfd *pfd)
{
    pfd->fd = ch->connected ? ch->fd : -1;
    pfd->events = POLLIN | (ch->out_count > 0 ? POLLOUT : 0);
    pfd->revents = 0;
}

bool agent_channel_pending(const AgentChannel *ch)
{
    return ch->out_count > 0;
}

/* Feeds bytes to the line splitter. */
static void take_bytes(AgentChannel *ch, const char *p, size_t n, AgentLineFn fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t) (nl - p) : n;
        if (!ch->discarding && ch->in_len + seg > NUBE_AGENT_MAX_LINE - 1) {
            log_warn("discarded a line longer than %d bytes from the controller",
                     NUBE_AGENT_MAX_LINE);
            ch->discarding = true;
            ch->in_len = 0;
        }
        if (!ch->discarding) {
            memcpy(ch->in + ch->in_len, p, seg);
            ch->in_len += seg;
        }
        if (nl == NULL)
            return;
        if (!ch->discarding)
            fn(ctx, ch->in, ch->in_len);
        ch->discarding = false;
        ch->in_len = 0;
        p += seg + 1;
        n -= seg + 1;
        /* FN may have sent a reply that found the channel down. */
        if (!ch->connected)
            return;
    }
}

/* Reads what is there.  False when the peer is gone. */
static bool read_some(AgentChannel *ch, AgentLineFn fn, void *ctx)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(ch->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return true;
        if (n <= 0) {
            if (n < 0 && errno != ECONNRESET && errno != ENODEV)
                log_warn("read '%s': %s", ch->path, strerror(errno));
            if (n < 0 && errno == ENODEV) {
                close(ch->fd); /* the port was unplugged: open it again */
                ch->fd = -1;
            }
            return false;
        }
        take_bytes(ch, buf, (size_t) n, fn, ctx);
        if (!ch->connected)
            return false;
    }
}

static ssize_t write_some(AgentChannel *ch, const char *p, size_t n)
{
    if (ch->is_socket)
        return send(ch->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    return write(ch->fd, p, n);
}

/* Writes queued lines until done or the port would block.  False when the
 * peer is gone. */
static bool flush(AgentChannel *ch)
{
    while (ch->out_count > 0) {
        AgentOut *o = &ch->out[ch->out_head];
        ssize_t n = write_some(ch, o->data + o->off, o->len - o->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return true;
        if (n < 0) {
            if (errno != EPIPE && errno != ECONNRESET && errno != ENODEV)
                log_warn("write '%s': %s", ch->path, strerror(errno));
            if (errno == ENODEV && !ch->is_socket) {
                close(ch->fd); /* the port was unplugged: open it again */
                ch->fd = -1;
            }
            return false;
        }
        o->off += (size_t) n;
        if (o->off < o->len)
            continue;
        free(o->data);
        ch->out_head = (ch->out_head + 1) % AGENT_CHANNEL_QUEUE;
        ch->out_count--;
    }
    return true;
}

bool agent_channel_handle(AgentChannel *ch, short revents, double now, AgentLineFn fn, void *ctx)
{
    if (!ch->connected)
        return false;
    bool up = true;
    if (revents & POLLIN)
        up = read_some(ch, fn, ctx);
    if (up && (revents & (POLLHUP | POLLERR | POLLNVAL)))
        up = false;
    if (up && (revents & POLLOUT))
        up = flush(ch);
    if (!up && ch->connected)
        go_down(ch, now);
    return up;
}

bool agent_channel_send(AgentChannel *ch, const char *line, double now)
{
    if (!ch->connected)
        return true;
    if (ch->out_count == AGENT_CHANNEL_QUEUE) {
        log_warn("the controller does not read: dropped a message");
        return true;
    }
    char *copy = strdup(line);
    if (copy == NULL)
        return true;
    AgentOut *o = &ch->out[(ch->out_head + ch->out_count) % AGENT_CHANNEL_QUEUE];
    *o = (AgentOut){ copy, strlen(copy), 0 };
    ch->out_count++;
    if (flush(ch))
        return true;
    go_down(ch, now);
    return false;
}
