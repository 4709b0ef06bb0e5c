/*
 * seed.c: the NoCloud seed (see seed.h).
 *
 * The volume is found by label through udev's /dev/disk/by-label/cidata,
 * or, when udev has not made the link (early boot, minimal images), by
 * reading the ISO9660 primary volume descriptor of every virtio disk and
 * CD-ROM.
 */
#include "seed.h"
#include "proto.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define META_DATA_MAX 65536
#define PVD_OFFSET    32768
#define PVD_VOLID     40
#define PVD_VOLID_LEN 32
#define SEED_LABEL    "cidata"
#define MOUNT_FLAGS   (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int fail(char *errbuf, size_t errlen, int r, const char *fmt, ...) PRINTF(4, 5);

static int fail(char *errbuf, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return r;
}

void agent_seed_clear(AgentSeed *seed)
{
    free(seed->instance_id);
    free(seed->user_data);
    memset(seed, 0, sizeof(*seed));
}

/* ---- meta-data ---- */

static void put_utf8(char **o, unsigned long cp)
{
    unsigned char *p = (unsigned char *) *o;
    if (cp < 0x80) {
        *p++ = (unsigned char) cp;
    } else if (cp < 0x800) {
        *p++ = (unsigned char) (0xc0 | (cp >> 6));
        *p++ = (unsigned char) (0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *p++ = (unsigned char) (0xe0 | (cp >> 12));
        *p++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *p++ = (unsigned char) (0x80 | (cp & 0x3f));
    } else {
        *p++ = (unsigned char) (0xf0 | (cp >> 18));
        *p++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
        *p++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *p++ = (unsigned char) (0x80 | (cp & 0x3f));
    }
    *o = (char *) p;
}

/* N hex digits at *P as a code point; -1 when they are not. */
static long hex_escape(const char **p, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (!isxdigit((unsigned char) c))
            return -1;
        v = v * 16 +
            (isdigit((unsigned char) c) ? c - '0' : (tolower((unsigned char) c) - 'a' + 10));
    }
    *p += n;
    return v;
}

/* The escape after a backslash in a double-quoted scalar; false if bad. */
static bool unescape(const char **p, char **o)
{
    static const char simple[] = "\"\"\\\\//t\tn\nr\r";
    char c = *(*p)++;
    for (size_t i = 0; i + 1 < sizeof(simple); i += 2) {
        if (c == simple[i]) {
            *(*o)++ = simple[i + 1];
            return true;
        }
    }
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    long cp = digits ? hex_escape(p, digits) : -1;
    if (cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    put_utf8(o, (unsigned long) cp);
    return true;
}

static char *double_quoted(const char *p)
{
    _cleanup_free_ char *out = malloc(strlen(p) * 4 + 1);
    char *o = out;
    if (out == NULL)
        return NULL;
    for (;;) {
        char c = *p++;
        if (c == '\0' || c == '\n')
            return NULL;
        if (c == '"')
            break;
        if (c == '\\') {
            if (!unescape(&p, &o))
                return NULL;
        } else {
            *o++ = c;
        }
    }
    *o = '\0';
    return TAKE_PTR(out);
}

static char *single_quoted(const char *p)
{
    _cleanup_free_ char *out = malloc(strlen(p) + 1);
    char *o = out;
    if (out == NULL)
        return NULL;
    for (;;) {
        char c = *p++;
        if (c == '\0' || c == '\n')
            return NULL;
        if (c == '\'' && *p == '\'') {
            *o++ = '\'';
            p++;
        } else if (c == '\'') {
            break;
        } else {
            *o++ = c;
        }
    }
    *o = '\0';
    return TAKE_PTR(out);
}

/* A plain scalar: to the end of the line or a " #" comment, trimmed. */
static char *plain(const char *p)
{
    size_t n = strcspn(p, "\n");
    _cleanup_free_ char *out = strndup(p, n);
    if (out == NULL)
        return NULL;
    char *hash = strstr(out, " #");
    if (hash != NULL)
        *hash = '\0';
    agent_strip(out);
    return TAKE_PTR(out);
}

static bool id_sane(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > AGENT_INSTANCE_ID_MAX || !nube_utf8_valid(id, len))
        return false;
    for (const unsigned char *p = (const unsigned char *) id; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

char *agent_seed_instance_id(const char *text)
{
    static const char key[] = "instance-id:";
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *next = strchr(line, '\n');
        if (strncmp(line, key, sizeof(key) - 1) == 0) {
            const char *p = line + sizeof(key) - 1;
            p += strspn(p, " \t");
            _cleanup_free_ char *id = *p == '"'    ? double_quoted(p + 1)
                                      : *p == '\'' ? single_quoted(p + 1)
                                                   : plain(p);
            return id != NULL && id_sane(id) ? TAKE_PTR(id) : NULL;
        }
        line = next ? next + 1 : NULL;
    }
    return NULL;
}

/* ---- files ---- */

static int read_dir(const char *dir, AgentSeed *seed, char *errbuf, size_t errlen)
{
    char path[4096];
    _cleanup_free_ char *meta = NULL;
    size_t len;
    snprintf(path, sizeof(path), "%s/meta-data", dir);
    int r = agent_read_file(path, META_DATA_MAX, &meta, &len, NULL);
    if (r < 0)
        return fail(errbuf, errlen, r, "read '%s': %s", path, strerror(-r));
    seed->instance_id = agent_seed_instance_id(meta);
    if (seed->instance_id == NULL)
        return fail(errbuf, errlen, -EINVAL, "'%s' has no valid instance-id", path);

    snprintf(path, sizeof(path), "%s/user-data", dir);
    r = agent_read_file(path, AGENT_USER_DATA_MAX, &seed->user_data, &seed->user_data_len,
                        &seed->user_data_too_big);
    if (r == -ENOENT)
        return 0; /* no user data */
    if (r < 0)
        return fail(errbuf, errlen, r, "read '%s': %s", path, strerror(-r));
    return 0;
}

/* ---- finding and mounting the volume ---- */

/* True when DEV holds an ISO9660 file system whose volume id is "cidata". */
static bool has_seed_label(const char *dev)
{
    _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    unsigned char pvd[2048];
    if (fd < 0 || pread(fd, pvd, sizeof(pvd), PVD_OFFSET) != (ssize_t) sizeof(pvd))
        return false;
    if (pvd[0] != 1 || memcmp(pvd + 1, "CD001", 5) != 0)
        return false;
    char volid[PVD_VOLID_LEN + 1];
    memcpy(volid, pvd + PVD_VOLID, PVD_VOLID_LEN);
    volid[PVD_VOLID_LEN] = '\0';
    agent_strip(volid);
    return strcasecmp(volid, SEED_LABEL) == 0;
}

/* The seed's device into DEV; false when there is none. */
static bool find_device(char *dev, size_t len)
{
    if (agent_exists("/dev/disk/by-label/" SEED_LABEL)) {
        snprintf(dev, len, "/dev/disk/by-label/" SEED_LABEL);
        return true;
    }
    DIR *d = opendir("/sys/block");
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "vd", 2) != 0 && strncmp(e->d_name, "sr", 2) != 0)
            continue;
        snprintf(dev, len, "/dev/%s", e->d_name);
        found = has_seed_label(dev);
    }
    closedir(d);
    return found;
}

static int mount_seed(const char *dev)
{
    int r = agent_mkdir_p(AGENT_SEED_MOUNT, 0700);
    if (r < 0)
        return r;
    /* A previous run of the agent may have died with it mounted. */
    (void) umount2(AGENT_SEED_MOUNT, MNT_DETACH);
    if (mount(dev, AGENT_SEED_MOUNT, "iso9660", MOUNT_FLAGS, NULL) == 0)
        return 0;
    /* NoCloud also allows a vfat seed labelled cidata. */
    if (mount(dev, AGENT_SEED_MOUNT, "vfat", MOUNT_FLAGS, NULL) == 0)
        return 0;
    return -errno;
}

int agent_seed_read(const char *dir, AgentSeed *seed, char *errbuf, size_t errlen)
{
    memset(seed, 0, sizeof(*seed));
    if (dir != NULL)
        return read_dir(dir, seed, errbuf, errlen);

    char dev[300];
    if (!find_device(dev, sizeof(dev)))
        return fail(errbuf, errlen, -ENOENT, "no volume labelled '%s'", SEED_LABEL);
    int r = mount_seed(dev);
    if (r < 0)
        return fail(errbuf, errlen, r, "mount '%s' on '%s': %s", dev, AGENT_SEED_MOUNT,
                    strerror(-r));
    r = read_dir(AGENT_SEED_MOUNT, seed, errbuf, errlen);
    if (umount2(AGENT_SEED_MOUNT, 0) < 0)
        (void) umount2(AGENT_SEED_MOUNT, MNT_DETACH);
    return r;
}
