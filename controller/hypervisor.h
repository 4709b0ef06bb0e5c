/*
 * hypervisor.h: the libvirt driver.  One connection (by default libvirt's
 * embedded QEMU driver rooted in the state directory, so no daemon is
 * needed), one thread running libvirt's event loop, lifecycle events handed
 * to the controller.  This is the only file that converts libvirt errors.
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct NubeHypervisor NubeHypervisor;

typedef enum {
    NUBE_DOMAIN_ABSENT,
    NUBE_DOMAIN_RUNNING,   /* running, or paused/blocked by the hypervisor */
    NUBE_DOMAIN_SHUTOFF,
} NubeDomainState;

typedef enum {
    NUBE_DOMAIN_EVENT_STARTED,
    NUBE_DOMAIN_EVENT_STOPPED,   /* shut down, destroyed, crashed or failed */
    NUBE_DOMAIN_EVENT_REBOOTED,
} NubeDomainEvent;

/* Called on the event-loop thread.  DETAIL is a short word: "booted",
 * "shutdown", "destroyed", "crashed", "failed", "reboot". */
typedef void (*NubeDomainEventFn)(const char *name, NubeDomainEvent event,
                                  const char *detail, void *opaque);

/* "qemu:///embed?root=STATE_DIR/libvirt" (caller frees). */
char *nube_hypervisor_default_uri(const char *state_dir);

/*
 * Connects to URI, starts the event-loop thread and registers FN for
 * lifecycle events of all domains.  NULL with ERR on failure.
 */
NubeHypervisor *nube_hypervisor_open(const char *uri, NubeDomainEventFn fn,
                                     void *opaque, NubeError **err);
void nube_hypervisor_close(NubeHypervisor *hv);

const char *nube_hypervisor_uri(const NubeHypervisor *hv);

/* Defines (or redefines) a persistent domain from XML.  0 or -errno. */
int nube_hypervisor_define(NubeHypervisor *hv, const char *xml,
                           NubeError **err);
/* Starts the defined domain NAME. */
int nube_hypervisor_start(NubeHypervisor *hv, const char *name,
                          NubeError **err);
/* Asks the guest to power off (ACPI). */
int nube_hypervisor_shutdown(NubeHypervisor *hv, const char *name,
                             NubeError **err);
/* Pulls the plug.  No error if the domain is not running. */
int nube_hypervisor_destroy(NubeHypervisor *hv, const char *name,
                            NubeError **err);
/* Asks the guest to reboot (ACPI). */
int nube_hypervisor_reboot(NubeHypervisor *hv, const char *name,
                           NubeError **err);
/* Removes the definition.  No error if absent. */
int nube_hypervisor_undefine(NubeHypervisor *hv, const char *name,
                             NubeError **err);
/* Current state of NAME (NUBE_DOMAIN_ABSENT if not defined). */
int nube_hypervisor_state(NubeHypervisor *hv, const char *name,
                          NubeDomainState *out, NubeError **err);
/* Runs a human monitor command (hostfwd_add …) on a running domain; the
 * reply goes to *REPLY if not NULL (caller frees). */
int nube_hypervisor_monitor(NubeHypervisor *hv, const char *name,
                            const char *hmp, char **reply, NubeError **err);
