/*
 * demo.c: progress lines, guest pages, consoles and waits of `nube demo`
 * (see demo.h).
 */
#include "demo.h"

#include "endpoint.h"
#include "images.h"
#include "instances.h"
#include "output.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TITLE_WIDTH      34
#define POLL_INTERVAL_US G_USEC_PER_SEC
#define CONSOLE_PEEK_US  (5 * G_USEC_PER_SEC)
#define PAGE_CONNECT_MS  2000L
#define PAGE_TIMEOUT_MS  3000L
#define PAGE_MAX_BYTES   (1u << 20)
#define DEMO_GUEST_PORT  80
#define RESTART_GRACE_S  30

/* ---- progress ------------------------------------------------------------ */

struct NubeCliDemoProgress {
    FILE *out;
    gboolean live;
    guint n_steps;
    guint step; /* 1-based; 0 before the first */
    char *title;
    char *status;
    gint64 started; /* monotonic µs */
    gboolean active;
    gboolean quit;
    GMutex lock;
    GCond wake;
    GThread *ticker;
};

static int terminal_columns(FILE *out)
{
    struct winsize ws = { 0 };
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

/* Redraws the live line (P->lock held), cut to the terminal's width so
 * that "\r" returns to its start. */
static void draw(NubeCliDemoProgress *p)
{
    gint64 secs = (g_get_monotonic_time() - p->started) / G_USEC_PER_SEC;
    g_autofree char *line =
        g_strdup_printf("[%u/%u] %-*s %6" G_GINT64_FORMAT " s  %s", p->step, p->n_steps,
                        TITLE_WIDTH, p->title, secs, p->status ? p->status : "");
    glong width = terminal_columns(p->out) - 1;
    if (g_utf8_strlen(line, -1) > width) {
        char *cut = g_utf8_substring(line, 0, width);
        g_free(line);
        line = cut;
    }
    fprintf(p->out, "\r\033[K%s", line);
    fflush(p->out);
}

static gpointer ticker_main(gpointer data)
{
    NubeCliDemoProgress *p = data;

    g_mutex_lock(&p->lock);
    while (!p->quit) {
        if (p->active)
            draw(p);
        g_cond_wait_until(&p->wake, &p->lock, g_get_monotonic_time() + G_USEC_PER_SEC);
    }
    g_mutex_unlock(&p->lock);
    return NULL;
}

NubeCliDemoProgress *nube_cli_demo_progress_new(FILE *out, gboolean live, guint n_steps)
{
    NubeCliDemoProgress *p = g_new0(NubeCliDemoProgress, 1);
    p->out = out;
    p->live = live;
    p->n_steps = n_steps;
    g_mutex_init(&p->lock);
    g_cond_init(&p->wake);
    if (live)
        p->ticker = g_thread_new("progress", ticker_main, p);
    return p;
}

void nube_cli_demo_progress_free(NubeCliDemoProgress *p)
{
    if (p == NULL)
        return;
    if (p->ticker != NULL) {
        g_mutex_lock(&p->lock);
        p->quit = TRUE;
        g_cond_signal(&p->wake);
        g_mutex_unlock(&p->lock);
        g_thread_join(p->ticker);
    }
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->wake);
    g_free(p->title);
    g_free(p->status);
    g_free(p);
}

gboolean nube_cli_demo_progress_live(const NubeCliDemoProgress *p)
{
    return p->live;
}

void nube_cli_demo_progress_begin(NubeCliDemoProgress *p, const char *title)
{
    g_mutex_lock(&p->lock);
    p->step++;
    g_free(p->title);
    p->title = g_strdup(title);
    g_clear_pointer(&p->status, g_free);
    p->started = g_get_monotonic_time();
    p->active = TRUE;
    if (p->live)
        draw(p);
    g_mutex_unlock(&p->lock);
}

char *nube_cli_demo_progress_where(const NubeCliDemoProgress *p)
{
    return g_strdup_printf("step %u/%u (%s)", p->step, p->n_steps, p->title ? p->title : "");
}

void nube_cli_demo_progress_status(NubeCliDemoProgress *p, const char *fmt, ...)
{
    va_list ap;

    if (!p->live)
        return;
    va_start(ap, fmt);
    char *status = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_mutex_lock(&p->lock);
    g_free(p->status);
    p->status = status;
    if (p->active)
        draw(p);
    g_mutex_unlock(&p->lock);
}

void nube_cli_demo_progress_note(NubeCliDemoProgress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    g_mutex_lock(&p->lock);
    if (p->live && p->active)
        fputs("\r\033[K", p->out);
    fprintf(p->out, "      %s\n", text);
    if (p->live && p->active)
        draw(p);
    fflush(p->out);
    g_mutex_unlock(&p->lock);
}

void nube_cli_demo_progress_end(NubeCliDemoProgress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *result = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    g_mutex_lock(&p->lock);
    double secs = (double) (g_get_monotonic_time() - p->started) / G_USEC_PER_SEC;
    fprintf(p->out, "%s[%u/%u] %-*s %8.1f s  %s\n", p->live ? "\r\033[K" : "", p->step, p->n_steps,
            TITLE_WIDTH, p->title, secs, result);
    fflush(p->out);
    p->active = FALSE;
    g_mutex_unlock(&p->lock);
}

/* ---- user data ------------------------------------------------------------- */

/* The script runs under cloud-init (scripts-user) as root; /bin/sh is dash. */
static const char install_script[] =
    "#!/bin/sh\n"
    "# nube demo, instance A: install Apache from the host's package repository\n"
    "# (the guest has no internet) and serve a page the host can recognize.\n"
    "set -eu\n"
    "echo 'nube-demo: installing apache2 from the host repository'\n"
    "mkdir -p /etc/apt/sources.list.d /etc/apt/nube-demo-disabled\n"
    "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do\n"
    "    if [ -f \"$f\" ]; then mv \"$f\" /etc/apt/nube-demo-disabled/; fi\n"
    "done\n"
    "echo '%s' > /etc/apt/sources.list.d/nube.list\n"
    "apt-get update\n"
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends apache2\n"
    "printf '%%s\\n' '<!doctype html>' '<title>nube demo</title>' '<h1>%s</h1>' "
    "> /var/www/html/index.html\n"
    "systemctl enable --now apache2\n"
    "echo 'nube-demo: apache2 serves the demo page'\n";

static const char relaunch_script[] =
    "#!/bin/sh\n"
    "# nube demo, instance B: launched from the image of A; installs nothing.\n"
    "echo 'nube-demo: apache2 comes from the image; nothing is installed at boot'\n";

/* Whether TEXT can sit between single quotes on one line of a script. */
static gboolean quotable(const char *text)
{
    return strpbrk(text, "'\n\r\\") == NULL && g_utf8_validate(text, -1, NULL);
}

char *nube_cli_demo_install_script(const char *apt_source, const char *marker, NubeError **err)
{
    if (!g_str_has_prefix(apt_source, "deb ") || !quotable(apt_source)) {
        nube_error_set(err, EPROTO, "unexpected apt source line '%s' from nubed", apt_source);
        return NULL;
    }
    if (!quotable(marker) || strpbrk(marker, "<>&") != NULL) {
        nube_error_set(err, EINVAL, "the page marker '%s' cannot be quoted", marker);
        return NULL;
    }
    return g_strdup_printf(install_script, apt_source, marker);
}

const char *nube_cli_demo_relaunch_script(void)
{
    return relaunch_script;
}

/* ---- the guest's page ------------------------------------------------------- */

typedef CURL DemoCurl;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DemoCurl, curl_easy_cleanup)

static size_t collect_page(char *data, size_t size, size_t n, void *user)
{
    GString *body = user;
    if (body->len + size * n > PAGE_MAX_BYTES)
        return 0;
    g_string_append_len(body, data, (gssize) (size * n));
    return size * n;
}

/* What a failed GET says about the guest, with user-mode networking's
 * port forward in between. */
static int page_error(CURLcode rc, const char *detail, NubeError **err)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return nube_error_set(err, ECONNREFUSED, "the host port is not open yet");
    case CURLE_OPERATION_TIMEDOUT:
        return nube_error_set(err, ETIMEDOUT,
                              "no answer in %ld ms (the guest's network is not up yet)",
                              PAGE_TIMEOUT_MS);
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return nube_error_set(err, ECONNRESET,
                              "connection reset (nothing listens on the guest's port 80 yet)");
    default:
        return nube_error_set(err, EIO, "%s", *detail ? detail : curl_easy_strerror(rc));
    }
}

int nube_cli_demo_page_get(const char *url, const char *marker, long *status, NubeError **err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    g_autoptr(GString) body = g_string_new(NULL);
    g_autoptr(DemoCurl) curl = curl_easy_init();

    *status = 0;
    if (curl == NULL)
        return nube_error_set(err, ENOMEM, "cannot create a libcurl handle");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, PAGE_CONNECT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, PAGE_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_page);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);

    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        return page_error(rc, errbuf, err);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    return *status == 200 && g_strstr_len(body->str, (gssize) body->len, marker) != NULL;
}

/* ---- the guest's console ---------------------------------------------------- */

/* LINE without CR, terminal escape sequences (ESC [ … final byte) and other
 * control characters. */
static void printable_line(GString *out, const char *line)
{
    for (const char *c = line; *c != '\0'; c++) {
        if (*c == '\033' && c[1] == '[') {
            c += 2;
            while (*c != '\0' && !(*c >= '@' && *c <= '~'))
                c++;
            if (*c == '\0')
                break;
            continue;
        }
        if ((unsigned char) *c >= 0x20 || *c == '\t')
            g_string_append_c(out, *c);
    }
}

static char *lines_tail(const char *text, guint n_lines)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(lines);
    GString *out = g_string_new(NULL);

    /* A final newline leaves an empty last element. */
    if (n > 0 && *lines[n - 1] == '\0')
        n--;
    for (guint i = n > n_lines ? n - n_lines : 0; i < n; i++) {
        printable_line(out, lines[i]);
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

char *nube_cli_demo_console_tail(NubeCliClient *client, const char *id, guint n_lines,
                                 NubeError **err)
{
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "InstanceId", id);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "GetConsoleOutput", params, err);
    if (reply == NULL)
        return NULL;
    g_autofree char *encoded = nube_cli_reply_text(reply, NULL, "ec2:output");
    gsize len = 0;
    g_autofree guchar *data = encoded ? g_base64_decode(g_strstrip(encoded), &len) : NULL;
    g_autofree char *text = g_utf8_make_valid(data ? (const char *) data : "", (gssize) len);
    return lines_tail(text, n_lines);
}

/* The last non-blank line of the console, for the live status, or NULL. */
static char *console_last_line(NubeCliClient *client, const char *id)
{
    g_autofree char *tail = nube_cli_demo_console_tail(client, id, 8, NULL);
    if (tail == NULL)
        return NULL;
    g_auto(GStrv) lines = g_strsplit(tail, "\n", -1);
    for (guint i = g_strv_length(lines); i > 0; i--) {
        g_strstrip(lines[i - 1]);
        if (*lines[i - 1] != '\0')
            return g_strdup(lines[i - 1]);
    }
    return NULL;
}

/* ---- waiting for the page -------------------------------------------------- */

void nube_cli_demo_page_clear(NubeCliDemoPage *page)
{
    g_free(page->url);
    g_free(page->userdata);
    g_free(page->runner);
    *page = (NubeCliDemoPage){ 0 };
}

typedef struct {
    const NubeCliDemoWait *w;
    const char *name;
    const char *id;
    const char *marker;
    NubeCliDemoPage *page;
    char *state;             /* last state seen */
    gboolean after_userdata; /* probe only once the user data is done */
    char *userdata;          /* last user-data state the agent reported */
    gboolean booted;         /* the agent reported the boot complete */
    char *last_try;          /* outcome of the last probe */
    char *console;           /* last console line (live only) */
    gint64 console_at;       /* when it was read */
    gint64 stopped_ok_until; /* monotonic µs until which stopped is expected */
} PageWatch;

static void page_watch_clear(PageWatch *pw)
{
    g_free(pw->state);
    g_free(pw->userdata);
    g_free(pw->last_try);
    g_free(pw->console);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PageWatch, page_watch_clear)

/* The loopback URL of the host port forwarded to the guest's port 80, or
 * NULL when the instance has none (yet). */
static char *page_url(JsonObject *instance, NubeError **err)
{
    JsonNode *node = json_object_get_member(instance, "NubePortForwards");
    JsonArray *forwards = node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;

    for (guint i = 0; forwards && i < json_array_get_length(forwards); i++) {
        JsonObject *fwd = json_array_get_object_element(forwards, i);
        if (json_object_get_int_member_with_default(fwd, "GuestPort", 0) != DEMO_GUEST_PORT)
            continue;
        const char *ip = json_object_get_string_member_with_default(fwd, "HostIp", "127.0.0.1");
        g_autofree char *url =
            g_strdup_printf(strchr(ip, ':') ? "http://[%s]:%" G_GINT64_FORMAT "/"
                                            : "http://%s:%" G_GINT64_FORMAT "/",
                            ip, json_object_get_int_member_with_default(fwd, "HostPort", 0));
        g_autoptr(NubeCliEndpoint) ep = nube_cli_endpoint_parse(url, err);
        if (ep == NULL)
            return NULL;
        if (!ep->loopback) {
            nube_error_set(err, EPERM, "port 80 is forwarded from '%s', not from loopback", ip);
            return NULL;
        }
        return g_steal_pointer(&url);
    }
    return NULL;
}

/* Notes state changes; fails when the instance will not come up. */
static int page_check_state(PageWatch *pw, JsonObject *instance, NubeError **err)
{
    g_autofree char *state = nube_cli_json_lookup(instance, "State.Name");

    if (g_strcmp0(state, pw->state) != 0) {
        nube_cli_demo_progress_note(pw->w->progress, "%s (%s) is %s", pw->name, pw->id,
                                    state ? state : "in no state");
        g_free(pw->state);
        pw->state = g_strdup(state);
    }
    if (g_strcmp0(state, "running") == 0 && pw->page->running_at == 0)
        pw->page->running_at = g_get_monotonic_time();
    if (g_strcmp0(state, "pending") == 0 || g_strcmp0(state, "running") == 0)
        return 0;
    if ((g_strcmp0(state, "stopping") == 0 || g_strcmp0(state, "stopped") == 0) &&
        g_get_monotonic_time() < pw->stopped_ok_until)
        return 0;
    g_autofree char *reason = nube_cli_json_lookup(instance, "StateReason.Message");
    return nube_error_set(err, ECANCELED, "instance '%s' is %s%s%s", pw->id,
                          state ? state : "in no state", reason ? ": " : "", reason ? reason : "");
}

/* Finds the page's URL once the instance shows its forwards. */
static int page_find_url(PageWatch *pw, JsonObject *instance, NubeError **err)
{
    g_autoptr(NubeError) url_err = NULL;

    if (pw->page->url != NULL)
        return 0;
    pw->page->url = page_url(instance, &url_err);
    if (url_err != NULL)
        return nube_error_propagate(err, g_steal_pointer(&url_err));
    if (pw->page->url != NULL) {
        nube_cli_demo_progress_note(pw->w->progress, "%s's port 80 is forwarded from %s", pw->name,
                                    pw->page->url);
        return 0;
    }
    if (g_strcmp0(pw->state, "running") == 0)
        return nube_error_set(
            err, ENOENT,
            "instance '%s' runs without a forward of its port 80 (does this nubed know NubeForwardPort?)",
            pw->id);
    return 0;
}

/*
 * Follows the guest agent's report.  Returns 1 when the page may be probed
 * (user data done, or no agent to tell), 0 to wait, or -errno with ERR
 * when the user data failed.
 */
static int page_check_agent(PageWatch *pw, JsonObject *instance, NubeError **err)
{
    g_autofree char *ud = nube_cli_json_lookup(instance, "NubeUserData.State");
    g_autofree char *complete = nube_cli_json_lookup(instance, "NubeAgent.BootCompleteTime");

    if (complete != NULL && !pw->booted) {
        g_autofree char *sys = nube_cli_json_lookup(instance, "NubeAgent.SystemState");
        nube_cli_demo_progress_note(pw->w->progress,
                                    "%s: the guest agent reports the boot complete (%s)", pw->name,
                                    sys ? sys : "?");
        pw->booted = TRUE;
    }
    if (ud != NULL && g_strcmp0(ud, pw->userdata) != 0) {
        g_autofree char *text = nube_cli_instance_userdata_text(instance);
        if (g_strcmp0(ud, "pending") != 0)
            nube_cli_demo_progress_note(pw->w->progress, "%s: user data %s", pw->name, text);
        g_free(pw->userdata);
        pw->userdata = g_strdup(ud);
    }
    if (g_strcmp0(ud, "failed") == 0) {
        g_autofree char *text = nube_cli_instance_userdata_text(instance);
        g_autofree char *log = nube_cli_json_lookup(instance, "NubeUserData.LogTail");
        return nube_error_set(err, EIO, "the user data of %s (%s) %s%s%s", pw->name, pw->id, text,
                              log ? "\nlast lines of its log:\n" : "", log ? log : "");
    }
    if (g_strcmp0(ud, "succeeded") == 0 && pw->page->userdata == NULL) {
        g_autofree char *duration = nube_cli_json_lookup(instance, "NubeUserData.Duration");
        pw->page->userdata = g_strdup(ud);
        pw->page->userdata_s = duration ? g_ascii_strtod(duration, NULL) : 0;
        pw->page->runner = nube_cli_json_lookup(instance, "NubeUserData.Runner");
    } else if (pw->page->userdata == NULL && ud != NULL && g_strcmp0(ud, "none") == 0) {
        pw->page->userdata = g_strdup(ud);
    }
    /* The page does not depend on the user data, or no agent can tell. */
    if (!pw->after_userdata || ud == NULL || g_strcmp0(ud, "unknown") == 0)
        return 1;
    return g_strcmp0(ud, "succeeded") == 0 || (g_strcmp0(ud, "none") == 0 && pw->booted);
}

/* Probes the page.  1 when it is served, 0 otherwise. */
static int page_probe(PageWatch *pw)
{
    g_autoptr(NubeError) get_err = NULL;
    long status = 0;

    if (pw->page->url == NULL)
        return 0;
    int r = nube_cli_demo_page_get(pw->page->url, pw->marker, &status, &get_err);
    g_free(pw->last_try);
    if (r > 0) {
        pw->page->served_at = g_get_monotonic_time();
        pw->last_try = g_strdup("HTTP 200");
        return 1;
    }
    pw->last_try = r == 0 ? g_strdup_printf("HTTP %ld, not the demo page yet", status)
                          : g_strdup(get_err->message);
    return 0;
}

static void page_status(PageWatch *pw)
{
    NubeCliDemoProgress *p = pw->w->progress;
    gint64 now = g_get_monotonic_time();

    if (!nube_cli_demo_progress_live(p))
        return;
    if (g_strcmp0(pw->state, "running") == 0 && now - pw->console_at >= CONSOLE_PEEK_US) {
        g_free(pw->console);
        pw->console = console_last_line(pw->w->client, pw->id);
        pw->console_at = now;
    }
    nube_cli_demo_progress_status(
        p, "%s %s | %s | console: %s", pw->id, pw->state ? pw->state : "?",
        pw->last_try ? pw->last_try : "no port yet", pw->console ? pw->console : "-");
}

/* One look.  1 when the page is served, 0 to go on, or -errno. */
static int page_poll(PageWatch *pw, NubeError **err)
{
    g_autoptr(JsonObject) instance = nube_cli_instance_describe(pw->w->client, pw->id, err);

    if (instance == NULL)
        return -EIO;
    if (page_check_state(pw, instance, err) < 0 || page_find_url(pw, instance, err) < 0)
        return -ECANCELED;
    int ready = page_check_agent(pw, instance, err);
    if (ready < 0)
        return ready;
    if (ready == 0) {
        g_free(pw->last_try);
        pw->last_try = g_strdup_printf("waiting for the guest agent (user data %s)",
                                       pw->userdata ? pw->userdata : "not reported yet");
        page_status(pw);
        return 0;
    }
    int r = page_probe(pw);
    page_status(pw);
    return r;
}

/* Sleeps until one poll interval after TICK.  Returns 0, or -errno with
 * ERR set once DEADLINE has passed (LAST, if not NULL, says what the last
 * look found) or the wait was interrupted. */
static int poll_pause(const NubeCliDemoWait *w, gint64 tick, gint64 deadline, const char *what,
                      const char *last, NubeError **err)
{
    if (*w->interrupted)
        return nube_error_set(err, EINTR, "interrupted while waiting for %s", what);
    if (g_get_monotonic_time() >= deadline)
        return nube_error_set(err, ETIMEDOUT, "timed out after %d s waiting for %s%s%s%s",
                              w->timeout_s, what, last ? " (last try: " : "", last ? last : "",
                              last ? ")" : "");
    gint64 left = tick + POLL_INTERVAL_US - g_get_monotonic_time();
    if (left > 0)
        g_usleep((gulong) left);
    return 0;
}

int nube_cli_demo_wait_page(const NubeCliDemoWait *w, const char *name, const char *id,
                            const char *marker, gboolean restarting, gboolean after_userdata,
                            NubeCliDemoPage *page, NubeError **err)
{
    gint64 start = g_get_monotonic_time();
    g_auto(PageWatch) pw = { .w = w,
                             .name = name,
                             .id = id,
                             .marker = marker,
                             .page = page,
                             .after_userdata = after_userdata };
    gint64 deadline = start + (gint64) w->timeout_s * G_USEC_PER_SEC;
    g_autofree char *what = g_strdup_printf("HTTP 200 with the demo page from %s", name);

    if (restarting)
        pw.stopped_ok_until = start + RESTART_GRACE_S * G_USEC_PER_SEC;

    for (;;) {
        gint64 tick = g_get_monotonic_time();
        int r = page_poll(&pw, err);
        if (r != 0)
            return MIN(r, 0);
        if (poll_pause(w, tick, deadline, what, pw.last_try, err) < 0)
            return -ETIMEDOUT;
    }
}

/* ---- terminating ---------------------------------------------------------- */

/* 1 once ID is terminated or forgotten, 0 to go on, or -errno. */
static int terminated_poll(const NubeCliDemoWait *w, const char *id, NubeError **err)
{
    g_autoptr(NubeError) describe_err = NULL;
    g_autoptr(JsonObject) instance = nube_cli_instance_describe(w->client, id, &describe_err);

    if (instance == NULL && g_strcmp0(describe_err->code, "InvalidInstanceID.NotFound") == 0)
        return 1;
    if (instance == NULL)
        return nube_error_propagate(err, g_steal_pointer(&describe_err));
    g_autofree char *state = nube_cli_json_lookup(instance, "State.Name");
    nube_cli_demo_progress_status(w->progress, "%s %s", id, state ? state : "?");
    return g_strcmp0(state, "terminated") == 0;
}

int nube_cli_demo_terminate(const NubeCliDemoWait *w, const char *id, NubeError **err)
{
    gint64 deadline = g_get_monotonic_time() + (gint64) w->timeout_s * G_USEC_PER_SEC;
    g_autofree char *what = g_strdup_printf("instance '%s' to be terminated", id);
    g_autoptr(NubeCliParams) params = nube_cli_params_new();

    nube_cli_params_add(params, "InstanceId.1", id);
    g_autoptr(NubeCliReply) reply =
        nube_cli_client_call(w->client, "TerminateInstances", params, err);
    if (reply == NULL)
        return -EIO;
    for (;;) {
        gint64 tick = g_get_monotonic_time();
        int r = terminated_poll(w, id, err);
        if (r != 0)
            return MIN(r, 0);
        if (poll_pause(w, tick, deadline, what, NULL, err) < 0)
            return -ETIMEDOUT;
    }
}

/* ---- waiting for an image --------------------------------------------------- */

/* nubed's stamp "[ 12s] …" at the start of MESSAGE, or -1. */
static gint64 message_stamp(const char *message)
{
    gint64 secs = -1;
    char *end = NULL;

    if (message[0] != '[')
        return -1;
    secs = g_ascii_strtoll(message + 1, &end, 10);
    return end != message + 1 && end[0] == 's' && end[1] == ']' ? secs : -1;
}

/* Notes a new progress MESSAGE of the image; tracks the capture stamp. */
static void image_note(const NubeCliDemoWait *w, const char *message, gint64 start,
                       gint64 *capture_stamp)
{
    gint64 stamp = message_stamp(message);

    if (stamp >= 0)
        nube_cli_demo_progress_note(w->progress, "%s", message);
    else
        nube_cli_demo_progress_note(w->progress, "[%3" G_GINT64_FORMAT "s] %s",
                                    (g_get_monotonic_time() - start) / G_USEC_PER_SEC, message);
    /* Before the capture proper nubed says "queued" (no stamp), then
     * "shutting the instance down"; anything stamped after that is the
     * capture (flattening or copying, generalizing, storing). */
    if (capture_stamp != NULL && *capture_stamp < 0 && stamp >= 0 &&
        strstr(message, "shutting") == NULL)
        *capture_stamp = stamp;
}

static int image_failed(JsonObject *image, const char *id, const char *state, NubeError **err)
{
    g_autofree char *code = nube_cli_json_lookup(image, "StateReason.Code");
    g_autofree char *message = nube_cli_json_lookup(image, "StateReason.Message");
    return nube_error_setc(err, EIO, code ? code : "InvalidAMIID.Unavailable",
                           "image '%s' is %s%s%s", id, state, message ? ": " : "",
                           message ? message : "");
}

/* One look.  1 when available, 0 to go on, or -errno. */
static int image_poll(const NubeCliDemoWait *w, const char *id, gint64 start, char **last,
                      gint64 *capture_stamp, NubeError **err)
{
    g_autoptr(JsonObject) image = nube_cli_image_describe(w->client, id, err);
    if (image == NULL)
        return -EIO;
    const char *state = json_object_get_string_member_with_default(image, "State", "");
    if (g_strcmp0(state, "available") == 0)
        return 1;
    if (g_strcmp0(state, "pending") != 0)
        return image_failed(image, id, state, err);

    g_autofree char *message = nube_cli_json_lookup(image, "StateReason.Message");
    if (message != NULL && g_strcmp0(message, *last) != 0) {
        image_note(w, message, start, capture_stamp);
        g_free(*last);
        *last = g_strdup(message);
    }
    nube_cli_demo_progress_status(w->progress, "%s pending: %s", id, *last ? *last : "");
    return 0;
}

int nube_cli_demo_wait_image(const NubeCliDemoWait *w, const char *id, gint64 *capture_stamp,
                             NubeError **err)
{
    gint64 start = g_get_monotonic_time();
    gint64 deadline = start + (gint64) w->timeout_s * G_USEC_PER_SEC;
    g_autofree char *what = g_strdup_printf("image '%s' to be available", id);
    g_autofree char *last = NULL;

    if (capture_stamp != NULL)
        *capture_stamp = -1;
    for (;;) {
        gint64 tick = g_get_monotonic_time();
        int r = image_poll(w, id, start, &last, capture_stamp, err);
        if (r != 0)
            return MIN(r, 0);
        if (poll_pause(w, tick, deadline, what, last, err) < 0)
            return -ETIMEDOUT;
    }
}

double nube_cli_demo_image_capture_seconds(NubeCliClient *client, const char *id)
{
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "ImageId.1", id);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "DescribeImages", params, NULL);
    if (reply == NULL)
        return -1;
    g_autofree char *text =
        nube_cli_reply_text(reply, NULL, "ec2:imagesSet/ec2:item/ec2:nubeCaptureSeconds");
    char *end = NULL;
    double secs = text ? g_ascii_strtod(g_strstrip(text), &end) : -1;
    return text && end != text && *end == '\0' ? secs : -1;
}
