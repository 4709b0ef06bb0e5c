/*
 * domain_xml.c: libvirt domain XML for an instance (see domain_xml.h).
 *
 * Built with libxml2's tree API so every value is escaped by libxml2;
 * nothing from the spec is pasted into markup.  The few values that end up
 * inside QEMU option strings (the MAC and the ports) are checked first,
 * because a comma there would smuggle in QEMU options.
 */
#include "domain_xml.h"
#include "fsutil.h"
#include "proto.h"

#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <string.h>

#define QEMU_NS_HREF "http://libvirt.org/schemas/domain/qemu/1.0"
#define NETDEV_ID    NUBE_DOMAIN_NETDEV

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlBuffer, xmlBufferFree)

/* Valid UTF-8 without control characters (XML 1.0 cannot carry most of
 * them, and none belongs in a name, a path or a kernel command line). */
static gboolean text_ok(const char *s)
{
    if (!g_utf8_validate(s, -1, NULL))
        return FALSE;
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            return FALSE;
    }
    return TRUE;
}

static gboolean mac_ok(const char *mac)
{
    if (strlen(mac) != 17)
        return FALSE;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? mac[i] != ':' : !g_ascii_isxdigit(mac[i]))
            return FALSE;
    }
    return TRUE;
}

static int check_text(const char *what, const char *value, gboolean required, NubeError **err)
{
    if (value == NULL || *value == '\0') {
        if (required)
            return nube_error_set(err, EINVAL, "domain XML: %s is missing", what);
        return 0;
    }
    if (!text_ok(value))
        return nube_error_set(
            err, EINVAL, "domain XML: %s '%s' has control characters or is not UTF-8", what, value);
    return 0;
}

/* A path that goes into a QEMU option string and a shell command line. */
static gboolean plain_path(const char *path)
{
    for (const char *p = path; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && strchr("/._-+@", *p) == NULL)
            return FALSE;
    return TRUE;
}

static int check_network(const NubeDomainSpec *spec, NubeError **err)
{
    if (spec->mac == NULL) {
        if (spec->n_forwards > 0)
            return nube_error_set(err, EINVAL, "domain XML: port forwards without a NIC");
        if (spec->imds_socket != NULL)
            return nube_error_set(err, EINVAL, "domain XML: a metadata socket without a NIC");
        return 0;
    }
    if (spec->imds_socket != NULL && !plain_path(spec->imds_socket))
        return nube_error_set(err, EINVAL,
                              "domain XML: metadata socket '%s' has characters other than "
                              "letters, digits and /._-+@",
                              spec->imds_socket);
    if (!mac_ok(spec->mac))
        return nube_error_set(err, EINVAL, "domain XML: bad MAC address '%s'", spec->mac);
    for (size_t i = 0; i < spec->n_forwards; i++) {
        const NubePortForward *f = &spec->forwards[i];
        if (f->host_port == 0 || f->guest_port == 0)
            return nube_error_set(err, EINVAL, "domain XML: port forward %u->%u has a zero port",
                                  f->host_port, f->guest_port);
    }
    return 0;
}

static int check_spec(const NubeDomainSpec *spec, NubeError **err)
{
    int r;
    if ((r = check_text("name", spec->name, TRUE, err)) < 0 ||
        (r = check_text("kernel", spec->kernel, FALSE, err)) < 0 ||
        (r = check_text("initrd", spec->initrd, FALSE, err)) < 0 ||
        (r = check_text("cmdline", spec->cmdline, FALSE, err)) < 0 ||
        (r = check_text("disk path", spec->disk_path, FALSE, err)) < 0 ||
        (r = check_text("seed path", spec->seed_path, FALSE, err)) < 0 ||
        (r = check_text("console path", spec->console_path, FALSE, err)) < 0 ||
        (r = check_text("agent socket", spec->agent_socket, FALSE, err)) < 0 ||
        (r = check_text("metadata socket", spec->imds_socket, FALSE, err)) < 0)
        return r;
    if (spec->uuid != NULL && !g_uuid_string_is_valid(spec->uuid))
        return nube_error_set(err, EINVAL, "domain XML: bad UUID '%s'", spec->uuid);
    if (spec->vcpus == 0 || spec->memory_mib == 0)
        return nube_error_set(err, EINVAL, "domain XML: %u vCPUs and %u MiB are not a machine",
                              spec->vcpus, spec->memory_mib);
    if ((spec->initrd != NULL || spec->cmdline != NULL) && spec->kernel == NULL)
        return nube_error_set(err, EINVAL, "domain XML: initrd or cmdline without a kernel");
    return check_network(spec, err);
}

/*
 * A UUID that depends only on NAME: libvirt refuses to redefine a domain
 * under another UUID, so every definition of one instance must carry the
 * same.  The first 16 bytes of SHA-256("nube-domain:" NAME) with the RFC
 * 9562 version 8 (custom) and variant bits.
 */
static char *uuid_for_name(const char *name)
{
    g_autofree char *input = g_strconcat("nube-domain:", name, NULL);
    char hex[65];
    nube_sha256_hex(input, strlen(input), hex);
    hex[12] = '8';
    memcpy(hex, "ec2", 3); /* see add_sysinfo() */
    hex[16] = "89ab"[g_ascii_xdigit_value(hex[16]) & 3];
    return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* A child element; TEXT (may be NULL) is escaped by libxml2. */
static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST text);
}

static void prop(xmlNodePtr node, const char *name, const char *value)
{
    xmlNewProp(node, BAD_CAST name, BAD_CAST value);
}

static void child_uint(xmlNodePtr parent, const char *name, guint value, const char *unit)
{
    char buf[16];
    g_snprintf(buf, sizeof(buf), "%u", value);
    xmlNodePtr node = child(parent, name, buf);
    if (unit != NULL)
        prop(node, "unit", unit);
}

static void add_os(xmlNodePtr dom, const NubeDomainSpec *spec)
{
    xmlNodePtr os = child(dom, "os", NULL);
    xmlNodePtr type = child(os, "type", "hvm");
    prop(type, "arch", "x86_64");
    prop(type, "machine", "pc");
    if (spec->kernel == NULL) {
        prop(child(os, "boot", NULL), "dev", "hd");
    } else {
        child(os, "kernel", spec->kernel);
        if (spec->initrd != NULL)
            child(os, "initrd", spec->initrd);
        if (spec->cmdline != NULL)
            child(os, "cmdline", spec->cmdline);
    }
    prop(child(os, "smbios", NULL), "mode", "sysinfo");
}

/*
 * SMBIOS system data: a product UUID and serial that start with "ec2" are
 * how cloud-init (ds-identify and its Ec2 data source) recognizes an
 * EC2-style platform, so a stock cloud image without a NoCloud seed asks
 * the metadata service at 169.254.169.254.
 */
static void add_sysinfo(xmlNodePtr dom, const char *uuid)
{
    xmlNodePtr sysinfo = child(dom, "sysinfo", NULL);
    prop(sysinfo, "type", "smbios");
    xmlNodePtr system = child(sysinfo, "system", NULL);
    const char *const entries[][2] = {
        { "manufacturer", "nube" },
        { "product", "nube instance" },
        { "serial", uuid },
        { "uuid", uuid },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(entries); i++)
        prop(child(system, "entry", entries[i][1]), "name", entries[i][0]);
}

static void add_platform(xmlNodePtr dom, const NubeDomainSpec *spec)
{
    xmlNodePtr features = child(dom, "features", NULL);
    child(features, "acpi", NULL);
    child(features, "apic", NULL);
    /* -cpu host is only meaningful (and only works) with a real KVM. */
    if (spec->accel == NUBE_ACCEL_KVM)
        prop(child(dom, "cpu", NULL), "mode", "host-passthrough");
    prop(child(dom, "clock", NULL), "offset", "utc");
    child(dom, "on_poweroff", "destroy");
    child(dom, "on_reboot", "restart");
    child(dom, "on_crash", "destroy");
}

static void add_disk(xmlNodePtr devices, const char *path, const char *format, const char *dev,
                     gboolean readonly)
{
    xmlNodePtr disk = child(devices, "disk", NULL);
    prop(disk, "type", "file");
    prop(disk, "device", "disk");
    xmlNodePtr driver = child(disk, "driver", NULL);
    prop(driver, "name", "qemu");
    prop(driver, "type", format);
    if (!readonly)
        prop(driver, "discard", "unmap");
    prop(child(disk, "source", NULL), "file", path);
    xmlNodePtr target = child(disk, "target", NULL);
    prop(target, "dev", dev);
    prop(target, "bus", "virtio");
    if (readonly)
        child(disk, "readonly", NULL);
}

static void add_console(xmlNodePtr devices, const char *element, const char *path,
                        const char *target_type)
{
    xmlNodePtr chr = child(devices, element, NULL);
    prop(chr, "type", "file");
    xmlNodePtr source = child(chr, "source", NULL);
    prop(source, "path", path);
    prop(source, "append", "on");
    xmlNodePtr target = child(chr, "target", NULL);
    if (target_type != NULL)
        prop(target, "type", target_type);
    prop(target, "port", "0");
}

static void add_devices(xmlNodePtr dom, const NubeDomainSpec *spec)
{
    xmlNodePtr devices = child(dom, "devices", NULL);
    if (spec->disk_path != NULL)
        add_disk(devices, spec->disk_path, "qcow2", "vda", FALSE);
    /* A virtio disk, not a SATA cdrom: Debian's cloud kernel has no AHCI. */
    if (spec->seed_path != NULL)
        add_disk(devices, spec->seed_path, "raw", "vdb", TRUE);

    xmlNodePtr usb = child(devices, "controller", NULL);
    prop(usb, "type", "usb");
    prop(usb, "model", "none");

    if (spec->console_path != NULL) {
        add_console(devices, "serial", spec->console_path, NULL);
        add_console(devices, "console", spec->console_path, "serial");
    }

    /* The guest agent's port (agent/proto.h): QEMU listens on the socket,
     * nubed connects to it, again after either restarts. */
    if (spec->agent_socket != NULL) {
        xmlNodePtr chan = child(devices, "channel", NULL);
        prop(chan, "type", "unix");
        xmlNodePtr source = child(chan, "source", NULL);
        prop(source, "mode", "bind");
        prop(source, "path", spec->agent_socket);
        xmlNodePtr target = child(chan, "target", NULL);
        prop(target, "type", "virtio");
        prop(target, "name", NUBE_AGENT_PORT_NAME);
    }

    xmlNodePtr rng = child(devices, "rng", NULL);
    prop(rng, "model", "virtio");
    prop(child(rng, "backend", "/dev/urandom"), "model", "random");

    prop(child(devices, "memballoon", NULL), "model", "none");
}

static void add_qemu_arg(xmlNodePtr cmdline, xmlNsPtr ns, const char *value)
{
    xmlNodePtr arg = xmlNewChild(cmdline, ns, BAD_CAST "arg", NULL);
    prop(arg, "value", value);
}

/*
 * User-mode networking: libvirt 9.0 has no passt backend and its <interface
 * type='user'> cannot forward ports, so the NIC is given to QEMU directly.
 * The explicit PCI slot keeps it clear of the slots libvirt assigns.
 */
static void add_network(xmlNodePtr dom, const NubeDomainSpec *spec)
{
    if (spec->mac == NULL)
        return;
    xmlNsPtr ns = xmlSearchNsByHref(dom->doc, dom, BAD_CAST QEMU_NS_HREF);
    xmlNodePtr cmdline = xmlNewChild(dom, ns, BAD_CAST "commandline", NULL);

    g_autoptr(GString) netdev = g_string_new("user,id=" NETDEV_ID ",net=" NUBE_GUEST_NET);
    for (size_t i = 0; i < spec->n_forwards; i++)
        g_string_append_printf(netdev, ",hostfwd=tcp:127.0.0.1:%u-:%u", spec->forwards[i].host_port,
                               spec->forwards[i].guest_port);
    /* Each connection of the guest to the metadata address gets its own
     * socat, joined to nubed's socket for this instance: the socket says
     * who asks, whatever the guest sends. */
    if (spec->imds_socket != NULL)
        g_string_append_printf(
            netdev, ",guestfwd=tcp:" NUBE_GUEST_IMDS ":80-cmd:socat STDIO UNIX-CONNECT:%s",
            spec->imds_socket);
    g_autofree char *device = g_strdup_printf(
        "virtio-net-pci,netdev=" NETDEV_ID ",mac=%s,bus=pci.0,addr=0x10", spec->mac);

    add_qemu_arg(cmdline, ns, "-netdev");
    add_qemu_arg(cmdline, ns, netdev->str);
    add_qemu_arg(cmdline, ns, "-device");
    add_qemu_arg(cmdline, ns, device);
    /* libvirt's own sandbox denies spawn, which guestfwd's cmd needs: the
     * same seccomp filter otherwise. */
    if (spec->own_sandbox) {
        add_qemu_arg(cmdline, ns, "-sandbox");
        add_qemu_arg(cmdline, ns,
                     "on,obsolete=deny,elevateprivileges=allow,spawn=allow,resourcecontrol=deny");
    }
}

static xmlDocPtr build_doc(const NubeDomainSpec *spec)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr dom = xmlNewNode(NULL, BAD_CAST "domain");
    xmlDocSetRootElement(doc, dom);
    prop(dom, "type", spec->accel == NUBE_ACCEL_KVM ? "kvm" : "qemu");
    xmlNewNs(dom, BAD_CAST QEMU_NS_HREF, BAD_CAST "qemu");

    g_autofree char *uuid = spec->uuid != NULL ? g_strdup(spec->uuid) : uuid_for_name(spec->name);
    child(dom, "name", spec->name);
    child(dom, "uuid", uuid);
    child_uint(dom, "memory", spec->memory_mib, "MiB");
    child_uint(dom, "vcpu", spec->vcpus, NULL);
    add_os(dom, spec);
    add_sysinfo(dom, uuid);
    add_platform(dom, spec);
    add_devices(dom, spec);
    add_network(dom, spec);
    return doc;
}

static char *doc_to_string(xmlDocPtr doc)
{
    g_autoptr(xmlBuffer) buf = xmlBufferCreate();
    xmlSaveCtxtPtr ctxt = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    if (ctxt == NULL)
        return NULL;
    long r = xmlSaveDoc(ctxt, doc);
    if (xmlSaveClose(ctxt) < 0 || r < 0)
        return NULL;
    return g_strdup((const char *) xmlBufferContent(buf));
}

char *nube_domain_xml(const NubeDomainSpec *spec, NubeError **err)
{
    if (check_spec(spec, err) < 0)
        return NULL;
    g_autoptr(xmlDoc) doc = build_doc(spec);
    char *xml = doc_to_string(doc);
    if (xml == NULL)
        nube_error_set(err, ENOMEM, "domain XML: serializing '%s' failed", spec->name);
    return xml;
}
