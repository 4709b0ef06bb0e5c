/*
 * test-agent.c: importing a disk with the guest agent added (suite
 * integration: mkfs.ext4, qemu-img and two libguestfs appliance launches).
 *
 * The import goes through nube_store_import_edit() with
 * nube_capture_add_agent() as its edit, as NubeImportImage does.  The agent
 * is $NUBE_TEST_AGENT (meson: the static nube-agent of the build tree).
 * The stored base is read back with debugfs, without another appliance:
 * the binary is the agent byte for byte, the unit exists and is enabled,
 * the temporary copy is gone, the user's file is untouched.  A disk with no operating
 * system is refused as the user's error, with nothing stored.
 *
 * The appliance runs under TCG unless NUBE_TEST_ACCEL=kvm.
 */
#include "capture.h"
#include "store.h"
#include "testutil.h"

#include <string.h>

/* Enough of a Debian system for libguestfs inspection, and systemd. */
static const char *const linux_tree[][2] = {
    { "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n" },
    { "etc/debian_version", "12.0\n" },
    { "etc/fstab", "LABEL=root / ext4 defaults 0 1\n" },
    { "etc/hostname", "imported\n" },
    { "usr/lib/systemd/systemd", "not really systemd\n" },
    { "usr/bin/true", "" },
    { "bin", NULL },
    { "proc", NULL },
    { "dev", NULL },
    { "sys", NULL },
    { "tmp", NULL },
};

typedef struct {
    char *scratch;
    char *agent;
    NubeStore *store;
    char *store_dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    const char *agent = g_getenv("NUBE_TEST_AGENT");
    g_assert_nonnull(agent);
    g_assert_true(g_file_test(agent, G_FILE_TEST_IS_EXECUTABLE));
    f->agent = g_strdup(agent);
    f->scratch = scratch_new();
    f->store_dir = g_build_filename(f->scratch, "store", NULL);
    g_autoptr(NubeError) err = NULL;
    f->store = nube_store_open(f->store_dir, &err);
    g_assert_nonnull(f->store);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    nube_store_free(f->store);
    g_free(f->store_dir);
    g_free(f->agent);
    scratch_free(f->scratch);
}

static char *path_in(Fixture *f, const char *name)
{
    return g_build_filename(f->scratch, name, NULL);
}

static guint store_count(Fixture *f, const char *sub)
{
    g_autofree char *dir = g_build_filename(f->store_dir, sub, NULL);
    return dir_count(dir);
}

/* A 64 MiB whole-disk ext4 raw image of linux_tree. */
static char *linux_disk_new(Fixture *f)
{
    g_autofree char *tree = path_in(f, "tree");
    for (guint i = 0; i < G_N_ELEMENTS(linux_tree); i++) {
        g_autofree char *p = g_build_filename(tree, linux_tree[i][0], NULL);
        g_autofree char *dir = g_path_get_dirname(p);
        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        if (linux_tree[i][1] == NULL)
            g_assert_cmpint(g_mkdir_with_parents(p, 0755), ==, 0);
        else
            g_assert_true(g_file_set_contents(p, linux_tree[i][1], -1, NULL));
    }
    char *raw = path_in(f, "linux.raw");
    g_assert_true(run_ok((const char *[]){ "truncate", "-s", "64M", raw, NULL }));
    g_free(run((const char *[]){ "mkfs.ext4", "-q", "-F", "-L", "root", "-d", tree, raw, NULL }));
    return raw;
}

static int add_agent(const char *qcow2, void *opaque, NubeError **err)
{
    NubeGeneralizeOptions opts = { .tcg = g_strcmp0(g_getenv("NUBE_TEST_ACCEL"), "kvm") != 0 };
    gint64 t = g_get_monotonic_time();
    int r = nube_capture_add_agent(qcow2, opaque, &opts, err);
    g_test_message("add agent: %.1f s", (g_get_monotonic_time() - t) / 1e6);
    return r;
}

/* debugfs REQUEST on the raw file system FS; its stdout (caller frees). */
static char *debugfs(const char *fs, const char *request)
{
    return run((const char *[]){ "debugfs", "-R", request, fs, NULL });
}

static void test_import_with_agent(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = linux_disk_new(f);
    g_autofree char *raw_sha = file_sha256(raw);

    NubeBase base = { 0 };
    g_autoptr(NubeError) err = NULL;
    if (nube_store_import_edit(f->store, raw, "raw", add_agent, f->agent, &base, &err) < 0)
        g_error("import with agent: %s", err->message);
    g_assert_cmpuint(store_count(f, "bases"), ==, 1);
    g_assert_cmpuint(store_count(f, "tmp"), ==, 0);
    g_autofree char *user_sha = file_sha256(raw);
    g_assert_cmpstr(user_sha, ==, raw_sha); /* the user's file is never changed */
    g_autofree char *stored_sha = file_sha256(base.path);
    g_assert_cmpstr(stored_sha, ==, base.sha256); /* named by its (edited) content */

    g_autofree char *out = path_in(f, "out.raw");
    g_free(run((const char *[]){ "qemu-img", "convert", "-f", "qcow2", "-O", "raw", base.path, out,
                                 NULL }));
    g_autofree char *dumped = path_in(f, "nube-agent");
    g_autofree char *dump = g_strdup_printf("dump /usr/sbin/nube-agent %s", dumped);
    g_free(debugfs(out, dump));
    g_assert_true(files_equal(dumped, f->agent));
    g_autofree char *st = debugfs(out, "stat /usr/sbin/nube-agent");
    g_assert_nonnull(strstr(st, "Mode:  0755"));
    g_autofree char *unit = debugfs(out, "cat /etc/systemd/system/nube-agent.service");
    g_assert_nonnull(strstr(unit, "ExecStart=/usr/sbin/nube-agent"));
    g_autofree char *wants =
        debugfs(out, "stat /etc/systemd/system/multi-user.target.wants/nube-agent.service");
    g_assert_nonnull(strstr(wants, "\"/etc/systemd/system/nube-agent.service\""));
    g_autofree char *root = debugfs(out, "ls /");
    g_assert_null(strstr(root, ".nube-agent"));
    g_autofree char *hostname = debugfs(out, "cat /etc/hostname");
    g_assert_cmpstr(hostname, ==, "imported\n");
    nube_base_clear(&base);
}

static void test_import_with_agent_refuses_blank(Fixture *f, gconstpointer data)
{
    g_autofree char *blank = path_in(f, "blank.qcow2");
    g_free(run((const char *[]){ "qemu-img", "create", "-q", "-f", "qcow2", blank, "64M", NULL }));

    NubeBase base = { 0 };
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_store_import_edit(f->store, blank, NULL, add_agent, f->agent, &base, &err),
                    <, 0);
    g_test_message("refused: %s", err->message);
    g_assert_cmpstr(err->code, ==, "InvalidParameterValue");
    g_assert_nonnull(strstr(err->message, "blank.qcow2"));
    g_assert_nonnull(strstr(err->message, "Linux"));
    g_assert_null(base.path);
    g_assert_cmpuint(store_count(f, "bases"), ==, 0);
    g_assert_cmpuint(store_count(f, "tmp"), ==, 0);
}

#define ADD(name, fn) \
    g_test_add("/imagestore/agent/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("import-with-agent", test_import_with_agent);
    ADD("import-with-agent-refuses-blank", test_import_with_agent_refuses_blank);
    return g_test_run();
}
