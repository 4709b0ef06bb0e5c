/*
 * pkgrepo.c: a flat apt repository for guests (see pkgrepo.h).
 *
 * Adding packages:
 *   1. apt-get update into private lists (DIR.apt/state) from the host's
 *      apt sources, at most once a day;
 *   2. apt-get install --download-only against an empty dpkg status, so
 *      the whole dependency closure is downloaded, into a private cache
 *      (DIR.apt/cache/archives) where apt finds it again next time;
 *   3. every cached .deb the repository lacks is synced and hard-linked
 *      (copied across file systems) into DIR, so it appears whole;
 *   4. apt-ftparchive writes Packages (gzipped here) and Release, each
 *      replaced atomically.
 * apt's private state cannot live inside DIR: apt-ftparchive indexes every
 * .deb below the directory it is given, hidden ones included.
 */
#include "pkgrepo.h"
#include "domain_xml.h"

#include "fsutil.h"
#include "log.h"
#include "spawn.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* Where a guest on QEMU's user-mode network reaches the host's loopback. */
#define GUEST_GATEWAY NUBE_GUEST_GATEWAY

#define LISTS_MAX_AGE (24 * 60 * 60)
#define NAME_MAX_LEN  128
#define SERVE_THREADS 4
#define SERVE_TIMEOUT 60

struct NubePkgRepo {
    char *dir; /* the served flat repository */
    char *apt; /* DIR.apt: apt's private state and cache */
    int dir_fd;
    GMutex lock;            /* serializes adds */
    struct MHD_Daemon *mhd; /* NULL when not serving */
    guint16 port;
};

/* One add in progress. */
typedef struct {
    NubePkgRepo *repo;
    NubePkgRepoProgressFn progress;
    void *opaque;
    int log_fd; /* apt's output, DIR.apt/apt.log */
    const char *log_path;
} AddRun;

static const char *const child_env[] = {
    "LC_ALL=C",
    "DEBIAN_FRONTEND=noninteractive",
    NULL,
};

/* ---- names and paths ----------------------------------------------------- */

gboolean nube_pkgrepo_name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len < 2 || len > NAME_MAX_LEN)
        return FALSE;
    if (!g_ascii_islower(name[0]) && !g_ascii_isdigit(name[0]))
        return FALSE;
    /* apt-get reads a trailing '-' as "remove"; no Debian package ends so */
    if (name[len - 1] == '-')
        return FALSE;
    for (size_t i = 1; i < len; i++)
        if (!g_ascii_islower(name[i]) && !g_ascii_isdigit(name[i]) && name[i] != '+' &&
            name[i] != '.' && name[i] != '-')
            return FALSE;
    return TRUE;
}

static int names_check(const char *const *packages, NubeError **err)
{
    if (packages == NULL || packages[0] == NULL)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "No package to add was given.");
    for (size_t i = 0; packages[i] != NULL; i++)
        if (!nube_pkgrepo_name_valid(packages[i]))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "The package name '%s' is not a valid Debian package name.",
                                   packages[i]);
    return 0;
}

static char *apt_path(const NubePkgRepo *repo, const char *rel)
{
    return g_build_filename(repo->apt, rel, NULL);
}

const char *nube_pkgrepo_dir(const NubePkgRepo *repo)
{
    return repo->dir;
}

/* ---- index ---------------------------------------------------------------- */

/* DATA gzipped, as Packages.gz (no name, no time stamp in the header). */
static GBytes *gzip_bytes(const char *data, size_t len, NubeError **err)
{
    g_autoptr(GZlibCompressor) z = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
    g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable();
    g_autoptr(GOutputStream) out = g_converter_output_stream_new(mem, G_CONVERTER(z));
    g_autoptr(GError) gerr = NULL;

    if (!g_output_stream_write_all(out, data, len, NULL, NULL, &gerr) ||
        !g_output_stream_close(out, NULL, &gerr)) {
        nube_error_set(err, EIO, "gzip: %s", gerr->message);
        return NULL;
    }
    return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(mem));
}

static int write_in_repo(const NubePkgRepo *repo, const char *name, const void *data, size_t len,
                         NubeError **err)
{
    g_autofree char *path = g_build_filename(repo->dir, name, NULL);
    return nube_file_write_atomic(path, data, len, 0644, err);
}

/* Runs apt-ftparchive ARGS in the repository (so paths are "./NAME") and
 * returns its output in OUT (caller frees).  0 or -errno. */
static int ftparchive(const NubePkgRepo *repo, const char *const *args, char **out, NubeError **err)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer) "env");
    g_ptr_array_add(argv, (gpointer) "-C");
    g_ptr_array_add(argv, repo->dir);
    g_ptr_array_add(argv, (gpointer) "apt-ftparchive");
    for (size_t i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer) args[i]);
    g_ptr_array_add(argv, NULL);
    return nube_spawn((const char *const *) argv->pdata, child_env, out, err);
}

/*
 * Rewrites Packages, Packages.gz and then Release (which holds the hashes
 * of the other two), each whole.  0 or -errno.
 */
static int index_write(const NubePkgRepo *repo, NubeError **err)
{
    static const char *const packages_args[] = { "packages", ".", NULL };
    /* Release lists Packages and Packages.gz only (by default it would
     * also hash the previous Release) */
    static const char *const release_args[] = {
        "-o",      "APT::FTPArchive::Release::Default-Patterns=false",
        "-o",      "APT::FTPArchive::Release::Patterns::=Packages",
        "-o",      "APT::FTPArchive::Release::Patterns::=Packages.gz",
        "-o",      "APT::FTPArchive::Release::Origin=nube",
        "-o",      "APT::FTPArchive::Release::Label=nube",
        "release", ".",
        NULL,
    };
    g_autofree char *packages = NULL;
    g_autofree char *release = NULL;

    int r = ftparchive(repo, packages_args, &packages, err);
    if (r == 0)
        r = write_in_repo(repo, "Packages", packages, strlen(packages), err);
    g_autoptr(GBytes) gz = r == 0 ? gzip_bytes(packages, strlen(packages), err) : NULL;
    if (r == 0 && gz == NULL)
        r = -EIO;
    if (r == 0)
        r = write_in_repo(repo, "Packages.gz", g_bytes_get_data(gz, NULL), g_bytes_get_size(gz),
                          err);
    if (r == 0)
        r = ftparchive(repo, release_args, &release, err);
    if (r == 0)
        r = write_in_repo(repo, "Release", release, strlen(release), err);
    if (r < 0)
        nube_error_prefix(err, "index the package repository '%s'", repo->dir);
    return r;
}

/* ---- open / free ----------------------------------------------------------- */

static int dirs_create(const NubePkgRepo *repo, NubeError **err)
{
    static const char *const subdirs[] = {
        "state/lists/partial",
        "cache/archives/partial",
        "log",
        NULL,
    };
    int r = nube_mkdir_p(repo->dir, 0755, err);
    for (size_t i = 0; r == 0 && subdirs[i] != NULL; i++) {
        g_autofree char *path = apt_path(repo, subdirs[i]);
        r = nube_mkdir_p(path, 0755, err);
    }
    return r;
}

NubePkgRepo *nube_pkgrepo_open(const char *dir, NubeError **err)
{
    g_autoptr(NubePkgRepo) repo = g_new0(NubePkgRepo, 1);
    repo->dir_fd = -1;
    g_mutex_init(&repo->lock);
    repo->dir = g_canonicalize_filename(dir, NULL);
    repo->apt = g_strconcat(repo->dir, ".apt", NULL);

    if (dirs_create(repo, err) < 0)
        return NULL;
    repo->dir_fd = open(repo->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (repo->dir_fd < 0) {
        nube_error_set(err, errno, "open '%s'", repo->dir);
        return NULL;
    }
    /* apt computes the closure against this: a system with nothing installed */
    g_autofree char *status = apt_path(repo, "status");
    if (nube_file_write_atomic(status, "", 0, 0644, err) < 0)
        return NULL;
    if (faccessat(repo->dir_fd, "Packages", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
        index_write(repo, err) < 0)
        return NULL;
    return g_steal_pointer(&repo);
}

void nube_pkgrepo_free(NubePkgRepo *repo)
{
    if (repo == NULL)
        return;
    if (repo->mhd != NULL)
        MHD_stop_daemon(repo->mhd);
    if (repo->dir_fd >= 0)
        close(repo->dir_fd);
    g_mutex_clear(&repo->lock);
    g_free(repo->dir);
    g_free(repo->apt);
    g_free(repo);
}

/* ---- adding packages --------------------------------------------------------- */

static void report(const AddRun *run, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void report(const AddRun *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    nube_debug("pkgrepo: %s", msg);
    if (run->progress != NULL)
        run->progress(msg, run->opaque);
}

static void option_add(GPtrArray *argv, const char *name, const char *value)
{
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strdup_printf("%s=%s", name, value));
}

/*
 * apt-get with the host's configuration and sources but private state:
 * lists, cache, logs and an empty dpkg status.  Recommends are included
 * (a guest's apt installs them by default), Suggests are not, whatever
 * the host prefers.
 */
static GPtrArray *apt_argv(const NubePkgRepo *repo)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *state = apt_path(repo, "state");
    g_autofree char *status = apt_path(repo, "status");
    g_autofree char *cache = apt_path(repo, "cache");
    g_autofree char *log = apt_path(repo, "log");

    g_ptr_array_add(argv, g_strdup("apt-get"));
    g_ptr_array_add(argv, g_strdup("-q"));
    option_add(argv, "Dir::State", state);
    option_add(argv, "Dir::State::status", status);
    option_add(argv, "Dir::Cache", cache);
    option_add(argv, "Dir::Log", log);
    option_add(argv, "APT::Install-Recommends", "true");
    option_add(argv, "APT::Install-Suggests", "false");
    return argv;
}

/* Runs apt-get with ARGS then PACKAGES (may be NULL), output to the log. */
static int apt_get(const AddRun *run, const char *const *args, const char *const *packages,
                   NubeError **err)
{
    g_autoptr(GPtrArray) argv = apt_argv(run->repo);
    for (size_t i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    for (size_t i = 0; packages != NULL && packages[i] != NULL; i++)
        g_ptr_array_add(argv, g_strdup(packages[i]));
    g_ptr_array_add(argv, NULL);
    return nube_spawn_logged((const char *const *) argv->pdata, child_env, run->log_fd,
                             run->log_path, err);
}

/*
 * Updates the private lists unless the last update is less than a day
 * old.  An update that fails is not fatal when older lists exist (the
 * mirror may be away for a while: cached packages still resolve).
 */
static int lists_refresh(const AddRun *run, NubeError **err)
{
    static const char *const update[] = { "update", NULL };
    g_autofree char *stamp = apt_path(run->repo, "lists.stamp");
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    struct stat st;
    gboolean have = stat(stamp, &st) == 0;

    if (have && st.st_mtime <= now && now - st.st_mtime < LISTS_MAX_AGE)
        return 0;
    report(run, "updating the package lists from the host's apt sources");
    g_autoptr(NubeError) uerr = NULL;
    if (apt_get(run, update, NULL, &uerr) == 0)
        return nube_file_write_atomic(stamp, "", 0, 0644, err);
    if (!have) {
        int r = nube_error_propagate(err, g_steal_pointer(&uerr));
        nube_error_prefix(err, "update the package lists");
        return r;
    }
    report(run, "cannot update the package lists, using older ones: %s", uerr->message);
    return 0;
}

/* Names of the *.deb files in DIR (a set owning its keys), or NULL. */
static GHashTable *debs_list(const char *dir, NubeError **err)
{
    g_autoptr(GError) gerr = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &gerr);
    if (d == NULL) {
        nube_error_set(err, EIO, "list '%s': %s", dir, gerr->message);
        return NULL;
    }
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL)
        if (name[0] != '.' && g_str_has_suffix(name, ".deb"))
            g_hash_table_add(set, g_strdup(name));
    return set;
}

static int fd_copy(int from, int to)
{
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(from, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(to, buf + done, n - done);
            if (w < 0 && errno != EINTR)
                return -errno;
            if (w == 0)
                return -EIO;
            done += w > 0 ? w : 0;
        }
    }
}

/* Copies the open file FD into the repository as NAME: to a hidden
 * temporary name, fsynced, renamed.  0 or -errno. */
static int deb_copy(const NubePkgRepo *repo, int fd, const char *name, NubeError **err)
{
    g_autofree char *tmp = g_strdup_printf(".%s.tmp", name);
    unlinkat(repo->dir_fd, tmp, 0);
    _cleanup_close_ int out =
        openat(repo->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0)
        return nube_error_set(err, errno, "create '%s' in '%s'", tmp, repo->dir);
    int r = fd_copy(fd, out);
    if (r == 0 && (fsync(out) < 0 || renameat(repo->dir_fd, tmp, repo->dir_fd, name) < 0))
        r = -errno;
    if (r < 0) {
        unlinkat(repo->dir_fd, tmp, 0);
        return nube_error_set(err, -r, "copy '%s' into '%s'", name, repo->dir);
    }
    return 0;
}

/* Puts the cached package NAME into the repository: synced, then
 * hard-linked (its name appears with the whole file), or copied when the
 * cache is on another file system.  0 or -errno. */
static int deb_publish(const NubePkgRepo *repo, const char *archives, const char *name,
                       NubeError **err)
{
    g_autofree char *src = g_build_filename(archives, name, NULL);
    _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fsync(fd) < 0)
        return nube_error_set(err, errno, "sync '%s'", src);
    if (linkat(AT_FDCWD, src, repo->dir_fd, name, 0) == 0 || errno == EEXIST)
        return 0;
    if (errno != EXDEV)
        return nube_error_set(err, errno, "link '%s' into '%s'", src, repo->dir);
    return deb_copy(repo, fd, name, err);
}

/* Publishes every package in CACHED that the repository lacks.  Returns
 * how many, or -errno. */
static int debs_publish(const NubePkgRepo *repo, const char *archives, GHashTable *cached,
                        NubeError **err)
{
    GHashTableIter it;
    gpointer name;
    int added = 0;

    g_hash_table_iter_init(&it, cached);
    while (g_hash_table_iter_next(&it, &name, NULL)) {
        if (faccessat(repo->dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        int r = deb_publish(repo, archives, name, err);
        if (r < 0)
            return r;
        added++;
    }
    if (added > 0 && fsync(repo->dir_fd) < 0)
        return nube_error_set(err, errno, "sync '%s'", repo->dir);
    return added;
}

static guint debs_new(GHashTable *before, GHashTable *after)
{
    GHashTableIter it;
    gpointer name;
    guint n = 0;
    g_hash_table_iter_init(&it, after);
    while (g_hash_table_iter_next(&it, &name, NULL))
        n += !g_hash_table_contains(before, name);
    return n;
}

/* Downloads PACKAGES' closure into the cache; returns the cache's
 * packages afterwards in *CACHED. */
static int download(const AddRun *run, const char *const *packages, const char *archives,
                    GHashTable **cached, NubeError **err)
{
    static const char *const install[] = { "install", "--download-only", "--yes", NULL };
    g_autoptr(GHashTable) before = debs_list(archives, err);
    if (before == NULL)
        return -EIO;

    g_autofree char *names = g_strjoinv(" ", (char **) packages);
    report(run, "downloading %s and its dependencies", names);
    int r = apt_get(run, install, packages, err);
    if (r < 0) {
        nube_error_prefix(err, "download '%s'", names);
        return r;
    }
    *cached = debs_list(archives, err);
    if (*cached == NULL)
        return -EIO;
    guint fetched = debs_new(before, *cached);
    report(run, "%u packages downloaded, %u reused from the cache", fetched,
           g_hash_table_size(*cached) - fetched);
    return 0;
}

static int add_locked(const AddRun *run, const char *const *packages, NubeError **err)
{
    NubePkgRepo *repo = run->repo;
    g_autofree char *archives = apt_path(repo, "cache/archives");
    g_autoptr(GHashTable) cached = NULL;

    int r = lists_refresh(run, err);
    if (r == 0)
        r = download(run, packages, archives, &cached, err);
    int added = r == 0 ? debs_publish(repo, archives, cached, err) : r;
    if (added < 0)
        return added;
    report(run, "indexing the repository (%d new packages)", added);
    r = index_write(repo, err);
    return r < 0 ? r : added;
}

int nube_pkgrepo_add(NubePkgRepo *repo, const char *const *packages, NubePkgRepoProgressFn progress,
                     void *opaque, NubeError **err)
{
    int r = names_check(packages, err);
    if (r < 0)
        return r;

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&repo->lock);
    g_autofree char *log_path = apt_path(repo, "apt.log");
    _cleanup_close_ int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return nube_error_set(err, errno, "open '%s'", log_path);

    AddRun run = {
        .repo = repo,
        .progress = progress,
        .opaque = opaque,
        .log_fd = log_fd,
        .log_path = log_path,
    };
    return add_locked(&run, packages, err);
}

/* ---- serving ------------------------------------------------------------------ */

/* The files of a flat repository; anything else is not served. */
static gboolean name_served(const char *name)
{
    return g_str_equal(name, "Packages") || g_str_equal(name, "Packages.gz") ||
           g_str_equal(name, "Release") || (name[0] != '.' && g_str_has_suffix(name, ".deb"));
}

/*
 * The file named by a request path (already percent-decoded by MHD):
 * MHD_HTTP_OK and *NAME (caller frees) for exactly one name, apt asks for
 * "/./Packages"; 403 if any component is ".."; 404 for anything else.
 */
static unsigned int path_resolve(const char *url, char **name)
{
    g_auto(GStrv) parts = g_strsplit(url, "/", -1);
    const char *found = NULL;
    guint n = 0;

    if (url[0] != '/')
        return MHD_HTTP_NOT_FOUND;
    for (size_t i = 0; parts[i] != NULL; i++) {
        if (g_str_equal(parts[i], ".."))
            return MHD_HTTP_FORBIDDEN;
        if (parts[i][0] != '\0' && !g_str_equal(parts[i], ".")) {
            found = parts[i];
            n++;
        }
    }
    if (n != 1 || !name_served(found))
        return MHD_HTTP_NOT_FOUND;
    *name = g_strdup(found);
    return MHD_HTTP_OK;
}

static const char *content_type(const char *name)
{
    if (g_str_equal(name, "Packages") || g_str_equal(name, "Release"))
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

static enum MHD_Result reply_status(struct MHD_Connection *conn, unsigned int status,
                                    const char *method, const char *url)
{
    static const char forbidden[] = "403 Forbidden\n";
    static const char not_found[] = "404 Not Found\n";
    static const char not_allowed[] = "405 Method Not Allowed\n";
    const char *body = status == MHD_HTTP_FORBIDDEN   ? forbidden
                       : status == MHD_HTTP_NOT_FOUND ? not_found
                                                      : not_allowed;

    nube_debug("pkgrepo: %s '%s' -> %u", method, url, status);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/*
 * Opens NAME in the repository without following a symbolic link and
 * without blocking on a FIFO; returns the fd with its size in *SIZE, or
 * -(HTTP status) for a file that is missing (404) or not a plain file (403).
 */
static int file_open(const NubePkgRepo *repo, const char *name, off_t *size)
{
    int fd = openat(repo->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? -MHD_HTTP_NOT_FOUND : -MHD_HTTP_FORBIDDEN;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -MHD_HTTP_FORBIDDEN;
    }
    *size = st.st_size;
    return fd;
}

static enum MHD_Result reply_file(const NubePkgRepo *repo, struct MHD_Connection *conn,
                                  const char *method, const char *url, const char *name)
{
    off_t size = 0;
    int fd = file_open(repo, name, &size);
    if (fd < 0)
        return reply_status(conn, -fd, method, url);

    /* the response owns FD from here on */
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(name));
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    nube_debug("pkgrepo: %s '%s' -> 200 (%jd bytes)", method, url, (intmax_t) size);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    const NubePkgRepo *repo = cls;
    g_autofree char *name = NULL;

    if (!g_str_equal(method, MHD_HTTP_METHOD_GET) && !g_str_equal(method, MHD_HTTP_METHOD_HEAD))
        return reply_status(conn, MHD_HTTP_METHOD_NOT_ALLOWED, method, url);
    unsigned int status = path_resolve(url, &name);
    if (status != MHD_HTTP_OK)
        return reply_status(conn, status, method, url);
    return reply_file(repo, conn, method, url, name);
}

static void freeaddrinfop(struct addrinfo **ai)
{
    if (*ai != NULL)
        freeaddrinfo(*ai);
}

int nube_pkgrepo_serve(NubePkgRepo *repo, const char *host, guint16 port, NubeError **err)
{
    struct addrinfo hints = {
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
    };
    _cleanup_(freeaddrinfop) struct addrinfo *ai = NULL;
    g_autofree char *service = g_strdup_printf("%u", port);

    if (repo->mhd != NULL)
        return nube_error_set(err, EALREADY, "the package repository is already served on port %u",
                              repo->port);
    if (getaddrinfo(host, service, &hints, &ai) != 0 || ai == NULL)
        return nube_error_set(err, EINVAL, "listen address '%s' is not a numeric IP address", host);
    unsigned int flags =
        MHD_USE_AUTO_INTERNAL_THREAD | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    repo->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, repo, MHD_OPTION_SOCK_ADDR,
                                 ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
                                 (unsigned int) SERVE_THREADS, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned int) SERVE_TIMEOUT, MHD_OPTION_END);
    if (repo->mhd == NULL)
        return nube_error_set(err, EADDRINUSE, "cannot listen on %s port %u (in use?)", host, port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(repo->mhd, MHD_DAEMON_INFO_BIND_PORT);
    repo->port = info != NULL && info->port != 0 ? info->port : port;
    nube_debug("pkgrepo: serving '%s' on %s port %u", repo->dir, host, repo->port);
    return 0;
}

guint16 nube_pkgrepo_port(const NubePkgRepo *repo)
{
    return repo->mhd != NULL ? repo->port : 0;
}

char *nube_pkgrepo_guest_url(const NubePkgRepo *repo)
{
    if (repo->mhd == NULL)
        return NULL;
    return g_strdup_printf("http://" GUEST_GATEWAY ":%u/", repo->port);
}

char *nube_pkgrepo_apt_source_line(const NubePkgRepo *repo)
{
    g_autofree char *url = nube_pkgrepo_guest_url(repo);
    if (url == NULL)
        return NULL;
    return g_strdup_printf("deb [trusted=yes] %s ./", url);
}
