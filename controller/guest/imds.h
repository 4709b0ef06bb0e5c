/*
 * imds.h: the instance metadata service (EC2's IMDS at 169.254.169.254).
 *
 * QEMU's user-mode network hands each guest connection to that address to
 * a socat joined to STATE/instances/ID/imds.sock.  nubed serves HTTP on
 * one such unix socket per live instance, so the socket alone says which
 * instance asks: nothing a guest sends can name another instance.  One
 * thread creates the sockets of instances that become live and removes
 * those of instances that no longer are.  Every request reads the
 * instance record afresh, so changed metadata options apply at once.
 *
 * HTTP behaviour follows EC2's: IMDSv2 session tokens (PUT
 * /latest/api/token), IMDSv1 unless the instance requires tokens, the
 * meta-data, user-data and dynamic/instance-identity trees.
 */
#pragma once

#include "db.h"

#include <glib.h>

typedef struct NubeImds NubeImds;

/* Starts serving the metadata of every live instance of DB (directories
 * INSTANCES_DIR/ID, identity documents of REGION).  Never fails: instances whose socket cannot be
 * made are retried later. Free with nube_imds_stop(). */
NubeImds *nube_imds_start(NubeDb *db, const char *instances_dir, const char *region);

/* Stops every server, removes their sockets and frees IMDS (NULL is fine). */
void nube_imds_stop(NubeImds *imds);

/* Looks for newly live instances now (one was just started). */
void nube_imds_kick(NubeImds *imds);
