/*
 * proto.h: the nube agent protocol, version 1 (see schemas/agent-protocol.md).
 *
 * One JSON object per line on the virtio-serial port org.nube.agent.0.
 * This module parses and formats single messages and checks the order of
 * the guest's messages on one connection.  It is plain C on json-c, with no
 * GLib, because it is linked into the static guest agent as well as nubed.
 * Nothing here trusts its input: every message is size-limited, checked
 * field by field, and rejected with a reason in ERRBUF.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NUBE_AGENT_PROTO_VERSION 1
#define NUBE_AGENT_PORT_NAME     "org.nube.agent.0"
/* A message line, newline included, is at most this many bytes. */
#define NUBE_AGENT_MAX_LINE 16384
/* Limits of single fields (bytes, without the NUL). */
#define NUBE_AGENT_MAX_SHORT 127  /* versions, kernel, states, modes */
#define NUBE_AGENT_MAX_ERROR 2048 /* an error text */
#define NUBE_AGENT_MAX_LOG   8192 /* the last log lines, '\n'-joined */
/* The agent sends a heartbeat this often (seconds). */
#define NUBE_AGENT_HEARTBEAT_S 5

typedef enum {
    NUBE_MSG_INVALID = 0,
    /* guest -> controller */
    NUBE_MSG_HELLO,
    NUBE_MSG_BOOT_COMPLETE,
    NUBE_MSG_USERDATA,
    NUBE_MSG_HEARTBEAT,
    NUBE_MSG_RESULT,
    /* controller -> guest */
    NUBE_MSG_PING,
    NUBE_MSG_PREPARE_IMAGE,
    NUBE_MSG_THAW,
    NUBE_MSG_SHUTDOWN,
} NubeMsgType;

typedef enum {
    NUBE_USERDATA_STARTED = 1,
    NUBE_USERDATA_FINISHED,
} NubeUserdataPhase;

/*
 * One message.  Which fields are meaningful depends on TYPE; strings are
 * heap-allocated (NULL when absent) and freed by nube_msg_clear().
 */
typedef struct {
    NubeMsgType type;
    int64_t id; /* ping/prepare-image/thaw/shutdown and their result; >= 1 */

    /* hello */
    char *agent_version; /* e.g. "0.1.0" */
    char *boot_id;       /* /proc/sys/kernel/random/boot_id: 36-char lowercase UUID */
    char *kernel;        /* uname -r */
    bool cloud_init;     /* the guest has an enabled cloud-init */

    /* hello, boot-complete, heartbeat */
    double uptime; /* seconds since the guest booted, >= 0 */

    /* boot-complete */
    char *system_state; /* "running" or "degraded" (systemctl is-system-running) */

    /* userdata */
    NubeUserdataPhase phase;
    char *runner;       /* "cloud-init" or "agent" */
    char *status;       /* finished: "succeeded" or "failed" */
    bool has_exit_code; /* finished, runner "agent", when the script exited */
    int exit_code;      /* 0..255 */
    double duration;    /* finished: seconds, >= 0 */
    char *error;        /* finished+failed; and result with ok=false */
    char *log;          /* finished: the last lines of the log, '\n'-joined */

    /* result (reply to a command with the same id) */
    bool ok;
    int frozen; /* prepare-image with freeze: file systems frozen */
    int thawed; /* thaw: file systems thawed */

    /* prepare-image */
    bool freeze;     /* freeze the file systems until thaw (or thaw_after) */
    bool generalize; /* cloud-init clean, remove SSH host keys and agent state */
    int thaw_after;  /* seconds, 1..600: the agent thaws by itself after this */

    /* shutdown */
    char *mode; /* "poweroff" or "reboot" */
} NubeMsg;

void nube_msg_init(NubeMsg *msg);
void nube_msg_clear(NubeMsg *msg);

const char *nube_msg_type_name(NubeMsgType type);
/* True for the types only a guest may send. */
bool nube_msg_from_guest(NubeMsgType type);

/*
 * Parses one line (LEN bytes, with or without its trailing newline, not
 * NUL-terminated).  Returns 0 and fills MSG (which the caller clears), or
 * -1 with the reason in ERRBUF (always NUL-terminated) and MSG cleared.
 * Rejected: more than NUBE_AGENT_MAX_LINE bytes, NUL bytes, invalid UTF-8
 * or JSON, anything but an object, a missing or other "v", an unknown
 * "type", a missing or ill-typed required field, an out-of-range value.
 * Unknown fields are ignored (a newer peer may add some).
 */
int nube_msg_parse(const char *line, size_t len, NubeMsg *msg, char *errbuf, size_t errlen);

/*
 * Formats MSG as one line ending in '\n' (malloc'd, NUL-terminated), or
 * NULL when MSG is not valid (the same checks as the parser: whatever is
 * formatted parses back to the same message) or the line would be too long.
 */
char *nube_msg_format(const NubeMsg *msg);

/*
 * True when A and B carry the same type and field values (strings by
 * content).  Meant for parsed messages, whose unused fields are unset.
 */
bool nube_msg_equal(const NubeMsg *a, const NubeMsg *b);

/* True when the LEN bytes at S are valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF); NUL bytes count as valid. */
bool nube_utf8_valid(const char *s, size_t len);

/*
 * The order of the guest's messages on one connection, checked by the
 * controller: hello first (a later hello starts a new session: the guest
 * rebooted or its agent restarted); userdata finished only after userdata
 * started of the same runner in the session, started at most once per
 * session; results only for ids in flight (the caller checks those).
 */
typedef struct {
    bool hello;
    bool userdata_started;
    char runner[16];
} NubeSession;

void nube_session_init(NubeSession *s);
/* 0 when MSG (a parsed guest message) is acceptable now, and the session
 * is advanced; -1 with the reason in ERRBUF otherwise (state unchanged).
 * Controller-to-guest types are always refused. */
int nube_session_accept(NubeSession *s, const NubeMsg *msg, char *errbuf, size_t errlen);
