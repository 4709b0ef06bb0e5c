/*
 * test-domain-xml.c: the domain XML against golden files, libvirt's own
 * schema (virt-xml-validate) and hostile values.
 */
#include "domain_xml.h"
#include "golden.h"
#include "instdir.h"
#include "spawn.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>

static const NubePortForward forwards[] = {
    { 8080, 80 },
    { 2222, 22 },
};

/* The instance directory of the specs. */
#define INSTDIR "/var/lib/nube/instances/i-0123456789abcdef0/"

static NubeDomainSpec spec_base(NubeAccel accel, gboolean kernel)
{
    NubeDomainSpec spec = {
        .name = "i-0123456789abcdef0",
        .uuid = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
        .accel = accel,
        .vcpus = 2,
        .memory_mib = 1024,
        .disk_path = INSTDIR "disk.qcow2",
        .seed_path = INSTDIR NUBE_INSTDIR_SEED,
        .console_path = INSTDIR NUBE_INSTDIR_CONSOLE,
        .agent_socket = INSTDIR NUBE_INSTDIR_AGENT_SOCKET,
        .imds_socket = INSTDIR NUBE_INSTDIR_IMDS_SOCKET,
        .mac = "52:54:00:12:34:56",
        .forwards = forwards,
        .n_forwards = G_N_ELEMENTS(forwards),
    };
    if (kernel) {
        spec.kernel =
            "/var/lib/nube/blobs/1111111111111111111111111111111111111111111111111111111111111111";
        spec.initrd =
            "/var/lib/nube/blobs/2222222222222222222222222222222222222222222222222222222222222222";
        spec.cmdline = "root=/dev/vda console=ttyS0 ds=nocloud";
    }
    return spec;
}

/* Runs libvirt's own validator on FILE, if it is installed. */
static void assert_schema_valid(const char *file)
{
    g_autofree char *validator = g_find_program_in_path("virt-xml-validate");
    if (validator == NULL) {
        g_test_message("virt-xml-validate not installed: schema not checked");
        return;
    }
    const char *argv[] = { validator, file, "domain", NULL };
    g_autoptr(NubeError) err = NULL;
    int r = nube_spawn(argv, NULL, NULL, &err);
    if (r < 0)
        g_error("%s is not a valid libvirt domain: %s", file, err->message);
}

static void check_golden(const NubeDomainSpec *spec, const char *name)
{
    g_autoptr(NubeError) err = NULL;
    g_autofree char *xml = nube_domain_xml(spec, &err);
    if (xml == NULL)
        g_error("nube_domain_xml: %s", err->message);
    golden_check("virt", name, xml);
    g_autofree char *path = golden_path("virt", name);
    assert_schema_valid(path);
}

static void test_tcg_kernel(void)
{
    NubeDomainSpec spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    check_golden(&spec, "domain-tcg-kernel.xml");
}

static void test_tcg_disk_boot(void)
{
    NubeDomainSpec spec = spec_base(NUBE_ACCEL_TCG, FALSE);
    check_golden(&spec, "domain-tcg-disk-boot.xml");
}

static void test_kvm_kernel(void)
{
    NubeDomainSpec spec = spec_base(NUBE_ACCEL_KVM, TRUE);
    check_golden(&spec, "domain-kvm-kernel.xml");
}

static void test_kvm_disk_boot(void)
{
    NubeDomainSpec spec = spec_base(NUBE_ACCEL_KVM, FALSE);
    check_golden(&spec, "domain-kvm-disk-boot.xml");
}

/* No disk, seed, console or NIC: the machine the integration test boots. */
static void test_minimal(void)
{
    NubeDomainSpec spec = {
        .name = "nube-minimal",
        .uuid = "00000000-0000-4000-8000-000000000001",
        .accel = NUBE_ACCEL_TCG,
        .vcpus = 1,
        .memory_mib = 128,
    };
    check_golden(&spec, "domain-minimal.xml");
}

static char *uuid_in(const NubeDomainSpec *spec)
{
    g_autofree char *xml = nube_domain_xml(spec, NULL);
    g_assert_nonnull(xml);
    const char *start = strstr(xml, "<uuid>");
    g_assert_nonnull(start);
    return g_strndup(start + 6, 36);
}

/* Without a UUID, one is derived from the name: stable across calls (so
 * the domain can be redefined), different between names. */
static void test_derived_uuid(void)
{
    NubeDomainSpec spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.uuid = NULL;
    g_autofree char *a = uuid_in(&spec);
    g_autofree char *b = uuid_in(&spec);
    /* "ec2" first: cloud-init's sign of an EC2-style platform. */
    g_assert_cmpstr(a, ==, "ec296500-39cc-8c7e-8d26-d42fde7d0a24");
    g_assert_cmpstr(a, ==, b);
    g_assert_true(g_uuid_string_is_valid(a));
    spec.name = "i-0123456789abcdef1";
    g_autofree char *c = uuid_in(&spec);
    g_assert_cmpstr(a, !=, c);
    g_assert_cmpint(c[14], ==, '8');
    g_assert_true(g_str_has_prefix(c, "ec2"));
    g_assert_nonnull(strchr("89ab", c[19]));
}

/* Markup characters in values come out escaped and read back unchanged. */
#define NASTY_DISK    "/srv/a&b/<c>/'d'/\"e\"/]]>/caf\xc3\xa9.qcow2"
#define NASTY_CMDLINE "root=/dev/vda init=\"/bin/sh -c 'echo <&>'\""

static char *xpath_string(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "qemu", BAD_CAST "http://libvirt.org/schemas/domain/qemu/1.0");
    xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    xmlChar *s = xmlXPathCastToString(obj);
    char *out = g_strdup((const char *) s);
    xmlFree(s);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return out;
}

static void test_escaping(void)
{
    NubeDomainSpec spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.disk_path = NASTY_DISK;
    spec.cmdline = NASTY_CMDLINE;
    check_golden(&spec, "domain-escaping.xml");

    g_autoptr(NubeError) err = NULL;
    g_autofree char *xml = nube_domain_xml(&spec, &err);
    g_assert_nonnull(xml);
    xmlDocPtr doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
    g_assert_nonnull(doc);
    g_autofree char *disk = xpath_string(doc, "string(/domain/devices/disk[1]/source/@file)");
    g_autofree char *cmdline = xpath_string(doc, "string(/domain/os/cmdline)");
    g_autofree char *netdev =
        xpath_string(doc, "string(/domain/qemu:commandline/qemu:arg[2]/@value)");
    xmlFreeDoc(doc);
    g_assert_cmpstr(disk, ==, NASTY_DISK);
    g_assert_cmpstr(cmdline, ==, NASTY_CMDLINE);
    g_assert_cmpstr(netdev, ==,
                    "user,id=nube0,net=169.254.169.0/24,hostfwd=tcp:127.0.0.1:8080-:80,"
                    "hostfwd=tcp:127.0.0.1:2222-:22,guestfwd=tcp:169.254.169.254:80-cmd:socat "
                    "STDIO UNIX-CONNECT:" INSTDIR NUBE_INSTDIR_IMDS_SOCKET);
}

static void assert_refused(const NubeDomainSpec *spec, const char *why)
{
    g_autoptr(NubeError) err = NULL;
    g_autofree char *xml = nube_domain_xml(spec, &err);
    g_assert_null(xml);
    g_assert_nonnull(err);
    g_assert_cmpint(err->errnum, ==, EINVAL);
    if (strstr(err->message, why) == NULL)
        g_error("expected '%s' in '%s'", why, err->message);
}

static void test_refused(void)
{
    NubeDomainSpec spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.mac = "52:54:00:12:34:56,romfile=/etc/shadow";
    assert_refused(&spec, "bad MAC address");

    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.mac = "52:54:00:12:34:5g";
    assert_refused(&spec, "bad MAC address");

    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.uuid = "not-a-uuid";
    assert_refused(&spec, "bad UUID");

    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.cmdline = "console=ttyS0\nroot=/dev/sda";
    assert_refused(&spec, "cmdline");

    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.console_path = "/tmp/\xff\xfe.log";
    assert_refused(&spec, "console path");

    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.name = "";
    assert_refused(&spec, "name is missing");

    /* A comma would end QEMU's option, a space or ; would reach the shell. */
    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.imds_socket = "/tmp/a,restrict=off/" NUBE_INSTDIR_IMDS_SOCKET;
    assert_refused(&spec, "metadata socket");
    spec.imds_socket = "/tmp/a;reboot/" NUBE_INSTDIR_IMDS_SOCKET;
    assert_refused(&spec, "metadata socket");

    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.mac = NULL;
    assert_refused(&spec, "port forwards without a NIC");

    static const NubePortForward zero[] = { { 0, 80 } };
    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.forwards = zero;
    spec.n_forwards = 1;
    assert_refused(&spec, "zero port");

    spec = spec_base(NUBE_ACCEL_TCG, FALSE);
    spec.cmdline = "root=/dev/vda";
    assert_refused(&spec, "without a kernel");

    spec = spec_base(NUBE_ACCEL_TCG, TRUE);
    spec.memory_mib = 0;
    assert_refused(&spec, "not a machine");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/domain-xml/tcg-kernel", test_tcg_kernel);
    g_test_add_func("/domain-xml/tcg-disk-boot", test_tcg_disk_boot);
    g_test_add_func("/domain-xml/kvm-kernel", test_kvm_kernel);
    g_test_add_func("/domain-xml/kvm-disk-boot", test_kvm_disk_boot);
    g_test_add_func("/domain-xml/minimal", test_minimal);
    g_test_add_func("/domain-xml/derived-uuid", test_derived_uuid);
    g_test_add_func("/domain-xml/escaping", test_escaping);
    g_test_add_func("/domain-xml/refused", test_refused);
    return g_test_run();
}
