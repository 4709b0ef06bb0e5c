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
    NUBE_DOMAIN_RUNNING, /* running, or paused/blocked by the hypervisor */
    NUBE_DOMAIN_SHUTOFF,
} NubeDomainState;

typedef enum {
    NUBE_DOMAIN_EVENT_STARTED,
    NUBE_DOMAIN_EVENT_STOPPED, /* shut down, destroyed, crashed or failed */
    NUBE_DOMAIN_EVENT_REBOOTED,
} NubeDomainEvent;

/*
 * Called on the event-loop thread (never call nube_hypervisor_close() from
 * it).  DETAIL is a short word:
 *   STARTED:  "booted" (also "restored", "migrated", "snapshot", "wakeup")
 *   STOPPED:  "shutdown" (the guest powered off or QEMU quit), "destroyed",
 *             "crashed", "failed" (also "saved", "migrated", "snapshot")
 *   REBOOTED: "reboot" (guest reboot, ACPI reboot or a machine reset)
 * libvirt's SHUTDOWN, CRASHED, SUSPENDED, RESUMED, DEFINED and UNDEFINED
 * events are not passed on (a STOPPED follows the first two).  Events still
 * queued when the last connection closes are dropped.
 */
typedef void (*NubeDomainEventFn)(const char *name, NubeDomainEvent event, const char *detail,
                                  void *opaque);

/* "qemu:///embed?root=STATE_DIR/libvirt" with STATE_DIR made absolute and
 * URI-escaped (caller frees). */
char *nube_hypervisor_default_uri(const char *state_dir);

/*
 * Connects to URI, starts the event-loop thread and registers FN (may be
 * NULL) for lifecycle events of all domains.  For a qemu:///embed URI it
 * first writes ROOT/etc/qemu.conf (QEMU logs to ROOT/log/qemu/NAME.log
 * itself, no virtlogd; as root, QEMU runs as this process's user).  One
 * process can use only one embedded root, and ROOT may be at most 50 bytes
 * long (QEMU's monitor socket lives below it): -ENAMETOOLONG otherwise.
 * NULL with ERR on failure.
 */
NubeHypervisor *nube_hypervisor_open(const char *uri, NubeDomainEventFn fn, void *opaque,
                                     NubeError **err);
/*
 * Deregisters the event callback, closes the connection and, when no other
 * connection of this process is open, stops and joins the event-loop
 * thread (after which FN is never called again).  Never call it from FN.
 * Running domains keep running.  NULL is allowed.
 */
void nube_hypervisor_close(NubeHypervisor *hv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeHypervisor, nube_hypervisor_close)

const char *nube_hypervisor_uri(const NubeHypervisor *hv);

/*
 * The domain functions return 0 or a negative errno with ERR set to
 * "WHAT domain 'NAME': libvirt's message".  Those that need the domain
 * return -ENOENT when NAME is not defined.
 */

/* Defines (or redefines) a persistent domain from XML, checked against
 * libvirt's schema.  Redefining a name under another UUID fails. */
int nube_hypervisor_define(NubeHypervisor *hv, const char *xml, NubeError **err);
/* Starts the defined domain NAME. */
int nube_hypervisor_start(NubeHypervisor *hv, const char *name, NubeError **err);
/* Asks the guest to power off (ACPI power button); returns at once. */
int nube_hypervisor_shutdown(NubeHypervisor *hv, const char *name, NubeError **err);
/* Pulls the plug.  No error if the domain is not running or absent. */
int nube_hypervisor_destroy(NubeHypervisor *hv, const char *name, NubeError **err);
/* Asks the guest to reboot (ACPI power button, then libvirt resets the
 * machine once the guest is down); returns at once. */
int nube_hypervisor_reboot(NubeHypervisor *hv, const char *name, NubeError **err);
/* Removes the definition (with NVRAM, managed save and snapshot
 * metadata).  No error if absent.  A running domain keeps running as a
 * transient one. */
int nube_hypervisor_undefine(NubeHypervisor *hv, const char *name, NubeError **err);
/* Current state of NAME (NUBE_DOMAIN_ABSENT if not defined). */
int nube_hypervisor_state(NubeHypervisor *hv, const char *name, NubeDomainState *out,
                          NubeError **err);
/*
 * Runs a human monitor command (hostfwd_add …) on a running domain; the
 * reply goes to *REPLY if not NULL (caller frees).  HMP reports most
 * failures only in the reply text (hostfwd_add on a busy port answers
 * "Could not set up host forwarding rule '…'", success is ""), so callers
 * must read it.
 */
int nube_hypervisor_monitor(NubeHypervisor *hv, const char *name, const char *hmp, char **reply,
                            NubeError **err);

/*
 * Copies the running domain NAME's disk TARGET ("vda") as it is at this
 * instant (with its whole backing chain) to the new standalone qcow2 DEST,
 * while the guest keeps running (libvirt push-mode backup); the disks named
 * in SKIP (NULL-terminated, may be NULL) are left out.  Blocks until the
 * copy is complete.  The copy is crash-consistent; STARTED (may be NULL)
 * is called with OPAQUE as soon as the instant of the copy is fixed, so a
 * caller that froze the guest's file systems can thaw them.  0 or -errno.
 */
int nube_hypervisor_backup_disk(NubeHypervisor *hv, const char *name, const char *target,
                                const char *dest, const char *const *skip,
                                void (*started)(gpointer opaque), gpointer opaque, NubeError **err);

/* TRUE for libvirt's embedded driver with the qemu.conf nube writes (no
 * seccomp sandbox from libvirt: domains bring their own, see
 * NubeDomainSpec.own_sandbox). */
gboolean nube_hypervisor_embedded(const NubeHypervisor *hv);

/* The names of every domain of the connection, running or only defined (a
 * new array of strings, caller unrefs), or NULL with ERR. */
GPtrArray *nube_hypervisor_list(NubeHypervisor *hv, NubeError **err);
