/*
 * store.c: read-only bases and blobs under their sha256 (see store.h).
 *
 * An import never hands the user's path to qemu-img: the file is opened
 * once (O_NOFOLLOW, must be regular), copied into a private work directory
 * under tmp/, and every check and the conversion run on that copy, so the
 * file that was checked is the file that is converted.  A qcow2 header is
 * checked by reading its bytes before QEMU ever opens it.
 */
#include "store.h"
#include "fsutil.h"
#include "log.h"
#include "qemuimg.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define INVALID    "InvalidParameterValue"
#define HEAD_LEN   512
#define COPY_CHUNK (1 << 20)

struct NubeStore {
    char *dir;
    char *tmp_dir;
    int bases_fd;
    int blobs_fd;
};

/* ---- image formats ---- */

typedef struct {
    const char *format;
    size_t offset;
    const char *magic;
    size_t len;
} Magic;

/* The probes of QEMU's block drivers that look at content. */
static const Magic magics[] = {
    { "qcow2", 0, "QFI\xfb", 4 },
    { "vmdk", 0, "KDMV", 4 },
    { "vmdk", 0, "COWD", 4 },
    { "vmdk", 0, "# Disk DescriptorFile", 21 },
    { "vdi", 64, "\x7f\x10\xda\xbe", 4 },
    { "vhdx", 0, "vhdxfile", 8 },
    { "vpc", 0, "conectix", 8 },
    { "qed", 0, "QED\0", 4 },
    { "luks", 0, "LUKS\xba\xbe", 6 },
    { "parallels", 0, "WithoutFreeSpace", 16 },
    { "parallels", 0, "WithouFreSpacExt", 16 },
    { "bochs", 0, "Bochs Virtual HD Image", 22 },
    { "cloop", 0, "#!/bin/sh\n#V2.0 Format\n", 23 },
};

static guint32 be32(const guint8 *p)
{
    return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static guint64 be64(const guint8 *p)
{
    return (guint64) be32(p) << 32 | be32(p + 4);
}

const char *nube_store_detect_format(const void *head, size_t len)
{
    const guint8 *h = head;
    for (size_t i = 0; i < G_N_ELEMENTS(magics); i++) {
        const Magic *m = &magics[i];
        if (len < m->offset + m->len || memcmp(h + m->offset, m->magic, m->len) != 0)
            continue;
        /* qcow (version 1) shares the magic of qcow2 */
        if (strcmp(m->format, "qcow2") == 0 && len >= 8 && be32(h + 4) < 2)
            return "qcow";
        return m->format;
    }
    return "raw";
}

/* qcow2 header fields (docs/interop/qcow2.txt in QEMU) */
#define QCOW2_V2_HEADER_LEN      72
#define QCOW2_V3_HEADER_LEN      104
#define QCOW2_INCOMPAT_CORRUPT   (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ULL << 2)
#define QCOW2_INCOMPAT_KNOWN              \
    0x1fULL /* dirty, corrupt, data file, \
               compression type, extended L2 */

static int check_qcow2_v3(const guint8 *h, size_t len, const char *name, NubeError **err)
{
    if (len < QCOW2_V3_HEADER_LEN)
        return nube_error_setc(err, EINVAL, INVALID, "image file '%s' has a truncated qcow2 header",
                               name);
    guint64 incompat = be64(h + 72);
    if (incompat & QCOW2_INCOMPAT_DATA_FILE)
        return nube_error_setc(
            err, EINVAL, INVALID,
            "image file '%s' uses an external data file; only standalone images can be imported",
            name);
    if (incompat & QCOW2_INCOMPAT_CORRUPT)
        return nube_error_setc(err, EINVAL, INVALID, "image file '%s' is marked corrupt", name);
    if (incompat & ~QCOW2_INCOMPAT_KNOWN)
        return nube_error_setc(err, EINVAL, INVALID, "image file '%s' uses unknown qcow2 features",
                               name);
    return 0;
}

int nube_store_check_qcow2_header(const void *head, size_t len, const char *name, NubeError **err)
{
    const guint8 *h = head;
    if (len < QCOW2_V2_HEADER_LEN || memcmp(h, "QFI\xfb", 4) != 0)
        return nube_error_setc(err, EINVAL, INVALID, "image file '%s' has no qcow2 header", name);
    guint32 version = be32(h + 4);
    if (version != 2 && version != 3)
        return nube_error_setc(err, EINVAL, INVALID,
                               "image file '%s' has unsupported qcow2 version %u", name, version);
    if (be64(h + 8) != 0 || be32(h + 16) != 0)
        return nube_error_setc(
            err, EINVAL, INVALID,
            "image file '%s' has a backing file; only standalone images can be imported", name);
    if (be32(h + 32) != 0)
        return nube_error_setc(err, EINVAL, INVALID, "image file '%s' is encrypted", name);
    return version == 3 ? check_qcow2_v3(h, len, name, err) : 0;
}

/* ---- files ---- */

static gboolean sha_valid(const char *sha)
{
    if (sha == NULL || strlen(sha) != 64)
        return FALSE;
    for (size_t i = 0; i < 64; i++)
        if (!g_ascii_isdigit(sha[i]) && !(sha[i] >= 'a' && sha[i] <= 'f'))
            return FALSE;
    return TRUE;
}

static int check_sha(const char *sha, NubeError **err)
{
    if (!sha_valid(sha))
        return nube_error_setc(err, EINVAL, INVALID, "'%s' is not a sha256 digest", sha ? sha : "");
    return 0;
}

/* Opens the user's file PATH: a regular file, not a symlink, not empty.
 * Returns the fd or a negative errno. */
static int open_user_file(const char *path, struct stat *st, NubeError **err)
{
    /* Refuse devices and FIFOs before opening them has side effects. */
    if (lstat(path, st) == 0 && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
        return nube_error_setc(err, EINVAL, INVALID, "file '%s' is not a regular file", path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP)
        return nube_error_setc(err, ELOOP, INVALID, "file '%s' is a symbolic link", path);
    if (fd < 0 && errno == ENOENT)
        return nube_error_setc(err, ENOENT, INVALID, "file '%s' does not exist", path);
    if (fd < 0)
        return nube_error_setc(err, errno, INVALID, "cannot open file '%s': %s", path,
                               g_strerror(errno));

    int r = 0;
    if (fstat(fd, st) < 0)
        r = nube_error_set(err, errno, "stat '%s'", path);
    else if (!S_ISREG(st->st_mode))
        r = nube_error_setc(err, EINVAL, INVALID, "file '%s' is not a regular file", path);
    else if (st->st_size == 0)
        r = nube_error_setc(err, EINVAL, INVALID, "file '%s' is empty", path);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

/* Reads up to HEAD_LEN bytes from the start of FD into BUF; returns the
 * count or a negative errno. */
static ssize_t read_head(int fd, guint8 *buf, const char *name, NubeError **err)
{
    size_t got = 0;
    while (got < HEAD_LEN) {
        ssize_t n = pread(fd, buf + got, HEAD_LEN - got, got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nube_error_set(err, errno, "read '%s'", name);
        if (n == 0)
            break;
        got += n;
    }
    return got;
}

/* One chunk of a plain read/write copy through BUF (COPY_CHUNK bytes);
 * bytes copied or -1 with errno. */
static ssize_t copy_chunk_rw(int in, int out, off_t off, size_t len, guint8 *buf)
{
    ssize_t n = pread(in, buf, MIN(len, COPY_CHUNK), off);
    if (n <= 0)
        return n;
    for (ssize_t done = 0; done < n;) {
        ssize_t w = pwrite(out, buf + done, n - done, off + done);
        if (w < 0 && errno != EINTR)
            return -1;
        if (w > 0)
            done += w;
    }
    return n;
}

/* Copies bytes [OFF, OFF+LEN) of IN to the same offsets in OUT. */
static int copy_range(int in, int out, off_t off, off_t len)
{
    g_autofree guint8 *buf = NULL; /* set when copy_file_range() fails */
    while (len > 0) {
        loff_t io = off, oo = off;
        ssize_t n = buf ? copy_chunk_rw(in, out, off, len, buf)
                        : copy_file_range(in, &io, out, &oo, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && buf == NULL &&
            (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
            buf = g_malloc(COPY_CHUNK);
            continue;
        }
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* the source shrank under us */
        off += n;
        len -= n;
    }
    return 0;
}

/* Copies IN (SIZE bytes) to OUT, keeping holes. */
static int copy_sparse(int in, int out, off_t size)
{
    off_t data = 0;
    while (data < size) {
        data = lseek(in, data, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break; /* only a hole is left */
        if (data < 0)
            return -errno;
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0)
            return -errno;
        hole = MIN(hole, size);
        int r = copy_range(in, out, data, hole - data);
        if (r < 0)
            return r;
        data = hole;
    }
    return ftruncate(out, size) < 0 ? -errno : 0;
}

/* Copies the open file IN (SIZE bytes) to the new file DST: a reflink where
 * the file system can, else a sparse copy. */
static int snapshot_file(int in, off_t size, const char *dst, NubeError **err)
{
    _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return nube_error_set(err, errno, "create '%s'", dst);
    if (ioctl(out, FICLONE, in) == 0)
        return 0;
    int r = copy_sparse(in, out, size);
    if (r < 0)
        return nube_error_set(err, -r, "copy to '%s'", dst);
    return 0;
}

/* Makes FILE read-only and durable, then renames it to NAME in DIRFD unless
 * NAME exists (then FILE is dropped: same name, same content). */
static int install_file(const char *file, int dirfd, const char *name, NubeError **err)
{
    _cleanup_close_ int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return nube_error_set(err, errno, "open '%s'", file);
    if (fchmod(fd, 0444) < 0 || fsync(fd) < 0)
        return nube_error_set(err, errno, "sync '%s'", file);

    if (renameat2(AT_FDCWD, file, dirfd, name, RENAME_NOREPLACE) < 0) {
        if (errno != EEXIST)
            return nube_error_set(err, errno, "rename '%s' to '%s'", file, name);
        nube_debug("store: '%s' already stored", name);
        if (unlink(file) < 0)
            return nube_error_set(err, errno, "unlink '%s'", file);
    }
    if (fsync(dirfd) < 0)
        return nube_error_set(err, errno, "sync directory of '%s'", name);
    return 0;
}

static void workdir_remove(char **work)
{
    if (*work == NULL)
        return;
    nube_rm_rf(*work, NULL);
    g_free(*work);
}
#define _cleanup_workdir_ _cleanup_(workdir_remove)

/* A new private directory tmp/PREFIX-XXXXXX (caller removes). */
static char *workdir_new(NubeStore *store, const char *prefix, NubeError **err)
{
    char *work = g_strdup_printf("%s/%s-XXXXXX", store->tmp_dir, prefix);
    if (g_mkdtemp_full(work, 0700) == NULL) {
        nube_error_set(err, errno, "mkdtemp '%s'", work);
        g_free(work);
        return NULL;
    }
    return work;
}

/* ---- the store ---- */

static int open_subdir(const char *dir, const char *name, int mode, int *fd, NubeError **err)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return nube_error_set(err, errno, "mkdir '%s'", path);
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0)
        return nube_error_set(err, errno, "open '%s'", path);
    return 0;
}

NubeStore *nube_store_open(const char *dir, NubeError **err)
{
    g_autoptr(NubeStore) store = g_new0(NubeStore, 1);
    store->bases_fd = store->blobs_fd = -1;
    store->dir = g_canonicalize_filename(dir, NULL);
    store->tmp_dir = g_build_filename(store->dir, "tmp", NULL);

    _cleanup_close_ int tmp_fd = -1;
    if (nube_mkdir_p(store->dir, 0755, err) < 0 ||
        open_subdir(store->dir, "bases", 0755, &store->bases_fd, err) < 0 ||
        open_subdir(store->dir, "blobs", 0755, &store->blobs_fd, err) < 0 ||
        open_subdir(store->dir, "tmp", 0700, &tmp_fd, err) < 0) {
        nube_error_prefix(err, "open image store '%s'", dir);
        return NULL;
    }
    return g_steal_pointer(&store);
}

void nube_store_free(NubeStore *store)
{
    if (store == NULL)
        return;
    nube_closep(&store->bases_fd);
    nube_closep(&store->blobs_fd);
    g_free(store->dir);
    g_free(store->tmp_dir);
    g_free(store);
}

const char *nube_store_dir(const NubeStore *store)
{
    return store->dir;
}

const char *nube_store_tmp_dir(const NubeStore *store)
{
    return store->tmp_dir;
}

void nube_base_clear(NubeBase *base)
{
    g_free(base->path);
    g_free(base->architecture);
    memset(base, 0, sizeof(*base));
}

int nube_store_lookup(NubeStore *store, const char *sha256, NubeBase *out, NubeError **err)
{
    if (check_sha(sha256, err) < 0)
        return -EINVAL;
    g_autofree char *name = g_strconcat(sha256, ".qcow2", NULL);
    struct stat st;
    if (fstatat(store->bases_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return nube_error_set(err, errno, "base '%s' is not in the store", sha256);
    if (!S_ISREG(st.st_mode))
        return nube_error_set(err, EINVAL, "base '%s' is not a regular file", sha256);

    g_autofree char *path = g_build_filename(store->dir, "bases", name, NULL);
    NubeImageInfo info = { 0 };
    int r = nube_qemuimg_info(path, "qcow2", &info, err);
    if (r < 0)
        return r;
    memcpy(out->sha256, sha256, 65);
    out->path = g_steal_pointer(&path);
    out->virtual_size = info.virtual_size;
    out->file_size = st.st_size;
    out->architecture = g_strdup("x86_64");
    nube_image_info_clear(&info);
    return 0;
}

/* qemu-img's view of IMAGE (a private copy of the user's NAME) as FORMAT:
 * no backing file, no external data file, not corrupt, not empty. */
static int check_info(const char *image, const char *format, const char *name, NubeError **err)
{
    g_autoptr(NubeError) child = NULL;
    NubeImageInfo info = { 0 };
    if (nube_qemuimg_info(image, format, &info, &child) < 0)
        return nube_error_setc(err, EINVAL, INVALID, "image file '%s' cannot be read as %s: %s",
                               name, format, child->message);

    int r = 0;
    if (g_strcmp0(info.format, format) != 0)
        r = nube_error_setc(err, EINVAL, INVALID, "image file '%s' is %s, not %s", name,
                            info.format, format);
    else if (info.backing_file != NULL)
        r = nube_error_setc(
            err, EINVAL, INVALID,
            "image file '%s' has a backing file '%s'; only standalone images can be imported", name,
            info.backing_file);
    else if (info.data_file != NULL)
        r = nube_error_setc(
            err, EINVAL, INVALID,
            "image file '%s' uses an external data file '%s'; only standalone images can be imported",
            name, info.data_file);
    else if (info.corrupt)
        r = nube_error_setc(err, EINVAL, INVALID, "image file '%s' is marked corrupt", name);
    else if (info.virtual_size == 0)
        r = nube_error_setc(err, EINVAL, INVALID, "image file '%s' is empty", name);
    nube_image_info_clear(&info);
    return r;
}

/* Header checks of a qcow2 nube is about to store (QEMU not involved). */
static int check_qcow2_file(const char *image, const char *name, NubeError **err)
{
    _cleanup_close_ int fd = open(image, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return nube_error_set(err, errno, "open '%s'", image);
    guint8 head[HEAD_LEN];
    ssize_t len = read_head(fd, head, image, err);
    if (len < 0)
        return len;
    return nube_store_check_qcow2_header(head, len, name, err);
}

/* Checks, hashes and moves the standalone qcow2 IMAGE into bases/; fills
 * OUT.  NAME is what messages call the image. */
static int store_base(NubeStore *store, const char *image, const char *name, NubeBase *out,
                      NubeError **err)
{
    char sha[65];
    int r = check_qcow2_file(image, name, err);
    if (r == 0)
        r = check_info(image, "qcow2", name, err);
    if (r == 0)
        r = nube_file_sha256(image, sha, err);
    if (r < 0)
        return r;

    g_autofree char *file = g_strconcat(sha, ".qcow2", NULL);
    r = install_file(image, store->bases_fd, file, err);
    if (r < 0)
        return r;
    return nube_store_lookup(store, sha, out, err);
}

/* The format of the user's file NAME from its first bytes in FD: CLAIMED
 * ("raw", "qcow2" or NULL) must match what the content says. */
static int probe_format(int fd, const char *claimed, const char *name, const char **format,
                        NubeError **err)
{
    guint8 head[HEAD_LEN];
    ssize_t len = read_head(fd, head, name, err);
    if (len < 0)
        return len;

    const char *found = nube_store_detect_format(head, len);
    if (strcmp(found, "raw") != 0 && strcmp(found, "qcow2") != 0)
        return nube_error_setc(err, EINVAL, INVALID,
                               "image file '%s' is a %s image: unsupported image format", name,
                               found);
    if (claimed != NULL && strcmp(claimed, found) != 0)
        return nube_error_setc(err, EINVAL, INVALID,
                               "image file '%s' is said to be %s but its content is %s", name,
                               claimed, found);
    if (strcmp(found, "qcow2") == 0) {
        int r = nube_store_check_qcow2_header(head, len, name, err);
        if (r < 0)
            return r;
    }
    *format = found;
    return 0;
}

/* `qemu-img check` of IMAGE, the private copy of the user's NAME. */
static int check_clean(const char *image, const char *name, NubeError **err)
{
    g_autoptr(NubeError) child = NULL;
    int r = nube_qemuimg_check(image, &child);
    if (r == -EINVAL) {
        /* the details name our private copy: for debugging only */
        nube_debug("store: %s", child->message);
        return nube_error_setc(err, EINVAL, INVALID,
                               "image file '%s' is corrupt (qemu-img check found errors)", name);
    }
    if (r < 0)
        return nube_error_propagate(err, g_steal_pointer(&child));
    return 0;
}

/* Copies the user's file (open as FD) into WORK and checks the copy: the
 * path of the checked copy in *SOURCE, its format in *FORMAT. */
static int import_source(int fd, const struct stat *st, const char *work, const char *path,
                         const char *claimed, char **source, const char **format, NubeError **err)
{
    g_autofree char *src = g_build_filename(work, "source", NULL);
    int r = snapshot_file(fd, st->st_size, src, err);
    if (r < 0)
        return r;

    /* From here on only the private copy counts. */
    _cleanup_close_ int copy = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (copy < 0)
        return nube_error_set(err, errno, "open '%s'", src);
    r = probe_format(copy, claimed, path, format, err);
    if (r == 0)
        r = check_info(src, *format, path, err);
    if (r == 0 && strcmp(*format, "qcow2") == 0)
        r = check_clean(src, path, err);
    if (r < 0)
        return r;
    *source = g_steal_pointer(&src);
    return 0;
}

static int validate_claim(const char *path, const char *format, NubeError **err)
{
    if (format == NULL || strcmp(format, "raw") == 0 || strcmp(format, "qcow2") == 0)
        return 0;
    return nube_error_setc(err, EINVAL, INVALID, "image file '%s': unsupported image format '%s'",
                           path, format);
}

int nube_store_import(NubeStore *store, const char *path, const char *format, NubeBase *out,
                      NubeError **err)
{
    return nube_store_import_edit(store, path, format, NULL, NULL, out, err);
}

int nube_store_import_edit(NubeStore *store, const char *path, const char *format,
                           NubeStoreEditFn edit, void *opaque, NubeBase *out, NubeError **err)
{
    int r = validate_claim(path, format, err);
    if (r < 0)
        return r;
    struct stat st;
    _cleanup_close_ int fd = open_user_file(path, &st, err);
    if (fd < 0)
        return fd;
    const char *found = NULL;
    r = probe_format(fd, format, path, &found, err); /* fail early */
    if (r < 0)
        return r;

    _cleanup_workdir_ char *work = workdir_new(store, "import", err);
    if (work == NULL)
        return nube_error_prefix(err, "import '%s'", path);
    g_autofree char *source = NULL;
    r = import_source(fd, &st, work, path, format, &source, &found, err);
    if (r < 0)
        return r;

    g_autofree char *image = g_build_filename(work, "image.qcow2", NULL);
    r = nube_qemuimg_convert(source, found, image, err);
    if (r == 0 && unlink(source) < 0) /* free the space early */
        r = nube_error_set(err, errno, "unlink '%s'", source);
    if (r == 0 && edit != NULL)
        r = edit(image, opaque, err);
    if (r == 0)
        r = store_base(store, image, path, out, err);
    if (r < 0)
        return nube_error_prefix(err, "import '%s'", path);
    return 0;
}

int nube_store_adopt(NubeStore *store, const char *tmp_qcow2, NubeBase *out, NubeError **err)
{
    struct stat st;
    if (lstat(tmp_qcow2, &st) < 0)
        return nube_error_set(err, errno, "stat '%s'", tmp_qcow2);
    if (!S_ISREG(st.st_mode))
        return nube_error_set(err, EINVAL, "'%s' is not a regular file", tmp_qcow2);
    int r = store_base(store, tmp_qcow2, tmp_qcow2, out, err);
    if (r < 0)
        return nube_error_prefix(err, "adopt '%s'", tmp_qcow2);
    return 0;
}

static int remove_entry(int dirfd, const char *name, NubeError **err)
{
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return nube_error_set(err, errno, "unlink '%s'", name);
    if (fsync(dirfd) < 0)
        return nube_error_set(err, errno, "sync directory of '%s'", name);
    return 0;
}

int nube_store_remove_base(NubeStore *store, const char *sha256, NubeError **err)
{
    if (check_sha(sha256, err) < 0)
        return -EINVAL;
    g_autofree char *name = g_strconcat(sha256, ".qcow2", NULL);
    return remove_entry(store->bases_fd, name, err);
}

int nube_store_add_blob(NubeStore *store, const char *path, char sha256[65], NubeError **err)
{
    struct stat st;
    _cleanup_close_ int fd = open_user_file(path, &st, err);
    if (fd < 0)
        return fd;
    _cleanup_workdir_ char *work = workdir_new(store, "blob", err);
    if (work == NULL)
        return nube_error_prefix(err, "add blob '%s'", path);

    g_autofree char *copy = g_build_filename(work, "blob", NULL);
    char sha[65];
    int r = snapshot_file(fd, st.st_size, copy, err);
    if (r == 0)
        r = nube_file_sha256(copy, sha, err);
    if (r == 0)
        r = install_file(copy, store->blobs_fd, sha, err);
    if (r < 0)
        return nube_error_prefix(err, "add blob '%s'", path);
    memcpy(sha256, sha, 65);
    return 0;
}

char *nube_store_blob_path(NubeStore *store, const char *sha256)
{
    struct stat st;
    if (!sha_valid(sha256) || fstatat(store->blobs_fd, sha256, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode))
        return NULL;
    return g_build_filename(store->dir, "blobs", sha256, NULL);
}

int nube_store_remove_blob(NubeStore *store, const char *sha256, NubeError **err)
{
    if (check_sha(sha256, err) < 0)
        return -EINVAL;
    return remove_entry(store->blobs_fd, sha256, err);
}
