/*
 * util.c: the guest agent's small helpers (see util.h).
 */
#include "util.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

void agent_log(const char *level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One write per line, so lines from the agent and its children do not
     * interleave in the journal. */
    char line[2200];
    int n = snprintf(line, sizeof(line), "nube-agent: %s: %s\n", level, msg);
    if (n > 0)
        (void) agent_write_all(STDERR_FILENO, line,
                               (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
}

double agent_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int agent_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

int agent_read_fd(int fd, size_t max, char **data, size_t *len, bool *truncated)
{
    size_t cap = 4096, n = 0;
    _cleanup_free_ char *buf = malloc(cap + 1);
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > max)
                break;
            char *bigger = realloc(buf, cap * 2 + 1);
            if (bigger == NULL)
                return -ENOMEM;
            buf = bigger;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        n += (size_t) r;
    }
    if (truncated != NULL)
        *truncated = n > max;
    if (n > max)
        n = max;
    buf[n] = '\0';
    *len = n;
    *data = TAKE_PTR(buf);
    return 0;
}

int agent_read_file(const char *path, size_t max, char **data, size_t *len, bool *truncated)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    return agent_read_fd(fd, max, data, len, truncated);
}

int agent_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
    (void) unlinkat(dirfd, tmp, 0);
    _cleanup_close_ int fd =
        openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int r = agent_write_all(fd, data, len);
    if (r == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0))
        r = -errno;
    if (r < 0) {
        (void) unlinkat(dirfd, tmp, 0);
        return r;
    }
    (void) fsync(dirfd);
    return 0;
}

int agent_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int) sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

bool agent_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

char *agent_strip(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
        s[--n] = '\0';
    return s;
}

/* In the child: default signals, empty mask, then the descriptors. */
static void child_setup(const AgentSpawnOptions *opts, const int pipefd[2])
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    if (opts->new_pgrp)
        setpgid(0, 0);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0)
        dup2(null, STDIN_FILENO);
    if (opts->capture) {
        dup2(pipefd[1], STDOUT_FILENO);
        if (opts->capture_stderr)
            dup2(pipefd[1], STDERR_FILENO);
    }
}

int agent_spawn(AgentChild *child, const char *const argv[], const AgentSpawnOptions *opts)
{
    static const AgentSpawnOptions none = { 0 };
    int pipefd[2] = { -1, -1 };
    if (opts == NULL)
        opts = &none;
    child->pid = 0;
    child->out_fd = -1;
    if (opts->capture && pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        if (opts->capture) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return -e;
    }
    if (pid == 0) {
        child_setup(opts, pipefd);
        extern char **environ;
        execve(argv[0], (char *const *) argv, opts->envp ? opts->envp : environ);
        dprintf(STDERR_FILENO, "nube-agent: error: exec '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (opts->new_pgrp)
        setpgid(pid, pid); /* also here, so no signal can miss the group */
    if (opts->capture) {
        close(pipefd[1]);
        fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
        child->out_fd = pipefd[0];
    }
    child->pid = pid;
    return 0;
}

int agent_run(const char *const argv[])
{
    AgentChild child;
    int r = agent_spawn(&child, argv, NULL);
    if (r < 0)
        return r;
    int status;
    while (waitpid(child.pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return status;
}

const char *agent_wait_status_str(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "ended with wait status %d", status);
    return buf;
}

/* Length of the valid UTF-8 sequence at S (1..4), 0 when invalid. */
static size_t utf8_seq(const char *s, size_t left)
{
    unsigned char c = (unsigned char) s[0];
    size_t n = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (n == 0 || n > left || (n == 1 && c == 0))
        return 0;
    return nube_utf8_valid(s, n) ? n : 0;
}

char *agent_utf8_repair(const char *s, size_t len)
{
    char *out = malloc(len * 3 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(s + i, len - i);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return out;
}

char *agent_tail_lines(const char *s, size_t len, int lines, size_t max)
{
    while (len > 0 && s[len - 1] == '\n')
        len--;
    size_t start = len;
    int seen = 0;
    while (start > 0) {
        if (s[start - 1] == '\n' && ++seen == lines)
            break;
        start--;
    }
    if (len - start > max)
        start = len - max;
    _cleanup_free_ char *fixed = agent_utf8_repair(s + start, len - start);
    if (fixed == NULL)
        return NULL;
    /* Repair can make the text longer: keep its end, on a character
     * boundary. */
    size_t n = strlen(fixed), from = n > max ? n - max : 0;
    while (from < n && ((unsigned char) fixed[from] & 0xc0) == 0x80)
        from++;
    return strdup(fixed + from);
}

char *agent_tail_file(const char *path, int lines, size_t max)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t) (2 * max) ? size - (off_t) (2 * max) : 0;
    if (size < 0 || lseek(fd, from, SEEK_SET) < 0)
        return NULL;
    _cleanup_free_ char *data = NULL;
    size_t len;
    if (agent_read_fd(fd, 2 * max, &data, &len, NULL) < 0)
        return NULL;
    return agent_tail_lines(data, len, lines, max);
}
