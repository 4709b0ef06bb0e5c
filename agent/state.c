/*
 * state.c: what the agent keeps across boots (see state.h).
 */
#include "state.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define INSTANCE_ID_FILE "instance-id"
#define REPORT_FILE      "userdata.json"
#define SCRIPT_FILE      "user-data"
#define REPORT_MAX       (NUBE_AGENT_MAX_LINE + 128)

int agent_state_open(AgentState *st, const char *dir, const char *boot_id)
{
    memset(st, 0, sizeof(*st));
    st->dirfd = -1;
    snprintf(st->boot_id, sizeof(st->boot_id), "%s", boot_id);
    int r = agent_mkdir_p(dir, 0700);
    if (r < 0)
        return r;
    st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0)
        return -errno;
    st->dir = strdup(dir);
    return st->dir ? 0 : -ENOMEM;
}

void agent_state_close(AgentState *st)
{
    if (st->dirfd >= 0)
        close(st->dirfd);
    free(st->dir);
    free(st->instance_id);
    free(st->report);
    memset(st, 0, sizeof(*st));
    st->dirfd = -1;
}

static int read_at(AgentState *st, const char *name, size_t max, char **data)
{
    _cleanup_close_ int fd = openat(st->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len;
    return agent_read_fd(fd, max, data, &len, NULL);
}

char *agent_state_instance_id(AgentState *st)
{
    char *id = NULL;
    if (read_at(st, INSTANCE_ID_FILE, 1024, &id) < 0)
        return NULL;
    agent_strip(id);
    return id;
}

void agent_state_new_instance(AgentState *st, const char *id)
{
    free(st->instance_id);
    free(st->report);
    st->instance_id = strdup(id);
    st->report = NULL;
    st->id_dirty = st->report_dirty = true;
    agent_state_sync(st);
}

static void report_boot_id(const char *text, bool *same_boot, const char *boot_id)
{
    json_object *obj = json_tokener_parse(text), *v = NULL;
    *same_boot = obj != NULL && json_object_object_get_ex(obj, "boot_id", &v) &&
                 json_object_is_type(v, json_type_string) &&
                 strcmp(json_object_get_string(v), boot_id) == 0;
    json_object_put(obj);
}

int agent_state_load_report(AgentState *st, NubeMsg *report, bool *same_boot)
{
    _cleanup_free_ char *text = NULL;
    int r = read_at(st, REPORT_FILE, REPORT_MAX, &text);
    if (r < 0)
        return r;
    char err[256];
    if (nube_msg_parse(text, strlen(text), report, err, sizeof(err)) < 0 ||
        report->type != NUBE_MSG_USERDATA) {
        log_warn("ignoring '%s/%s': %s", st->dir, REPORT_FILE,
                 report->type == NUBE_MSG_INVALID ? err : "not a userdata message");
        nube_msg_clear(report);
        return -EINVAL;
    }
    report_boot_id(text, same_boot, st->boot_id);
    return 0;
}

/* The wire line of REPORT with "boot_id" added before its closing brace. */
static char *report_text(const NubeMsg *report, const char *boot_id)
{
    _cleanup_free_ char *line = nube_msg_format(report);
    if (line == NULL)
        return NULL;
    char *brace = strrchr(line, '}');
    if (brace == NULL)
        return NULL;
    *brace = '\0';
    char *text = NULL;
    if (asprintf(&text, "%s,\"boot_id\":\"%s\"}\n", line, boot_id) < 0)
        return NULL;
    return text;
}

void agent_state_set_report(AgentState *st, const NubeMsg *report)
{
    char *text = report_text(report, st->boot_id);
    if (text == NULL) {
        log_warn("cannot store a user-data report that does not format");
        return;
    }
    free(st->report);
    st->report = text;
    st->report_dirty = true;
    agent_state_sync(st);
}

char *agent_state_write_script(AgentState *st, const char *data, size_t len)
{
    int r = agent_write_atomic(st->dirfd, SCRIPT_FILE, data, len, 0700);
    if (r < 0) {
        errno = -r;
        return NULL;
    }
    char *path = NULL;
    if (asprintf(&path, "%s/%s", st->dir, SCRIPT_FILE) < 0)
        return NULL;
    return path;
}

static void remove_file(AgentState *st, const char *name)
{
    if (unlinkat(st->dirfd, name, 0) < 0 && errno != ENOENT)
        log_warn("remove '%s/%s': %s", st->dir, name, strerror(errno));
}

void agent_state_forget(AgentState *st)
{
    remove_file(st, INSTANCE_ID_FILE);
    remove_file(st, REPORT_FILE);
    remove_file(st, SCRIPT_FILE);
    (void) fsync(st->dirfd);
    st->disabled = true;
    st->id_dirty = st->report_dirty = false;
}

void agent_state_hold(AgentState *st, bool hold)
{
    st->hold = hold;
    agent_state_sync(st);
}

static void write_file(AgentState *st, const char *name, const char *text)
{
    int r = agent_write_atomic(st->dirfd, name, text, strlen(text), 0600);
    if (r < 0)
        log_warn("write '%s/%s': %s", st->dir, name, strerror(-r));
}

void agent_state_sync(AgentState *st)
{
    if (st->hold || st->disabled)
        return;
    /* The old instance's report goes before the new id is written, so no
     * crash can leave that report under the new id. */
    if (st->report_dirty && st->report == NULL) {
        remove_file(st, REPORT_FILE);
        remove_file(st, SCRIPT_FILE);
        (void) fsync(st->dirfd);
    }
    if (st->id_dirty && st->instance_id != NULL) {
        char *text = NULL;
        if (asprintf(&text, "%s\n", st->instance_id) >= 0)
            write_file(st, INSTANCE_ID_FILE, text);
        free(text);
    }
    if (st->report_dirty && st->report != NULL)
        write_file(st, REPORT_FILE, st->report);
    st->id_dirty = st->report_dirty = false;
}
