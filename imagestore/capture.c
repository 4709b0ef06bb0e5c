/*
 * capture.c: baking an instance's disk into a new base (see capture.h).
 *
 * Flattening is one `qemu-img convert` through the chain.  Generalizing
 * edits the flattened copy with the libguestfs C API in a single appliance
 * launch (~20 s under TCG, so everything is batched into it): mount the
 * root, apply clean_rules[], fstrim so freed blocks leave the qcow2, shut
 * down.  Adding the guest agent to an imported disk uses the same handle
 * and mounting, in one launch too.  libguestfs errors become NubeErrors in
 * gfs_error() only; its own printing to stderr is switched off.
 */
#include "capture.h"
#include "fsutil.h"
#include "log.h"
#include "qemuimg.h"

#include <fcntl.h>
#include <guestfs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_MEMSIZE_MB 512
#define DEFAULT_SMP        1

/* ---- flatten ---------------------------------------------------------- */

static void tmp_unlink(char **tmp)
{
    if (*tmp == NULL)
        return;
    unlink(*tmp);
    g_free(*tmp);
}
#define _cleanup_tmp_ _cleanup_(tmp_unlink)

static int fsync_path(const char *path, int flags, NubeError **err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0 || fsync(fd) < 0)
        return nube_error_set(err, errno, "sync '%s'", path);
    return 0;
}

int nube_capture_flatten(const char *overlay_path, const char *dst_path, NubeError **err)
{
    if (access(dst_path, F_OK) == 0)
        return nube_error_set(err, EEXIST, "flatten: '%s' exists", dst_path);

    gint64 start = g_get_monotonic_time();
    _cleanup_tmp_ char *tmp = nube_file_tmp_sibling(dst_path, err);
    if (tmp == NULL)
        return nube_error_prefix(err, "flatten '%s'", overlay_path);
    /* No -B: the copy gets every cluster of the chain and no backing. */
    int r = nube_qemuimg_convert(overlay_path, "qcow2", tmp, err);
    if (r == 0)
        r = nube_file_commit(tmp, dst_path, err);
    if (r < 0)
        return nube_error_prefix(err, "flatten '%s'", overlay_path);
    g_clear_pointer(&tmp, g_free); /* renamed: nothing to unlink */
    nube_debug("capture: flattened '%s' to '%s' (%.2f s)", overlay_path, dst_path,
               (g_get_monotonic_time() - start) / 1e6);
    return 0;
}

/* ---- what generalizing removes ---------------------------------------- */

typedef enum {
    CLEAN_TRUNCATE,    /* regular file emptied, kept with owner and mode */
    CLEAN_REMOVE_FILE, /* regular files removed; a symlink is left alone */
    CLEAN_REMOVE,      /* files, symlinks and whole directory trees */
    CLEAN_EMPTY_DIR,   /* everything inside removed, the directory kept */
    CLEAN_LOGS,        /* rotated logs and journals removed, other files
                        * emptied, directories kept (daemons expect them) */
} CleanAction;

typedef struct {
    const char *pattern; /* guest path; '*', '?' and '[' are globs */
    CleanAction action;
} CleanRule;

/*
 * What makes a disk one machine.  Kept on purpose: apt's lists (apt works
 * on a clone at once), /var/lib/cloud/scripts and /var/lib/cloud/seed
 * (the user's), the directories under /var/log.  To clean one more thing,
 * add a line.
 */
static const CleanRule clean_rules[] = {
    /* empty, not absent: systemd then makes a new id at first boot */
    { "/etc/machine-id", CLEAN_TRUNCATE },
    /* a stale copy; the usual symlink to /etc/machine-id is kept */
    { "/var/lib/dbus/machine-id", CLEAN_REMOVE_FILE },
    /* cloud-init's per-instance ssh module makes new ones */
    { "/etc/ssh/ssh_host_*", CLEAN_REMOVE },
    /* cloud-init state: per-instance modules run again for the new id */
    { "/var/lib/cloud/instance", CLEAN_REMOVE },
    { "/var/lib/cloud/instances", CLEAN_REMOVE },
    { "/var/lib/cloud/data", CLEAN_REMOVE },
    { "/var/lib/cloud/sem", CLEAN_REMOVE },
    /* nube-agent's per-instance state (it runs user data once per
     * instance id) and that run's output: before /var/log, which would
     * only empty it */
    { "/var/lib/nube-agent", CLEAN_REMOVE },
    { "/var/log/nube-agent-userdata.log", CLEAN_REMOVE_FILE },
    { "/var/log", CLEAN_LOGS },
    { "/var/lib/dhcp/*.leases", CLEAN_REMOVE_FILE },
    { "/var/lib/dhclient/*.leases", CLEAN_REMOVE_FILE },
    { "/var/lib/NetworkManager/*lease*", CLEAN_REMOVE_FILE },
    /* a history symlinked to /dev/null is a choice: kept */
    { "/root/.bash_history", CLEAN_REMOVE_FILE },
    { "/home/*/.bash_history", CLEAN_REMOVE_FILE },
    { "/tmp", CLEAN_EMPTY_DIR },
    { "/var/tmp", CLEAN_EMPTY_DIR },
    /* clones must not start with the same entropy */
    { "/var/lib/systemd/random-seed", CLEAN_REMOVE_FILE },
};

/* Work of one rule, for the report. */
typedef struct {
    guint removed;
    guint truncated;
} CleanCount;

/* ---- libguestfs plumbing ---------------------------------------------- */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(guestfs_h, guestfs_close)

static void statns_freep(struct guestfs_statns **st)
{
    if (*st != NULL)
        guestfs_free_statns(*st);
}
#define _cleanup_statns_ _cleanup_(statns_freep)

static void dirents_freep(struct guestfs_dirent_list **list)
{
    if (*list != NULL)
        guestfs_free_dirent_list(*list);
}
#define _cleanup_dirents_ _cleanup_(dirents_freep)

/*
 * The one place where a libguestfs failure becomes a NubeError: "WHAT:
 * <libguestfs's message>", with libguestfs's errno when it has one.
 */
static int gfs_error(guestfs_h *g, NubeError **err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int gfs_error(guestfs_h *g, NubeError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    const char *msg = guestfs_last_error(g);
    int errnum = guestfs_last_errno(g);
    return nube_error_set(err, errnum > 0 ? errnum : EIO, "%s: %s", what,
                          msg != NULL ? msg : "libguestfs failed");
}

/* A handle on the direct backend with PATH as its only, writable drive. */
static guestfs_h *handle_new(const char *path, const NubeGeneralizeOptions *opts, NubeError **err)
{
    g_autoptr(guestfs_h) g = guestfs_create();
    if (g == NULL) {
        nube_error_set(err, errno, "cannot create a libguestfs handle");
        return NULL;
    }
    guestfs_set_error_handler(g, NULL, NULL); /* errors go to gfs_error() */

    /* Its work files beside the drive (the store's tmp/, emptied at every
     * start), not in /tmp where a killed nubed would leave them. */
    g_autofree char *tmpdir = g_path_get_dirname(path);
    int r = guestfs_set_tmpdir(g, tmpdir);
    if (r == 0)
        r = guestfs_set_backend(g, "direct");
    /* The controller knows whether KVM works (a PVM /dev/kvm hangs). */
    if (r == 0 && opts->tcg)
        r = guestfs_set_backend_setting(g, "force_tcg", "1");
    else if (r == 0)
        r = guestfs_clear_backend_setting(g, "force_tcg") < 0 ? -1 : 0;
    if (r == 0)
        r = guestfs_set_memsize(g, opts->memsize_mb > 0 ? opts->memsize_mb : DEFAULT_MEMSIZE_MB);
    if (r == 0)
        r = guestfs_set_smp(g, opts->smp > 0 ? opts->smp : DEFAULT_SMP);
    /* unsafe: the guest's flushes are not waited for; the caller fsyncs
     * the file once QEMU has exited. */
    if (r == 0)
        r = guestfs_add_drive_opts(g, path, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2",
                                   GUESTFS_ADD_DRIVE_OPTS_READONLY, 0,
                                   GUESTFS_ADD_DRIVE_OPTS_DISCARD, "besteffort",
                                   GUESTFS_ADD_DRIVE_OPTS_CACHEMODE, "unsafe", -1);
    if (r < 0) {
        gfs_error(g, err, "set up libguestfs for '%s'", path);
        return NULL;
    }
    return g_steal_pointer(&g);
}

typedef struct {
    guestfs_h *g;
    GPtrArray *mounts; /* guest mountpoints, in mount order */
    GString *summary;
    guint removed;
    guint truncated;
} Session;

/* ---- mounting the root ------------------------------------------------ */

static int mount_one(Session *s, const char *dev, const char *mp, NubeError **err)
{
    if (guestfs_mount(s->g, dev, mp) < 0)
        return gfs_error(s->g, err, "mount '%s' on '%s'", dev, mp);
    g_ptr_array_add(s->mounts, g_strdup(mp));
    return 0;
}

/* Default images: ext4 on the whole of /dev/sda.  TRUE if that is mounted
 * and has /etc; FALSE (nothing mounted) otherwise. */
static gboolean mount_whole_disk(Session *s)
{
    g_autofree char *type = guestfs_vfs_type(s->g, "/dev/sda");
    if (type == NULL || type[0] == '\0')
        return FALSE;
    if (mount_one(s, "/dev/sda", "/", NULL) < 0)
        return FALSE;
    if (guestfs_is_dir(s->g, "/etc") > 0)
        return TRUE;
    guestfs_umount_all(s->g);
    g_ptr_array_set_size(s->mounts, 0);
    return FALSE;
}

/* Shorter mountpoints first, so "/" comes before "/var". */
static gint by_mountpoint(gconstpointer a, gconstpointer b)
{
    const char *x = *(char *const *) a, *y = *(char *const *) b;
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

/* Mounts the file systems of ROOT as inspection lists them
 * (mountpoint, device, mountpoint, device, ...). */
static int mount_inspected_root(Session *s, const char *root, NubeError **err)
{
    g_auto(GStrv) pairs = guestfs_inspect_get_mountpoints(s->g, root);
    if (pairs == NULL)
        return gfs_error(s->g, err, "mountpoints of '%s'", root);
    g_autoptr(GHashTable) dev_of = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) mps = g_ptr_array_new();
    for (guint i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2) {
        g_hash_table_insert(dev_of, pairs[i], pairs[i + 1]);
        g_ptr_array_add(mps, pairs[i]);
    }
    g_ptr_array_sort(mps, by_mountpoint);
    for (guint i = 0; i < mps->len; i++) {
        const char *mp = mps->pdata[i];
        int r = mount_one(s, g_hash_table_lookup(dev_of, mp), mp, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Imported images: the one operating system that inspection finds. */
static int mount_inspected(Session *s, char **root_device, NubeError **err)
{
    g_auto(GStrv) roots = guestfs_inspect_os(s->g);
    if (roots == NULL)
        return gfs_error(s->g, err, "inspect the disk");
    guint n = g_strv_length(roots);
    if (n != 1)
        return nube_error_set(err, EINVAL, "the disk holds %u operating systems, not one", n);
    *root_device = g_strdup(roots[0]);
    return mount_inspected_root(s, roots[0], err);
}

static int mount_root(Session *s, NubeGeneralizeReport *report, NubeError **err)
{
    if (mount_whole_disk(s)) {
        report->root_device = g_strdup("/dev/sda");
        return 0;
    }
    report->inspected = TRUE;
    return mount_inspected(s, &report->root_device, err);
}

/* ---- cleaning --------------------------------------------------------- */

/* syslog.1, dpkg.log.2.gz, messages-20240101, system@....journal, ... */
static gboolean is_rotated_log(const char *name)
{
    static const char *const suffixes[] = { ".gz",  ".xz",  ".bz2",     ".zst",
                                            ".lz4", ".old", ".journal", ".journal~" };
    for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++)
        if (g_str_has_suffix(name, suffixes[i]))
            return TRUE;

    const char *end = name + strlen(name), *p = end;
    while (p > name && g_ascii_isdigit(p[-1]))
        p--;
    if (p == end || p == name)
        return FALSE;
    return p[-1] == '.' || (p[-1] == '-' && end - p == 8);
}

static int remove_path(Session *s, const char *path, gboolean is_dir, CleanCount *c,
                       NubeError **err)
{
    int r = is_dir ? guestfs_rm_rf(s->g, path) : guestfs_rm(s->g, path);
    if (r < 0)
        return gfs_error(s->g, err, "remove '%s'", path);
    c->removed++;
    return 0;
}

static int truncate_path(Session *s, const char *path, CleanCount *c, NubeError **err)
{
    if (guestfs_truncate(s->g, path) < 0)
        return gfs_error(s->g, err, "truncate '%s'", path);
    c->truncated++;
    return 0;
}

/* Walks the log directory DIR: removes rotated logs, empties the others,
 * keeps directories; symlinks and special files are left alone. */
static int clean_log_dir(Session *s, const char *dir, CleanCount *c, NubeError **err)
{
    _cleanup_dirents_ struct guestfs_dirent_list *list = guestfs_readdir(s->g, dir);
    if (list == NULL)
        return gfs_error(s->g, err, "read directory '%s'", dir);
    for (guint32 i = 0; i < list->len; i++) {
        const struct guestfs_dirent *e = &list->val[i];
        if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0)
            continue;
        g_autofree char *path = g_build_filename(dir, e->name, NULL);
        int r = 0;
        if (e->ftyp == 'd')
            r = clean_log_dir(s, path, c, err);
        else if (e->ftyp == 'r' && is_rotated_log(e->name))
            r = remove_path(s, path, FALSE, c, err);
        else if (e->ftyp == 'r')
            r = truncate_path(s, path, c, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int empty_dir(Session *s, const char *dir, CleanCount *c, NubeError **err)
{
    _cleanup_dirents_ struct guestfs_dirent_list *list = guestfs_readdir(s->g, dir);
    if (list == NULL)
        return gfs_error(s->g, err, "read directory '%s'", dir);
    for (guint32 i = 0; i < list->len; i++) {
        const char *name = list->val[i].name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (remove_path(s, path, TRUE, c, err) < 0)
            return -EIO;
    }
    return 0;
}

/* Applies ACTION to PATH, whose type is read without following a
 * symlink; a missing PATH is not an error. */
static int clean_path(Session *s, const char *path, CleanAction action, CleanCount *c,
                      NubeError **err)
{
    _cleanup_statns_ struct guestfs_statns *st = guestfs_lstatns(s->g, path);
    if (st == NULL && guestfs_last_errno(s->g) == ENOENT)
        return 0;
    if (st == NULL)
        return gfs_error(s->g, err, "stat '%s'", path);
    gboolean reg = S_ISREG(st->st_mode), dir = S_ISDIR(st->st_mode);

    switch (action) {
    case CLEAN_TRUNCATE:
        return reg && st->st_size > 0 ? truncate_path(s, path, c, err) : 0;
    case CLEAN_REMOVE_FILE:
        return reg ? remove_path(s, path, FALSE, c, err) : 0;
    case CLEAN_REMOVE:
        return remove_path(s, path, dir, c, err);
    case CLEAN_EMPTY_DIR:
        return dir ? empty_dir(s, path, c, err) : 0;
    case CLEAN_LOGS:
        return dir ? clean_log_dir(s, path, c, err) : 0;
    }
    return 0;
}

/* The guest paths PATTERN names: itself, or its glob matches. */
static char **expand(Session *s, const char *pattern, NubeError **err)
{
    if (strpbrk(pattern, "*?[") == NULL)
        return g_strdupv((char *[]){ (char *) pattern, NULL });
    char **paths =
        guestfs_glob_expand_opts(s->g, pattern, GUESTFS_GLOB_EXPAND_OPTS_DIRECTORYSLASH, 0, -1);
    if (paths == NULL)
        gfs_error(s->g, err, "expand '%s'", pattern);
    return paths;
}

static int clean_rule(Session *s, const CleanRule *rule, NubeError **err)
{
    g_auto(GStrv) paths = expand(s, rule->pattern, err);
    if (paths == NULL)
        return -EIO;
    CleanCount c = { 0 };
    for (guint i = 0; paths[i] != NULL; i++)
        if (clean_path(s, paths[i], rule->action, &c, err) < 0)
            return -EIO;

    s->removed += c.removed;
    s->truncated += c.truncated;
    if (c.removed + c.truncated > 0)
        g_string_append_printf(s->summary, "%s%s: %u removed, %u truncated",
                               s->summary->len ? "; " : "", rule->pattern, c.removed, c.truncated);
    return 0;
}

/* fstrim every mounted file system so freed blocks leave the qcow2.
 * TRUE if all of them were trimmed; a failure only costs space. */
static gboolean trim_all(Session *s)
{
    gboolean all = TRUE;
    for (guint i = 0; i < s->mounts->len; i++) {
        const char *mp = s->mounts->pdata[i];
        if (guestfs_fstrim(s->g, mp, -1) < 0) {
            nube_debug("capture: fstrim '%s': %s", mp, guestfs_last_error(s->g));
            all = FALSE;
        }
    }
    return all;
}

static int clean_all(Session *s, NubeError **err)
{
    for (guint i = 0; i < G_N_ELEMENTS(clean_rules); i++)
        if (clean_rule(s, &clean_rules[i], err) < 0)
            return -EIO;
    return 0;
}

/* Unmounts and stops the appliance; QEMU's exit status is checked, so a
 * write it could not do is an error here. */
static int finish(Session *s, NubeError **err)
{
    if (guestfs_umount_all(s->g) < 0)
        return gfs_error(s->g, err, "unmount");
    if (guestfs_shutdown(s->g) < 0)
        return gfs_error(s->g, err, "shut the appliance down");
    return 0;
}

/* ---- generalize ------------------------------------------------------- */

void nube_generalize_report_clear(NubeGeneralizeReport *report)
{
    g_free(report->root_device);
    g_free(report->summary);
    memset(report, 0, sizeof(*report));
}

static int generalize(guestfs_h *g, NubeGeneralizeReport *rep, NubeError **err)
{
    g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) summary = g_string_new(NULL);
    Session s = { .g = g, .mounts = mounts, .summary = summary };

    gint64 start = g_get_monotonic_time();
    if (guestfs_launch(g) < 0)
        return gfs_error(g, err, "launch the libguestfs appliance");
    rep->launch_ms = (g_get_monotonic_time() - start) / 1000;

    int r = mount_root(&s, rep, err);
    if (r == 0)
        r = clean_all(&s, err);
    if (r == 0)
        rep->trimmed = trim_all(&s);
    if (r == 0)
        r = finish(&s, err);
    rep->removed = s.removed;
    rep->truncated = s.truncated;
    rep->summary = g_string_free(g_steal_pointer(&summary), FALSE);
    return r;
}

int nube_capture_generalize(const char *qcow2_path, const NubeGeneralizeOptions *opts,
                            NubeGeneralizeReport *report, NubeError **err)
{
    static const NubeGeneralizeOptions defaults = { 0 };
    g_auto(NubeGeneralizeReport) rep = { 0 };
    gint64 start = g_get_monotonic_time();
    /* Absolute, so QEMU never reads a "proto:" prefix out of the name. */
    g_autofree char *path = g_canonicalize_filename(qcow2_path, NULL);

    g_autoptr(guestfs_h) g = handle_new(path, opts ? opts : &defaults, err);
    int r = g != NULL ? generalize(g, &rep, err) : -EIO;
    g_clear_pointer(&g, guestfs_close); /* reaps QEMU */
    if (r == 0)
        r = fsync_path(path, O_NOFOLLOW, err);
    if (r < 0)
        return nube_error_prefix(err, "generalize '%s'", qcow2_path);

    rep.total_ms = (g_get_monotonic_time() - start) / 1000;
    nube_debug("capture: generalized '%s' in %.1f s (launch %.1f s): %s", qcow2_path,
               rep.total_ms / 1e3, rep.launch_ms / 1e3,
               rep.summary[0] ? rep.summary : "nothing to clean");
    if (report != NULL) {
        *report = rep;
        memset(&rep, 0, sizeof(rep));
    }
    return 0;
}

/* ---- adding the guest agent ------------------------------------------- */

#define INVALID "InvalidParameterValue"

/* Where systemd's manager lives: the agent is a systemd service. */
static const char *const systemd_paths[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd" };

/* What `nube-agent install --root /` must have made. */
static const char *const agent_files[] = { "/usr/sbin/nube-agent",
                                           "/etc/systemd/system/nube-agent.service" };

/* Mounts the one Linux root that inspection finds, with its other file
 * systems; anything else is the caller's image's fault. */
static int mount_linux_root(Session *s, char **root_device, NubeError **err)
{
    g_auto(GStrv) roots = guestfs_inspect_os(s->g);
    if (roots == NULL)
        return gfs_error(s->g, err, "inspect the disk");
    guint n = g_strv_length(roots);
    if (n == 0)
        return nube_error_setc(
            err, EINVAL, INVALID,
            "no operating system found on the disk: the guest agent needs a Linux root file system");
    if (n > 1)
        return nube_error_setc(err, EINVAL, INVALID, "the disk holds %u operating systems, not one",
                               n);
    g_autofree char *type = guestfs_inspect_get_type(s->g, roots[0]);
    if (type == NULL)
        return gfs_error(s->g, err, "type of '%s'", roots[0]);
    if (!g_str_equal(type, "linux"))
        return nube_error_setc(
            err, EINVAL, INVALID,
            "the disk's operating system is '%s', not Linux: the guest agent runs on Linux only",
            type);
    *root_device = g_strdup(roots[0]);
    return mount_inspected_root(s, roots[0], err);
}

/* TRUE if PATH is a regular file, following symlinks (inside the guest). */
static int guest_is_file(Session *s, const char *path, NubeError **err)
{
    int r = guestfs_is_file_opts(s->g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1);
    if (r < 0)
        return gfs_error(s->g, err, "stat '%s'", path);
    return r;
}

static int check_systemd(Session *s, NubeError **err)
{
    for (guint i = 0; i < G_N_ELEMENTS(systemd_paths); i++) {
        int r = guest_is_file(s, systemd_paths[i], err);
        if (r != 0)
            return MIN(r, 0);
    }
    return nube_error_setc(
        err, ENOENT, INVALID,
        "the guest has no systemd (no /usr/lib/systemd/systemd or /lib/systemd/systemd): the guest agent is a systemd service");
}

/* Uploads AGENT into a temporary directory of the guest, runs its own
 * installer there (chrooted into the guest by libguestfs, so the guest's
 * layout decides, as at build time), removes the directory and checks
 * what the installer made. */
static int install_agent(Session *s, const char *agent, NubeError **err)
{
    g_autofree char *dir = guestfs_mkdtemp(s->g, "/.nube-agent-XXXXXX");
    if (dir == NULL)
        return gfs_error(s->g, err, "make a temporary directory in the guest");
    g_autofree char *tmp = g_build_filename(dir, "nube-agent", NULL);
    if (guestfs_upload(s->g, agent, tmp) < 0)
        return gfs_error(s->g, err, "upload '%s'", agent);
    if (guestfs_chmod(s->g, 0755, tmp) < 0)
        return gfs_error(s->g, err, "chmod '%s'", tmp);

    char *argv[] = { tmp, (char *) "install", (char *) "--root", (char *) "/", NULL };
    g_autofree char *out = guestfs_command(s->g, argv);
    if (out == NULL)
        return gfs_error(s->g, err, "run 'nube-agent install --root /' in the guest");
    nube_debug("capture: nube-agent install: %s", out);
    if (guestfs_rm_rf(s->g, dir) < 0)
        return gfs_error(s->g, err, "remove '%s'", dir);

    for (guint i = 0; i < G_N_ELEMENTS(agent_files); i++) {
        int r = guest_is_file(s, agent_files[i], err);
        if (r == 0)
            return nube_error_set(err, ENOENT, "'nube-agent install' made no '%s'", agent_files[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_agent(guestfs_h *g, const char *agent, char **root_device, NubeError **err)
{
    g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func(g_free);
    Session s = { .g = g, .mounts = mounts };

    if (guestfs_launch(g) < 0)
        return gfs_error(g, err, "launch the libguestfs appliance");
    int r = mount_linux_root(&s, root_device, err);
    if (r == 0)
        r = check_systemd(&s, err);
    if (r == 0)
        r = install_agent(&s, agent, err);
    if (r == 0)
        trim_all(&s);
    if (r == 0)
        r = finish(&s, err);
    return r;
}

int nube_capture_add_agent(const char *qcow2_path, const char *agent_path,
                           const NubeGeneralizeOptions *opts, NubeError **err)
{
    static const NubeGeneralizeOptions defaults = { 0 };
    gint64 start = g_get_monotonic_time();
    g_autofree char *path = g_canonicalize_filename(qcow2_path, NULL);
    g_autofree char *agent = g_canonicalize_filename(agent_path, NULL);
    g_autofree char *root = NULL;

    g_autoptr(guestfs_h) g = handle_new(path, opts ? opts : &defaults, err);
    int r = g != NULL ? add_agent(g, agent, &root, err) : -EIO;
    g_clear_pointer(&g, guestfs_close); /* reaps QEMU */
    if (r == 0)
        r = fsync_path(path, O_NOFOLLOW, err);
    if (r < 0)
        return nube_error_prefix(err, "add the guest agent");
    nube_debug("capture: added '%s' to '%s' (root %s) in %.1f s", agent, qcow2_path, root,
               (g_get_monotonic_time() - start) / 1e6);
    return 0;
}
