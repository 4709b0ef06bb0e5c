/*
 * domain_xml.h: libvirt domain XML for an instance, built with libxml2.
 */
#pragma once

#include "accel.h"
#include "error.h"

#include <glib.h>

typedef struct {
    guint16 host_port;   /* on 127.0.0.1 */
    guint16 guest_port;
} NubePortForward;

typedef struct {
    const char *name;           /* instance id */
    const char *uuid;           /* 36-char uuid */
    NubeAccel accel;
    guint vcpus;
    guint memory_mib;
    const char *kernel;         /* NULL: boot from the disk's bootloader */
    const char *initrd;         /* may be NULL */
    const char *cmdline;        /* may be NULL */
    const char *disk_path;      /* qcow2 overlay */
    const char *seed_path;      /* NoCloud seed ISO, attached read-only */
    const char *console_path;   /* serial console log (appended) */
    const char *mac;            /* "52:54:00:xx:xx:xx" */
    const NubePortForward *forwards;
    size_t n_forwards;
} NubeDomainSpec;

/* The domain XML for SPEC (caller frees), NULL with ERR on failure. */
char *nube_domain_xml(const NubeDomainSpec *spec, NubeError **err);
