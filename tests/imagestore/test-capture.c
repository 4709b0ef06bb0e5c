/*
 * test-capture.c: CreateImage's disk work on real ext4 disks (suite
 * integration: runs mkfs.ext4, qemu-img and libguestfs appliances).
 *
 * A small guest tree (below) becomes a base; an overlay on it gets one more
 * file; the overlay is flattened and generalized; the result is then read
 * back, as a user would look at it, with a read-only libguestfs handle
 * (whole-disk case) or debugfs (partitioned case, saving a launch).  Every
 * item of the tree says what generalizing must leave of it, so a generalize
 * that did nothing fails on each GONE and EMPTY line.
 *
 * The appliance runs under TCG unless NUBE_TEST_ACCEL=kvm.
 */
#include "capture.h"
#include "overlay.h"
#include "qemuimg.h"
#include "testutil.h"

#include <guestfs.h>
#include <string.h>
#include <sys/stat.h>

#define PART_OFFSET 1048576 /* first partition of the partitioned disk */

typedef enum {
    SAME,      /* still there with the same content (or the same link target) */
    EMPTY,     /* still there, empty */
    GONE,      /* no longer there, not even as a dangling link */
    DIR_EMPTY, /* a directory, still there, now empty */
    DIR_KEPT,  /* a directory, still there */
} Expect;

typedef struct {
    const char *path;    /* in the guest, without the leading '/' */
    const char *content; /* NULL: a directory, or a symlink to LINK */
    const char *link;
    Expect expect;
    gboolean in_overlay; /* written into the overlay, not the base */
} Item;

static const Item guest_tree[] = {
    { "etc/hostname", "old-host\n", NULL, SAME },
    { "etc/machine-id", "0123456789abcdef0123456789abcdef\n", NULL, EMPTY },
    { "etc/ssh/ssh_host_ed25519_key", "-----PRIVATE-----\n", NULL, GONE },
    { "etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@old\n", NULL, GONE },
    { "etc/ssh/ssh_host_rsa_key", "-----PRIVATE-----\n", NULL, GONE },
    { "etc/ssh/sshd_config", "PermitRootLogin no\n", NULL, SAME },
    { "var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n", NULL, GONE },
    { "var/lib/cloud/instances/i-123/obj.pkl", "pickled\n", NULL, GONE },
    { "var/lib/cloud/instances/i-123/sem/config_ssh", "ran\n", NULL, GONE },
    { "var/lib/cloud/instance", NULL, "/var/lib/cloud/instances/i-123", GONE },
    { "var/lib/cloud/data/instance-id", "i-123\n", NULL, GONE },
    { "var/lib/cloud/sem/config_scripts_per_once.once", "ran\n", NULL, GONE },
    { "var/lib/cloud/scripts/per-boot/keep.sh", "#!/bin/sh\necho keep\n", NULL, SAME },
    { "var/lib/nube-agent/userdata-done", "i-123\n", NULL, GONE },
    { "var/log/nube-agent-userdata.log", "user data ran\n", NULL, GONE },
    { "etc/systemd/system/nube-agent.service", "[Service]\n", NULL, SAME },
    { "var/log/syslog", "Nov 27 old-host kernel: booted\n", NULL, EMPTY },
    { "var/log/syslog.1.gz", "\037\213gzipped\n", NULL, GONE },
    { "var/log/dpkg.log.1", "old dpkg lines\n", NULL, GONE },
    { "var/log/apt/history.log", "Start-Date: 2024-01-01\n", NULL, EMPTY },
    { "var/log/apt", NULL, NULL, DIR_KEPT },
    { "var/log/journal/0123456789abcdef0123456789abcdef/system.journal", "LPKSHHRH", NULL, GONE },
    { "var/lib/dhcp/dhclient.eth0.leases", "lease { fixed-address 10.0.2.15; }\n", NULL, GONE },
    { "var/lib/dhcp", NULL, NULL, DIR_KEPT },
    { "var/lib/NetworkManager/internal-1234-eth0.lease", "ADDRESS=10.0.2.15\n", NULL, GONE },
    { "root/.bash_history", "cat /etc/shadow\n", NULL, GONE },
    { "home/alice/.bash_history", "ls\n", NULL, GONE },
    { "home/alice/.profile", "PATH=$HOME/bin:$PATH\n", NULL, SAME },
    { "home/bob/.bash_history", NULL, "/dev/null", SAME },
    { "tmp/junk", "x\n", NULL, GONE },
    { "tmp/dir/deeper", "x\n", NULL, GONE },
    { "tmp", NULL, NULL, DIR_EMPTY },
    { "var/tmp/junk", "x\n", NULL, GONE },
    { "var/tmp", NULL, NULL, DIR_EMPTY },
    { "var/lib/systemd/random-seed", "0123456789abcdef\n", NULL, GONE },
    { "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
      "Package: apache2\n", NULL, SAME },
    /* enough of an OS for libguestfs inspection (partitioned case) */
    { "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", NULL, SAME },
    { "etc/debian_version", "12.0\n", NULL, SAME },
    { "etc/fstab", "LABEL=root / ext4 defaults 0 1\n", NULL, SAME },
    { "bin", NULL, NULL, DIR_KEPT },
    { "usr/bin", NULL, NULL, DIR_KEPT },
    /* the instance's own change: proves the chain was flattened */
    { "etc/overlay-change", "written after boot\n", NULL, SAME, TRUE },
};

typedef struct {
    char *scratch;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->scratch = scratch_new();
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    scratch_free(f->scratch);
}

static char *path_in(Fixture *f, const char *name)
{
    return g_build_filename(f->scratch, name, NULL);
}

static gboolean use_tcg(void)
{
    return g_strcmp0(g_getenv("NUBE_TEST_ACCEL"), "kvm") != 0;
}

/* ---- building disks ------------------------------------------------- */

static void item_create(const char *root, const Item *it)
{
    g_autofree char *p = g_build_filename(root, it->path, NULL);
    g_autofree char *dir = g_path_get_dirname(p);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    if (it->link != NULL) {
        g_assert_cmpint(symlink(it->link, p), ==, 0);
    } else if (it->content == NULL) {
        g_assert_cmpint(g_mkdir_with_parents(p, 0755), ==, 0);
    } else {
        g_autoptr(GError) gerr = NULL;
        g_file_set_contents(p, it->content, -1, &gerr);
        g_assert_no_error(gerr);
    }
}

/* A directory NAME holding the guest tree, with or without the overlay's
 * items. */
static char *tree_new(Fixture *f, const char *name, gboolean with_overlay)
{
    char *root = path_in(f, name);
    for (guint i = 0; i < G_N_ELEMENTS(guest_tree); i++)
        if (with_overlay || !guest_tree[i].in_overlay)
            item_create(root, &guest_tree[i]);
    return root;
}

/* mkfs.ext4 -d TREE into RAW (64 MiB whole disk, or a 63 MiB first
 * partition), with fixed UUID and hash seed so two trees differ in few
 * blocks. */
static void mkfs_from(const char *tree, const char *raw, gboolean partitioned)
{
    g_assert_true(run_ok((const char *[]){ "truncate", "-s", "64M", raw, NULL }));
    const char *uuid = "5b0c0a6e-1d4e-4a53-9a57-0d2d1c1e7a01";
    g_autofree char *ext =
        g_strdup_printf("hash_seed=%s%s", uuid, partitioned ? ",offset=1048576" : "");
    const char *argv[] = { "mkfs.ext4",
                           "-q",
                           "-F",
                           "-L",
                           "root",
                           "-U",
                           uuid,
                           "-E",
                           ext,
                           "-d",
                           tree,
                           raw,
                           partitioned ? "63M" : "64M",
                           NULL };
    g_free(run(argv));
}

static void raw_to_qcow2(const char *raw, const char *qcow2)
{
    g_free(run(
        (const char *[]){ "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2, NULL }));
}

/*
 * An instance disk: base.qcow2 from the tree without the overlay's items,
 * an overlay made by nube_overlay_create(), and the overlay's items written
 * into it.  The write goes without an appliance: point the overlay at an
 * image of the full tree, then let a safe `qemu-img rebase` back onto the
 * base copy every cluster that differs into the overlay.
 */
static char *instance_disk_new(Fixture *f)
{
    g_autofree char *tree_a = tree_new(f, "tree-base", FALSE);
    g_autofree char *tree_b = tree_new(f, "tree-full", TRUE);
    g_autofree char *raw_a = path_in(f, "base.raw");
    g_autofree char *raw_b = path_in(f, "full.raw");
    g_autofree char *base = path_in(f, "base.qcow2");
    g_autofree char *full = path_in(f, "full.qcow2");
    char *disk = path_in(f, "instance.qcow2");
    mkfs_from(tree_a, raw_a, FALSE);
    mkfs_from(tree_b, raw_b, FALSE);
    raw_to_qcow2(raw_a, base);
    raw_to_qcow2(raw_b, full);

    g_autoptr(NubeError) err = NULL;
    if (nube_overlay_create(base, disk, 0, &err) < 0)
        g_error("overlay: %s", err->message);
    g_free(run((const char *[]){ "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b",
                                 full, disk, NULL }));
    g_free(run((const char *[]){ "qemu-img", "rebase", "-f", "qcow2", "-F", "qcow2", "-b", base,
                                 disk, NULL }));
    g_assert_cmpint(unlink(full), ==, 0); /* the overlay must not need it */

    g_autofree char *backing = NULL;
    g_autofree char *backing_fmt = NULL;
    g_assert_cmpint(nube_overlay_backing(disk, &backing, &backing_fmt, &err), ==, 0);
    g_assert_cmpstr(backing, ==, base);
    return disk;
}

/* ---- running the code under test -------------------------------------- */

static void flatten_ok(const char *overlay, const char *dst)
{
    g_autoptr(NubeError) err = NULL;
    gint64 t = g_get_monotonic_time();
    if (nube_capture_flatten(overlay, dst, &err) < 0)
        g_error("flatten: %s", err->message);
    g_test_message("flatten: %.2f s", (g_get_monotonic_time() - t) / 1e6);
}

static void generalize_ok(const char *disk, NubeGeneralizeReport *rep)
{
    NubeGeneralizeOptions opts = { .tcg = use_tcg() };
    g_autoptr(NubeError) err = NULL;
    if (nube_capture_generalize(disk, &opts, rep, &err) < 0)
        g_error("generalize: %s", err->message);
    g_test_message("generalize: appliance launch %.1f s, total %.1f s, "
                   "%u removed, %u truncated: %s",
                   rep->launch_ms / 1e3, rep->total_ms / 1e3, rep->removed, rep->truncated,
                   rep->summary);
}

/* ---- looking at the result with libguestfs ------------------------------ */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(guestfs_h, guestfs_close)

static void gcheck(guestfs_h *g, int r, const char *what)
{
    if (r < 0)
        g_error("%s: %s", what, guestfs_last_error(g));
}

/* A read-only appliance with the whole-disk QCOW2 mounted on /. */
static guestfs_h *guest_open_ro(const char *qcow2)
{
    guestfs_h *g = guestfs_create();
    g_assert_nonnull(g);
    guestfs_set_error_handler(g, NULL, NULL);
    gcheck(g, guestfs_set_backend(g, "direct"), "backend");
    if (use_tcg())
        gcheck(g, guestfs_set_backend_setting(g, "force_tcg", "1"), "tcg");
    gcheck(g,
           guestfs_add_drive_opts(g, qcow2, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2",
                                  GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1),
           "add drive");
    gint64 t = g_get_monotonic_time();
    gcheck(g, guestfs_launch(g), "launch");
    g_test_message("check appliance launch: %.1f s", (g_get_monotonic_time() - t) / 1e6);
    gcheck(g, guestfs_mount_ro(g, "/dev/sda", "/"), "mount");
    return g;
}

/* Content of the regular file PATH, or NULL if there is no such file. */
static char *guest_read(guestfs_h *g, const char *path)
{
    if (guestfs_is_file(g, path) <= 0)
        return NULL;
    size_t len = 0;
    char *data = guestfs_read_file(g, path, &len);
    g_assert_nonnull(data);
    g_assert_cmpuint(strlen(data), ==, len);
    return data;
}

static gboolean guest_exists(guestfs_h *g, const char *path)
{
    struct guestfs_statns *st = guestfs_lstatns(g, path);
    if (st == NULL)
        return FALSE;
    guestfs_free_statns(st);
    return TRUE;
}

static guint guest_dir_count(guestfs_h *g, const char *path)
{
    g_auto(GStrv) names = guestfs_ls(g, path);
    g_assert_nonnull(names);
    return g_strv_length(names);
}

static void check_item(guestfs_h *g, const Item *it)
{
    g_autofree char *path = g_strconcat("/", it->path, NULL);
    g_test_message("checking %s", path);
    switch (it->expect) {
    case GONE:
        g_assert_false(guest_exists(g, path));
        break;
    case EMPTY: {
        g_autofree char *data = guest_read(g, path);
        g_assert_cmpstr(data, ==, "");
        break;
    }
    case SAME:
        if (it->link != NULL) {
            g_autofree char *target = guestfs_readlink(g, path);
            g_assert_cmpstr(target, ==, it->link);
        } else {
            g_autofree char *data = guest_read(g, path);
            g_assert_cmpstr(data, ==, it->content);
        }
        break;
    case DIR_EMPTY:
        g_assert_cmpint(guestfs_is_dir(g, path), ==, 1);
        g_assert_cmpuint(guest_dir_count(g, path), ==, 0);
        break;
    case DIR_KEPT:
        g_assert_cmpint(guestfs_is_dir(g, path), ==, 1);
        break;
    }
}

/* ---- tests ------------------------------------------------------------ */

static void test_flatten_generalize(Fixture *f, gconstpointer data)
{
    g_autofree char *disk = instance_disk_new(f);
    g_autofree char *image = path_in(f, "image.qcow2");
    flatten_ok(disk, image);

    NubeImageInfo info = { 0 };
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_qemuimg_info(image, "qcow2", &info, &err), ==, 0);
    g_assert_cmpstr(info.format, ==, "qcow2");
    g_assert_null(info.backing_file);
    g_assert_cmpuint(info.virtual_size, ==, 64 * 1024 * 1024);
    nube_image_info_clear(&info);

    g_auto(NubeGeneralizeReport) rep = { 0 };
    generalize_ok(image, &rep);
    g_assert_cmpstr(rep.root_device, ==, "/dev/sda");
    g_assert_false(rep.inspected);
    g_assert_true(rep.trimmed);
    g_assert_cmpint(nube_qemuimg_check(image, &err), ==, 0);

    g_autoptr(guestfs_h) g = guest_open_ro(image);
    for (guint i = 0; i < G_N_ELEMENTS(guest_tree); i++)
        check_item(g, &guest_tree[i]);
    g_assert_false(guest_exists(g, "/var/lib/cloud/instances"));
    g_assert_false(guest_exists(g, "/var/lib/nube-agent"));
    g_assert_cmpint(guestfs_is_dir(g, "/var/log/journal"), ==, 1);
    /* 3 host keys, dbus machine-id, 4 cloud-init entries, the agent's
     * state and user data log, 3 old logs, 2 leases, 2 histories, 3 tmp
     * entries, random seed; emptied: machine-id and 2 live logs */
    g_assert_cmpuint(rep.removed, ==, 3 + 1 + 4 + 2 + 3 + 2 + 2 + 3 + 1);
    g_assert_cmpuint(rep.truncated, ==, 3);
}

/* An imported image with a partition table: found by inspection. */
static void test_partitioned(Fixture *f, gconstpointer data)
{
    g_autofree char *tree = tree_new(f, "tree", TRUE);
    g_autofree char *raw = path_in(f, "disk.raw");
    g_autofree char *image = path_in(f, "image.qcow2");
    mkfs_from(tree, raw, TRUE);
    g_autofree char *table = g_strdup_printf("label: dos\nstart=%d, type=83\n", PART_OFFSET / 512);
    g_autofree char *table_file = path_in(f, "table");
    g_assert_true(g_file_set_contents(table_file, table, -1, NULL));
    g_free(run((const char *[]){ "sh", "-c", "sfdisk -q \"$0\" < \"$1\"", raw, table_file, NULL }));
    raw_to_qcow2(raw, image);

    g_auto(NubeGeneralizeReport) rep = { 0 };
    generalize_ok(image, &rep);
    g_assert_true(rep.inspected);
    g_assert_cmpstr(rep.root_device, ==, "/dev/sda1");

    /* Read back with debugfs, without another appliance. */
    g_autofree char *out = path_in(f, "out.raw");
    g_free(run(
        (const char *[]){ "qemu-img", "convert", "-f", "qcow2", "-O", "raw", image, out, NULL }));
    g_autofree char *fs = g_strdup_printf("%s?offset=%d", out, PART_OFFSET);
    g_autofree char *id = run((const char *[]){ "debugfs", "-R", "cat /etc/machine-id", fs, NULL });
    g_assert_cmpstr(id, ==, "");
    g_autofree char *keep = run((const char *[]){
        "debugfs", "-R", "cat /var/lib/cloud/scripts/per-boot/keep.sh", fs, NULL });
    g_assert_cmpstr(keep, ==, "#!/bin/sh\necho keep\n");
    g_autofree char *ssh = run((const char *[]){ "debugfs", "-R", "ls /etc/ssh", fs, NULL });
    g_assert_null(strstr(ssh, "ssh_host_"));
    g_assert_nonnull(strstr(ssh, "sshd_config"));
}

static void test_flatten_never_replaces(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = path_in(f, "a.raw");
    g_autofree char *src = path_in(f, "a.qcow2");
    g_autofree char *dst = path_in(f, "b.qcow2");
    write_pattern(raw, 1024 * 1024);
    raw_to_qcow2(raw, src);
    g_assert_true(g_file_set_contents(dst, "mine", -1, NULL));

    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_capture_flatten(src, dst, &err), ==, -EEXIST);
    g_autofree char *content = NULL;
    g_assert_true(g_file_get_contents(dst, &content, NULL, NULL));
    g_assert_cmpstr(content, ==, "mine");
}

static void test_flatten_failure_leaves_nothing(Fixture *f, gconstpointer data)
{
    g_autofree char *src = path_in(f, "missing.qcow2");
    g_autofree char *dst = path_in(f, "out.qcow2");
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_capture_flatten(src, dst, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "missing.qcow2"));
    g_assert_cmpuint(dir_count(f->scratch), ==, 0);
}

static void test_generalize_bad_image(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = path_in(f, "a.raw");
    g_autofree char *img = path_in(f, "a.qcow2");
    write_pattern(raw, 1024 * 1024);
    raw_to_qcow2(raw, img);

    /* No file system and no OS: refused, with a message, after one launch. */
    g_auto(NubeGeneralizeReport) rep = { 0 };
    NubeGeneralizeOptions opts = { .tcg = use_tcg() };
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_capture_generalize(img, &opts, &rep, &err), <, 0);
    g_test_message("refused: %s", err->message);
    g_assert_nonnull(strstr(err->message, "a.qcow2"));
}

#define ADD(name, fn) \
    g_test_add("/imagestore/capture/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("flatten-never-replaces", test_flatten_never_replaces);
    ADD("flatten-failure-leaves-nothing", test_flatten_failure_leaves_nothing);
    ADD("flatten-generalize", test_flatten_generalize);
    ADD("partitioned", test_partitioned);
    ADD("generalize-bad-image", test_generalize_bad_image);
    return g_test_run();
}
