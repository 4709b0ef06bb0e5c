/*
 * proto.c: the nube agent protocol, version 1 (see proto.h and
 * schemas/agent-protocol.md).
 *
 * A line is judged in three steps: its bytes (length, NUL, UTF-8), its
 * JSON grammar, then its fields.  The grammar is checked by a strict
 * RFC 8259 scan before json-c sees the line, because json-c alone accepts
 * NaN, Infinity, single quotes, "1." and raw control characters in
 * strings; the scan also bounds the nesting depth and counts the top-level
 * members, so a duplicate key (which json-c would silently resolve to the
 * last value) is refused.  Field values are checked in one place,
 * check_msg(), which the parser runs after extraction and the formatter
 * before output: whatever is formatted parses back to the same message.
 */
#include "proto.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages are flat; unknown fields may nest a little, never this deep. */
#define MAX_DEPTH          16
#define MAX_ID             (INT64_C(1) << 53)
#define THAW_AFTER_MAX     600
#define THAW_AFTER_DEFAULT 60

static const char *const type_names[] = {
    [NUBE_MSG_HELLO] = "hello",
    [NUBE_MSG_BOOT_COMPLETE] = "boot-complete",
    [NUBE_MSG_USERDATA] = "userdata",
    [NUBE_MSG_HEARTBEAT] = "heartbeat",
    [NUBE_MSG_RESULT] = "result",
    [NUBE_MSG_PING] = "ping",
    [NUBE_MSG_PREPARE_IMAGE] = "prepare-image",
    [NUBE_MSG_THAW] = "thaw",
    [NUBE_MSG_SHUTDOWN] = "shutdown",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

static const char *const system_states[] = { "running", "degraded", NULL };
static const char *const runners[] = { "cloud-init", "agent", NULL };
static const char *const statuses[] = { "succeeded", "failed", NULL };
static const char *const modes[] = { "poweroff", "reboot", NULL };

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the reason into ERRBUF and returns -1. */
static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void nube_msg_init(NubeMsg *msg)
{
    memset(msg, 0, sizeof(*msg));
    msg->thaw_after = THAW_AFTER_DEFAULT;
}

void nube_msg_clear(NubeMsg *msg)
{
    free(msg->agent_version);
    free(msg->boot_id);
    free(msg->kernel);
    free(msg->system_state);
    free(msg->runner);
    free(msg->status);
    free(msg->error);
    free(msg->log);
    free(msg->mode);
    nube_msg_init(msg);
}

const char *nube_msg_type_name(NubeMsgType type)
{
    if ((size_t) type < N_TYPES && type_names[type] != NULL)
        return type_names[type];
    return "invalid";
}

bool nube_msg_from_guest(NubeMsgType type)
{
    return type >= NUBE_MSG_HELLO && type <= NUBE_MSG_RESULT;
}

bool nube_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    const unsigned char *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80)
            continue;
        unsigned need, min;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t) (end - p) < need)
            return false;
        for (unsigned i = 0; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        p += need;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

/* ---- strict JSON grammar ---- */

typedef struct {
    const char *p;
    const char *end;
    size_t top_members;
} Scan;

static bool scan_value(Scan *s, int depth);

static void skip_ws(Scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool scan_lit(Scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t) (s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* Reads the 4 hex digits of a \u escape; -1 if they are not. */
static long scan_hex4(Scan *s)
{
    if (s->end - s->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *s->p++;
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A \u escape: no NUL, surrogates only as a high-low pair. */
static bool scan_unicode_escape(Scan *s)
{
    long cp = scan_hex4(s);
    if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff))
        return false;
    if (cp < 0xd800 || cp > 0xdbff)
        return true;
    if (!scan_lit(s, "\\u"))
        return false;
    long low = scan_hex4(s);
    return low >= 0xdc00 && low <= 0xdfff;
}

static bool scan_string(Scan *s)
{
    if (!scan_lit(s, "\""))
        return false;
    while (s->p < s->end) {
        unsigned char c = (unsigned char) *s->p++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c != '\\')
            continue;
        if (s->p >= s->end)
            return false;
        c = (unsigned char) *s->p++;
        if (c == 'u') {
            if (!scan_unicode_escape(s))
                return false;
        } else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
            return false;
        }
    }
    return false;
}

static bool scan_digits(Scan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

static bool scan_number(Scan *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!scan_digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!scan_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return false;
    }
    return true;
}

/* An object or an array (OPEN '{' or '['), members counted at depth 1. */
static bool scan_container(Scan *s, char open, int depth)
{
    char close = open == '{' ? '}' : ']';
    if (depth > MAX_DEPTH)
        return false;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        if (open == '{') {
            if (!scan_string(s))
                return false;
            skip_ws(s);
            if (!scan_lit(s, ":"))
                return false;
            if (depth == 1)
                s->top_members++;
        }
        if (!scan_value(s, depth))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        char c = *s->p++;
        if (c == close)
            return true;
        if (c != ',')
            return false;
        skip_ws(s);
    }
}

static bool scan_value(Scan *s, int depth)
{
    skip_ws(s);
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{':
    case '[':
        return scan_container(s, *s->p, depth + 1);
    case '"':
        return scan_string(s);
    case 't':
        return scan_lit(s, "true");
    case 'f':
        return scan_lit(s, "false");
    case 'n':
        return scan_lit(s, "null");
    default:
        return scan_number(s);
    }
}

/* True when LINE is exactly one JSON object (and white space); counts its
 * members in *MEMBERS. */
static bool scan_object(const char *line, size_t len, size_t *members)
{
    Scan s = { line, line + len, 0 };
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return false;
    if (!scan_value(&s, 0))
        return false;
    skip_ws(&s);
    *members = s.top_members;
    return s.p == s.end;
}

/* ---- field extraction ---- */

/* Field KEY of OBJ when it has json-c type TYPE: 1 (in *OUT), 0 when
 * absent (or null and not REQUIRED), -1 when missing or ill-typed. */
static int field(json_object *obj, const char *key, json_type type, bool required,
                 json_object **out, char *errbuf, size_t errlen)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        if (required)
            return fail(errbuf, errlen, "missing field '%s'", key);
        return 0;
    }
    bool number_ok = type == json_type_double && json_object_is_type(v, json_type_int);
    if (!json_object_is_type(v, type) && !number_ok)
        return fail(errbuf, errlen, "field '%s' is not a%s %s", key,
                    type == json_type_int ? "n" : "",
                    type == json_type_double ? "number" : json_type_to_name(type));
    *out = v;
    return 1;
}

static int get_string(json_object *obj, const char *key, bool required, char **out, char *errbuf,
                      size_t errlen)
{
    json_object *v;
    int r = field(obj, key, json_type_string, required, &v, errbuf, errlen);
    if (r <= 0)
        return r;
    size_t len = (size_t) json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (strlen(s) != len)
        return fail(errbuf, errlen, "field '%s' holds a NUL character", key);
    *out = strdup(s);
    if (*out == NULL)
        return fail(errbuf, errlen, "out of memory");
    return 1;
}

/* An integer in MIN..MAX (json-c saturates larger ones, which the range
 * then refuses). */
static int get_int(json_object *obj, const char *key, bool required, int64_t min, int64_t max,
                   int64_t *out, char *errbuf, size_t errlen)
{
    json_object *v;
    int r = field(obj, key, json_type_int, required, &v, errbuf, errlen);
    if (r <= 0)
        return r;
    int64_t n = json_object_get_int64(v);
    if (n < min || n > max || n == INT64_MAX || n == INT64_MIN)
        return fail(errbuf, errlen, "field '%s' is out of range", key);
    *out = n;
    return 1;
}

static int get_number(json_object *obj, const char *key, bool required, double *out, char *errbuf,
                      size_t errlen)
{
    json_object *v;
    int r = field(obj, key, json_type_double, required, &v, errbuf, errlen);
    if (r <= 0)
        return r;
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n == INT64_MAX || n == INT64_MIN)
            return fail(errbuf, errlen, "field '%s' is out of range", key);
        *out = (double) n;
    } else {
        *out = json_object_get_double(v);
    }
    return 1;
}

static int get_bool(json_object *obj, const char *key, bool required, bool *out, char *errbuf,
                    size_t errlen)
{
    json_object *v;
    int r = field(obj, key, json_type_boolean, required, &v, errbuf, errlen);
    if (r <= 0)
        return r;
    *out = json_object_get_boolean(v);
    return 1;
}

static int get_id(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    return get_int(obj, "id", true, 1, MAX_ID, &msg->id, errbuf, errlen);
}

static int extract_hello(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    if (get_string(obj, "agent", true, &msg->agent_version, errbuf, errlen) < 0 ||
        get_string(obj, "boot_id", true, &msg->boot_id, errbuf, errlen) < 0 ||
        get_string(obj, "kernel", true, &msg->kernel, errbuf, errlen) < 0 ||
        get_number(obj, "uptime", true, &msg->uptime, errbuf, errlen) < 0 ||
        get_bool(obj, "cloud_init", true, &msg->cloud_init, errbuf, errlen) < 0)
        return -1;
    return 0;
}

static int extract_boot_complete(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    if (get_string(obj, "state", true, &msg->system_state, errbuf, errlen) < 0 ||
        get_number(obj, "uptime", true, &msg->uptime, errbuf, errlen) < 0)
        return -1;
    return 0;
}

static int extract_finished(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    int64_t code = 0;
    int r;
    if (get_string(obj, "status", true, &msg->status, errbuf, errlen) < 0 ||
        get_number(obj, "duration", true, &msg->duration, errbuf, errlen) < 0 ||
        get_string(obj, "log", false, &msg->log, errbuf, errlen) < 0 ||
        (r = get_int(obj, "exit_code", false, 0, 255, &code, errbuf, errlen)) < 0)
        return -1;
    msg->has_exit_code = r > 0;
    msg->exit_code = (int) code;
    if (strcmp(msg->status, "failed") == 0)
        return get_string(obj, "error", true, &msg->error, errbuf, errlen) < 0 ? -1 : 0;
    return 0;
}

static int extract_userdata(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    char *phase = NULL;
    if (get_string(obj, "phase", true, &phase, errbuf, errlen) < 0)
        return -1;
    if (strcmp(phase, "started") == 0)
        msg->phase = NUBE_USERDATA_STARTED;
    else if (strcmp(phase, "finished") == 0)
        msg->phase = NUBE_USERDATA_FINISHED;
    free(phase);
    if (msg->phase == 0)
        return fail(errbuf, errlen, "field 'phase' is not 'started' or 'finished'");
    if (get_string(obj, "runner", true, &msg->runner, errbuf, errlen) < 0)
        return -1;
    if (msg->phase == NUBE_USERDATA_FINISHED)
        return extract_finished(obj, msg, errbuf, errlen);
    return 0;
}

static int extract_result(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    int64_t frozen = 0, thawed = 0;
    if (get_id(obj, msg, errbuf, errlen) < 0 ||
        get_bool(obj, "ok", true, &msg->ok, errbuf, errlen) < 0 ||
        get_int(obj, "frozen", false, 0, INT32_MAX, &frozen, errbuf, errlen) < 0 ||
        get_int(obj, "thawed", false, 0, INT32_MAX, &thawed, errbuf, errlen) < 0)
        return -1;
    msg->frozen = (int) frozen;
    msg->thawed = (int) thawed;
    if (!msg->ok)
        return get_string(obj, "error", true, &msg->error, errbuf, errlen) < 0 ? -1 : 0;
    return 0;
}

static int extract_prepare_image(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    int64_t thaw_after = THAW_AFTER_DEFAULT;
    if (get_id(obj, msg, errbuf, errlen) < 0 ||
        get_bool(obj, "freeze", false, &msg->freeze, errbuf, errlen) < 0 ||
        get_bool(obj, "generalize", false, &msg->generalize, errbuf, errlen) < 0 ||
        get_int(obj, "thaw_after", false, 1, THAW_AFTER_MAX, &thaw_after, errbuf, errlen) < 0)
        return -1;
    msg->thaw_after = (int) thaw_after;
    return 0;
}

static int extract_fields(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    switch (msg->type) {
    case NUBE_MSG_HELLO:
        return extract_hello(obj, msg, errbuf, errlen);
    case NUBE_MSG_BOOT_COMPLETE:
        return extract_boot_complete(obj, msg, errbuf, errlen);
    case NUBE_MSG_USERDATA:
        return extract_userdata(obj, msg, errbuf, errlen);
    case NUBE_MSG_HEARTBEAT:
        return get_number(obj, "uptime", true, &msg->uptime, errbuf, errlen) < 0 ? -1 : 0;
    case NUBE_MSG_RESULT:
        return extract_result(obj, msg, errbuf, errlen);
    case NUBE_MSG_PING:
    case NUBE_MSG_THAW:
        return get_id(obj, msg, errbuf, errlen) < 0 ? -1 : 0;
    case NUBE_MSG_PREPARE_IMAGE:
        return extract_prepare_image(obj, msg, errbuf, errlen);
    case NUBE_MSG_SHUTDOWN:
        if (get_id(obj, msg, errbuf, errlen) < 0)
            return -1;
        return get_string(obj, "mode", true, &msg->mode, errbuf, errlen) < 0 ? -1 : 0;
    case NUBE_MSG_INVALID:
        break;
    }
    return fail(errbuf, errlen, "invalid message type");
}

static NubeMsgType type_from_name(const char *name)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (type_names[i] != NULL && strcmp(type_names[i], name) == 0)
            return (NubeMsgType) i;
    return NUBE_MSG_INVALID;
}

static int extract_header(json_object *obj, NubeMsg *msg, char *errbuf, size_t errlen)
{
    json_object *v, *t;
    if (field(obj, "v", json_type_int, true, &v, errbuf, errlen) < 0)
        return -1;
    if (json_object_get_int64(v) != NUBE_AGENT_PROTO_VERSION)
        return fail(errbuf, errlen, "unsupported protocol version");
    if (field(obj, "type", json_type_string, true, &t, errbuf, errlen) < 0)
        return -1;
    msg->type = type_from_name(json_object_get_string(t));
    if (msg->type == NUBE_MSG_INVALID)
        return fail(errbuf, errlen, "unknown message type");
    return 0;
}

/* ---- field values, for both directions ---- */

static bool one_of(const char *s, const char *const *set)
{
    for (size_t i = 0; s != NULL && set[i] != NULL; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

/* S is a string of 1..MAX bytes (0..MAX when EMPTY_OK) of valid UTF-8. */
static int check_string(const char *key, const char *s, size_t max, bool empty_ok, char *errbuf,
                        size_t errlen)
{
    if (s == NULL)
        return fail(errbuf, errlen, "missing field '%s'", key);
    size_t len = strlen(s);
    if (len == 0 && !empty_ok)
        return fail(errbuf, errlen, "field '%s' is empty", key);
    if (len > max)
        return fail(errbuf, errlen, "field '%s' is longer than %zu bytes", key, max);
    if (!nube_utf8_valid(s, len))
        return fail(errbuf, errlen, "field '%s' is not UTF-8", key);
    return 0;
}

static int check_enum(const char *key, const char *s, const char *const *set, char *errbuf,
                      size_t errlen)
{
    if (s == NULL)
        return fail(errbuf, errlen, "missing field '%s'", key);
    if (!one_of(s, set))
        return fail(errbuf, errlen, "field '%s' has an unknown value", key);
    return 0;
}

static int check_seconds(const char *key, double d, char *errbuf, size_t errlen)
{
    if (!isfinite(d) || d < 0)
        return fail(errbuf, errlen, "field '%s' is not a finite number >= 0", key);
    return 0;
}

static bool boot_id_valid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        if (dash ? s[i] != '-' : !hex)
            return false;
    }
    return true;
}

static int check_id(int64_t id, char *errbuf, size_t errlen)
{
    if (id < 1 || id > MAX_ID)
        return fail(errbuf, errlen, "field 'id' is out of range");
    return 0;
}

static int check_hello(const NubeMsg *m, char *errbuf, size_t errlen)
{
    if (check_string("agent", m->agent_version, NUBE_AGENT_MAX_SHORT, false, errbuf, errlen) < 0 ||
        check_string("kernel", m->kernel, NUBE_AGENT_MAX_SHORT, false, errbuf, errlen) < 0 ||
        check_seconds("uptime", m->uptime, errbuf, errlen) < 0)
        return -1;
    if (!boot_id_valid(m->boot_id))
        return fail(errbuf, errlen, "field 'boot_id' is not a lowercase UUID");
    return 0;
}

static int check_userdata(const NubeMsg *m, char *errbuf, size_t errlen)
{
    if (m->phase != NUBE_USERDATA_STARTED && m->phase != NUBE_USERDATA_FINISHED)
        return fail(errbuf, errlen, "field 'phase' is not 'started' or 'finished'");
    if (check_enum("runner", m->runner, runners, errbuf, errlen) < 0)
        return -1;
    if (m->phase == NUBE_USERDATA_STARTED)
        return 0;
    if (check_enum("status", m->status, statuses, errbuf, errlen) < 0 ||
        check_seconds("duration", m->duration, errbuf, errlen) < 0)
        return -1;
    if (m->has_exit_code && (m->exit_code < 0 || m->exit_code > 255))
        return fail(errbuf, errlen, "field 'exit_code' is out of range");
    if (m->log != NULL && check_string("log", m->log, NUBE_AGENT_MAX_LOG, true, errbuf, errlen) < 0)
        return -1;
    if (strcmp(m->status, "failed") == 0)
        return check_string("error", m->error, NUBE_AGENT_MAX_ERROR, false, errbuf, errlen);
    return 0;
}

static int check_result(const NubeMsg *m, char *errbuf, size_t errlen)
{
    if (check_id(m->id, errbuf, errlen) < 0)
        return -1;
    if (m->frozen < 0 || m->thawed < 0)
        return fail(errbuf, errlen, "field 'frozen' or 'thawed' is negative");
    if (!m->ok)
        return check_string("error", m->error, NUBE_AGENT_MAX_ERROR, false, errbuf, errlen);
    return 0;
}

static int check_msg(const NubeMsg *m, char *errbuf, size_t errlen)
{
    switch (m->type) {
    case NUBE_MSG_HELLO:
        return check_hello(m, errbuf, errlen);
    case NUBE_MSG_BOOT_COMPLETE:
        if (check_enum("state", m->system_state, system_states, errbuf, errlen) < 0)
            return -1;
        return check_seconds("uptime", m->uptime, errbuf, errlen);
    case NUBE_MSG_USERDATA:
        return check_userdata(m, errbuf, errlen);
    case NUBE_MSG_HEARTBEAT:
        return check_seconds("uptime", m->uptime, errbuf, errlen);
    case NUBE_MSG_RESULT:
        return check_result(m, errbuf, errlen);
    case NUBE_MSG_PING:
    case NUBE_MSG_THAW:
        return check_id(m->id, errbuf, errlen);
    case NUBE_MSG_PREPARE_IMAGE:
        if (m->thaw_after < 1 || m->thaw_after > THAW_AFTER_MAX)
            return fail(errbuf, errlen, "field 'thaw_after' is out of range");
        return check_id(m->id, errbuf, errlen);
    case NUBE_MSG_SHUTDOWN:
        if (check_enum("mode", m->mode, modes, errbuf, errlen) < 0)
            return -1;
        return check_id(m->id, errbuf, errlen);
    case NUBE_MSG_INVALID:
        break;
    }
    return fail(errbuf, errlen, "invalid message type");
}

/* ---- parse ---- */

static json_object *parse_json(const char *line, size_t len, char *errbuf, size_t errlen)
{
    size_t members = 0;
    if (!scan_object(line, len, &members)) {
        fail(errbuf, errlen, "not a JSON object");
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(MAX_DEPTH + 2);
    if (tok == NULL) {
        fail(errbuf, errlen, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, line, (int) len);
    json_tokener_free(tok);
    if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        fail(errbuf, errlen, "not a JSON object");
        return NULL;
    }
    if ((size_t) json_object_object_length(obj) != members) {
        json_object_put(obj);
        fail(errbuf, errlen, "duplicate field");
        return NULL;
    }
    return obj;
}

int nube_msg_parse(const char *line, size_t len, NubeMsg *msg, char *errbuf, size_t errlen)
{
    nube_msg_init(msg);
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    if (line == NULL)
        return fail(errbuf, errlen, "no line");
    /* The limit counts the newline, whether the caller kept it or not. */
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len + 1 > NUBE_AGENT_MAX_LINE)
        return fail(errbuf, errlen, "line longer than %d bytes", NUBE_AGENT_MAX_LINE);
    if (memchr(line, '\0', len) != NULL)
        return fail(errbuf, errlen, "NUL byte in the line");
    if (!nube_utf8_valid(line, len))
        return fail(errbuf, errlen, "line is not UTF-8");

    json_object *obj = parse_json(line, len, errbuf, errlen);
    if (obj == NULL)
        return -1;
    int r = extract_header(obj, msg, errbuf, errlen);
    if (r == 0)
        r = extract_fields(obj, msg, errbuf, errlen);
    if (r == 0)
        r = check_msg(msg, errbuf, errlen);
    json_object_put(obj);
    if (r < 0) {
        if (msg->type != NUBE_MSG_INVALID && errbuf != NULL && errlen > 0) {
            char reason[256];
            snprintf(reason, sizeof(reason), "%s", errbuf);
            fail(errbuf, errlen, "%s: %s", nube_msg_type_name(msg->type), reason);
        }
        nube_msg_clear(msg);
        return -1;
    }
    return 0;
}

/* ---- format ---- */

/* The shortest of %.15g..%.17g that reads back as D, with '.' whatever
 * the locale. */
static json_object *new_seconds(double d)
{
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    for (char *p = buf; *p != '\0'; p++)
        if (*p == ',')
            *p = '.';
    return json_object_new_double_s(d, buf);
}

static void add(json_object *obj, const char *key, json_object *value)
{
    json_object_object_add(obj, key, value);
}

static void add_str(json_object *obj, const char *key, const char *s)
{
    add(obj, key, json_object_new_string(s));
}

static void add_fields(json_object *o, const NubeMsg *m)
{
    switch (m->type) {
    case NUBE_MSG_HELLO:
        add_str(o, "agent", m->agent_version);
        add_str(o, "boot_id", m->boot_id);
        add_str(o, "kernel", m->kernel);
        add(o, "uptime", new_seconds(m->uptime));
        add(o, "cloud_init", json_object_new_boolean(m->cloud_init));
        break;
    case NUBE_MSG_BOOT_COMPLETE:
        add_str(o, "state", m->system_state);
        add(o, "uptime", new_seconds(m->uptime));
        break;
    case NUBE_MSG_USERDATA:
        add_str(o, "phase", m->phase == NUBE_USERDATA_STARTED ? "started" : "finished");
        add_str(o, "runner", m->runner);
        if (m->phase == NUBE_USERDATA_STARTED)
            break;
        add_str(o, "status", m->status);
        if (m->has_exit_code)
            add(o, "exit_code", json_object_new_int(m->exit_code));
        add(o, "duration", new_seconds(m->duration));
        if (strcmp(m->status, "failed") == 0)
            add_str(o, "error", m->error);
        if (m->log != NULL)
            add_str(o, "log", m->log);
        break;
    case NUBE_MSG_HEARTBEAT:
        add(o, "uptime", new_seconds(m->uptime));
        break;
    case NUBE_MSG_RESULT:
        add(o, "ok", json_object_new_boolean(m->ok));
        if (!m->ok)
            add_str(o, "error", m->error);
        if (m->frozen > 0)
            add(o, "frozen", json_object_new_int(m->frozen));
        if (m->thawed > 0)
            add(o, "thawed", json_object_new_int(m->thawed));
        break;
    case NUBE_MSG_PREPARE_IMAGE:
        add(o, "freeze", json_object_new_boolean(m->freeze));
        add(o, "generalize", json_object_new_boolean(m->generalize));
        add(o, "thaw_after", json_object_new_int(m->thaw_after));
        break;
    case NUBE_MSG_SHUTDOWN:
        add_str(o, "mode", m->mode);
        break;
    case NUBE_MSG_PING:
    case NUBE_MSG_THAW:
    case NUBE_MSG_INVALID:
        break;
    }
}

static bool has_id(NubeMsgType type)
{
    return type >= NUBE_MSG_RESULT && type <= NUBE_MSG_SHUTDOWN;
}

char *nube_msg_format(const NubeMsg *msg)
{
    char errbuf[256];
    if (msg == NULL || check_msg(msg, errbuf, sizeof(errbuf)) < 0)
        return NULL;

    json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    add(o, "v", json_object_new_int(NUBE_AGENT_PROTO_VERSION));
    add_str(o, "type", nube_msg_type_name(msg->type));
    if (has_id(msg->type))
        add(o, "id", json_object_new_int64(msg->id));
    add_fields(o, msg);

    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char *line = NULL;
    if (s != NULL && len + 1 <= NUBE_AGENT_MAX_LINE && (line = malloc(len + 2)) != NULL) {
        memcpy(line, s, len);
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    json_object_put(o);
    return line;
}

/* ---- equality ---- */

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool nube_msg_equal(const NubeMsg *a, const NubeMsg *b)
{
    return a->type == b->type && a->id == b->id && str_eq(a->agent_version, b->agent_version) &&
           str_eq(a->boot_id, b->boot_id) && str_eq(a->kernel, b->kernel) &&
           a->cloud_init == b->cloud_init && a->uptime == b->uptime &&
           str_eq(a->system_state, b->system_state) && a->phase == b->phase &&
           str_eq(a->runner, b->runner) && str_eq(a->status, b->status) &&
           a->has_exit_code == b->has_exit_code && a->exit_code == b->exit_code &&
           a->duration == b->duration && str_eq(a->error, b->error) && str_eq(a->log, b->log) &&
           a->ok == b->ok && a->frozen == b->frozen && a->thawed == b->thawed &&
           a->freeze == b->freeze && a->generalize == b->generalize &&
           a->thaw_after == b->thaw_after && str_eq(a->mode, b->mode);
}

/* ---- session ---- */

void nube_session_init(NubeSession *s)
{
    memset(s, 0, sizeof(*s));
}

static int accept_userdata(NubeSession *s, const NubeMsg *msg, char *errbuf, size_t errlen)
{
    if (msg->phase == NUBE_USERDATA_STARTED) {
        if (s->userdata_started)
            return fail(errbuf, errlen, "userdata started twice in one session");
        s->userdata_started = true;
        snprintf(s->runner, sizeof(s->runner), "%s", msg->runner);
        return 0;
    }
    if (!s->userdata_started)
        return fail(errbuf, errlen, "userdata finished before userdata started");
    if (msg->runner == NULL || strcmp(s->runner, msg->runner) != 0)
        return fail(errbuf, errlen, "userdata finished by another runner than the one started");
    return 0;
}

int nube_session_accept(NubeSession *s, const NubeMsg *msg, char *errbuf, size_t errlen)
{
    if (msg == NULL || !nube_msg_from_guest(msg->type))
        return fail(errbuf, errlen, "'%s' is not a message a guest sends",
                    msg ? nube_msg_type_name(msg->type) : "(null)");
    if (msg->type == NUBE_MSG_HELLO) {
        nube_session_init(s);
        s->hello = true;
        return 0;
    }
    if (!s->hello)
        return fail(errbuf, errlen, "'%s' before hello", nube_msg_type_name(msg->type));
    if (msg->type == NUBE_MSG_USERDATA)
        return accept_userdata(s, msg, errbuf, errlen);
    return 0;
}
