/*
 * install.c: `nube-agent install --root DIR` (see install.h).
 */
#include "install.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

const char agent_install_unit[] = "[Unit]\n"
                                  "Description=nube guest agent\n"
                                  "DefaultDependencies=no\n"
                                  "After=local-fs.target systemd-udevd.service\n"
                                  "Before=shutdown.target\n"
                                  "Conflicts=shutdown.target\n"
                                  "\n"
                                  "[Service]\n"
                                  "ExecStart=/usr/sbin/nube-agent\n"
                                  "Restart=always\n"
                                  "RestartSec=2\n"
                                  "\n"
                                  "[Install]\n"
                                  "WantedBy=multi-user.target\n";

static int fail(char *errbuf, size_t errlen, int r, const char *fmt, ...) PRINTF(4, 5);

static int fail(char *errbuf, size_t errlen, int r, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(errbuf, errlen, "%s: %s", what, strerror(-r));
    return r;
}

/* Opens directory PATH (relative) under ROOTFD as if ROOTFD were "/". */
static int open_in_root(int rootfd, const char *path)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS) /* kernels before 5.6 */
        fd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* mkdir -p of DIR (relative) under ROOTFD, each part resolved in the
 * root; returns an fd of DIR or a negative errno. */
static int make_dirs(int rootfd, const char *dir)
{
    char path[512];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int) sizeof(path))
        return -ENAMETOOLONG;
    int parent = open_in_root(rootfd, ".");
    for (char *name = path; parent >= 0;) {
        char *slash = strchr(name, '/');
        if (slash != NULL)
            *slash = '\0';
        /* mkdirat() does not follow a symlink NAME: EEXIST, then it is
         * resolved in the root by open_in_root(). */
        int fd = mkdirat(parent, name, 0755) < 0 && errno != EEXIST ? -errno
                                                                    : open_in_root(rootfd, path);
        close(parent);
        if (fd < 0 || slash == NULL)
            return fd;
        *slash = '/';
        name = slash + 1;
        parent = fd;
    }
    return parent;
}

static void split(const char *path, char *dir, size_t len, const char **name)
{
    const char *slash = strrchr(path, '/');
    snprintf(dir, len, "%.*s", (int) (slash - path), path);
    *name = slash + 1;
}

static int install_binary(int rootfd, char *errbuf, size_t errlen)
{
    _cleanup_free_ char *data = NULL;
    size_t len;
    int r = agent_read_file("/proc/self/exe", 256 << 20, &data, &len, NULL);
    if (r < 0)
        return fail(errbuf, errlen, r, "read '/proc/self/exe'");
    char dir[256];
    const char *name;
    split(AGENT_INSTALL_BINARY, dir, sizeof(dir), &name);
    _cleanup_close_ int dfd = make_dirs(rootfd, dir);
    if (dfd < 0)
        return fail(errbuf, errlen, dfd, "create '/%s'", dir);
    r = agent_write_atomic(dfd, name, data, len, 0755);
    if (r < 0)
        return fail(errbuf, errlen, r, "write '/%s'", AGENT_INSTALL_BINARY);
    return 0;
}

static int install_unit(int rootfd, char *errbuf, size_t errlen)
{
    char dir[256];
    const char *name;
    split(AGENT_INSTALL_UNIT, dir, sizeof(dir), &name);
    _cleanup_close_ int dfd = make_dirs(rootfd, dir);
    if (dfd < 0)
        return fail(errbuf, errlen, dfd, "create '/%s'", dir);
    int r = agent_write_atomic(dfd, name, agent_install_unit, strlen(agent_install_unit), 0644);
    if (r < 0)
        return fail(errbuf, errlen, r, "write '/%s'", AGENT_INSTALL_UNIT);
    return 0;
}

/* The symlink systemctl enable would make, replaced atomically. */
static int enable_unit(int rootfd, char *errbuf, size_t errlen)
{
    static const char target[] = "/" AGENT_INSTALL_UNIT;
    char dir[256];
    const char *name;
    split(AGENT_INSTALL_WANTS, dir, sizeof(dir), &name);
    _cleanup_close_ int dfd = make_dirs(rootfd, dir);
    if (dfd < 0)
        return fail(errbuf, errlen, dfd, "create '/%s'", dir);
    char now[512];
    ssize_t n = readlinkat(dfd, name, now, sizeof(now) - 1);
    if (n == (ssize_t) strlen(target) && memcmp(now, target, (size_t) n) == 0)
        return 0;
    char tmp[300];
    snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
    (void) unlinkat(dfd, tmp, 0);
    if (symlinkat(target, dfd, tmp) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
        int r = -errno;
        (void) unlinkat(dfd, tmp, 0);
        return fail(errbuf, errlen, r, "link '/%s'", AGENT_INSTALL_WANTS);
    }
    return 0;
}

int agent_install(const char *root, char *errbuf, size_t errlen)
{
    _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return fail(errbuf, errlen, -errno, "open '%s'", root);
    int r;
    if ((r = install_binary(rootfd, errbuf, errlen)) < 0 ||
        (r = install_unit(rootfd, errbuf, errlen)) < 0 ||
        (r = enable_unit(rootfd, errbuf, errlen)) < 0)
        return r;
    (void) syncfs(rootfd);
    return 0;
}
