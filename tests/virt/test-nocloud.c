/*
 * test-nocloud.c: the NoCloud documents against golden files, and YAML
 * quoting of values that try to break out of their scalar.
 */
#include "golden.h"
#include "nocloud.h"
#include "spawn.h"

#include <string.h>

static void render(const NubeNoCloudSpec *spec, char **meta, char **net)
{
    g_autoptr(NubeError) err = NULL;
    if (nube_nocloud_render(spec, meta, net, &err) < 0)
        g_error("nube_nocloud_render: %s", err->message);
}

static void test_plain(void)
{
    NubeNoCloudSpec spec = {
        .instance_id = "i-0123456789abcdef0",
        .hostname = "ip-10-0-2-15",
        .mac = "52:54:00:12:34:56",
    };
    g_autofree char *meta = NULL;
    g_autofree char *net = NULL;
    render(&spec, &meta, &net);
    golden_check("virt", "seed-meta-data.yaml", meta);
    golden_check("virt", "seed-network-config.yaml", net);
}

static guint count_lines(const char *s)
{
    guint n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/*
 * KEY of YAML document DOC as PyYAML (cloud-init's parser) reads it, or
 * NULL when no python3 with PyYAML is installed.
 */
static char *pyyaml_get(const char *doc, const char *key)
{
    static const char script[] = "import sys, yaml\n"
                                 "d = yaml.safe_load(sys.argv[1])\n"
                                 "for k in sys.argv[2].split('/'):\n"
                                 "    d = d[k]\n"
                                 "sys.stdout.buffer.write(str(d).encode('utf-8'))\n";
    const char *probe[] = { "python3", "-c", "import yaml", NULL };
    if (nube_spawn(probe, NULL, NULL, NULL) < 0)
        return NULL;
    const char *argv[] = { "python3", "-c", script, doc, key, NULL };
    g_autoptr(NubeError) err = NULL;
    char *out = NULL;
    if (nube_spawn(argv, NULL, &out, &err) < 0)
        g_error("PyYAML cannot read the document: %s", err->message);
    return out;
}

static void assert_reads_back(const char *doc, const char *key, const char *want)
{
    g_autofree char *got = pyyaml_get(doc, key);
    if (got == NULL) {
        g_test_message("no python3 with PyYAML: '%s' not read back", key);
        return;
    }
    g_assert_cmpstr(got, ==, want);
}

/* A newline, quotes, a backslash, a YAML comment, C0 and C1 control
 * characters, NEL and LS (line breaks to YAML 1.1) and non-ASCII text all
 * stay inside one quoted scalar and read back unchanged. */
static void test_quoting(void)
{
    NubeNoCloudSpec spec = {
        .instance_id = "i-1\"\nlocal-hostname: evil # \\",
        .hostname = "h\x01\t\xc2\x85\xc2\x9f\xe2\x80\xa8-caf\xc3\xa9-\xf0\x9f\x98\x80",
        .mac = "52:54:00:12:34:56\"\n    dhcp6: true",
    };
    g_autofree char *meta = NULL;
    g_autofree char *net = NULL;
    render(&spec, &meta, &net);
    golden_check("virt", "seed-meta-data-quoted.yaml", meta);
    golden_check("virt", "seed-network-config-quoted.yaml", net);
    g_assert_cmpuint(count_lines(meta), ==, 2);
    g_assert_cmpuint(count_lines(net), ==, 6);
    g_assert_null(strstr(net, "\n    dhcp6"));

    assert_reads_back(meta, "instance-id", spec.instance_id);
    assert_reads_back(meta, "local-hostname", spec.hostname);
    assert_reads_back(net, "ethernets/nic0/match/macaddress", spec.mac);
    assert_reads_back(net, "ethernets/nic0/dhcp4", "True");
}

/* The key pair's public key is listed under public-keys, where cloud-init
 * takes the default user's authorized keys from. */
static void test_public_key(void)
{
    NubeNoCloudSpec spec = {
        .instance_id = "i-0123456789abcdef0",
        .hostname = "ip-10-0-2-15",
        .mac = "52:54:00:12:34:56",
        .public_key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDBXKXi5n1HdvvgS3ITBU0/hdlq4ChsUh1aLRv7xF5a1 my key: \"x\"",
    };
    g_autofree char *meta = NULL;
    g_autofree char *net = NULL;
    render(&spec, &meta, &net);
    golden_check("virt", "seed-meta-data-key.yaml", meta);
    g_autofree char *want = g_strdup_printf("['%s']", spec.public_key);
    assert_reads_back(meta, "public-keys", want);
}

static void assert_refused(const NubeNoCloudSpec *spec, const char *why)
{
    g_autofree char *meta = NULL;
    g_autofree char *net = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_nocloud_render(spec, &meta, &net, &err), ==, -EINVAL);
    g_assert_nonnull(err);
    if (strstr(err->message, why) == NULL)
        g_error("expected '%s' in '%s'", why, err->message);
    g_assert_null(meta);
    g_assert_null(net);
}

static void test_refused(void)
{
    NubeNoCloudSpec spec = { .instance_id = "i-1", .hostname = "h" };
    assert_refused(&spec, "MAC address is missing");

    spec = (NubeNoCloudSpec){ .instance_id = "", .hostname = "h", .mac = "m" };
    assert_refused(&spec, "instance id is missing");

    spec = (NubeNoCloudSpec){ .instance_id = "i-1", .hostname = "\xff", .mac = "m" };
    assert_refused(&spec, "hostname is not UTF-8");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/seed/render/plain", test_plain);
    g_test_add_func("/seed/render/quoting", test_quoting);
    g_test_add_func("/seed/render/public-key", test_public_key);
    g_test_add_func("/seed/render/refused", test_refused);
    return g_test_run();
}
