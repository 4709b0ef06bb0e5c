/*
 * hypervisor.c: the libvirt driver (see hypervisor.h).
 *
 * libvirt's embedded QEMU driver runs inside this process and does its
 * monitor I/O from the libvirt event loop, so one thread runs that loop for
 * as long as any connection is open.  This file is the only place that
 * turns a virError into a NubeError (virt_error()).
 */
#include "hypervisor.h"
#include "fsutil.h"
#include "log.h"

#include <libxml/tree.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

struct NubeHypervisor {
    char *uri;
    gboolean embedded; /* nube wrote the driver's qemu.conf */
    virConnectPtr conn;
    gboolean holds_loop;
    int lifecycle_cb; /* libvirt callback ids, -1 when not registered */
    int reboot_cb;
};

/* What an event callback needs; freed by libvirt when deregistered. */
typedef struct {
    NubeDomainEventFn fn;
    void *opaque;
} EventSink;

static void domain_freep(virDomainPtr *dom)
{
    if (*dom != NULL)
        virDomainFree(*dom);
}
#define _cleanup_domain_ _cleanup_(domain_freep)

/* ---- errors ---------------------------------------------------------- */

static int errno_of(const virError *e)
{
    switch (e->code) {
    case VIR_ERR_NO_DOMAIN:
        return ENOENT;
    case VIR_ERR_NO_MEMORY:
        return ENOMEM;
    case VIR_ERR_SYSTEM_ERROR:
        return e->int1 > 0 ? e->int1 : EIO;
    case VIR_ERR_OPERATION_TIMEOUT:
    case VIR_ERR_AGENT_UNRESPONSIVE:
        return ETIMEDOUT;
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_OPERATION_UNSUPPORTED:
    case VIR_ERR_ARGUMENT_UNSUPPORTED:
        return ENOTSUP;
    case VIR_ERR_OPERATION_DENIED:
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_ACCESS_DENIED:
        return EACCES;
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_CONFIG_UNSUPPORTED:
    case VIR_ERR_OPERATION_INVALID:
        return EINVAL;
    default:
        return EIO;
    }
}

/*
 * The one libvirt-to-NubeError converter: "CONTEXT: libvirt's message",
 * with an errno derived from the libvirt error code.  Consumes the thread's
 * last libvirt error.  Returns the negative errno.
 */
static int virt_error(NubeError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int virt_error(NubeError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *ctx = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    virErrorPtr e = virGetLastError();
    int errnum = e != NULL ? errno_of(e) : EIO;
    const char *msg = e != NULL && e->message != NULL ? e->message : "unknown libvirt error";
    int r = nube_error_set(err, errnum, "%s: %s", ctx, msg);
    virResetLastError();
    return r;
}

static gboolean last_error_is(int code)
{
    virErrorPtr e = virGetLastError();
    return e != NULL && e->code == code;
}

/* libvirt prints every error to stderr unless a handler is set; errors
 * reach the caller through virt_error() instead. */
static void quiet_error_handler(void *opaque, virErrorPtr error)
{
    nube_debug("libvirt: %s", error->message != NULL ? error->message : "?");
}

/* ---- process-wide setup and the event-loop thread -------------------- */

static char *init_failure; /* set once by init_once() if it failed */

static gpointer init_once(gpointer data)
{
    if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
        virErrorPtr e = virGetLastError();
        init_failure = g_strdup(e != NULL && e->message != NULL ? e->message : "unknown error");
        return NULL;
    }
    virSetErrorFunc(NULL, quiet_error_handler);
    return NULL;
}

static int libvirt_init(NubeError **err)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, init_once, NULL);
    if (init_failure != NULL)
        return nube_error_set(err, EIO, "initialize libvirt: %s", init_failure);
    return 0;
}

static GMutex loop_lock;
static guint loop_users;
static GThread *loop_thread;
static gint loop_quit;

static gpointer loop_run(gpointer data)
{
    while (!g_atomic_int_get(&loop_quit)) {
        if (virEventRunDefaultImpl() < 0) {
            nube_debug("libvirt event loop: %s", virGetLastErrorMessage());
            virResetLastError();
            g_usleep(G_USEC_PER_SEC / 10);
        }
    }
    return NULL;
}

/* A timeout that fires once: it makes the loop return from poll(). */
static void loop_wake(int timer, void *opaque)
{
    virEventRemoveTimeout(timer);
}

static int loop_acquire(NubeError **err)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&loop_lock);
    if (loop_users > 0) {
        loop_users++;
        return 0;
    }
    g_autoptr(GError) gerr = NULL;
    g_atomic_int_set(&loop_quit, 0);
    loop_thread = g_thread_try_new("nube-libvirt", loop_run, NULL, &gerr);
    if (loop_thread == NULL)
        return nube_error_set(err, EAGAIN, "start the libvirt event loop: %s", gerr->message);
    loop_users = 1;
    return 0;
}

static void loop_release(void)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&loop_lock);
    if (--loop_users > 0)
        return;
    g_atomic_int_set(&loop_quit, 1);
    if (virEventAddTimeout(0, loop_wake, NULL, NULL) < 0)
        virResetLastError();
    g_thread_join(g_steal_pointer(&loop_thread));
}

/* ---- the embedded driver's root --------------------------------------- */

char *nube_hypervisor_default_uri(const char *state_dir)
{
    g_autofree char *abs = g_canonicalize_filename(state_dir, NULL);
    g_autofree char *root = g_build_filename(abs, "libvirt", NULL);
    g_autofree char *escaped = g_uri_escape_string(root, "/", FALSE);
    return g_strdup_printf("qemu:///embed?root=%s", escaped);
}

/* ROOT of a qemu:///embed?root=ROOT URI (caller frees), or NULL. */
static char *embed_root(const char *uri)
{
    g_autoptr(GUri) u = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY, NULL);
    if (u == NULL || g_strcmp0(g_uri_get_scheme(u), "qemu") != 0 ||
        g_strcmp0(g_uri_get_path(u), "/embed") != 0 || g_uri_get_query(u) == NULL)
        return NULL;
    g_autoptr(GHashTable) params =
        g_uri_parse_params(g_uri_get_query(u), -1, "&", G_URI_PARAMS_NONE, NULL);
    if (params == NULL)
        return NULL;
    return g_strdup(g_hash_table_lookup(params, "root"));
}

/*
 * The embedded driver reads ROOT/etc/qemu.conf.  Without virtlogd (a
 * daemon nube does not run) QEMU must write its own log, and QEMU runs as
 * this process's user, so it reaches every file nubed made whatever the
 * state directory's permissions, and libvirt need not chown images that
 * several instances share.
 */
static int write_qemu_conf(const char *root, NubeError **err)
{
    g_autofree char *etc = g_build_filename(root, "etc", NULL);
    int r = nube_mkdir_p(etc, 0700, err);
    if (r < 0)
        return r;

    g_autoptr(GString) conf =
        g_string_new("# Written by nube each time it connects; edits are overwritten.\n"
                     "stdio_handler = \"file\"\n"
                     "# Each domain brings its own -sandbox, which lets QEMU start the\n"
                     "# socat of the metadata service's guestfwd (domain_xml.c).\n"
                     "seccomp_sandbox = 0\n");
    if (geteuid() == 0)
        g_string_append_printf(conf,
                               "user = \"+%u\"\n"
                               "group = \"+%u\"\n"
                               "dynamic_ownership = 0\n"
                               "remember_owner = 0\n",
                               (unsigned) geteuid(), (unsigned) getegid());
    g_autofree char *path = g_build_filename(etc, "qemu.conf", NULL);
    return nube_file_write_atomic(path, conf->str, conf->len, 0600, err);
}

/*
 * QEMU's monitor socket is ROOT/lib/qemu/domain-ID-NAME/monitor.sock, with
 * NAME cut to 20 bytes; a unix socket path has at most 107.  Allowing six
 * digits of domain id leaves ROOT 50 bytes.  Checked up front because
 * libvirt only fails at the first define, with a message about probing.
 */
#define EMBED_ROOT_MAX \
    (107 - (int) sizeof("/lib/qemu/domain-999999-") + 1 - 20 - (int) sizeof("/monitor.sock") + 1)

static int check_root_length(const char *root, NubeError **err)
{
    if (strlen(root) > EMBED_ROOT_MAX)
        return nube_error_set(
            err, ENAMETOOLONG,
            "embedded libvirt root '%s' is longer than %d bytes: QEMU's monitor socket path would not fit",
            root, EMBED_ROOT_MAX);
    return 0;
}

/* ---- events ------------------------------------------------------------ */

static const char *started_detail(int detail)
{
    switch (detail) {
    case VIR_DOMAIN_EVENT_STARTED_BOOTED:
        return "booted";
    case VIR_DOMAIN_EVENT_STARTED_MIGRATED:
        return "migrated";
    case VIR_DOMAIN_EVENT_STARTED_RESTORED:
        return "restored";
    case VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT:
        return "snapshot";
    case VIR_DOMAIN_EVENT_STARTED_WAKEUP:
        return "wakeup";
    default:
        return "started";
    }
}

static const char *stopped_detail(int detail)
{
    switch (detail) {
    case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
        return "shutdown";
    case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
        return "destroyed";
    case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
        return "crashed";
    case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
        return "migrated";
    case VIR_DOMAIN_EVENT_STOPPED_SAVED:
        return "saved";
    case VIR_DOMAIN_EVENT_STOPPED_FAILED:
        return "failed";
    case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT:
        return "snapshot";
    default:
        return "stopped";
    }
}

/*
 * Only STARTED and STOPPED are passed on.  SHUTDOWN means the guest asked
 * to power off; with on_poweroff=destroy a STOPPED/shutdown follows, as
 * STOPPED/crashed follows CRASHED, so forwarding them would double-count.
 */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    EventSink *sink = opaque;
    const char *name = virDomainGetName(dom);
    if (event == VIR_DOMAIN_EVENT_STARTED)
        sink->fn(name, NUBE_DOMAIN_EVENT_STARTED, started_detail(detail), sink->opaque);
    else if (event == VIR_DOMAIN_EVENT_STOPPED)
        sink->fn(name, NUBE_DOMAIN_EVENT_STOPPED, stopped_detail(detail), sink->opaque);
    return 0;
}

/* A reset of the machine: a guest reboot, an ACPI reboot or system_reset. */
static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    EventSink *sink = opaque;
    sink->fn(virDomainGetName(dom), NUBE_DOMAIN_EVENT_REBOOTED, "reboot", sink->opaque);
}

static int register_event(NubeHypervisor *hv, int event_id, virConnectDomainEventGenericCallback cb,
                          NubeDomainEventFn fn, void *opaque, NubeError **err)
{
    EventSink *sink = g_new0(EventSink, 1);
    sink->fn = fn;
    sink->opaque = opaque;
    int id = virConnectDomainEventRegisterAny(hv->conn, NULL, event_id, cb, sink, g_free);
    if (id < 0) {
        g_free(sink);
        return virt_error(err, "register for domain events on '%s'", hv->uri);
    }
    return id;
}

static int register_events(NubeHypervisor *hv, NubeDomainEventFn fn, void *opaque, NubeError **err)
{
    hv->lifecycle_cb = register_event(hv, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                      VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), fn, opaque, err);
    if (hv->lifecycle_cb < 0)
        return hv->lifecycle_cb;
    hv->reboot_cb = register_event(hv, VIR_DOMAIN_EVENT_ID_REBOOT,
                                   VIR_DOMAIN_EVENT_CALLBACK(on_reboot), fn, opaque, err);
    return hv->reboot_cb < 0 ? hv->reboot_cb : 0;
}

/* ---- connection -------------------------------------------------------- */

NubeHypervisor *nube_hypervisor_open(const char *uri, NubeDomainEventFn fn, void *opaque,
                                     NubeError **err)
{
    if (libvirt_init(err) < 0)
        return NULL;
    g_autofree char *root = embed_root(uri);
    if (root != NULL && (check_root_length(root, err) < 0 || write_qemu_conf(root, err) < 0)) {
        nube_error_prefix(err, "prepare '%s'", uri);
        return NULL;
    }

    g_autoptr(NubeHypervisor) hv = g_new0(NubeHypervisor, 1);
    hv->uri = g_strdup(uri);
    hv->embedded = root != NULL;
    hv->lifecycle_cb = -1;
    hv->reboot_cb = -1;
    if (loop_acquire(err) < 0)
        return NULL;
    hv->holds_loop = TRUE;

    nube_debug("connecting to %s", uri);
    hv->conn = virConnectOpen(uri);
    if (hv->conn == NULL) {
        virt_error(err, "connect to '%s'", uri);
        return NULL;
    }
    virConnSetErrorFunc(hv->conn, NULL, quiet_error_handler);
    if (fn != NULL && register_events(hv, fn, opaque, err) < 0)
        return NULL;
    return g_steal_pointer(&hv);
}

void nube_hypervisor_close(NubeHypervisor *hv)
{
    if (hv == NULL)
        return;
    if (hv->conn != NULL) {
        if (hv->lifecycle_cb >= 0)
            virConnectDomainEventDeregisterAny(hv->conn, hv->lifecycle_cb);
        if (hv->reboot_cb >= 0)
            virConnectDomainEventDeregisterAny(hv->conn, hv->reboot_cb);
        if (virConnectClose(hv->conn) < 0)
            virResetLastError();
    }
    if (hv->holds_loop)
        loop_release();
    g_free(hv->uri);
    g_free(hv);
}

const char *nube_hypervisor_uri(const NubeHypervisor *hv)
{
    return hv->uri;
}

/* ---- domains ----------------------------------------------------------- */

/* *OUT is the domain NAME, or NULL if it is not defined.  0 or -errno. */
static int domain_find(NubeHypervisor *hv, const char *name, virDomainPtr *out, NubeError **err)
{
    *out = virDomainLookupByName(hv->conn, name);
    if (*out != NULL)
        return 0;
    if (last_error_is(VIR_ERR_NO_DOMAIN)) {
        virResetLastError();
        return 0;
    }
    return virt_error(err, "look up domain '%s'", name);
}

/* Like domain_find() but a missing domain is an ENOENT error. */
static int domain_get(NubeHypervisor *hv, const char *name, virDomainPtr *out, NubeError **err)
{
    int r = domain_find(hv, name, out, err);
    if (r < 0)
        return r;
    if (*out == NULL)
        return nube_error_set(err, ENOENT, "domain '%s' is not defined", name);
    return 0;
}

/* The <name> of domain XML (new string), or NULL. */
static char *domain_xml_name(const char *xml)
{
    const char *start = strstr(xml, "<name>");
    const char *end = start ? strstr(start, "</name>") : NULL;
    if (start == NULL || end == NULL)
        return NULL;
    start += strlen("<name>");
    return g_strndup(start, end - start);
}

int nube_hypervisor_define(NubeHypervisor *hv, const char *xml, NubeError **err)
{
    /* VALIDATE checks the XML against libvirt's schema, so a mistake in
     * domain_xml.c is an error here rather than a silently ignored
     * element. */
    _cleanup_domain_ virDomainPtr dom =
        virDomainDefineXMLFlags(hv->conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (dom != NULL)
        return 0;
    /* A domain of the same name defined by an older nube under another
     * UUID (libvirt refuses to change it): replace it while it is off. */
    virErrorPtr first = virSaveLastError();
    g_autofree char *name = domain_xml_name(xml);
    _cleanup_domain_ virDomainPtr old =
        first != NULL && first->code == VIR_ERR_OPERATION_FAILED && name != NULL
            ? virDomainLookupByName(hv->conn, name)
            : NULL;
    if (old == NULL || virDomainIsActive(old) != 0 || virDomainUndefine(old) < 0) {
        /* The define's error, not the lookup's. */
        int r = first != NULL ? nube_error_set(err, errno_of(first), "define domain: %s",
                                               first->message ? first->message : "?")
                              : virt_error(err, "define domain");
        virFreeError(first);
        virResetLastError();
        return r;
    }
    virFreeError(first);
    nube_debug("domain '%s': replaced its definition (new UUID)", name);
    dom = virDomainDefineXMLFlags(hv->conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (dom == NULL)
        return virt_error(err, "define domain");
    return 0;
}

int nube_hypervisor_start(NubeHypervisor *hv, const char *name, NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_get(hv, name, &dom, err);
    if (r < 0)
        return r;
    if (virDomainCreate(dom) < 0)
        return virt_error(err, "start domain '%s'", name);
    return 0;
}

int nube_hypervisor_shutdown(NubeHypervisor *hv, const char *name, NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_get(hv, name, &dom, err);
    if (r < 0)
        return r;
    if (virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) < 0)
        return virt_error(err, "shut down domain '%s'", name);
    return 0;
}

int nube_hypervisor_reboot(NubeHypervisor *hv, const char *name, NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_get(hv, name, &dom, err);
    if (r < 0)
        return r;
    if (virDomainReboot(dom, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN) < 0)
        return virt_error(err, "reboot domain '%s'", name);
    return 0;
}

int nube_hypervisor_destroy(NubeHypervisor *hv, const char *name, NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_find(hv, name, &dom, err);
    if (r < 0 || dom == NULL)
        return r;
    if (virDomainIsActive(dom) == 0)
        return 0;
    if (virDomainDestroy(dom) < 0) {
        /* It stopped on its own between the check and the destroy. */
        if (last_error_is(VIR_ERR_OPERATION_INVALID) && virDomainIsActive(dom) == 0) {
            virResetLastError();
            return 0;
        }
        return virt_error(err, "destroy domain '%s'", name);
    }
    return 0;
}

int nube_hypervisor_undefine(NubeHypervisor *hv, const char *name, NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_find(hv, name, &dom, err);
    if (r < 0 || dom == NULL)
        return r;
    /* Without these flags libvirt refuses domains that have NVRAM, a
     * managed save image or snapshot metadata; with them it removes those
     * too, and they are harmless when there is nothing to remove.  Drivers
     * without NVRAM or checkpoints (the test driver, old daemons) reject
     * those two flags, so a second try goes without them. */
    static const unsigned int attempts[] = {
        VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
            VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(attempts); i++) {
        if (virDomainUndefineFlags(dom, attempts[i]) == 0)
            return 0;
        if (last_error_is(VIR_ERR_NO_DOMAIN)) {
            virResetLastError();
            return 0;
        }
        if (!last_error_is(VIR_ERR_INVALID_ARG))
            break;
    }
    return virt_error(err, "undefine domain '%s'", name);
}

static NubeDomainState state_of(int state)
{
    switch (state) {
    case VIR_DOMAIN_SHUTOFF:
    case VIR_DOMAIN_CRASHED:
    case VIR_DOMAIN_NOSTATE:
        return NUBE_DOMAIN_SHUTOFF;
    default: /* running, blocked, paused, shutting down, pmsuspended */
        return NUBE_DOMAIN_RUNNING;
    }
}

int nube_hypervisor_state(NubeHypervisor *hv, const char *name, NubeDomainState *out,
                          NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_find(hv, name, &dom, err);
    if (r < 0)
        return r;
    if (dom == NULL) {
        *out = NUBE_DOMAIN_ABSENT;
        return 0;
    }
    int state = VIR_DOMAIN_NOSTATE;
    int reason = 0;
    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        if (last_error_is(VIR_ERR_NO_DOMAIN)) {
            virResetLastError();
            *out = NUBE_DOMAIN_ABSENT;
            return 0;
        }
        return virt_error(err, "get the state of domain '%s'", name);
    }
    *out = state_of(state);
    return 0;
}

int nube_hypervisor_monitor(NubeHypervisor *hv, const char *name, const char *hmp, char **reply,
                            NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_get(hv, name, &dom, err);
    if (r < 0)
        return r;
    char *result = NULL;
    if (virDomainQemuMonitorCommand(dom, hmp, &result, VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP) < 0)
        return virt_error(err, "monitor command '%s' on domain '%s'", hmp, name);
    if (reply != NULL)
        *reply = g_strdup(result != NULL ? result : "");
    free(result);
    return 0;
}

/* ---- point-in-time disk copies ------------------------------------------- */

/* <domainbackup> copying disk TARGET to DEST (qcow2) and no other disk. */
static char *backup_xml(const char *target, const char *dest, const char *const *skip)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(doc, NULL, BAD_CAST "domainbackup", NULL);
    xmlDocSetRootElement(doc, root);
    xmlNodePtr disks = xmlNewChild(root, NULL, BAD_CAST "disks", NULL);
    xmlNodePtr disk = xmlNewChild(disks, NULL, BAD_CAST "disk", NULL);
    xmlNewProp(disk, BAD_CAST "name", BAD_CAST target);
    xmlNewProp(disk, BAD_CAST "type", BAD_CAST "file");
    xmlNewProp(xmlNewChild(disk, NULL, BAD_CAST "target", NULL), BAD_CAST "file", BAD_CAST dest);
    xmlNewProp(xmlNewChild(disk, NULL, BAD_CAST "driver", NULL), BAD_CAST "type", BAD_CAST "qcow2");
    for (size_t i = 0; skip != NULL && skip[i] != NULL; i++) {
        xmlNodePtr other = xmlNewChild(disks, NULL, BAD_CAST "disk", NULL);
        xmlNewProp(other, BAD_CAST "name", BAD_CAST skip[i]);
        xmlNewProp(other, BAD_CAST "backup", BAD_CAST "no");
    }
    xmlChar *text = NULL;
    int len = 0;
    xmlDocDumpMemory(doc, &text, &len);
    char *out = g_strndup((const char *) text, len);
    xmlFree(text);
    xmlFreeDoc(doc);
    return out;
}

/* Waits for the domain's running job to end; 0 if it completed. */
static int backup_wait(virDomainPtr dom, const char *name, NubeError **err)
{
    for (;;) {
        virDomainJobInfo info;
        if (virDomainGetJobInfo(dom, &info) < 0)
            return virt_error(err, "job info of domain '%s'", name);
        if (info.type == VIR_DOMAIN_JOB_NONE)
            break;
        g_usleep(100 * 1000);
    }
    int type = 0, n = 0;
    virTypedParameterPtr params = NULL;
    if (virDomainGetJobStats(dom, &type, &params, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0)
        return virt_error(err, "job result of domain '%s'", name);
    const char *msg = NULL;
    virTypedParamsGetString(params, n, VIR_DOMAIN_JOB_ERRMSG, &msg);
    int r = 0;
    if (type != VIR_DOMAIN_JOB_COMPLETED)
        r = nube_error_set(err, EIO, "disk copy of domain '%s' failed: %s", name,
                           msg ? msg : "unknown error");
    virTypedParamsFree(params, n);
    return r;
}

int nube_hypervisor_backup_disk(NubeHypervisor *hv, const char *name, const char *target,
                                const char *dest, const char *const *skip,
                                void (*started)(gpointer opaque), gpointer opaque, NubeError **err)
{
    _cleanup_domain_ virDomainPtr dom = NULL;
    int r = domain_get(hv, name, &dom, err);
    if (r < 0)
        return r;
    g_autofree char *xml = backup_xml(target, dest, skip);
    int begun = virDomainBackupBegin(dom, xml, NULL, 0);
    if (started != NULL)
        started(opaque);
    if (begun < 0)
        return virt_error(err, "start disk copy of domain '%s'", name);
    return backup_wait(dom, name, err);
}

gboolean nube_hypervisor_embedded(const NubeHypervisor *hv)
{
    return hv->embedded;
}

GPtrArray *nube_hypervisor_list(NubeHypervisor *hv, NubeError **err)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(hv->conn, &doms, 0);
    if (n < 0) {
        virt_error(err, "list the domains");
        return NULL;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < n; i++) {
        g_ptr_array_add(names, g_strdup(virDomainGetName(doms[i])));
        virDomainFree(doms[i]);
    }
    free(doms);
    return names;
}
