/*
 * test-store.c: importing images and blobs into the store (suite
 * integration: runs qemu-img).  Every refusal also checks that nothing was
 * left in bases/ or tmp/, and most have a positive control showing that the
 * refusal is due to the one thing the test changed.
 */
#include "store.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MiB (1024 * 1024)

typedef struct {
    char *scratch;
    char *store_dir;
    NubeStore *store;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->scratch = scratch_new();
    f->store_dir = g_build_filename(f->scratch, "store", NULL);
    g_autoptr(NubeError) err = NULL;
    f->store = nube_store_open(f->store_dir, &err);
    g_assert_null(err);
    g_assert_nonnull(f->store);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    nube_store_free(f->store);
    g_free(f->store_dir);
    scratch_free(f->scratch);
}

static char *scratch_path(Fixture *f, const char *name)
{
    return g_build_filename(f->scratch, name, NULL);
}

static guint count_sub(Fixture *f, const char *sub)
{
    g_autofree char *dir = g_build_filename(f->store_dir, sub, NULL);
    return dir_count(dir);
}

static void assert_store_empty(Fixture *f)
{
    g_assert_cmpuint(count_sub(f, "bases"), ==, 0);
    g_assert_cmpuint(count_sub(f, "blobs"), ==, 0);
    g_assert_cmpuint(count_sub(f, "tmp"), ==, 0);
}

/* Imports PATH as FORMAT and expects InvalidParameterValue quoting PATH
 * and containing WHAT, with nothing left behind. */
static void assert_import_refused(Fixture *f, const char *path, const char *format,
                                  const char *what)
{
    g_autoptr(NubeError) err = NULL;
    NubeBase base = { 0 };
    int r = nube_store_import(f->store, path, format, &base, &err);
    g_assert_cmpint(r, <, 0);
    g_assert_nonnull(err);
    g_test_message("refused as expected: %s", err->message);
    g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
    g_autofree char *quoted = g_strdup_printf("'%s'", path);
    g_assert_nonnull(strstr(err->message, quoted));
    g_assert_nonnull(strstr(err->message, what));
    g_assert_null(base.path);
    assert_store_empty(f);
}

static void import_ok(Fixture *f, const char *path, const char *format, NubeBase *base)
{
    g_autoptr(NubeError) err = NULL;
    int r = nube_store_import(f->store, path, format, base, &err);
    if (r < 0)
        g_error("import '%s': %s", path, err->message);
    g_assert_null(err);
}

/* A 1 MiB qcow2 at PATH, with creation options OPTS (may be NULL). */
static void make_qcow2(const char *path, const char *opts)
{
    if (opts == NULL) {
        const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", path, "1M", NULL };
        g_free(run(argv));
        return;
    }
    const char *argv[] = {
        "qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, path, "1M", NULL
    };
    g_free(run(argv));
}

static void test_import_raw(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    write_pattern(raw, 2 * MiB);

    NubeBase a = { 0 }, b = { 0 };
    import_ok(f, raw, NULL, &a);
    import_ok(f, raw, "raw", &b);

    /* same content: same sha, stored once, nothing left in tmp/ */
    g_assert_cmpstr(a.sha256, ==, b.sha256);
    g_assert_cmpstr(a.path, ==, b.path);
    g_assert_cmpuint(count_sub(f, "bases"), ==, 1);
    g_assert_cmpuint(count_sub(f, "tmp"), ==, 0);

    g_autofree char *name = g_strconcat(a.sha256, ".qcow2", NULL);
    g_autofree char *want = g_build_filename(f->store_dir, "bases", name, NULL);
    g_assert_cmpstr(a.path, ==, want);
    g_autofree char *sha = file_sha256(a.path);
    g_assert_cmpstr(sha, ==, a.sha256);

    struct stat st;
    g_assert_cmpint(lstat(a.path, &st), ==, 0);
    g_assert_true(S_ISREG(st.st_mode));
    g_assert_cmpint(st.st_mode & 07777, ==, 0444);
    g_assert_cmpuint(a.file_size, ==, st.st_size);
    g_assert_cmpuint(a.virtual_size, ==, 2 * MiB);
    g_assert_cmpstr(a.architecture, ==, "x86_64");

    /* the stored base holds the content of the raw file */
    g_autofree char *back = scratch_path(f, "back.raw");
    const char *conv[] = { "qemu-img", "convert", "-f", "qcow2", "-O", "raw", a.path, back, NULL };
    g_free(run(conv));
    g_assert_true(files_equal(raw, back));

    NubeBase c = { 0 };
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_store_lookup(f->store, a.sha256, &c, &err), ==, 0);
    g_assert_cmpstr(c.path, ==, a.path);
    g_assert_cmpuint(c.virtual_size, ==, 2 * MiB);

    nube_base_clear(&a);
    nube_base_clear(&b);
    nube_base_clear(&c);
}

static void test_import_qcow2(Fixture *f, gconstpointer data)
{
    /* a plain qcow2 imports (also the positive control of the refusals) */
    g_autofree char *raw = scratch_path(f, "disk.raw");
    g_autofree char *q = scratch_path(f, "disk.qcow2");
    write_pattern(raw, MiB);
    const char *conv[] = { "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, q, NULL };
    g_free(run(conv));

    NubeBase a = { 0 }, b = { 0 };
    import_ok(f, q, NULL, &a);
    import_ok(f, q, "qcow2", &b);
    g_assert_cmpstr(a.sha256, ==, b.sha256);
    g_assert_cmpuint(a.virtual_size, ==, MiB);
    g_assert_cmpuint(count_sub(f, "bases"), ==, 1);
    g_assert_cmpuint(count_sub(f, "tmp"), ==, 0);
    nube_base_clear(&a);
    nube_base_clear(&b);
}

static void test_refuse_backing_host_file(Fixture *f, gconstpointer data)
{
    g_autofree char *evil = scratch_path(f, "evil.qcow2");
    const char *argv[] = { "qemu-img", "create", "-q",          "-f", "qcow2", "-F",
                           "raw",      "-b",     "/etc/passwd", evil, NULL };
    g_free(run(argv));
    assert_import_refused(f, evil, NULL, "backing file");
    assert_import_refused(f, evil, "qcow2", "backing file");
    assert_import_refused(f, evil, "raw", "qcow2");
}

static void test_refuse_backing_temp_file(Fixture *f, gconstpointer data)
{
    g_autofree char *secret = scratch_path(f, "secret.qcow2");
    g_autofree char *evil = scratch_path(f, "evil.qcow2");
    make_qcow2(secret, NULL);
    const char *argv[] = { "qemu-img", "create", "-q",   "-f", "qcow2", "-F",
                           "qcow2",    "-b",     secret, evil, NULL };
    g_free(run(argv));
    assert_import_refused(f, evil, NULL, "backing file");
}

static void test_refuse_data_file(Fixture *f, gconstpointer data)
{
    g_autofree char *evil = scratch_path(f, "evil.qcow2");
    g_autofree char *data_file = scratch_path(f, "data.raw");
    g_autofree char *opt = g_strdup_printf("data_file=%s", data_file);
    make_qcow2(evil, opt);
    assert_import_refused(f, evil, NULL, "external data file");
    assert_import_refused(f, evil, "qcow2", "external data file");
}

static void test_refuse_claimed_raw(Fixture *f, gconstpointer data)
{
    /* a valid standalone qcow2 (it imports as qcow2), said to be raw */
    g_autofree char *q = scratch_path(f, "disk.qcow2");
    make_qcow2(q, NULL);
    assert_import_refused(f, q, "raw", "said to be raw");

    NubeBase b = { 0 };
    import_ok(f, q, NULL, &b);
    nube_base_clear(&b);
}

static void test_refuse_claimed_qcow2(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    write_pattern(raw, MiB);
    assert_import_refused(f, raw, "qcow2", "said to be qcow2");
}

static void test_refuse_vmdk(Fixture *f, gconstpointer data)
{
    g_autofree char *v = scratch_path(f, "disk.vmdk");
    const char *argv[] = { "qemu-img", "create", "-q", "-f", "vmdk", v, "1M", NULL };
    g_free(run(argv));
    assert_import_refused(f, v, NULL, "unsupported image format");
    assert_import_refused(f, v, "raw", "vmdk");
    assert_import_refused(f, v, "vmdk", "unsupported image format");
}

static void test_refuse_symlink(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    g_autofree char *link = scratch_path(f, "link.raw");
    write_pattern(raw, MiB);
    g_assert_cmpint(symlink(raw, link), ==, 0);
    assert_import_refused(f, link, NULL, "symbolic link");

    NubeBase b = { 0 };
    import_ok(f, raw, NULL, &b); /* the target itself is fine */
    nube_base_clear(&b);
}

static void test_refuse_not_regular(Fixture *f, gconstpointer data)
{
    g_autofree char *missing = scratch_path(f, "missing.raw");
    assert_import_refused(f, missing, NULL, "does not exist");
    assert_import_refused(f, f->scratch, NULL, "not a regular file");

    g_autofree char *fifo = scratch_path(f, "fifo");
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    assert_import_refused(f, fifo, NULL, "not a regular file");

    g_autofree char *empty = scratch_path(f, "empty.raw");
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    assert_import_refused(f, empty, NULL, "empty");
}

/* Zeroes the first refcount block of the qcow2 PATH: its data still reads,
 * but qemu-img check finds every cluster unaccounted for. */
static void break_refcounts(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    guint8 b[8];
    g_assert_cmpint(pread(fd, b, 8, 48), ==, 8); /* refcount_table_offset */
    guint64 table = GUINT64_FROM_BE(*(guint64 *) b);
    g_assert_cmpint(pread(fd, b, 8, table), ==, 8);
    guint64 block = GUINT64_FROM_BE(*(guint64 *) b);
    g_assert_cmpuint(block, !=, 0);
    g_autofree guint8 *zero = g_malloc0(65536);
    g_assert_cmpint(pwrite(fd, zero, 65536, block), ==, 65536);
    close(fd);
}

static void test_refuse_corrupt(Fixture *f, gconstpointer data)
{
    g_autofree char *q = scratch_path(f, "disk.qcow2");
    make_qcow2(q, NULL);
    const char *write[] = { "qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 128k", q, NULL };
    g_free(run(write));
    break_refcounts(q);
    assert_import_refused(f, q, NULL, "corrupt");

    /* the corrupt bit in the header is refused before QEMU opens it */
    g_autofree char *marked = scratch_path(f, "marked.qcow2");
    make_qcow2(marked, NULL);
    int fd = open(marked, O_RDWR | O_CLOEXEC);
    guint8 bit = 0x02; /* incompatible_features bit 1, big-endian */
    g_assert_cmpint(pwrite(fd, &bit, 1, 79), ==, 1);
    close(fd);
    assert_import_refused(f, marked, NULL, "corrupt");
}

static void test_refuse_format_name(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    write_pattern(raw, MiB);
    assert_import_refused(f, raw, "json", "unsupported image format");
}

static void test_adopt(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    write_pattern(raw, MiB);
    g_autofree char *tmp = g_build_filename(nube_store_tmp_dir(f->store), "built.qcow2", NULL);
    const char *conv[] = { "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, tmp, NULL };
    g_free(run(conv));
    g_autofree char *want = file_sha256(tmp);

    NubeBase b = { 0 };
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_store_adopt(f->store, tmp, &b, &err), ==, 0);
    g_assert_cmpstr(b.sha256, ==, want);
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_sub(f, "bases"), ==, 1);

    /* importing the raw file gives the same base */
    NubeBase c = { 0 };
    import_ok(f, raw, NULL, &c);
    g_assert_cmpstr(c.sha256, ==, b.sha256);
    g_assert_cmpuint(count_sub(f, "bases"), ==, 1);
    nube_base_clear(&b);
    nube_base_clear(&c);

    /* a qcow2 with a backing file is not adopted, and left to the caller */
    const char *evil[] = { "qemu-img", "create", "-q",          "-f", "qcow2", "-F",
                           "raw",      "-b",     "/etc/passwd", tmp,  NULL };
    g_free(run(evil));
    NubeBase d = { 0 };
    g_autoptr(NubeError) err2 = NULL;
    g_assert_cmpint(nube_store_adopt(f->store, tmp, &d, &err2), <, 0);
    g_assert_nonnull(strstr(err2->message, "backing file"));
    g_assert_true(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_sub(f, "bases"), ==, 1);
}

static void test_lookup_remove(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    write_pattern(raw, MiB);
    NubeBase b = { 0 };
    import_ok(f, raw, NULL, &b);

    g_autoptr(NubeError) err = NULL;
    NubeBase c = { 0 };
    g_assert_cmpint(nube_store_lookup(f->store, "../../etc/passwd", &c, &err), ==, -EINVAL);
    g_clear_pointer(&err, nube_error_free);
    g_assert_cmpint(nube_store_remove_base(f->store, b.sha256, &err), ==, 0);
    g_assert_cmpint(nube_store_lookup(f->store, b.sha256, &c, &err), ==, -ENOENT);
    g_clear_pointer(&err, nube_error_free);
    g_assert_cmpint(nube_store_remove_base(f->store, b.sha256, &err), ==, 0);
    g_assert_null(err);
    assert_store_empty(f);
    nube_base_clear(&b);
}

static void test_blobs(Fixture *f, gconstpointer data)
{
    g_autofree char *kernel = scratch_path(f, "vmlinuz");
    g_assert_true(g_file_set_contents(kernel, "not really a kernel", -1, NULL));
    g_autofree char *want = file_sha256(kernel);

    char sha[65], sha2[65];
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_store_add_blob(f->store, kernel, sha, &err), ==, 0);
    g_assert_cmpint(nube_store_add_blob(f->store, kernel, sha2, &err), ==, 0);
    g_assert_cmpstr(sha, ==, want);
    g_assert_cmpstr(sha2, ==, want);
    g_assert_cmpuint(count_sub(f, "blobs"), ==, 1);
    g_assert_cmpuint(count_sub(f, "tmp"), ==, 0);

    g_autofree char *path = nube_store_blob_path(f->store, sha);
    g_assert_nonnull(path);
    g_assert_true(files_equal(path, kernel));
    struct stat st;
    g_assert_cmpint(lstat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0444);
    g_assert_null(nube_store_blob_path(f->store, "../blobs"));

    g_autofree char *link = scratch_path(f, "vmlinuz.link");
    g_assert_cmpint(symlink(kernel, link), ==, 0);
    g_assert_cmpint(nube_store_add_blob(f->store, link, sha2, &err), <, 0);
    g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
    g_clear_pointer(&err, nube_error_free);

    g_assert_cmpint(nube_store_remove_blob(f->store, sha, &err), ==, 0);
    g_autofree char *gone = nube_store_blob_path(f->store, sha);
    g_assert_null(gone);
    assert_store_empty(f);
}

static void test_sparse(Fixture *f, gconstpointer data)
{
    /* a mostly empty 1 GiB raw disk imports without filling the disk */
    g_autofree char *raw = scratch_path(f, "sparse.raw");
    int fd = open(raw, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    g_assert_cmpint(ftruncate(fd, 1024 * MiB), ==, 0);
    g_assert_cmpint(pwrite(fd, "hello", 5, 512 * MiB), ==, 5);
    close(fd);

    NubeBase b = { 0 };
    import_ok(f, raw, NULL, &b);
    g_assert_cmpuint(b.virtual_size, ==, 1024 * MiB);
    g_assert_cmpuint(b.file_size, <, 4 * MiB);
    nube_base_clear(&b);
}

static void test_other_file_system(Fixture *f, gconstpointer data)
{
    /* copy_file_range() cannot cross file systems: the plain copy works */
    struct stat shm, tmp;
    if (stat("/dev/shm", &shm) < 0 || stat(f->scratch, &tmp) < 0 || shm.st_dev == tmp.st_dev) {
        g_test_skip("no second file system at /dev/shm");
        return;
    }
    g_autofree char *dir = g_strdup("/dev/shm/nube-imagestore-XXXXXX");
    g_assert_nonnull(g_mkdtemp(dir));
    g_autofree char *raw = g_build_filename(dir, "disk.raw", NULL);
    write_pattern(raw, 3 * MiB + 4096);

    NubeBase b = { 0 };
    import_ok(f, raw, NULL, &b);
    g_autofree char *back = scratch_path(f, "back.raw");
    const char *conv[] = { "qemu-img", "convert", "-f", "qcow2", "-O", "raw", b.path, back, NULL };
    g_free(run(conv));
    g_assert_true(files_equal(raw, back));
    nube_base_clear(&b);
    scratch_free(g_steal_pointer(&dir));
}

/* ---- nube_store_import_edit() ---- */

/* Edits: write 64 KiB of 0x5a at offset 0; fail as the user's error; give
 * the work copy a backing file (which the store must still refuse). */
static int edit_write(const char *qcow2, void *opaque, NubeError **err)
{
    g_free(run(
        (const char *[]){ "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 0 64k", qcow2, NULL }));
    *(char **) opaque = g_strdup(qcow2);
    return 0;
}

static int edit_fail(const char *qcow2, void *opaque, NubeError **err)
{
    return nube_error_setc(err, EINVAL, "InvalidParameterValue", "no Linux in the image");
}

static int edit_add_backing(const char *qcow2, void *opaque, NubeError **err)
{
    g_free(run((const char *[]){ "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "raw", "-b",
                                 "/etc/passwd", qcow2, NULL }));
    return 0;
}

static void test_import_edit(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    write_pattern(raw, MiB);
    g_autofree char *raw_sha = file_sha256(raw);

    NubeBase plain = { 0 }, edited = { 0 };
    g_autofree char *work = NULL;
    g_autoptr(NubeError) err = NULL;
    import_ok(f, raw, "raw", &plain);
    if (nube_store_import_edit(f->store, raw, "raw", edit_write, &work, &edited, &err) < 0)
        g_error("import with edit: %s", err->message);

    /* the edit ran on a work copy inside the store's tmp/, now gone */
    g_assert_true(g_str_has_prefix(work, nube_store_tmp_dir(f->store)));
    g_assert_false(g_file_test(work, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_sub(f, "tmp"), ==, 0);
    /* the base is the edited image, named by its content; the user's file
     * and the plain import are untouched */
    g_assert_cmpstr(edited.sha256, !=, plain.sha256);
    g_assert_cmpuint(count_sub(f, "bases"), ==, 2);
    g_autofree char *sha = file_sha256(edited.path);
    g_assert_cmpstr(sha, ==, edited.sha256);
    g_autofree char *user_sha = file_sha256(raw);
    g_assert_cmpstr(user_sha, ==, raw_sha);
    g_autofree char *read = run((const char *[]){ "qemu-io", "-r", "-f", "qcow2", "-c",
                                                  "read -P 0x5a 0 64k", edited.path, NULL });
    g_assert_null(strstr(read, "Pattern verification failed"));
    nube_base_clear(&plain);
    nube_base_clear(&edited);
}

static void test_import_edit_refused(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = scratch_path(f, "disk.raw");
    write_pattern(raw, MiB);
    const NubeStoreEditFn edits[] = { edit_fail, edit_add_backing };
    const char *const whats[] = { "no Linux in the image", "backing file" };

    for (guint i = 0; i < G_N_ELEMENTS(edits); i++) {
        NubeBase base = { 0 };
        g_autoptr(NubeError) err = NULL;
        g_assert_cmpint(nube_store_import_edit(f->store, raw, "raw", edits[i], NULL, &base, &err),
                        <, 0);
        g_test_message("refused as expected: %s", err->message);
        g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
        g_assert_nonnull(strstr(err->message, whats[i]));
        g_assert_null(base.path);
        assert_store_empty(f);
    }
}

#define ADD(name, fn) \
    g_test_add("/imagestore/store/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("import-raw", test_import_raw);
    ADD("import-qcow2", test_import_qcow2);
    ADD("refuse-backing-host-file", test_refuse_backing_host_file);
    ADD("refuse-backing-temp-file", test_refuse_backing_temp_file);
    ADD("refuse-data-file", test_refuse_data_file);
    ADD("refuse-claimed-raw", test_refuse_claimed_raw);
    ADD("refuse-claimed-qcow2", test_refuse_claimed_qcow2);
    ADD("refuse-vmdk", test_refuse_vmdk);
    ADD("refuse-symlink", test_refuse_symlink);
    ADD("refuse-not-regular", test_refuse_not_regular);
    ADD("refuse-corrupt", test_refuse_corrupt);
    ADD("refuse-format-name", test_refuse_format_name);
    ADD("adopt", test_adopt);
    ADD("lookup-remove", test_lookup_remove);
    ADD("blobs", test_blobs);
    ADD("sparse", test_sparse);
    ADD("other-file-system", test_other_file_system);
    ADD("import-edit", test_import_edit);
    ADD("import-edit-refused", test_import_edit_refused);
    return g_test_run();
}
