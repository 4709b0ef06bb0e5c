/*
 * images.c: the default image's build job, the import job, progress of
 * image jobs, and the collection of unused bases and blobs (see images.h).
 */
#include "images.h"
#include "fault.h"
#include "build.h"
#include "capture.h"
#include "image.h"
#include "instance.h"
#include "fsutil.h"
#include "log.h"
#include "store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nube_images_progress(NubeCloud *d, const char *image_id, gint64 started, const char *message)
{
    gint64 secs = (g_get_monotonic_time() - started) / G_USEC_PER_SEC;
    g_autofree char *text = g_strdup_printf("[%3" G_GINT64_FORMAT "s] %s", secs, message);
    nube_info("%s: %s", image_id, text);
    nube_image_set_reason(d->db, image_id, text, NULL);
}

void nube_images_gc_files(NubeCloud *d, const char *base_sha256, const char *kernel_sha256,
                          const char *ramdisk_sha256)
{
    if (base_sha256 != NULL && !nube_image_base_in_use(d->db, base_sha256)) {
        nube_info("removing unused base %s", base_sha256);
        nube_store_remove_base(d->store, base_sha256, NULL);
    }
    const char *blobs[] = { kernel_sha256, ramdisk_sha256 };
    for (size_t i = 0; i < G_N_ELEMENTS(blobs); i++)
        if (blobs[i] != NULL && !nube_image_blob_in_use(d->db, blobs[i]))
            nube_store_remove_blob(d->store, blobs[i], NULL);
}

/* ---- NubeBuildDefaultImage ------------------------------------------------ */

typedef struct {
    NubeCloud *d;
    char *image_id;
    gboolean cloud_init; /* the recipe's, so the job builds what was digested */
    char *agent_path;
    gint64 started;
} BuildJob;

static void build_job_free(gpointer p)
{
    BuildJob *job = p;
    g_free(job->image_id);
    g_free(job->agent_path);
    g_free(job);
}

static void build_progress(const char *message, void *opaque)
{
    BuildJob *job = opaque;
    nube_images_progress(job->d, job->image_id, job->started, message);
}

static void build_job(gpointer data)
{
    BuildJob *job = data;
    NubeBuildRecipe recipe;
    NubeBuildResult res = { 0 };
    g_autoptr(NubeError) err = NULL;

    job->started = g_get_monotonic_time();
    nube_build_recipe_default(&recipe);
    recipe.cloud_init = job->cloud_init;
    recipe.agent_path = job->agent_path;
    if (nube_build_default_image(job->d->store, &recipe, build_progress, job, &res, &err) < 0 ||
        nube_image_set_available(job->d->db, job->image_id, res.base.sha256,
                                 (gint64) res.base.virtual_size, res.kernel_sha256,
                                 res.ramdisk_sha256, res.cmdline, &err) < 0) {
        nube_err("%s: build failed: %s", job->image_id, err->message);
        nube_image_set_failed(job->d->db, job->image_id, err->message, NULL);
        nube_images_gc_files(job->d, res.base.path ? res.base.sha256 : NULL,
                             res.kernel_sha256[0] ? res.kernel_sha256 : NULL,
                             res.ramdisk_sha256[0] ? res.ramdisk_sha256 : NULL);
    } else {
        nube_info("%s: available (base %s)", job->image_id, res.base.sha256);
    }
    nube_build_result_clear(&res);
}

void nube_images_build_default_start(NubeCloud *d, const char *image_id, gboolean cloud_init,
                                     const char *agent_path)
{
    BuildJob *job = g_new0(BuildJob, 1);
    job->d = d;
    job->image_id = g_strdup(image_id);
    job->cloud_init = cloud_init;
    job->agent_path = g_strdup(agent_path);
    nube_jobs_push(d->jobs, build_job, job, build_job_free);
}

/* ---- NubeImportImage ------------------------------------------------------ */

typedef struct {
    NubeCloud *d;
    char *image_id;
    char *path;
    char *format;
    char *agent;
    char *kernel;
    char *ramdisk;
    char *cmdline;
    gint64 started;
} ImportJob;

static void import_job_free(gpointer p)
{
    ImportJob *job = p;
    g_free(job->image_id);
    g_free(job->path);
    g_free(job->format);
    g_free(job->agent);
    g_free(job->kernel);
    g_free(job->ramdisk);
    g_free(job->cmdline);
    g_free(job);
}

/* nube_store_import_edit()'s edit: the agent goes into the working copy. */
static int add_agent(const char *qcow2, void *opaque, NubeError **err)
{
    ImportJob *job = opaque;
    NubeGeneralizeOptions opts = { .tcg = job->d->accel == NUBE_ACCEL_TCG };
    nube_images_progress(job->d, job->image_id, job->started, "adding the guest agent");
    return nube_capture_add_agent(qcow2, job->agent, &opts, err);
}

/* Imports the disk into the store, with the guest agent added if asked. */
static int import_base(ImportJob *job, NubeBase *base, NubeError **err)
{
    NubeStore *store = job->d->store;
    nube_images_progress(job->d, job->image_id, job->started, "checking and storing the disk");
    if (job->agent == NULL)
        return nube_store_import(store, job->path, job->format, base, err);
    return nube_store_import_edit(store, job->path, job->format, add_agent, job, base, err);
}

/* Stores the file PATH (if not NULL) as a blob; its digest in SHA. */
static int import_blob(ImportJob *job, const char *path, char sha[65], NubeError **err)
{
    return path ? nube_store_add_blob(job->d->store, path, sha, err) : 0;
}

/* The checks of the API again, on the files as they are now (a link in an
 * import directory may have changed since), and the size limit.  The
 * job's paths become the resolved ones. */
static int confine_again(ImportJob *job, NubeError **err)
{
    char **paths[] = { &job->path, &job->kernel, &job->ramdisk };
    const char *keys[] = { "Path", "KernelPath", "RamdiskPath" };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        if (*paths[i] == NULL)
            continue;
        char *real = nube_images_confine(job->d, keys[i], *paths[i], err);
        if (real == NULL)
            return -EINVAL;
        g_free(*paths[i]);
        *paths[i] = real;
    }
    return nube_images_import_check(job->d, job->path, job->kernel, job->ramdisk, err);
}

static int import_files(ImportJob *job, NubeBase *base, char kernel[65], char ramdisk[65],
                        NubeError **err)
{
    if (confine_again(job, err) < 0 || import_base(job, base, err) < 0 ||
        import_blob(job, job->kernel, kernel, err) < 0 ||
        import_blob(job, job->ramdisk, ramdisk, err) < 0)
        return -EINVAL;
    return 0;
}

static void import_job(gpointer data)
{
    ImportJob *job = data;
    g_autoptr(NubeError) err = NULL;
    NubeBase base = { 0 };
    char kernel[65] = "", ramdisk[65] = "";

    job->started = g_get_monotonic_time();
    int r = import_files(job, &base, kernel, ramdisk, &err);
    if (r == 0)
        nube_fault_point("import.stored");
    if (r == 0)
        r = nube_image_set_available(job->d->db, job->image_id, base.sha256,
                                     (gint64) base.virtual_size, kernel[0] ? kernel : NULL,
                                     ramdisk[0] ? ramdisk : NULL, job->cmdline, &err);
    if (r < 0) {
        nube_err("%s: import of '%s' failed: %s", job->image_id, job->path, err->message);
        nube_image_set_failed(job->d->db, job->image_id, err->message, NULL);
        nube_images_gc_files(job->d, base.path ? base.sha256 : NULL, kernel[0] ? kernel : NULL,
                             ramdisk[0] ? ramdisk : NULL);
    } else {
        nube_info("%s: available (base %s)", job->image_id, base.sha256);
    }
    nube_base_clear(&base);
}

void nube_images_import_start(NubeCloud *d, const char *image_id, const NubeImportSpec *spec)
{
    ImportJob *job = g_new0(ImportJob, 1);
    job->d = d;
    job->image_id = g_strdup(image_id);
    job->path = g_strdup(spec->path);
    job->format = g_strdup(spec->format);
    job->agent = g_strdup(spec->agent);
    job->kernel = g_strdup(spec->kernel);
    job->ramdisk = g_strdup(spec->ramdisk);
    job->cmdline = g_strdup(spec->cmdline);
    nube_jobs_push(d->jobs, import_job, job, import_job_free);
}

/* Removes the bases and blobs that nothing uses: what a job cut off between
 * storing a file and recording its image left in the store. */
static void sweep_store(NubeCloud *d)
{
    const char *kinds[] = { "bases", "blobs" };
    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
        g_autofree char *path = g_build_filename(nube_store_dir(d->store), kinds[k], NULL);
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;
        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *sha = g_strndup(name, strcspn(name, "."));
            if (strlen(sha) != 64)
                continue;
            if (k == 0)
                nube_images_gc_files(d, sha, NULL, NULL);
            else
                nube_images_gc_files(d, NULL, sha, NULL);
        }
    }
}

guint nube_images_recover(NubeCloud *d)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(GPtrArray) all = nube_image_list(d->db, &err);
    guint failed = 0;
    for (guint i = 0; all != NULL && i < all->len; i++) {
        const NubeImage *img = g_ptr_array_index(all, i);
        if (!g_str_equal(img->state, "pending"))
            continue;
        g_autoptr(NubeError) serr = NULL;
        if (nube_image_set_failed(d->db, img->id,
                                  "Server.InternalError: nubed stopped while the image was being "
                                  "made; create it again",
                                  &serr) < 0) {
            nube_warn("%s: %s", img->id, serr->message);
            continue;
        }
        nube_warn("%s: failed: nubed stopped while its %s job ran", img->id, img->source);
        failed++;
    }
    if (all == NULL)
        nube_warn("cannot look for interrupted image jobs: %s", err->message);
    sweep_store(d);
    return failed;
}

/* ---- what an import may read ---------------------------------------------- */

int nube_images_import_check(const NubeCloud *d, const char *path, const char *kernel,
                             const char *ramdisk, NubeError **err)
{
    const char *paths[] = { path, kernel, ramdisk };
    const char *keys[] = { "Path", "KernelPath", "RamdiskPath" };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_autofree char *real = paths[i] ? nube_images_confine(d, keys[i], paths[i], err) : NULL;
        if (paths[i] != NULL && real == NULL)
            return -EINVAL;
    }
    if (nube_images_check_boot_files(kernel, ramdisk, err) < 0)
        return -EINVAL;
    guint64 size = 0, max = d->cfg->max_image_gib;
    if (nube_images_virtual_size(path, &size, err) < 0)
        return -EIO;
    if (size > max * 1024 * 1024 * 1024)
        return nube_error_setc(err, EFBIG, "InvalidParameterValue",
                               "The disk's virtual size (%" G_GUINT64_FORMAT " GiB) is larger than "
                               "the %" G_GUINT64_FORMAT " GiB nubed allows (max_image_gib).",
                               (size + (1 << 30) - 1) >> 30, max);
    return 0;
}

/* TRUE if PATH is DIR or below it (both resolved). */
static gboolean path_below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || (n == 1 && dir[0] == '/'));
}

char *nube_images_confine(const NubeCloud *d, const char *key, const char *path, NubeError **err)
{
    g_autofree char *real = realpath(path, NULL);
    struct stat st;
    if (real == NULL || stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
        nube_error_setc(err, EINVAL, "InvalidParameterValue",
                        "%s '%s' is not an absolute path to a regular file.", key, path);
        return NULL;
    }
    static const char *const never[] = { "/proc", "/sys", "/dev" };
    for (size_t i = 0; i < G_N_ELEMENTS(never); i++)
        if (path_below(real, never[i])) {
            nube_error_setc(err, EINVAL, "InvalidParameterValue",
                            "%s '%s' is a file of the kernel, not an image.", key, path);
            return NULL;
        }
    g_auto(GStrv) dirs = nube_config_import_dirs(d->cfg);
    for (size_t i = 0; dirs[i] != NULL; i++) {
        g_autofree char *dir = realpath(dirs[i], NULL);
        if (dir != NULL && path_below(real, dir))
            return g_steal_pointer(&real);
    }
    g_autofree char *list = g_strjoinv("', '", dirs);
    nube_error_setc(err, EINVAL, "InvalidParameterValue",
                    "%s '%s' is not in an import directory ('%s'): copy it there, or add its "
                    "directory to import_dirs in nubed's configuration.",
                    key, path, list);
    return NULL;
}

/* Reads up to LEN bytes of PATH into BUF.  The count, or -errno. */
static gssize read_head(const char *path, void *buf, size_t len)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t n = pread(fd, buf, len, 0);
    return n < 0 ? -errno : n;
}

static gboolean has_magic(const guint8 *head, gssize n, const char *magic, size_t len)
{
    return n >= (gssize) len && memcmp(head, magic, len) == 0;
}

static gboolean is_initramfs(const guint8 *h, gssize n)
{
    static const struct {
        const char *magic;
        size_t len;
    } kinds[] = {
        { "070701", 6 },
        { "070702", 6 },   /* cpio (newc) */
        { "\x1f\x8b", 2 }, /* gzip */
        { "\xfd"
          "7zXZ\0",
          6 },                     /* xz */
        { "\x28\xb5\x2f\xfd", 4 }, /* zstd */
        { "\x02\x21\x4c\x18", 4 }, /* lz4 (legacy) */
        { "BZh", 3 },              /* bzip2 */
        { "\x5d\0\0", 3 },         /* lzma */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
        if (has_magic(h, n, kinds[i].magic, kinds[i].len))
            return TRUE;
    return FALSE;
}

int nube_images_check_boot_files(const char *kernel, const char *ramdisk, NubeError **err)
{
    guint8 head[1024];
    if (kernel != NULL) {
        gssize n = read_head(kernel, head, sizeof(head));
        if (n < 0x206 || memcmp(head + 0x202, "HdrS", 4) != 0)
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "KernelPath '%s' is not a Linux kernel (bzImage).", kernel);
    }
    if (ramdisk != NULL && !is_initramfs(head, read_head(ramdisk, head, sizeof(head))))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "RamdiskPath '%s' is not an initramfs (cpio, compressed or not).",
                               ramdisk);
    return 0;
}

int nube_images_virtual_size(const char *path, guint64 *size, NubeError **err)
{
    guint8 head[512];
    gssize n = read_head(path, head, sizeof(head));
    struct stat st;
    if (n < 0)
        return nube_error_set(err, (int) -n, "read '%s'", path);
    if (stat(path, &st) < 0)
        return nube_error_set(err, errno, "stat '%s'", path);
    *size = (guint64) st.st_size;
    if (g_str_equal(nube_store_detect_format(head, n), "qcow2") && n >= 32) {
        guint64 be;
        memcpy(&be, head + 24, sizeof(be));
        *size = GUINT64_FROM_BE(be);
    }
    return 0;
}
