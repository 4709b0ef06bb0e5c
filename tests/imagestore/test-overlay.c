/*
 * test-overlay.c: instance disks really are thin overlays on a base of the
 * store (suite integration: runs qemu-img and qemu-io).  What is checked is
 * what a user would check: qemu-img's own view of the overlay, the bytes a
 * guest would read, and that the base does not change.
 */
#include "overlay.h"
#include "store.h"
#include "testutil.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#define MiB       (1024 * 1024)
#define BASE_SIZE (4 * MiB)

typedef struct {
    char *scratch;
    NubeStore *store;
    char *raw; /* the content of the base, as a raw file */
    NubeBase base;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->scratch = scratch_new();
    g_autofree char *dir = g_build_filename(f->scratch, "store", NULL);
    g_autoptr(NubeError) err = NULL;
    f->store = nube_store_open(dir, &err);
    g_assert_nonnull(f->store);

    f->raw = g_build_filename(f->scratch, "base.raw", NULL);
    write_pattern(f->raw, BASE_SIZE);
    if (nube_store_import(f->store, f->raw, "raw", &f->base, &err) < 0)
        g_error("import: %s", err->message);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    nube_base_clear(&f->base);
    nube_store_free(f->store);
    g_free(f->raw);
    scratch_free(f->scratch);
}

/* `qemu-img info` of the qcow2 PATH, run directly, as a JSON object. */
static JsonObject *qemu_img_info(const char *path)
{
    const char *argv[] = { "qemu-img", "info", "-f", "qcow2", "--output=json", path, NULL };
    g_autofree char *json = run(argv);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, json, -1, NULL));
    return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

static void create_ok(Fixture *f, const char *overlay, guint64 size)
{
    g_autoptr(NubeError) err = NULL;
    if (nube_overlay_create(f->base.path, overlay, size, &err) < 0)
        g_error("create overlay: %s", err->message);
}

static void test_backs_onto_base(Fixture *f, gconstpointer data)
{
    g_autofree char *disk = g_build_filename(f->scratch, "disk.qcow2", NULL);
    create_ok(f, disk, 0);

    g_autoptr(JsonObject) info = qemu_img_info(disk);
    g_assert_cmpstr(json_object_get_string_member(info, "backing-filename"), ==, f->base.path);
    g_assert_cmpstr(json_object_get_string_member(info, "backing-filename-format"), ==, "qcow2");
    g_assert_cmpint(json_object_get_int_member(info, "virtual-size"), ==, BASE_SIZE);

    g_autofree char *backing = NULL;
    g_autofree char *backing_format = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_overlay_backing(disk, &backing, &backing_format, &err), ==, 0);
    g_assert_cmpstr(backing, ==, f->base.path);
    g_assert_cmpstr(backing_format, ==, "qcow2");

    /* not a copy: the overlay holds metadata only */
    struct stat st;
    g_assert_cmpint(stat(disk, &st), ==, 0);
    g_assert_cmpint(st.st_size, <, 512 * 1024);
    g_assert_cmpint(st.st_size, <, (off_t) f->base.file_size / 4);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);

    /* a guest reads the base's content through it */
    g_autofree char *out = g_build_filename(f->scratch, "out.raw", NULL);
    const char *conv[] = { "qemu-img", "convert", "-f", "qcow2", "-O", "raw", disk, out, NULL };
    g_free(run(conv));
    g_assert_true(files_equal(out, f->raw));

    /* nothing but the overlay was created next to it */
    g_assert_cmpuint(dir_count(f->scratch), ==, 4); /* store, base.raw,
                                                        disk, out */
}

static void test_writes_stay_in_overlay(Fixture *f, gconstpointer data)
{
    g_autofree char *disk = g_build_filename(f->scratch, "disk.qcow2", NULL);
    create_ok(f, disk, 0);
    g_autofree char *before = file_sha256(f->base.path);
    g_assert_cmpstr(before, ==, f->base.sha256);

    const char *write[] = { "qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 64k", disk, NULL };
    g_free(run(write));

    /* the write landed in the overlay... */
    const char *read_new[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0xab 0 64k", disk, NULL };
    g_autofree char *out = run(read_new);
    g_assert_null(strstr(out, "Pattern verification failed"));

    /* ...and the base did not change, byte for byte */
    g_autofree char *after = file_sha256(f->base.path);
    g_assert_cmpstr(after, ==, before);
    g_autofree char *back = g_build_filename(f->scratch, "back.raw", NULL);
    const char *conv[] = { "qemu-img", "convert",    "-f", "qcow2", "-O",
                           "raw",      f->base.path, back, NULL };
    g_free(run(conv));
    g_assert_true(files_equal(back, f->raw));
}

static void test_bigger_disk(Fixture *f, gconstpointer data)
{
    g_autofree char *disk = g_build_filename(f->scratch, "disk.qcow2", NULL);
    create_ok(f, disk, 64 * MiB);
    g_autoptr(JsonObject) info = qemu_img_info(disk);
    g_assert_cmpint(json_object_get_int_member(info, "virtual-size"), ==, 64 * MiB);
    g_assert_cmpstr(json_object_get_string_member(info, "backing-filename"), ==, f->base.path);
}

static void test_refuse_smaller(Fixture *f, gconstpointer data)
{
    g_autofree char *dir = g_build_filename(f->scratch, "disks", NULL);
    g_assert_cmpint(mkdir(dir, 0700), ==, 0);
    g_autofree char *disk = g_build_filename(dir, "disk.qcow2", NULL);
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_overlay_create(f->base.path, disk, MiB, &err), ==, -EINVAL);
    g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
    g_assert_cmpuint(dir_count(dir), ==, 0);
}

static void test_never_replaces(Fixture *f, gconstpointer data)
{
    g_autofree char *dir = g_build_filename(f->scratch, "disks", NULL);
    g_assert_cmpint(mkdir(dir, 0700), ==, 0);
    g_autofree char *disk = g_build_filename(dir, "disk.qcow2", NULL);
    create_ok(f, disk, 0);
    const char *write[] = { "qemu-io", "-f", "qcow2", "-c", "write -P 0xcd 0 64k", disk, NULL };
    g_free(run(write));
    g_autofree char *before = file_sha256(disk);

    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_overlay_create(f->base.path, disk, 0, &err), ==, -EEXIST);
    g_autofree char *after = file_sha256(disk);
    g_assert_cmpstr(after, ==, before);
    g_assert_cmpuint(dir_count(dir), ==, 1); /* no temp file left */
}

static void test_refuse_base_with_backing(Fixture *f, gconstpointer data)
{
    g_autofree char *chained = g_build_filename(f->scratch, "chained.qcow2", NULL);
    const char *argv[] = { "qemu-img", "create", "-q",         "-f",    "qcow2", "-F",
                           "qcow2",    "-b",     f->base.path, chained, NULL };
    g_free(run(argv));
    g_autofree char *disk = g_build_filename(f->scratch, "disk.qcow2", NULL);
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_overlay_create(chained, disk, 0, &err), <, 0);
    g_assert_false(g_file_test(disk, G_FILE_TEST_EXISTS));
}

#define ADD(name, fn) \
    g_test_add("/imagestore/overlay/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("backs-onto-base", test_backs_onto_base);
    ADD("writes-stay-in-overlay", test_writes_stay_in_overlay);
    ADD("bigger-disk", test_bigger_disk);
    ADD("refuse-smaller", test_refuse_smaller);
    ADD("never-replaces", test_never_replaces);
    ADD("refuse-base-with-backing", test_refuse_base_with_backing);
    return g_test_run();
}
