/*
 * util.h: the guest agent's small helpers: logging to stderr (the
 * journal), cleanup attributes, whole-file reads and atomic writes, the
 * monotonic clock, child processes, UTF-8 repair and log tails.
 *
 * The agent is a static program without GLib, so it carries these itself;
 * they follow common/ in spirit (negative errno, cleanup attributes).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(agent_freep)
#define _cleanup_close_ _cleanup_(agent_closep)
#define PRINTF(a, b)    __attribute__((format(printf, a, b)))

static inline void agent_freep(void *p)
{
    free(*(void **) p);
}

static inline void agent_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

/* Returns *P and sets it to NULL (ownership moves to the caller). */
#define TAKE_PTR(p)             \
    ({                          \
        __typeof__(p) _p = (p); \
        (p) = NULL;             \
        _p;                     \
    })

/* "nube-agent: LEVEL: message" on stderr, which systemd puts in the journal. */
void agent_log(const char *level, const char *fmt, ...) PRINTF(2, 3);
#define log_info(...) agent_log("info", __VA_ARGS__)
#define log_warn(...) agent_log("warning", __VA_ARGS__)
#define log_err(...)  agent_log("error", __VA_ARGS__)

/* Seconds on CLOCK_MONOTONIC. */
double agent_now(void);

/*
 * Reads at most MAX bytes of PATH into a malloc'd, NUL-terminated buffer
 * (*LEN bytes, NUL bytes possible).  *TRUNCATED (may be NULL) tells whether
 * the file had more.  Returns 0, or a negative errno.
 */
int agent_read_file(const char *path, size_t max, char **data, size_t *len, bool *truncated);
/* The same from the current position of FD. */
int agent_read_fd(int fd, size_t max, char **data, size_t *len, bool *truncated);

/*
 * Writes LEN bytes to NAME in directory DIRFD through a temporary file,
 * fsync and rename, so NAME is always whole.  Returns 0 or a negative errno.
 */
int agent_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/* Writes all of LEN bytes; returns 0 or a negative errno. */
int agent_write_all(int fd, const void *data, size_t len);

/* mkdir -p with MODE for the missing parts; returns 0 or a negative errno. */
int agent_mkdir_p(const char *path, mode_t mode);

/*
 * A child process.  agent_spawn() starts ARGV[0] (an absolute path) with
 * ENVP (NULL: the agent's), stdin from /dev/null, and, when CAPTURE, stdout
 * (and stderr too when CAPTURE_STDERR) into a non-blocking pipe read from
 * OUT_FD; in its own process group when NEW_PGRP.  The child starts with
 * default signal handling and an empty signal mask.  Returns 0 or a
 * negative errno; the caller reaps PID.
 */
typedef struct {
    pid_t pid;  /* 0 when none */
    int out_fd; /* -1 when none */
} AgentChild;

typedef struct {
    bool capture;
    bool capture_stderr;
    bool new_pgrp;
    char *const *envp;
} AgentSpawnOptions;

int agent_spawn(AgentChild *child, const char *const argv[], const AgentSpawnOptions *opts);

/* Runs ARGV to completion (output to the agent's stderr).  Returns its
 * wait status (>= 0) or a negative errno when it could not start. */
int agent_run(const char *const argv[]);

/* Describes wait STATUS in BUF: "exited with status N" or "killed by signal N". */
const char *agent_wait_status_str(int status, char *buf, size_t len);

/*
 * Copies LEN bytes of S into a new NUL-terminated string of valid UTF-8:
 * every invalid sequence and NUL byte becomes U+FFFD.  Returns NULL when
 * out of memory.
 */
char *agent_utf8_repair(const char *s, size_t len);

/*
 * The last LINES lines of the LEN bytes at S, at most MAX bytes of them
 * (keeping the end), without the final newline, as valid UTF-8 (malloc'd).
 */
char *agent_tail_lines(const char *s, size_t len, int lines, size_t max);

/* The same for the end of file PATH (NULL when unreadable). */
char *agent_tail_file(const char *path, int lines, size_t max);

/* Removes trailing white space from S in place; returns S. */
char *agent_strip(char *s);

/* True when PATH exists (any file type). */
bool agent_exists(const char *path);
