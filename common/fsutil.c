/*
 * fsutil.c: file helpers (see fsutil.h).
 */
#include "fsutil.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

int nube_file_write_atomic(const char *path, const void *data, size_t len, int mode,
                           NubeError **err)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp.XXXXXX", path);
    _cleanup_close_ int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0)
        return nube_error_set(err, errno, "create '%s'", tmp);

    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            unlink(tmp);
            return nube_error_set(err, e, "write '%s'", tmp);
        }
        p += n;
        left -= n;
    }
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return nube_error_set(err, e, "write '%s'", path);
    }
    return 0;
}

char *nube_file_tmp_sibling(const char *path, NubeError **err)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *name = g_path_get_basename(path);
    char *tmp = g_strdup_printf("%s/.%s.tmp.XXXXXX", dir, name);
    int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        nube_error_set(err, errno, "create '%s'", tmp);
        g_free(tmp);
        return NULL;
    }
    close(fd);
    return tmp;
}

int nube_file_commit(const char *tmp, const char *path, NubeError **err)
{
    _cleanup_close_ int fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        return nube_error_set(err, errno, "sync '%s'", tmp);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
        return nube_error_set(err, errno, "rename to '%s'", path);

    g_autofree char *dir = g_path_get_dirname(path);
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        return nube_error_set(err, errno, "sync directory '%s'", dir);
    return 0;
}

int nube_mkdir_p(const char *path, int mode, NubeError **err)
{
    if (g_mkdir_with_parents(path, mode) < 0)
        return nube_error_set(err, errno, "mkdir '%s'", path);
    return 0;
}

int nube_rm_rf(const char *path, NubeError **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : nube_error_set(err, errno, "stat '%s'", path);

    if (S_ISDIR(st.st_mode)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;
        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            int r = nube_rm_rf(child, err);
            if (r < 0)
                return r;
        }
        if (rmdir(path) < 0)
            return nube_error_set(err, errno, "rmdir '%s'", path);
        return 0;
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return nube_error_set(err, errno, "unlink '%s'", path);
    return 0;
}

static void hex_encode(const unsigned char *md, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    hex[2 * n] = '\0';
}

static void md_ctx_freep(EVP_MD_CTX **ctx)
{
    EVP_MD_CTX_free(*ctx);
}

int nube_file_sha256(const char *path, char hex[65], NubeError **err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return nube_error_set(err, errno, "open '%s'", path);

    _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        return nube_error_set(err, ENOMEM, "sha256 init");

    g_autofree unsigned char *buf = g_malloc(1 << 20);
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nube_error_set(err, errno, "read '%s'", path);
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, buf, n);
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    hex_encode(md, 32, hex);
    return 0;
}

void nube_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, hex);
}

int nube_random_bytes(void *buf, size_t len, NubeError **err)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nube_error_set(err, errno, "getrandom");
        p += n;
        len -= n;
    }
    return 0;
}

char *nube_id_new(const char *prefix)
{
    unsigned char raw[9];
    char hex[19];
    if (nube_random_bytes(raw, sizeof(raw), NULL) < 0)
        g_error("no randomness available");
    hex_encode(raw, sizeof(raw), hex);
    hex[17] = '\0';
    return g_strdup_printf("%s-%s", prefix, hex);
}

gboolean nube_id_valid(const char *id, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (id == NULL || strncmp(id, prefix, plen) != 0 || id[plen] != '-')
        return FALSE;
    const char *h = id + plen + 1;
    size_t n = strlen(h);
    if (n != 8 && n != 17)
        return FALSE;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isdigit(h[i]) && !(h[i] >= 'a' && h[i] <= 'f'))
            return FALSE;
    return TRUE;
}
