/*
 * capture.h: baking an instance's disk into a new base (EC2 CreateImage).
 *
 * The controller stops the guest (or makes a consistent copy of a running
 * one), then:
 *   1. nube_capture_flatten(): the instance's overlay and its backing chain
 *      become one standalone qcow2 in the store's tmp directory;
 *   2. nube_capture_generalize(): that copy, edited in place in one
 *      libguestfs appliance launch, loses what makes it one machine
 *      (machine-id, SSH host keys, cloud-init instance state, logs, ...), so
 *      that every instance started from it is a new machine;
 *   3. nube_store_adopt() moves it into the store.
 * The instance's own disk is only ever read.
 */
#pragma once

#include "error.h"

#include <glib.h>

/*
 * Copies the qcow2 OVERLAY_PATH, read through its whole backing chain, into
 * a new standalone qcow2 DST_PATH (no backing file; clusters that read as
 * zero are not stored).  OVERLAY_PATH must not be in use by a running guest
 * (QEMU's image lock makes that an error).  DST_PATH is written whole: a
 * temporary sibling, fsynced, renamed; an existing DST_PATH is never replaced
 * (-EEXIST).  0 or a negative errno; on failure nothing is left behind.
 */
int nube_capture_flatten(const char *overlay_path, const char *dst_path, NubeError **err);

typedef struct {
    gboolean tcg;   /* run the appliance under TCG (the host has no working
                     * KVM: the controller's accelerator choice) */
    int memsize_mb; /* appliance memory, 0 for the default (512) */
    int smp;        /* appliance vCPUs, 0 for the default (1) */
} NubeGeneralizeOptions;

typedef struct {
    guint removed;      /* files, links and directory trees removed */
    guint truncated;    /* files emptied but kept (machine-id, live logs) */
    char *root_device;  /* guest device mounted as / ("/dev/sda") */
    gboolean inspected; /* root found by OS inspection, not whole-disk */
    gboolean trimmed;   /* fstrim ran on every mounted file system */
    char *summary;      /* per rule that did something, e.g.
                         * "/etc/ssh/ssh_host_*: 6 removed, 0 truncated; ..." */
    gint64 launch_ms;   /* appliance start */
    gint64 total_ms;    /* the whole call, from handle to close and fsync */
} NubeGeneralizeReport;

/* Frees what REPORT points to and zeroes it. */
void nube_generalize_report_clear(NubeGeneralizeReport *report);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NubeGeneralizeReport, nube_generalize_report_clear)

/*
 * Generalizes the standalone qcow2 QCOW2_PATH in place, in one libguestfs
 * appliance launch: mounts the guest's root (whole-disk /dev/sda when it is
 * a file system with /etc, else the one root OS inspection finds, with its
 * other file systems), applies the cleaning table of capture.c, fstrims,
 * and shuts the appliance down; the file is fsynced.  Blocks for the
 * whole appliance run (~10-15 s under TCG, more on the very first launch,
 * when supermin builds its appliance cache): call it from a worker thread.
 * OPTS should carry the controller's accelerator choice; NULL means
 * libguestfs picks (KVM when /dev/kvm exists, which hangs on a PVM host),
 * 512 MiB, 1 vCPU.  REPORT (may be NULL) is filled on success (caller
 * clears it).  0 or a negative errno with ERR; on failure the image may be
 * half cleaned: drop it.
 */
int nube_capture_generalize(const char *qcow2_path, const NubeGeneralizeOptions *opts,
                            NubeGeneralizeReport *report, NubeError **err);

/*
 * Puts nube's guest agent into the standalone qcow2 QCOW2_PATH in place, in
 * one libguestfs appliance launch (OPTS as for nube_capture_generalize()):
 * finds the one Linux root by OS inspection and mounts its file systems,
 * checks for systemd, uploads AGENT_PATH (a static binary) to a temporary
 * directory of the guest, runs it there as `nube-agent install --root /`
 * (it copies itself to /usr/sbin/nube-agent and enables
 * /etc/systemd/system/nube-agent.service), removes the temporary copy,
 * fstrims and shuts down; the file is fsynced.  Meant for an imported
 * disk's working copy before it is stored.  0 or a negative errno; a disk
 * without exactly one Linux root or without systemd gives code
 * "InvalidParameterValue".  On failure the image may be half changed: drop
 * it.
 */
int nube_capture_add_agent(const char *qcow2_path, const char *agent_path,
                           const NubeGeneralizeOptions *opts, NubeError **err);
