/*
 * nocloud.c: the NoCloud seed ISO of an instance (see nocloud.h).
 *
 * Every value put into the YAML documents is emitted as a double-quoted
 * YAML scalar with escapes, so no instance id, hostname or MAC can start a
 * new key or document, whatever the caller validated.
 */
#include "nocloud.h"
#include "fsutil.h"
#include "spawn.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Characters a quoted scalar may carry literally: YAML's printable set
 * without NEL, LS and PS, which YAML 1.1 (PyYAML, so cloud-init) reads as
 * line breaks.
 */
static gboolean yaml_printable(gunichar c)
{
    if (c == 0x2028 || c == 0x2029)
        return FALSE;
    return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
           (c >= 0x10000 && c <= 0x10ffff);
}

/* Appends S (valid UTF-8) to OUT as a double-quoted YAML scalar. */
static void yaml_quote(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c == '"' || c == '\\')
            g_string_append_printf(out, "\\%c", (char) c);
        else if (!yaml_printable(c))
            g_string_append_printf(out, c > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned) c);
        else
            g_string_append_unichar(out, c);
    }
    g_string_append_c(out, '"');
}

static int check_value(const char *what, const char *value, NubeError **err)
{
    if (value == NULL || *value == '\0')
        return nube_error_set(err, EINVAL, "seed: %s is missing", what);
    if (!g_utf8_validate(value, -1, NULL))
        return nube_error_set(err, EINVAL, "seed: %s is not UTF-8", what);
    return 0;
}

static char *render_meta_data(const NubeNoCloudSpec *spec)
{
    GString *out = g_string_new("instance-id: ");
    yaml_quote(out, spec->instance_id);
    g_string_append(out, "\nlocal-hostname: ");
    yaml_quote(out, spec->hostname);
    g_string_append_c(out, '\n');
    if (spec->public_key != NULL) {
        g_string_append(out, "public-keys:\n  - ");
        yaml_quote(out, spec->public_key);
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

/* One NIC, found by its MAC whatever the kernel names it, on DHCP. */
static char *render_network_config(const NubeNoCloudSpec *spec)
{
    GString *out = g_string_new("version: 2\n"
                                "ethernets:\n"
                                "  nic0:\n"
                                "    match:\n"
                                "      macaddress: ");
    yaml_quote(out, spec->mac);
    g_string_append(out, "\n"
                         "    dhcp4: true\n");
    return g_string_free(out, FALSE);
}

int nube_nocloud_render(const NubeNoCloudSpec *spec, char **meta_data, char **network_config,
                        NubeError **err)
{
    int r;
    if ((r = check_value("instance id", spec->instance_id, err)) < 0 ||
        (r = check_value("hostname", spec->hostname, err)) < 0 ||
        (r = check_value("MAC address", spec->mac, err)) < 0 ||
        (spec->public_key != NULL && (r = check_value("public key", spec->public_key, err)) < 0))
        return r;
    *meta_data = render_meta_data(spec);
    *network_config = render_network_config(spec);
    return 0;
}

static void tmpdir_removep(char **dir)
{
    if (*dir != NULL)
        nube_rm_rf(*dir, NULL);
    g_free(*dir);
}

static int write_file(const char *dir, const char *name, const void *data, size_t len,
                      NubeError **err)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) gerr = NULL;
    if (!g_file_set_contents_full(path, data, len, G_FILE_SET_CONTENTS_NONE, 0600, &gerr))
        return nube_error_set(err, EIO, "write '%s': %s", path, gerr->message);
    return 0;
}

static int write_documents(const NubeNoCloudSpec *spec, const char *dir, NubeError **err)
{
    g_autofree char *meta = NULL;
    g_autofree char *net = NULL;
    int r = nube_nocloud_render(spec, &meta, &net, err);
    if (r < 0)
        return r;

    /* No user data: an empty file (NoCloud needs one; cloud-init and
     * nube-agent both read it as "nothing to run"). */
    const void *user = spec->user_data ? spec->user_data : "";
    size_t user_len = spec->user_data ? spec->user_data_len : 0;
    if ((r = write_file(dir, "user-data", user, user_len, err)) < 0 ||
        (r = write_file(dir, "meta-data", meta, strlen(meta), err)) < 0 ||
        (r = write_file(dir, "network-config", net, strlen(net), err)) < 0)
        return r;
    return 0;
}

static int make_iso(const char *dir, const char *iso, NubeError **err)
{
    g_autofree char *user = g_build_filename(dir, "user-data", NULL);
    g_autofree char *meta = g_build_filename(dir, "meta-data", NULL);
    g_autofree char *net = g_build_filename(dir, "network-config", NULL);
    const char *argv[] = {
        "genisoimage", "-quiet", "-output", iso,  "-volid", "cidata",
        "-joliet",     "-rock",  user,      meta, net,      NULL,
    };
    return nube_spawn(argv, NULL, NULL, err);
}

/* fsync and chmod the finished ISO so the rename publishes it whole. */
static int settle_iso(const char *iso, NubeError **err)
{
    _cleanup_close_ int fd = open(iso, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return nube_error_set(err, errno, "open '%s'", iso);
    if (fchmod(fd, 0600) < 0 || fsync(fd) < 0)
        return nube_error_set(err, errno, "sync '%s'", iso);
    return 0;
}

int nube_nocloud_write(const NubeNoCloudSpec *spec, const char *iso_path, NubeError **err)
{
    /* The work directory sits beside ISO_PATH so the rename stays on one
     * file system. */
    g_autofree char *parent = g_path_get_dirname(iso_path);
    g_autofree char *tmpl = g_build_filename(parent, ".seed-XXXXXX", NULL);
    if (g_mkdtemp_full(tmpl, 0700) == NULL)
        return nube_error_set(err, errno, "create a work directory in '%s'", parent);
    _cleanup_(tmpdir_removep) char *dir = g_steal_pointer(&tmpl);

    g_autofree char *tmp_iso = g_build_filename(dir, "seed.iso", NULL);
    int r;
    if ((r = write_documents(spec, dir, err)) < 0 || (r = make_iso(dir, tmp_iso, err)) < 0 ||
        (r = settle_iso(tmp_iso, err)) < 0) {
        nube_error_prefix(err, "seed '%s'", iso_path);
        return r;
    }
    if (rename(tmp_iso, iso_path) < 0)
        return nube_error_set(err, errno, "rename '%s' to '%s'", tmp_iso, iso_path);
    return 0;
}
