/*
 * fuzz-proto.c: libFuzzer target for the agent protocol (agent/proto.c).
 *
 * The input is parsed whole and line by line.  Whatever parses must format,
 * and the formatted line must parse back to an equal message; each parsed
 * line is offered to a session, which must accept or refuse without
 * changing itself on refusal.  Plain C (the module is), aborting on any
 * broken property.  Run by libFuzzer (clang builds) and by fuzz-smoke.c.
 */
#include "proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define require(cond)                                                              \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "fuzz-proto: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                               \
        }                                                                          \
    } while (0)

static void check_session(NubeSession *s, const NubeMsg *msg)
{
    char err[128];
    NubeSession before = *s;
    if (nube_session_accept(s, msg, err, sizeof(err)) < 0) {
        require(memcmp(&before, s, sizeof(before)) == 0);
        require(strlen(err) > 0);
        return;
    }
    require(nube_msg_from_guest(msg->type));
    require(s->hello);
}

static void check_line(const char *line, size_t len, NubeSession *s)
{
    NubeMsg msg, back;
    char err[256];
    if (nube_msg_parse(line, len, &msg, err, sizeof(err)) < 0) {
        require(msg.type == NUBE_MSG_INVALID && strlen(err) > 0);
        return;
    }
    require(len <= NUBE_AGENT_MAX_LINE);
    char *formatted = nube_msg_format(&msg);
    require(formatted != NULL);
    size_t flen = strlen(formatted);
    require(flen <= NUBE_AGENT_MAX_LINE && formatted[flen - 1] == '\n');
    require(nube_msg_parse(formatted, flen, &back, err, sizeof(err)) == 0);
    require(nube_msg_equal(&msg, &back));
    free(formatted);
    nube_msg_clear(&back);
    check_session(s, &msg);
    nube_msg_clear(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *) data;
    NubeSession session;
    nube_session_init(&session);
    check_line(p, size, &session);

    nube_session_init(&session);
    while (size > 0) {
        const char *nl = memchr(p, '\n', size);
        size_t len = nl ? (size_t) (nl - p) + 1 : size;
        check_line(p, len, &session);
        p += len;
        size -= len;
    }
    return 0;
}
