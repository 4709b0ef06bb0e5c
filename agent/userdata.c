/*
 * userdata.c: running and reporting the instance's user data (see
 * userdata.h).
 */
#include "userdata.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define TAIL_LINES      20
#define HELD_MAX        65536
#define CI_STATUS       "/run/cloud-init/status.json"
#define CI_RESULT       "/run/cloud-init/result.json"
#define CI_OUTPUT_LOG   "/var/log/cloud-init-output.log"
#define ERR_NOT_SCRIPT  "user data is not a #! script and this image has no cloud-init"
#define ERR_INTERRUPTED "interrupted: the guest rebooted while the user data ran"
#define ERR_RESTARTED   "interrupted: the agent restarted while the user data ran"

static char *const script_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
    NULL,
};

static void send(AgentUserdata *u, const NubeMsg *msg)
{
    if (u->send != NULL)
        u->send(u->send_ctx, msg);
}

static void make_started(const AgentUserdata *u, NubeMsg *msg)
{
    nube_msg_init(msg);
    msg->type = NUBE_MSG_USERDATA;
    msg->phase = NUBE_USERDATA_STARTED;
    msg->runner = (char *) u->runner;
}

static void report_started(AgentUserdata *u)
{
    NubeMsg msg;
    make_started(u, &msg);
    u->started = true;
    agent_state_set_report(u->state, &msg);
    log_info("user data started (runner %s)", u->runner);
    send(u, &msg);
}

/* Shortens the log (keeping its end) until the report fits in a line:
 * escaped control characters can make 8 KiB of log longer than that. */
static void fit_report(NubeMsg *msg)
{
    for (;;) {
        _cleanup_free_ char *line = nube_msg_format(msg);
        if (line != NULL || msg->log == NULL)
            return;
        size_t len = strlen(msg->log), from = len / 2;
        while (from < len && ((unsigned char) msg->log[from] & 0xc0) == 0x80)
            from++;
        if (from == 0 || from == len) {
            free(msg->log);
            msg->log = NULL;
            continue;
        }
        memmove(msg->log, msg->log + from, len - from + 1);
    }
}

/* S as valid UTF-8 cut to at most MAX bytes (keeping its start). */
static char *clip(const char *s, size_t max)
{
    char *out = agent_utf8_repair(s, strlen(s));
    if (out == NULL || strlen(out) <= max)
        return out;
    size_t n = max;
    while (n > 0 && ((unsigned char) out[n] & 0xc0) == 0x80)
        n--;
    out[n] = '\0';
    return out;
}

/*
 * Reports finished: STATUS_OK, the exit code (EXIT_CODE < 0: none),
 * DURATION, ERROR (NULL unless failed) and LOG (taken over, may be NULL).
 */
static void report_finished(AgentUserdata *u, bool ok, int exit_code, double duration,
                            const char *error, char *log)
{
    if (!u->started)
        report_started(u);
    NubeMsg *m = &u->report;
    nube_msg_clear(m);
    m->type = NUBE_MSG_USERDATA;
    m->phase = NUBE_USERDATA_FINISHED;
    m->runner = strdup(u->runner);
    m->status = strdup(ok ? "succeeded" : "failed");
    m->has_exit_code = exit_code >= 0;
    m->exit_code = exit_code >= 0 ? exit_code : 0;
    m->duration = duration >= 0 ? round(duration * 1000) / 1000 : 0; /* ms: enough, and short */
    m->error = ok ? NULL : clip(error, NUBE_AGENT_MAX_ERROR);
    m->log = log;
    fit_report(m);
    u->finished = true;
    u->pending = false;
    agent_state_set_report(u->state, m);
    log_info("user data finished: %s%s%s", m->status, ok ? "" : ": ", ok ? "" : m->error);
    send(u, m);
}

/* ---- the stored report ---- */

static void load_report(AgentUserdata *u)
{
    bool same_boot = false;
    if (agent_state_load_report(u->state, &u->report, &same_boot) < 0)
        return;
    /* Replayed as it was made, whatever the runner of this boot. */
    u->runner = strcmp(u->report.runner, "agent") == 0 ? "agent" : "cloud-init";
    if (u->report.phase == NUBE_USERDATA_FINISHED) {
        u->started = u->finished = true;
        return;
    }
    /* Started and never finished: the run was cut short. */
    nube_msg_clear(&u->report);
    u->started = true;
    report_finished(u, false, -1, 0, same_boot ? ERR_RESTARTED : ERR_INTERRUPTED, NULL);
}

void agent_userdata_init(AgentUserdata *u)
{
    nube_msg_init(&u->report);
    u->child = (AgentChild){ 0, -1 };
    u->console_fd = u->log_fd = -1;
}

void agent_userdata_load(AgentUserdata *u, AgentSeed *seed)
{
    if (seed == NULL) {
        log_info("no seed: no user data to run");
        return;
    }
    _cleanup_free_ char *stored = agent_state_instance_id(u->state);
    if (stored == NULL || strcmp(stored, seed->instance_id) != 0) {
        log_info("new instance '%s'", seed->instance_id);
        agent_state_new_instance(u->state, seed->instance_id);
    } else {
        load_report(u);
    }
    u->user_data = TAKE_PTR(seed->user_data);
    u->user_data_len = seed->user_data_len;
    u->user_data_too_big = seed->user_data_too_big;
    if (!u->started && (u->user_data_len > 0 || u->user_data_too_big)) {
        u->pending = true;
        u->poll_at = agent_now();
    } else if (!u->started) {
        log_info("no user data");
    }
}

void agent_userdata_clear(AgentUserdata *u)
{
    if (u->child.out_fd >= 0)
        close(u->child.out_fd);
    if (u->console_fd >= 0)
        close(u->console_fd);
    if (u->log_fd >= 0)
        close(u->log_fd);
    free(u->user_data);
    free(u->held);
    nube_msg_clear(&u->report);
}

void agent_userdata_replay(AgentUserdata *u)
{
    if (!u->started)
        return;
    NubeMsg started;
    make_started(u, &started);
    send(u, &started);
    if (u->finished)
        send(u, &u->report);
}

/* ---- runner "agent" ---- */

static void open_outputs(AgentUserdata *u)
{
    if (u->console != NULL)
        u->console_fd = open(u->console, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    u->log_fd = open(u->log_file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (u->log_fd < 0)
        log_warn("open '%s': %s", u->log_file, strerror(errno));
}

static void fail_now(AgentUserdata *u, const char *fmt, ...) PRINTF(2, 3);

static void fail_now(AgentUserdata *u, const char *fmt, ...)
{
    char error[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, sizeof(error), fmt, ap);
    va_end(ap);
    report_finished(u, false, -1, 0, error, NULL);
}

static void start_script(AgentUserdata *u, double now)
{
    if (u->user_data_too_big)
        return fail_now(u, "user data is larger than %d bytes", AGENT_USER_DATA_MAX);
    if (u->user_data_len < 2 || memcmp(u->user_data, "#!", 2) != 0)
        return fail_now(u, "%s", ERR_NOT_SCRIPT);
    _cleanup_free_ char *path = agent_state_write_script(u->state, u->user_data, u->user_data_len);
    if (path == NULL)
        return fail_now(u, "write the user data script: %s", strerror(errno));

    const char *argv[] = { path, NULL };
    AgentSpawnOptions opts = {
        .capture = true, .capture_stderr = true, .new_pgrp = true, .envp = script_env
    };
    int r = agent_spawn(&u->child, argv, &opts);
    if (r < 0)
        return fail_now(u, "run the user data script: %s", strerror(-r));
    u->start = now;
    u->tail_len = 0;
    open_outputs(u);
    report_started(u);
}

static void keep_tail(AgentUserdata *u, const char *p, size_t n)
{
    size_t cap = sizeof(u->tail);
    if (n > cap) {
        p += n - cap;
        n = cap;
    }
    if (u->tail_len + n > cap) {
        size_t drop = u->tail_len + n - cap;
        memmove(u->tail, u->tail + drop, u->tail_len - drop);
        u->tail_len -= drop;
    }
    memcpy(u->tail + u->tail_len, p, n);
    u->tail_len += n;
}

static void hold_output(AgentUserdata *u, const char *p, size_t n)
{
    if (u->held_len + n > HELD_MAX)
        return; /* the log file misses it; the console and the tail have it */
    char *bigger = realloc(u->held, u->held_len + n);
    if (bigger == NULL)
        return;
    memcpy(bigger + u->held_len, p, n);
    u->held = bigger;
    u->held_len += n;
}

static void take_output(AgentUserdata *u, const char *p, size_t n, bool frozen)
{
    keep_tail(u, p, n);
    if (u->console_fd >= 0 && agent_write_all(u->console_fd, p, n) < 0) {
        close(u->console_fd);
        u->console_fd = -1;
    }
    if (frozen)
        hold_output(u, p, n);
    else if (u->log_fd >= 0)
        (void) agent_write_all(u->log_fd, p, n);
}

/* Reads what the script wrote; closes the pipe at its end. */
static void read_output(AgentUserdata *u, bool frozen)
{
    for (;;) {
        char buf[4096];
        ssize_t n = read(u->child.out_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close(u->child.out_fd);
            u->child.out_fd = -1;
            return;
        }
        take_output(u, buf, (size_t) n, frozen);
    }
}

static void console_line(AgentUserdata *u, const char *status, const char *how, double duration)
{
    if (u->console_fd < 0)
        return;
    char line[256];
    int n = snprintf(line, sizeof(line), "nube-agent: user data finished: %s (%s) in %.1f s\n",
                     status, how, duration);
    (void) agent_write_all(u->console_fd, line, (size_t) n);
}

static void script_ended(AgentUserdata *u, int status, double now, bool frozen)
{
    if (u->child.out_fd >= 0) {
        read_output(u, frozen); /* what it wrote before it ended */
        if (u->child.out_fd >= 0)
            close(u->child.out_fd);
    }
    u->child = (AgentChild){ 0, -1 };
    double duration = now - u->start;
    bool exited = WIFEXITED(status);
    int code = exited ? WEXITSTATUS(status) : -1;
    char error[128] = "", how[64];
    if (exited)
        snprintf(how, sizeof(how), "exit %d", code);
    else
        snprintf(how, sizeof(how), "signal %d", WTERMSIG(status));
    if (exited && code != 0)
        snprintf(error, sizeof(error), "user data script exited with status %d", code);
    else if (!exited)
        snprintf(error, sizeof(error), "user data script was killed by signal %d",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    bool ok = error[0] == '\0';
    console_line(u, ok ? "succeeded" : "failed", how, duration);
    if (u->console_fd >= 0)
        close(u->console_fd);
    u->console_fd = -1;
    if (u->log_fd >= 0 && !frozen) {
        close(u->log_fd);
        u->log_fd = -1;
    }
    report_finished(u, ok, code, duration, error,
                    agent_tail_lines(u->tail, u->tail_len, TAIL_LINES, NUBE_AGENT_MAX_LOG));
}

int agent_userdata_fd(const AgentUserdata *u)
{
    return u->child.out_fd;
}

void agent_userdata_handle(AgentUserdata *u, bool readable, double now, bool frozen)
{
    if (u->child.pid == 0)
        return;
    if (readable && u->child.out_fd >= 0)
        read_output(u, frozen);
    int status;
    pid_t p = waitpid(u->child.pid, &status, WNOHANG);
    if (p == u->child.pid)
        script_ended(u, status, now, frozen);
}

void agent_userdata_thawed(AgentUserdata *u)
{
    if (u->held_len > 0 && u->log_fd >= 0)
        (void) agent_write_all(u->log_fd, u->held, u->held_len);
    free(u->held);
    u->held = NULL;
    u->held_len = 0;
    if (u->log_fd >= 0 && u->child.pid == 0) {
        close(u->log_fd);
        u->log_fd = -1;
    }
}

/* ---- runner "cloud-init" ---- */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static json_object *path_get(json_object *obj, const char *a, const char *b)
{
    json_object *v = NULL;
    if (obj == NULL || !json_object_object_get_ex(obj, a, &v))
        return NULL;
    if (b != NULL && (v == NULL || !json_object_object_get_ex(v, b, &v)))
        return NULL;
    return v;
}

static bool get_time(json_object *final, const char *key, double *out)
{
    json_object *v = NULL;
    if (final == NULL || !json_object_object_get_ex(final, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return false;
    *out = json_object_get_double(v);
    return *out > 0;
}

/* "; "-joined errors of result.json (malloc'd; "" when none). */
static char *join_errors(json_object *errors)
{
    size_t n = json_object_is_type(errors, json_type_array) ? json_object_array_length(errors) : 0;
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(json_object_get_string(json_object_array_get_idx(errors, i))) + 2;
    char *out = calloc(1, cap);
    for (size_t i = 0; out != NULL && i < n; i++) {
        if (i > 0)
            strcat(out, "; ");
        strcat(out, json_object_get_string(json_object_array_get_idx(errors, i)));
    }
    return out;
}

static void cloud_init_finished(AgentUserdata *u, json_object *result, json_object *final)
{
    _cleanup_free_ char *errors = join_errors(path_get(result, "v1", "errors"));
    double start = u->ci_start, end = 0;
    double duration = 0;
    if (get_time(final, "finished", &end) && start > 0 && end >= start)
        duration = end - start;
    else if (start > 0)
        duration = wall_now() - start;
    bool ok = errors != NULL && errors[0] == '\0';
    report_finished(u, ok, -1, duration, errors ? errors : "cloud-init failed",
                    agent_tail_file(CI_OUTPUT_LOG, TAIL_LINES, NUBE_AGENT_MAX_LOG));
}

static void watch_cloud_init(AgentUserdata *u)
{
    json_object *status = json_object_from_file(CI_STATUS);
    json_object *final = path_get(status, "v1", "modules-final");
    double start;
    if (get_time(final, "start", &start)) {
        u->ci_start = start;
        if (!u->started)
            report_started(u);
    }
    /* Unreadable while cloud-init writes it: looked at again next time. */
    json_object *result = agent_exists(CI_RESULT) ? json_object_from_file(CI_RESULT) : NULL;
    if (result != NULL)
        cloud_init_finished(u, result, final);
    json_object_put(result);
    json_object_put(status);
}

/* ---- both ---- */

double agent_userdata_due(const AgentUserdata *u, bool booted, bool frozen)
{
    if (!u->pending || u->child.pid != 0)
        return 0;
    if (strcmp(u->runner, "cloud-init") == 0)
        return u->poll_at;
    return booted && !frozen && !u->started ? 0.000001 : 0;
}

void agent_userdata_tick(AgentUserdata *u, double now, bool booted, bool frozen)
{
    if (!u->pending || u->child.pid != 0)
        return;
    if (strcmp(u->runner, "cloud-init") == 0) {
        if (now >= u->poll_at) {
            u->poll_at = now + 1.0;
            watch_cloud_init(u);
        }
        return;
    }
    if (booted && !frozen && !u->started)
        start_script(u, now);
}
