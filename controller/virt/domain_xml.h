/*
 * domain_xml.h: libvirt domain XML for an instance, built with libxml2.
 */
#pragma once

#include "accel.h"
#include "error.h"
#include "instance.h" /* NubePortForward */

#include <glib.h>

typedef struct {
    const char *name; /* instance id */
    const char *uuid; /* 36-char uuid; NULL: derived from name.
                       * libvirt refuses to redefine a name under
                       * another uuid, so keep it stable. */
    NubeAccel accel;
    guint vcpus;
    guint memory_mib;
    const char *kernel;              /* NULL: boot from the disk's bootloader */
    const char *initrd;              /* may be NULL */
    const char *cmdline;             /* may be NULL */
    const char *disk_path;           /* qcow2 overlay (vda); NULL: no disk */
    const char *seed_path;           /* NoCloud seed ISO, read-only vdb; NULL: none */
    const char *console_path;        /* serial console log (appended); NULL: none */
    const char *agent_socket;        /* unix socket QEMU listens on for the guest
                                      * agent's virtio-serial port; NULL: none */
    gboolean own_sandbox;            /* add QEMU's -sandbox (seccomp) here, allowing
                                      * spawn for the metadata guestfwd; for a
                                      * driver configured without one */
    const char *imds_socket;         /* nubed's metadata service for this instance:
                                      * the guest's connections to
                                      * NUBE_GUEST_IMDS:80 go there; NULL: none */
    const char *mac;                 /* "52:54:00:xx:xx:xx"; NULL: no NIC */
    const NubePortForward *forwards; /* hostfwd on the user-mode NIC */
    size_t n_forwards;
} NubeDomainSpec;

/*
 * The guests' user-mode network.  It is link-local (169.254.169.0/24)
 * because QEMU forwards a guest's connections to an address of its own
 * network only, and the metadata service must be at 169.254.169.254 as on
 * EC2.  The host (nubed's package repository) is at the gateway.
 */
#define NUBE_GUEST_NET     "169.254.169.0/24"
#define NUBE_GUEST_GATEWAY "169.254.169.2"
#define NUBE_GUEST_IP      "169.254.169.15"
#define NUBE_GUEST_IMDS    "169.254.169.254"

/* The QEMU id of the instance's user-mode netdev, for monitor commands
 * such as "hostfwd_add nube0 tcp:127.0.0.1:H-:G". */
#define NUBE_DOMAIN_NETDEV "nube0"

/*
 * The domain XML for SPEC (caller frees), NULL with ERR on failure (EINVAL
 * for a spec that cannot be expressed safely: bad UUID or MAC, control
 * characters or invalid UTF-8 in a string, a zero port).
 */
char *nube_domain_xml(const NubeDomainSpec *spec, NubeError **err);
