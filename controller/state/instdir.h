/*
 * instdir.h: the files of an instance directory, STATE/instances/ID/.
 * nubed makes the directory when the instance boots and removes it
 * with everything in it when the instance is terminated.
 */
#pragma once

#include <glib.h>

/* STATE/instances: the parent of every instance directory. */
#define NUBE_INSTDIR_PARENT "instances"

/* The root disk: a qcow2 overlay on the image's base (an ebs root kept
 * after termination moves to STATE/volumes). */
#define NUBE_INSTDIR_ROOT_DISK "root.qcow2"
/* The NoCloud seed (absent when the instance boots without one). */
#define NUBE_INSTDIR_SEED "seed.iso"
/* The serial console, written by QEMU; GetConsoleOutput reads its tail. */
#define NUBE_INSTDIR_CONSOLE "console.log"
/* The guest agent's channel, a unix socket QEMU listens on. */
#define NUBE_INSTDIR_AGENT_SOCKET "agent.sock"
/* The metadata service's unix socket, on which nubed listens. */
#define NUBE_INSTDIR_IMDS_SOCKET "imds.sock"

/* INSTANCES_DIR/ID/NAME, or the directory INSTANCES_DIR/ID itself if NAME
 * is NULL.  A new string (caller frees); never NULL. */
char *nube_instdir_path(const char *instances_dir, const char *id, const char *name);
