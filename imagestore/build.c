/*
 * build.c: the default AMI (see build.h).
 *
 * Steps, all inside a work directory under the store's tmp dir:
 *   1. apt sources: the host's own apt configuration (or the recipe's file),
 *      reduced to the Debian entries of the recipe's suite, as deb822;
 *   2. mmdebstrap --mode=unshare into a directory (root: correct ownership,
 *      and its /proc, /sys, /dev mounts live in a private mount namespace so
 *      none can outlive it), with hooks that make the tree a cloud guest,
 *      the last of which runs the guest agent's own `install --root` from a
 *      copy of the binary in the work directory;
 *   3. mkfs.ext4 -d on a sparse raw file (whole-disk ext4, no partition
 *      table), with the UUID and directory hash seed derived from the recipe
 *      digest and a pinned mke2fs.conf;
 *   4. the kernel and initrd are taken from the tree's /boot;
 *   5. qemu-img convert to qcow2 (zero clusters are not stored);
 *   6. kernel and initrd become store blobs, the qcow2 a store base.
 * No root mounts, no loop devices.  The guest boots by direct kernel boot
 * with BUILD_CMDLINE.
 */
#include "build.h"

#include "fsutil.h"
#include "log.h"
#include "qemuimg.h"
#include "spawn.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Bump whenever the build steps or what they put in the image change: the
 * version is part of the recipe digest, so a new builder never reuses an
 * AMI made by an old one.
 */
#define BUILD_VERSION "nube-build-3"

/* SOURCE_DATE_EPOCH of the build (2025-01-01T00:00:00Z) and the creation
 * time of the file system; bumped with BUILD_VERSION when wanted. */
#define BUILD_EPOCH "1735689600"

#define DEFAULT_DISK_SIZE (G_GUINT64_CONSTANT(4) << 30)
#define MIN_DISK_SIZE     (G_GUINT64_CONSTANT(1) << 30)
#define MAX_DISK_SIZE     (G_GUINT64_CONSTANT(2) << 40)

/* Kernel command line of the image: whole-disk ext4 on the first virtio
 * disk, everything (kernel, systemd, cloud-init) on the serial console. */
#define BUILD_CMDLINE "root=/dev/vda rw console=ttyS0"

#define HOST_SOURCES_LIST "/etc/apt/sources.list"
#define HOST_SOURCES_DIR  "/etc/apt/sources.list.d"

/* clang-format off */
static const char *const base_packages[] = {
    "linux-image-cloud-amd64", "systemd-sysv", "udev",
    /* systemd-logind needs D-Bus; logind turns the ACPI power button
     * (StopInstances) into a clean shutdown. */
    "dbus", "ifupdown", "isc-dhcp-client", "iproute2", "netbase",
    "ca-certificates", "openssh-server", "curl", "apt", "sudo", NULL,
};

/* A cloud image needs no manual pages, info pages, translations or
 * documentation (licences stay).  Kept in the image for later installs. */
static const char *const dpkg_options[] = {
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    NULL,
};

/*
 * Runs after the essential packages, before the kernel is installed, so
 * the only initramfs made is the small one: the modules that reach a
 * virtio root disk and fsck for ext4 (its device does not exist at build
 * time, so initramfs-tools cannot guess it).
 */
static const char essential_hook[] =
    "set -e\n"
    "mkdir -p \"$1/etc/initramfs-tools/conf.d\" "
    "\"$1/usr/share/initramfs-tools/modules.d\"\n"
    "printf '%s\\n' MODULES=list FSTYPE=ext4 "
    "> \"$1/etc/initramfs-tools/conf.d/nube.conf\"\n"
    "printf '%s\\n' virtio_pci virtio_blk virtio_scsi sd_mod "
    "> \"$1/usr/share/initramfs-tools/modules.d/nube\"\n"
    "printf '%s\\n' '/dev/vda / ext4 rw,errors=remount-ro 0 1' "
    "> \"$1/etc/fstab\"\n";

/* Runs after all packages are installed (and before mmdebstrap's cleanup). */
static const char customize_hook_common[] =
    "set -e\n"
    /* mmdebstrap copied these from the build host */
    "echo localhost > \"$1/etc/hostname\"\n"
    "rm -f \"$1/etc/resolv.conf\"\n"
    /* each instance makes its own SSH host keys */
    "rm -f \"$1\"/etc/ssh/ssh_host_*\n"
    /* C.UTF-8 is built into libc: no locales package needed */
    "echo LANG=C.UTF-8 > \"$1/etc/default/locale\"\n"
    /* Units with nothing to do in this guest, each a process competing
     * with cloud-init for the vCPUs at boot: e2scrub needs LVM, nothing
     * uses binfmt_misc, and these modules load on demand anyway. */
    "for u in e2scrub_reap.service e2scrub_all.timer systemd-binfmt.service "
    "proc-sys-fs-binfmt_misc.automount modprobe@drm.service "
    "modprobe@efi_pstore.service modprobe@fuse.service modprobe@loop.service "
    "modprobe@dm_mod.service; do\n"
    "  ln -sf /dev/null \"$1/etc/systemd/system/$u\"\n"
    "done\n";

static const char customize_hook_cloud_init[] =
    "cat > \"$1/etc/cloud/cloud.cfg.d/90_nube.cfg\" <<'EOF'\n"
    "# nube: the NoCloud seed (ISO9660 'cidata' on a virtio disk) when the\n"
    "# instance has one, else nube's EC2-style metadata service\n"
    "datasource_list: [ NoCloud, Ec2, None ]\n"
    "datasource:\n"
    "  Ec2:\n"
    "    metadata_urls: [ 'http://169.254.169.254' ]\n"
    "    max_wait: 60\n"
    "    timeout: 10\n"
    "# the locale that exists without the locales package\n"
    "locale: C.UTF-8\n"
    "# direct kernel boot: there is no GRUB to configure\n"
    "grub_dpkg:\n"
    "  enabled: false\n"
    "# an RSA host key takes 2 to 15 s to make under TCG; every maintained\n"
    "# SSH client uses Ed25519 or ECDSA host keys\n"
    "ssh_genkeytypes: [ ed25519, ecdsa ]\n"
    "EOF\n";

/* Without cloud-init: DHCP on every Ethernet NIC, SSH host keys at boot. */
static const char customize_hook_plain[] =
    "cat > \"$1/etc/network/interfaces.d/nube\" <<'EOF'\n"
    "auto /en*=nube-dhcp /eth*=nube-dhcp\n"
    "iface nube-dhcp inet dhcp\n"
    "EOF\n"
    /* ifup -a only sees NICs that exist and have their final name (ifupdown's
     * hotplug helper ignores patterns); cloud-init settles udev itself. */
    "mkdir -p \"$1/etc/systemd/system/networking.service.d\"\n"
    "cat > \"$1/etc/systemd/system/networking.service.d/nube.conf\" <<'EOF'\n"
    "[Unit]\n"
    "Wants=systemd-udev-settle.service\n"
    "After=systemd-udev-settle.service\n"
    "EOF\n"
    "cat > \"$1/etc/systemd/system/nube-ssh-keygen.service\" <<'EOF'\n"
    "[Unit]\n"
    "Description=Generate SSH host keys\n"
    "Before=ssh.service\n"
    "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n"
    "[Service]\n"
    "Type=oneshot\n"
    "ExecStart=/usr/bin/ssh-keygen -q -N \"\" -t ed25519 "
    "-f /etc/ssh/ssh_host_ed25519_key\n"
    "ExecStart=/usr/bin/ssh-keygen -q -N \"\" -t ecdsa "
    "-f /etc/ssh/ssh_host_ecdsa_key\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n"
    "EOF\n"
    "mkdir -p \"$1/etc/systemd/system/multi-user.target.wants\"\n"
    "ln -sf /etc/systemd/system/nube-ssh-keygen.service "
    "\"$1/etc/systemd/system/multi-user.target.wants/\"\n";

/*
 * mke2fs defaults pinned here rather than taken from the host's
 * /etc/mke2fs.conf: a newer host must not pick features the guest kernel
 * (Debian 12: Linux 6.1) lacks, and the same recipe gives the same file
 * system layout on every host.
 */
static const char mke2fs_conf[] =
    "[defaults]\n"
    "\tbase_features = sparse_super,large_file,filetype,resize_inode,"
    "dir_index,ext_attr\n"
    "\tdefault_mntopts = acl,user_xattr\n"
    "\tenable_periodic_fsck = 0\n"
    "\tblocksize = 4096\n"
    "\tinode_size = 256\n"
    "\tinode_ratio = 16384\n"
    "[fs_types]\n"
    "\text4 = {\n"
    "\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,"
    "64bit,dir_nlink,extra_isize\n"
    "\t}\n";

/* clang-format on */

/* ---- recipe ------------------------------------------------------------ */

void nube_build_recipe_default(NubeBuildRecipe *r)
{
    memset(r, 0, sizeof(*r));
    r->suite = "bookworm";
    r->packages = NULL;
    r->sources_path = NULL;
    r->cloud_init = TRUE;
    r->disk_size = DEFAULT_DISK_SIZE;
}

void nube_build_result_clear(NubeBuildResult *res)
{
    nube_base_clear(&res->base);
    g_clear_pointer(&res->cmdline, g_free);
    memset(res->kernel_sha256, 0, sizeof(res->kernel_sha256));
    memset(res->ramdisk_sha256, 0, sizeof(res->ramdisk_sha256));
}

static guint64 recipe_disk_size(const NubeBuildRecipe *r)
{
    return r->disk_size == 0 ? DEFAULT_DISK_SIZE : r->disk_size;
}

/* Debian package and suite names: lowercase alphanumerics and + - . */
static gboolean debian_name_valid(const char *name, gboolean plus_ok)
{
    if (name == NULL || !g_ascii_isalnum(name[0]) || strlen(name) > 100)
        return FALSE;
    for (const char *p = name; *p != '\0'; p++) {
        if (g_ascii_isupper(*p))
            return FALSE;
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && !(plus_ok && *p == '+'))
            return FALSE;
    }
    return TRUE;
}

static int recipe_check(const NubeBuildRecipe *r, NubeError **err)
{
    if (r->agent_path != NULL && !g_path_is_absolute(r->agent_path))
        return nube_error_set(err, EINVAL, "guest agent path '%s' is not absolute", r->agent_path);
    if (!debian_name_valid(r->suite, FALSE))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue", "invalid suite '%s'",
                               r->suite ? r->suite : "");
    for (size_t i = 0; r->packages != NULL && r->packages[i] != NULL; i++)
        if (!debian_name_valid(r->packages[i], TRUE))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "invalid package name '%s'", r->packages[i]);
    guint64 size = recipe_disk_size(r);
    if (size < MIN_DISK_SIZE || size > MAX_DISK_SIZE || size % (1 << 20) != 0)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "invalid disk size %" G_GUINT64_FORMAT
                               ": must be a whole number of MiB from 1 GiB to 2 TiB",
                               size);
    return 0;
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* All packages to install, sorted, without duplicates (the array owns
 * nothing: the strings are the recipe's and static ones). */
static GPtrArray *recipe_packages(const NubeBuildRecipe *r)
{
    GPtrArray *all = g_ptr_array_new();
    for (size_t i = 0; base_packages[i] != NULL; i++)
        g_ptr_array_add(all, (gpointer) base_packages[i]);
    if (r->cloud_init)
        g_ptr_array_add(all, (gpointer) "cloud-init");
    for (size_t i = 0; r->packages != NULL && r->packages[i] != NULL; i++)
        g_ptr_array_add(all, (gpointer) r->packages[i]);
    g_ptr_array_sort(all, compare_strings);
    for (guint i = 1; i < all->len;) {
        if (strcmp(all->pdata[i - 1], all->pdata[i]) == 0)
            g_ptr_array_remove_index(all, i);
        else
            i++;
    }
    return all;
}

/*
 * The customize hook of R, with AGENT as the path the hook runs the agent
 * from (ignored when R has no agent).  The digest is taken with a fixed
 * AGENT and the agent's sha256, so where the binary lies does not matter,
 * only what it is.
 */
static char *customize_hook(const NubeBuildRecipe *r, const char *agent)
{
    g_autofree char *install = NULL;
    if (r->agent_path != NULL) {
        g_autofree char *quoted = g_shell_quote(agent);
        install = g_strdup_printf("%s install --root \"$1\"\n", quoted);
    }
    return g_strconcat(customize_hook_common,
                       r->cloud_init ? customize_hook_cloud_init : customize_hook_plain,
                       install ? install : "", NULL);
}

/* ---- the agent ------------------------------------------------------------ */

/* The agent path as the digest's hook text names it. */
#define DIGEST_AGENT_PATH "nube-agent"

static int agent_error(const char *path, GError *gerr, NubeError **err)
{
    return nube_error_set(err, gerr->code == G_FILE_ERROR_NOENT ? ENOENT : EIO,
                          "read guest agent '%s': %s", path, gerr->message);
}

/* sha256 of the agent binary of R into HEX ("none" without one). */
static int agent_sha256(const NubeBuildRecipe *r, char hex[65], NubeError **err)
{
    if (r->agent_path == NULL) {
        g_strlcpy(hex, "none", 65);
        return 0;
    }
    int ret = nube_file_sha256(r->agent_path, hex, err);
    if (ret < 0)
        return nube_error_prefix(err, "guest agent '%s'", r->agent_path);
    return 0;
}

/* Copies the agent binary PATH to DST (mode 0755) and puts the sha256 of
 * the copied bytes into HEX, so the digest names what the image gets even
 * if PATH is rebuilt meanwhile.  0 or -errno. */
static int agent_copy(const char *path, const char *dst, char hex[65], NubeError **err)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, &gerr))
        return agent_error(path, gerr, err);
    if (len == 0)
        return nube_error_set(err, EINVAL, "guest agent '%s' is empty", path);
    nube_sha256_hex(data, len, hex);
    return nube_file_write_atomic(dst, data, len, 0755, err);
}

/* ---- apt sources --------------------------------------------------------- */

/* A deb822 field; VALUE keeps continuation lines ("a\n b") verbatim. */
typedef struct {
    char *name;
    char *value;
} Field;

static void field_free(gpointer p)
{
    Field *f = p;
    g_free(f->name);
    g_free(f->value);
    g_free(f);
}

/* A stanza is a GPtrArray of Field (owning). */
static GPtrArray *stanza_new(void)
{
    return g_ptr_array_new_with_free_func(field_free);
}

static void stanza_set(GPtrArray *st, const char *name, const char *value)
{
    for (guint i = 0; i < st->len; i++) {
        Field *f = st->pdata[i];
        if (g_ascii_strcasecmp(f->name, name) == 0) {
            g_free(f->value);
            f->value = g_strdup(value);
            return;
        }
    }
    Field *f = g_new0(Field, 1);
    f->name = g_strdup(name);
    f->value = g_strdup(value);
    g_ptr_array_add(st, f);
}

static const char *stanza_get(GPtrArray *st, const char *name)
{
    for (guint i = 0; i < st->len; i++) {
        Field *f = st->pdata[i];
        if (g_ascii_strcasecmp(f->name, name) == 0)
            return f->value;
    }
    return NULL;
}

/* Appends the deb822 stanzas of TEXT to STANZAS (an array of stanzas). */
static void parse_deb822(const char *text, GPtrArray *stanzas)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    GPtrArray *st = NULL;
    Field *last = NULL;

    for (size_t i = 0; lines[i] != NULL; i++) {
        char *line = lines[i];
        g_strchomp(line);
        if (line[0] == '#')
            continue;
        if (line[0] == '\0') {
            st = NULL;
            last = NULL;
            continue;
        }
        if (g_ascii_isspace(line[0])) {
            if (last != NULL) {
                char *v = g_strconcat(last->value, "\n", line, NULL);
                g_free(last->value);
                last->value = v;
            }
            continue;
        }
        const char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        if (st == NULL) {
            st = stanza_new();
            g_ptr_array_add(stanzas, st);
        }
        last = g_new0(Field, 1);
        last->name = g_strstrip(g_strndup(line, colon - line));
        last->value = g_strstrip(g_strdup(colon + 1));
        g_ptr_array_add(st, last);
    }
}

/* deb822 names of the one-line format's options (sources.list(5)). */
static const char *option_field(const char *opt)
{
    static const char *const map[][2] = {
        { "arch", "Architectures" },
        { "lang", "Languages" },
        { "target", "Targets" },
        { "pdiffs", "PDiffs" },
        { "by-hash", "By-Hash" },
        { "allow-insecure", "Allow-Insecure" },
        { "allow-weak", "Allow-Weak" },
        { "allow-downgrade-to-insecure", "Allow-Downgrade-To-Insecure" },
        { "trusted", "Trusted" },
        { "signed-by", "Signed-By" },
        { "check-valid-until", "Check-Valid-Until" },
        { "valid-until-min", "Valid-Until-Min" },
        { "valid-until-max", "Valid-Until-Max" },
        { "check-date", "Check-Date" },
        { "date-max-future", "Date-Max-Future" },
        { "inrelease-path", "InRelease-Path" },
        { "snapshot", "Snapshot" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
        if (strcmp(map[i][0], opt) == 0)
            return map[i][1];
    return opt;
}

/* "[a=b c=d,e]" options of a one-line entry into ST. */
static void parse_one_line_options(const char *opts, GPtrArray *st)
{
    g_auto(GStrv) words = g_strsplit_set(opts, " \t", -1);
    for (size_t i = 0; words[i] != NULL; i++) {
        const char *eq = strchr(words[i], '=');
        if (eq == NULL || eq == words[i])
            continue;
        g_autofree char *name = g_strndup(words[i], eq - words[i]);
        g_autofree char *value = g_strdup(eq + 1);
        g_strdelimit(value, ",", ' ');
        stanza_set(st, option_field(name), value);
    }
}

/* One "deb [opts] URI SUITE [COMPONENT...]" line, or NULL if it is not one. */
static GPtrArray *parse_one_line_entry(const char *line)
{
    g_autofree char *copy = g_strstrip(g_strdup(line));
    char *p = copy;
    const char *type = NULL;
    if (g_str_has_prefix(p, "deb-src") && g_ascii_isspace(p[7]))
        type = "deb-src", p += 7;
    else if (g_str_has_prefix(p, "deb") && g_ascii_isspace(p[3]))
        type = "deb", p += 3;
    else
        return NULL;

    g_autoptr(GPtrArray) st = stanza_new();
    stanza_set(st, "Types", type);
    p = g_strchug(p);
    if (*p == '[') {
        char *end = strchr(p, ']');
        if (end == NULL)
            return NULL;
        *end = '\0';
        parse_one_line_options(p + 1, st);
        p = g_strchug(end + 1);
    }
    g_auto(GStrv) words = g_strsplit_set(p, " \t", -1);
    GPtrArray *w = g_ptr_array_new();
    for (size_t i = 0; words[i] != NULL; i++)
        if (words[i][0] != '\0')
            g_ptr_array_add(w, words[i]);
    g_ptr_array_add(w, NULL);
    g_autofree char **v = (char **) g_ptr_array_free(w, FALSE);
    if (v[0] == NULL || v[1] == NULL)
        return NULL;
    stanza_set(st, "URIs", v[0]);
    stanza_set(st, "Suites", v[1]);
    g_autofree char *comps = g_strjoinv(" ", v + 2);
    stanza_set(st, "Components", comps);
    return g_steal_pointer(&st);
}

static void parse_one_line(const char *text, GPtrArray *stanzas)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (size_t i = 0; lines[i] != NULL; i++) {
        char *hash = strchr(lines[i], '#');
        if (hash != NULL)
            *hash = '\0';
        GPtrArray *st = parse_one_line_entry(lines[i]);
        if (st != NULL)
            g_ptr_array_add(stanzas, st);
    }
}

/* One-line format unless the name says .sources or the text has no
 * one-line entry (apt and mmdebstrap decide the same way). */
static gboolean text_is_one_line(const char *path, const char *text)
{
    if (g_str_has_suffix(path, ".sources"))
        return FALSE;
    if (g_str_has_suffix(path, ".list"))
        return TRUE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (size_t i = 0; lines[i] != NULL; i++) {
        const char *l = g_strchug(lines[i]);
        if (g_str_has_prefix(l, "deb ") || g_str_has_prefix(l, "deb\t") ||
            g_str_has_prefix(l, "deb-src ") || g_str_has_prefix(l, "deb-src\t"))
            return TRUE;
    }
    return FALSE;
}

static int read_sources_file(const char *path, GPtrArray *stanzas, NubeError **err)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) gerr = NULL;
    if (!g_file_get_contents(path, &text, NULL, &gerr))
        return nube_error_set(err, gerr->code == G_FILE_ERROR_NOENT ? ENOENT : EIO,
                              "read apt sources '%s': %s", path, gerr->message);
    if (text_is_one_line(path, text))
        parse_one_line(text, stanzas);
    else
        parse_deb822(text, stanzas);
    return 0;
}

/* The host's sources, in apt's order: sources.list, then sources.list.d
 * (*.list and *.sources) by name. */
static int read_host_sources(GPtrArray *stanzas, NubeError **err)
{
    if (g_file_test(HOST_SOURCES_LIST, G_FILE_TEST_IS_REGULAR)) {
        int r = read_sources_file(HOST_SOURCES_LIST, stanzas, err);
        if (r < 0)
            return r;
    }
    g_autoptr(GDir) dir = g_dir_open(HOST_SOURCES_DIR, 0, NULL);
    if (dir == NULL)
        return 0;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL)
        if (g_str_has_suffix(name, ".list") || g_str_has_suffix(name, ".sources"))
            g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, compare_strings);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(HOST_SOURCES_DIR, names->pdata[i], NULL);
        int r = read_sources_file(path, stanzas, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static gboolean word_in(const char *list, const char *word)
{
    g_auto(GStrv) words = g_strsplit_set(list ? list : "", " \t\n", -1);
    return g_strv_contains((const char *const *) words, word);
}

/* The suite WORD of the recipe's SUITE: itself or its -updates or
 * -security pocket when it is one, else (REBASE: WORD belongs to another
 * release, e.g. a trixie host building bookworm) the same pocket of SUITE.
 * NULL if WORD is not wanted. */
static char *suite_for(const char *word, const char *suite, gboolean rebase)
{
    const char *dash = strchr(word, '-');
    g_autofree char *release = dash ? g_strndup(word, dash - word) : g_strdup(word);
    const char *pocket = dash ? dash : "";
    if (*pocket != '\0' && strcmp(pocket, "-updates") != 0 && strcmp(pocket, "-security") != 0)
        return NULL;
    if (strcmp(release, suite) != 0 &&
        (!rebase || !debian_name_valid(release, FALSE) || strcmp(release, "experimental") == 0 ||
         strcmp(release, "rc-buggy") == 0))
        return NULL;
    return g_strconcat(suite, pocket, NULL);
}

/* Keeps only http(s) URIs: cdrom:, file: and the like are not reachable
 * from mmdebstrap's chroot or from a guest. */
static char *filter_uris(const char *uris)
{
    g_auto(GStrv) words = g_strsplit_set(uris ? uris : "", " \t\n", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    for (size_t i = 0; words[i] != NULL; i++) {
        const char *u = words[i];
        if (!g_str_has_prefix(u, "http://") && !g_str_has_prefix(u, "https://") &&
            !g_str_has_prefix(u, "mirror+http://") && !g_str_has_prefix(u, "mirror+https://"))
            continue;
        g_string_append_printf(out, "%s%s", out->len ? " " : "", u);
    }
    return out->len ? g_string_free(g_steal_pointer(&out), FALSE) : NULL;
}

/* Debian archives only: a third-party repository for the same suite has its
 * own keyring, which the guest would not have. */
static gboolean stanza_is_debian(GPtrArray *st)
{
    const char *signed_by = stanza_get(st, "Signed-By");
    return signed_by == NULL || strstr(signed_by, "debian-archive") != NULL;
}

/* ST reduced to binary packages of SUITE from reachable Debian mirrors, as
 * a new stanza, or NULL if nothing of it is wanted. */
static GPtrArray *stanza_for_suite(GPtrArray *st, const char *suite, gboolean rebase)
{
    const char *enabled = stanza_get(st, "Enabled");
    if ((enabled != NULL && g_ascii_strcasecmp(enabled, "no") == 0) ||
        !word_in(stanza_get(st, "Types"), "deb") || !stanza_is_debian(st))
        return NULL;
    g_autofree char *uris = filter_uris(stanza_get(st, "URIs"));
    if (uris == NULL)
        return NULL;

    g_auto(GStrv) words = g_strsplit_set(stanza_get(st, "Suites") ?: "", " \t\n", -1);
    g_autoptr(GString) suites = g_string_new(NULL);
    for (size_t i = 0; words[i] != NULL; i++) {
        g_autofree char *s = words[i][0] ? suite_for(words[i], suite, rebase) : NULL;
        if (s != NULL && !word_in(suites->str, s))
            g_string_append_printf(suites, "%s%s", suites->len ? " " : "", s);
    }
    if (suites->len == 0)
        return NULL;

    GPtrArray *out = stanza_new();
    stanza_set(out, "Types", "deb");
    stanza_set(out, "URIs", uris);
    stanza_set(out, "Suites", suites->str);
    for (guint i = 0; i < st->len; i++) {
        Field *f = st->pdata[i];
        if (stanza_get(out, f->name) == NULL && g_ascii_strcasecmp(f->name, "Enabled") != 0)
            stanza_set(out, f->name, f->value);
    }
    return out;
}

static char *stanzas_to_text(GPtrArray *stanzas, const char *suite, gboolean rebase)
{
    g_autoptr(GString) text = g_string_new(NULL);
    for (guint i = 0; i < stanzas->len; i++) {
        g_autoptr(GPtrArray) st = stanza_for_suite(stanzas->pdata[i], suite, rebase);
        if (st == NULL)
            continue;
        if (text->len > 0)
            g_string_append_c(text, '\n');
        for (guint j = 0; j < st->len; j++) {
            Field *f = st->pdata[j];
            /* a value that starts on the next line ("Signed-By:\n key") */
            g_string_append_printf(text, "%s:%s%s\n", f->name, f->value[0] == '\n' ? "" : " ",
                                   f->value);
        }
    }
    return text->len ? g_string_free(g_steal_pointer(&text), FALSE) : NULL;
}

/*
 * The deb822 sources the image is built from (and keeps) into *OUT (caller
 * frees): the recipe's file or the host's apt configuration, reduced to the
 * recipe's suite.  If no entry is for that suite, the Debian entries found
 * are rebased onto it (a trixie host building bookworm).  0 or -errno.
 */
static int sources_text(const NubeBuildRecipe *r, char **out, NubeError **err)
{
    g_autoptr(GPtrArray) stanzas =
        g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
    int ret = r->sources_path ? read_sources_file(r->sources_path, stanzas, err)
                              : read_host_sources(stanzas, err);
    if (ret < 0)
        return ret;

    char *text = stanzas_to_text(stanzas, r->suite, FALSE);
    if (text == NULL)
        text = stanzas_to_text(stanzas, r->suite, TRUE);
    if (text == NULL)
        return nube_error_set(err, ENOENT, "no Debian apt source usable for suite '%s' in '%s'",
                              r->suite, r->sources_path ? r->sources_path : "/etc/apt");
    *out = text;
    return 0;
}

/* ---- digest --------------------------------------------------------------- */

/* The canonical text of everything that determines the image; AGENT_SHA
 * is the sha256 of the agent binary, or "none". */
static char *recipe_canonical_text(const NubeBuildRecipe *r, const char *sources,
                                   const char *agent_sha)
{
    g_autoptr(GPtrArray) pkgs = recipe_packages(r);
    g_ptr_array_add(pkgs, NULL);
    g_autofree char *pkglist = g_strjoinv(",", (char **) pkgs->pdata);
    g_autofree char *dpkgopts = g_strjoinv("\n", (char **) dpkg_options);
    g_autofree char *customize = customize_hook(r, DIGEST_AGENT_PATH);

    return g_strdup_printf("builder: %s\n"
                           "epoch: %s\n"
                           "suite: %s\n"
                           "variant: minbase\n"
                           "packages: %s\n"
                           "disk-size: %" G_GUINT64_FORMAT "\n"
                           "cmdline: %s\n"
                           "cloud-init: %s\n"
                           "agent: %s\n"
                           "--- dpkg options\n%s\n"
                           "--- essential hook\n%s"
                           "--- customize hook\n%s"
                           "--- mke2fs.conf\n%s"
                           "--- apt sources\n%s",
                           BUILD_VERSION, BUILD_EPOCH, r->suite, pkglist, recipe_disk_size(r),
                           BUILD_CMDLINE, r->cloud_init ? "yes" : "no", agent_sha, dpkgopts,
                           essential_hook, customize, mke2fs_conf, sources);
}

static char *recipe_digest_with(const NubeBuildRecipe *r, const char *sources,
                                const char *agent_sha)
{
    g_autofree char *text = recipe_canonical_text(r, sources, agent_sha);
    char hex[65];
    nube_sha256_hex(text, strlen(text), hex);
    return g_strdup(hex);
}

char *nube_build_recipe_digest(const NubeBuildRecipe *r, NubeError **err)
{
    g_autofree char *sources = NULL;
    char agent_sha[65];
    if (recipe_check(r, err) < 0 || sources_text(r, &sources, err) < 0 ||
        agent_sha256(r, agent_sha, err) < 0)
        return NULL;
    return recipe_digest_with(r, sources, agent_sha);
}

/* A UUID (version 4 layout) derived from DIGEST and a PURPOSE. */
static char *derived_uuid(const char *digest, const char *purpose)
{
    g_autofree char *in = g_strdup_printf("%s:%s", purpose, digest);
    char h[65];
    nube_sha256_hex(in, strlen(in), h);
    h[12] = '4';
    h[16] = "89ab"[g_ascii_xdigit_value(h[16]) & 3];
    return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* ---- the build ------------------------------------------------------------ */

typedef struct {
    NubeStore *store;
    const NubeBuildRecipe *recipe;
    NubeProgressFn progress;
    void *opaque;
    char *digest;
    char *work;     /* <store tmp>/build-XXXXXX, removed at the end */
    char *qcow2;    /* <store tmp>/build-XXXXXX.qcow2, adopted or removed */
    char *rootfs;   /* <work>/rootfs */
    char *raw;      /* <work>/root.raw */
    char *kernel;   /* <work>/vmlinuz */
    char *initrd;   /* <work>/initrd.img */
    char *log_path; /* <work>/build.log */
    char *agent;    /* <work>/nube-agent, the copy the hook runs; NULL: none */
    int log_fd;
    gint64 t0;
} Build;

/* True if something is mounted at or under PATH: then PATH is left alone
 * rather than recursing into a foreign file system. */
static gboolean has_mounts_under(const char *path)
{
    g_autofree char *info = NULL;
    if (!g_file_get_contents("/proc/self/mountinfo", &info, NULL, NULL))
        return TRUE;
    g_autofree char *prefix = g_strconcat(path, "/", NULL);
    g_auto(GStrv) lines = g_strsplit(info, "\n", -1);
    for (size_t i = 0; lines[i] != NULL; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], " ", 6);
        if (g_strv_length(f) < 5)
            continue;
        g_autofree char *mnt = g_strcompress(f[4]);
        if (strcmp(mnt, path) == 0 || g_str_has_prefix(mnt, prefix))
            return TRUE;
    }
    return FALSE;
}

static void remove_tree(const char *path)
{
    g_autoptr(NubeError) err = NULL;
    g_autofree char *real = realpath(path, NULL);
    if (real == NULL)
        return;
    if (has_mounts_under(real)) {
        nube_debug("build: not removing '%s': something is mounted there", path);
        return;
    }
    if (nube_rm_rf(path, &err) < 0)
        nube_debug("build: remove '%s': %s", path, err->message);
}

static void build_clear(Build *b)
{
    if (b->log_fd >= 0)
        close(b->log_fd);
    if (b->work != NULL)
        remove_tree(b->work);
    if (b->qcow2 != NULL && unlink(b->qcow2) < 0 && errno != ENOENT)
        nube_debug("build: unlink '%s': %s", b->qcow2, g_strerror(errno));
    g_free(b->digest);
    g_free(b->work);
    g_free(b->qcow2);
    g_free(b->rootfs);
    g_free(b->raw);
    g_free(b->kernel);
    g_free(b->initrd);
    g_free(b->log_path);
    g_free(b->agent);
}

static void build_step(Build *b, const char *message)
{
    nube_debug("build: %s (%.1f s)", message, (g_get_monotonic_time() - b->t0) / 1e6);
    if (b->progress != NULL)
        b->progress(message, b->opaque);
}

static int build_prepare(Build *b, NubeError **err)
{
    if (geteuid() != 0)
        return nube_error_set(
            err, EPERM,
            "building the default image needs root (mmdebstrap into a directory with real ownership)");
    int r = recipe_check(b->recipe, err);
    if (r < 0)
        return r;
    g_autofree char *sources = NULL;
    r = sources_text(b->recipe, &sources, err);
    if (r < 0)
        return r;

    g_autofree char *tmpl = g_build_filename(nube_store_tmp_dir(b->store), "build-XXXXXX", NULL);
    if (g_mkdtemp_full(tmpl, 0700) == NULL)
        return nube_error_set(err, errno, "create work directory '%s'", tmpl);
    b->work = g_steal_pointer(&tmpl);
    b->qcow2 = g_strconcat(b->work, ".qcow2", NULL);
    b->rootfs = g_build_filename(b->work, "rootfs", NULL);
    b->raw = g_build_filename(b->work, "root.raw", NULL);
    b->kernel = g_build_filename(b->work, "vmlinuz", NULL);
    b->initrd = g_build_filename(b->work, "initrd.img", NULL);
    b->log_path = g_build_filename(b->work, "build.log", NULL);

    char agent_sha[65] = "none";
    if (b->recipe->agent_path != NULL) {
        b->agent = g_build_filename(b->work, "nube-agent", NULL);
        r = agent_copy(b->recipe->agent_path, b->agent, agent_sha, err);
        if (r < 0)
            return r;
    }
    b->digest = recipe_digest_with(b->recipe, sources, agent_sha);

    /* The name becomes the image's /etc/apt/sources.list.d/0000debian.sources */
    g_autofree char *src_path = g_build_filename(b->work, "debian.sources", NULL);
    r = nube_file_write_atomic(src_path, sources, strlen(sources), 0644, err);
    if (r < 0)
        return r;
    b->log_fd = open(b->log_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0600);
    if (b->log_fd < 0)
        return nube_error_set(err, errno, "create '%s'", b->log_path);
    return 0;
}

static int step_bootstrap(Build *b, NubeError **err)
{
    const NubeBuildRecipe *r = b->recipe;
    g_autoptr(GPtrArray) pkgs = recipe_packages(r);
    g_ptr_array_add(pkgs, NULL);
    g_autofree char *include = g_strjoinv(",", (char **) pkgs->pdata);

    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup("mmdebstrap"));
    g_ptr_array_add(argv, g_strdup("--verbose"));
    g_ptr_array_add(argv, g_strdup("--mode=unshare"));
    g_ptr_array_add(argv, g_strdup("--variant=minbase"));
    g_ptr_array_add(argv, g_strdup("--format=directory"));
    g_ptr_array_add(argv, g_strconcat("--include=", include, NULL));
    for (size_t i = 0; dpkg_options[i] != NULL; i++)
        g_ptr_array_add(argv, g_strconcat("--dpkgopt=", dpkg_options[i], NULL));
    /* Inline hooks run under sh with the tree as $1 (the agent's path is
     * quoted by customize_hook()). */
    g_ptr_array_add(argv, g_strconcat("--essential-hook=", essential_hook, NULL));
    g_autofree char *customize = customize_hook(r, b->agent);
    g_ptr_array_add(argv, g_strconcat("--customize-hook=", customize, NULL));
    g_ptr_array_add(argv, g_strdup("--"));
    g_ptr_array_add(argv, g_strdup(r->suite));
    g_ptr_array_add(argv, g_strdup(b->rootfs));
    g_ptr_array_add(argv, g_build_filename(b->work, "debian.sources", NULL));
    g_ptr_array_add(argv, NULL);

    const char *env[] = { "SOURCE_DATE_EPOCH=" BUILD_EPOCH, NULL };
    int ret =
        nube_spawn_logged((const char *const *) argv->pdata, env, b->log_fd, b->log_path, err);
    if (ret < 0)
        return nube_error_prefix(err, "bootstrap Debian '%s'", r->suite);
    return 0;
}

static int create_sparse(const char *path, guint64 size, NubeError **err)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return nube_error_set(err, errno, "create '%s'", path);
    if (ftruncate(fd, (off_t) size) < 0)
        return nube_error_set(err, errno, "truncate '%s'", path);
    return 0;
}

static int step_mkfs(Build *b, NubeError **err)
{
    int r = create_sparse(b->raw, recipe_disk_size(b->recipe), err);
    if (r < 0)
        return r;
    g_autofree char *conf = g_build_filename(b->work, "mke2fs.conf", NULL);
    r = nube_file_write_atomic(conf, mke2fs_conf, strlen(mke2fs_conf), 0644, err);
    if (r < 0)
        return r;

    g_autofree char *uuid = derived_uuid(b->digest, "ext4-uuid");
    g_autofree char *seed = derived_uuid(b->digest, "ext4-hash-seed");
    /* Inode tables and journal zeroed now (zeros cost nothing in the
     * qcow2) rather than by ext4lazyinit in every guest under TCG. */
    g_autofree char *ext =
        g_strdup_printf("hash_seed=%s,lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0", seed);
    /* clang-format off */
    const char *argv[] = { "mkfs.ext4", "-q", "-F", "-t", "ext4", "-L", "root",
                           "-U", uuid, "-E", ext, "-d", b->rootfs, b->raw, NULL };
    /* clang-format on */
    g_autofree char *cfg_env = g_strconcat("MKE2FS_CONFIG=", conf, NULL);
    const char *env[] = { cfg_env, "E2FSPROGS_FAKE_TIME=" BUILD_EPOCH, "MKE2FS_SKIP_CHECK_MSG=1",
                          NULL };
    r = nube_spawn_logged(argv, env, b->log_fd, b->log_path, err);
    if (r < 0)
        return nube_error_prefix(err, "make ext4 file system");
    return 0;
}

/* The one regular file in DIR whose name starts with PREFIX into *OUT
 * (caller frees).  0 or -errno. */
static int find_boot_file(const char *dir, const char *prefix, char **out, NubeError **err)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autofree char *found = NULL;
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_prefix(name, prefix))
            continue;
        if (found != NULL)
            return nube_error_set(err, EEXIST, "more than one '%s*' in '%s'", prefix, dir);
        found = g_build_filename(dir, name, NULL);
    }
    struct stat st;
    if (found == NULL || lstat(found, &st) < 0 || !S_ISREG(st.st_mode))
        return nube_error_set(err, ENOENT, "no '%s*' file in '%s'", prefix, dir);
    *out = g_steal_pointer(&found);
    return 0;
}

/*
 * Moves the kernel and initrd out of the tree (the image already holds its
 * copy) and removes the tree.
 */
static int step_take_boot_files(Build *b, NubeError **err)
{
    g_autofree char *boot = g_build_filename(b->rootfs, "boot", NULL);
    g_autofree char *kernel = NULL;
    g_autofree char *initrd = NULL;
    int r = find_boot_file(boot, "vmlinuz-", &kernel, err);
    if (r == 0)
        r = find_boot_file(boot, "initrd.img-", &initrd, err);
    if (r < 0)
        return nube_error_prefix(err, "kernel of the image");
    if (rename(kernel, b->kernel) < 0)
        return nube_error_set(err, errno, "move '%s'", kernel);
    if (rename(initrd, b->initrd) < 0)
        return nube_error_set(err, errno, "move '%s'", initrd);
    remove_tree(b->rootfs);
    return 0;
}

static int step_convert(Build *b, NubeError **err)
{
    int r = nube_qemuimg_convert(b->raw, "raw", b->qcow2, err);
    if (r < 0)
        return nube_error_prefix(err, "convert to qcow2");
    if (unlink(b->raw) < 0)
        nube_debug("build: unlink '%s': %s", b->raw, g_strerror(errno));
    return 0;
}

/*
 * Blobs first, the base last: if adopting fails, what remains are two
 * content-addressed blobs nothing refers to, never a half-stored base.
 */
static int step_store(Build *b, NubeBuildResult *out, NubeError **err)
{
    int r = nube_store_add_blob(b->store, b->kernel, out->kernel_sha256, err);
    if (r < 0)
        return nube_error_prefix(err, "store kernel");
    r = nube_store_add_blob(b->store, b->initrd, out->ramdisk_sha256, err);
    if (r < 0)
        return nube_error_prefix(err, "store initrd");
    r = nube_store_adopt(b->store, b->qcow2, &out->base, err);
    if (r < 0)
        return nube_error_prefix(err, "store image");
    out->cmdline = g_strdup(BUILD_CMDLINE);
    return 0;
}

static int build_run(Build *b, NubeBuildResult *out, NubeError **err)
{
    int r = build_prepare(b, err);
    if (r < 0)
        return r;
    nube_debug("build: recipe %s in '%s'", b->digest, b->work);
    build_step(b, "mmdebstrap: downloading and installing packages");
    if ((r = step_bootstrap(b, err)) < 0)
        return r;
    build_step(b, "making ext4 file system");
    if ((r = step_mkfs(b, err)) < 0 || (r = step_take_boot_files(b, err)) < 0)
        return r;
    build_step(b, "converting to qcow2");
    if ((r = step_convert(b, err)) < 0)
        return r;
    build_step(b, "storing");
    if ((r = step_store(b, out, err)) < 0)
        return r;
    nube_debug("build: done in %.1f s", (g_get_monotonic_time() - b->t0) / 1e6);
    return 0;
}

int nube_build_default_image(NubeStore *store, const NubeBuildRecipe *r, NubeProgressFn progress,
                             void *opaque, NubeBuildResult *out, NubeError **err)
{
    Build b = {
        .store = store,
        .recipe = r,
        .progress = progress,
        .opaque = opaque,
        .log_fd = -1,
        .t0 = g_get_monotonic_time(),
    };
    NubeBuildResult res = { 0 };

    int ret = build_run(&b, &res, err);
    build_clear(&b);
    if (ret < 0) {
        /* Only the names of blobs already stored survive, for the caller
         * to collect. */
        nube_base_clear(&res.base);
        g_clear_pointer(&res.cmdline, g_free);
        ret = nube_error_prefix(err, "build default image");
    }
    *out = res;
    return ret;
}
