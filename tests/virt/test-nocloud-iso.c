/*
 * test-nocloud-iso.c: the seed ISO as genisoimage writes it, read back with
 * isoinfo: volume id "cidata", the three documents, no work directory left
 * behind whether genisoimage succeeds or fails.
 */
#include "fsutil.h"
#include "instdir.h"
#include "nocloud.h"
#include "spawn.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    char *dir;
    char *iso;
} Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) gerr = NULL;
    fx->dir = g_dir_make_tmp("nube-seed-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    fx->iso = g_build_filename(fx->dir, NUBE_INSTDIR_SEED, NULL);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    g_assert_cmpint(nube_rm_rf(fx->dir, NULL), ==, 0);
    g_free(fx->dir);
    g_free(fx->iso);
}

static char *isoinfo(const char *iso, const char *opt1, const char *opt2)
{
    const char *argv[] = { "isoinfo", "-i", iso, opt1, opt2, NULL };
    g_autoptr(NubeError) err = NULL;
    char *out = NULL;
    if (nube_spawn(argv, NULL, &out, &err) < 0)
        g_error("isoinfo: %s", err->message);
    return out;
}

/* FILE from the ISO's Joliet tree. */
static char *iso_file(const char *iso, const char *file)
{
    const char *argv[] = { "isoinfo", "-i", iso, "-J", "-x", file, NULL };
    g_autoptr(NubeError) err = NULL;
    char *out = NULL;
    if (nube_spawn(argv, NULL, &out, &err) < 0)
        g_error("isoinfo -x %s: %s", file, err->message);
    return out;
}

/* Only seed.iso in the directory: no .seed-* work directory remains. */
static void assert_dir_clean(const char *dir, gboolean iso_expected)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    guint n = 0;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_equal(name, NUBE_INSTDIR_SEED))
            g_error("left behind in %s: %s", dir, name);
        n++;
    }
    g_assert_cmpuint(n, ==, iso_expected ? 1 : 0);
}

static const NubeNoCloudSpec base_spec = {
    .instance_id = "i-0123456789abcdef0",
    .hostname = "ip-10-0-2-15",
    .mac = "52:54:00:12:34:56",
};

static void test_write(Fixture *fx, gconstpointer data)
{
    static const char user[] = "#!/bin/sh\necho 'hello from nube' > /tmp/hi\n";
    NubeNoCloudSpec spec = base_spec;
    spec.user_data = user;
    spec.user_data_len = strlen(user);

    g_autoptr(NubeError) err = NULL;
    if (nube_nocloud_write(&spec, fx->iso, &err) < 0)
        g_error("nube_nocloud_write: %s", err->message);
    assert_dir_clean(fx->dir, TRUE);

    g_autofree char *info = isoinfo(fx->iso, "-d", NULL);
    g_assert_nonnull(strstr(info, "Volume id: cidata\n"));
    g_assert_nonnull(strstr(info, "Joliet"));
    g_assert_nonnull(strstr(info, "Rock Ridge"));

    g_autofree char *meta = NULL;
    g_autofree char *net = NULL;
    g_assert_cmpint(nube_nocloud_render(&spec, &meta, &net, NULL), ==, 0);
    g_autofree char *got_user = iso_file(fx->iso, "/user-data");
    g_autofree char *got_meta = iso_file(fx->iso, "/meta-data");
    g_autofree char *got_net = iso_file(fx->iso, "/network-config");
    g_assert_cmpstr(got_user, ==, user);
    g_assert_cmpstr(got_meta, ==, meta);
    g_assert_cmpstr(got_net, ==, net);

    /* Rock Ridge names, as Linux mounts the volume. */
    g_autofree char *listing = isoinfo(fx->iso, "-R", "-l");
    g_assert_nonnull(strstr(listing, " user-data"));
    g_assert_nonnull(strstr(listing, " meta-data"));
    g_assert_nonnull(strstr(listing, " network-config"));
}

static void test_default_user_data(Fixture *fx, gconstpointer data)
{
    g_autoptr(NubeError) err = NULL;
    if (nube_nocloud_write(&base_spec, fx->iso, &err) < 0)
        g_error("nube_nocloud_write: %s", err->message);
    /* Present but empty: nothing for cloud-init or nube-agent to run. */
    g_autofree char *listing = isoinfo(fx->iso, "-R", "-l");
    g_assert_nonnull(strstr(listing, " user-data"));
    g_autofree char *got = iso_file(fx->iso, "/user-data");
    g_assert_cmpstr(got, ==, "");
}

/* A second write replaces the first whole. */
static void test_rewrite(Fixture *fx, gconstpointer data)
{
    NubeNoCloudSpec spec = base_spec;
    spec.user_data = "#cloud-config\nhostname: one\n";
    spec.user_data_len = strlen(spec.user_data);
    g_assert_cmpint(nube_nocloud_write(&spec, fx->iso, NULL), ==, 0);
    spec.instance_id = "i-00000000000000002";
    spec.user_data = "#cloud-config\nhostname: two\n";
    spec.user_data_len = strlen(spec.user_data);
    g_assert_cmpint(nube_nocloud_write(&spec, fx->iso, NULL), ==, 0);
    assert_dir_clean(fx->dir, TRUE);

    g_autofree char *user = iso_file(fx->iso, "/user-data");
    g_autofree char *meta = iso_file(fx->iso, "/meta-data");
    g_assert_cmpstr(user, ==, "#cloud-config\nhostname: two\n");
    g_assert_nonnull(strstr(meta, "\"i-00000000000000002\""));
}

/* genisoimage failing leaves neither an ISO nor the work directory. */
static void test_genisoimage_fails(Fixture *fx, gconstpointer data)
{
    g_autofree char *bin = g_build_filename(fx->dir, "bin", NULL);
    g_autofree char *fake = g_build_filename(bin, "genisoimage", NULL);
    g_assert_cmpint(g_mkdir(bin, 0700), ==, 0);
    g_assert_true(g_file_set_contents(fake, "#!/bin/sh\necho 'disk full' >&2\nexit 3\n", -1, NULL));
    g_assert_cmpint(g_chmod(fake, 0700), ==, 0);

    g_autofree char *old_path = g_strdup(g_getenv("PATH"));
    g_autofree char *path = g_strdup_printf("%s:%s", bin, old_path);
    g_setenv("PATH", path, TRUE);
    g_autoptr(NubeError) err = NULL;
    int r = nube_nocloud_write(&base_spec, fx->iso, &err);
    g_setenv("PATH", old_path, TRUE);

    g_assert_cmpint(r, <, 0);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "disk full"));
    g_assert_cmpint(nube_rm_rf(bin, NULL), ==, 0);
    assert_dir_clean(fx->dir, FALSE);
}

static void test_bad_spec(Fixture *fx, gconstpointer data)
{
    NubeNoCloudSpec spec = base_spec;
    spec.mac = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_nocloud_write(&spec, fx->iso, &err), ==, -EINVAL);
    assert_dir_clean(fx->dir, FALSE);
}

static void test_no_directory(void)
{
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_nocloud_write(&base_spec, "/nonexistent/nube/" NUBE_INSTDIR_SEED, &err),
                    ==, -ENOENT);
    g_assert_nonnull(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/seed/iso/write", test_write);
    ADD("/seed/iso/default-user-data", test_default_user_data);
    ADD("/seed/iso/rewrite", test_rewrite);
    ADD("/seed/iso/genisoimage-fails", test_genisoimage_fails);
    ADD("/seed/iso/bad-spec", test_bad_spec);
    g_test_add_func("/seed/iso/no-directory", test_no_directory);
    return g_test_run();
}
