/*
 * freeze.c: freezing and thawing the guest's file systems (see freeze.h).
 */
#include "freeze.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static const char *const freezable[] = { "ext2",  "ext3", "ext4", "xfs",
                                         "btrfs", "vfat", "f2fs", NULL };

void agent_freeze_init(AgentFreeze *f)
{
    memset(f, 0, sizeof(*f));
}

static bool is_freezable(const struct mntent *m)
{
    if (hasmntopt(m, "ro") != NULL)
        return false;
    for (size_t i = 0; freezable[i] != NULL; i++)
        if (strcmp(m->mnt_type, freezable[i]) == 0)
            return true;
    return false;
}

static void release(AgentFreeze *f)
{
    for (int i = 0; i < f->n; i++) {
        close(f->fds[i]);
        free(f->paths[i]);
    }
    f->n = 0;
    f->thaw_at = 0;
}

/* Opens the mount point of every freezable file system, once per device
 * (a bind mount or a btrfs subvolume shares its file system). */
static int open_targets(AgentFreeze *f, char *errbuf, size_t errlen)
{
    FILE *mounts = setmntent("/proc/self/mounts", "re");
    if (mounts == NULL) {
        snprintf(errbuf, errlen, "read '/proc/self/mounts': %s", strerror(errno));
        return -1;
    }
    char *devices[AGENT_FREEZE_MAX];
    struct mntent ent;
    char buf[8192];
    int r = 0;
    while (r == 0 && getmntent_r(mounts, &ent, buf, sizeof(buf)) != NULL) {
        bool seen = false;
        for (int i = 0; i < f->n && !seen; i++)
            seen = strcmp(devices[i], ent.mnt_fsname) == 0;
        if (seen || !is_freezable(&ent))
            continue;
        if (f->n == AGENT_FREEZE_MAX) {
            snprintf(errbuf, errlen, "more than %d file systems to freeze", AGENT_FREEZE_MAX);
            r = -1;
            break;
        }
        int fd = open(ent.mnt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            snprintf(errbuf, errlen, "open '%s': %s", ent.mnt_dir, strerror(errno));
            r = -1;
            break;
        }
        devices[f->n] = strdup(ent.mnt_fsname);
        f->paths[f->n] = strdup(ent.mnt_dir);
        f->fds[f->n++] = fd;
    }
    endmntent(mounts);
    for (int i = 0; i < f->n; i++)
        free(devices[i]);
    return r;
}

static void write_marker(const AgentFreeze *f)
{
    size_t cap = 1;
    for (int i = 0; i < f->n; i++)
        cap += strlen(f->paths[i]) + 1;
    _cleanup_free_ char *text = calloc(1, cap);
    if (text == NULL)
        return;
    for (int i = 0; i < f->n; i++) {
        strcat(text, f->paths[i]);
        strcat(text, "\n");
    }
    if (agent_mkdir_p("/run/nube-agent", 0700) < 0)
        return;
    _cleanup_close_ int fd =
        open(AGENT_FREEZE_MARKER, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0)
        (void) agent_write_all(fd, text, strlen(text));
}

int agent_freeze(AgentFreeze *f, double thaw_at, char *errbuf, size_t errlen)
{
    release(f);
    if (open_targets(f, errbuf, errlen) < 0) {
        release(f);
        return -1;
    }
    write_marker(f);
    for (int i = 0; i < f->n; i++) {
        if (ioctl(f->fds[i], FIFREEZE, 0) == 0)
            continue;
        snprintf(errbuf, errlen, "freeze '%s': %s", f->paths[i], strerror(errno));
        for (int j = i - 1; j >= 0; j--)
            if (ioctl(f->fds[j], FITHAW, 0) < 0)
                log_warn("thaw '%s': %s", f->paths[j], strerror(errno));
        release(f);
        unlink(AGENT_FREEZE_MARKER);
        return -1;
    }
    f->thaw_at = thaw_at;
    return f->n;
}

int agent_thaw(AgentFreeze *f, char *errbuf, size_t errlen)
{
    int thawed = 0, r = 0;
    for (int i = f->n - 1; i >= 0; i--) {
        if (ioctl(f->fds[i], FITHAW, 0) == 0) {
            thawed++;
        } else if (r == 0) {
            snprintf(errbuf, errlen, "thaw '%s': %s", f->paths[i], strerror(errno));
            r = -1;
        }
    }
    release(f);
    unlink(AGENT_FREEZE_MARKER);
    return r < 0 ? -1 : thawed;
}

void agent_freeze_recover(void)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    if (agent_read_file(AGENT_FREEZE_MARKER, 65536, &text, &len, NULL) < 0)
        return;
    char *save = NULL;
    for (char *path = strtok_r(text, "\n", &save); path != NULL;
         path = strtok_r(NULL, "\n", &save)) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && ioctl(fd, FITHAW, 0) == 0)
            log_warn("thawed '%s', left frozen by an earlier run of the agent", path);
    }
    unlink(AGENT_FREEZE_MARKER);
}
