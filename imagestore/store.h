/*
 * store.h: base images and blobs (kernels, initrds) stored read-only under
 * their sha256.  Layout under the store directory:
 *   bases/<sha256>.qcow2   read-only (0444) standalone qcow2 bases
 *   blobs/<sha256>         read-only kernels and initrds
 *   tmp/                   work files, renamed into place when whole
 * The store knows nothing about AMI ids: the controller's database says which
 * AMI and which instance disk uses which base, and asks the store to remove
 * a base once nothing needs it.
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct NubeStore NubeStore;

typedef struct {
    char sha256[65];
    char *path; /* absolute path of bases/<sha256>.qcow2 */
    guint64 virtual_size;
    guint64 file_size;
    char *architecture; /* "x86_64" */
} NubeBase;

void nube_base_clear(NubeBase *base);

/* Opens (creating if needed) the store in DIR.  Returns the store (free with
 * nube_store_free()), or NULL with ERR on failure. */
NubeStore *nube_store_open(const char *dir, NubeError **err);
void nube_store_free(NubeStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeStore, nube_store_free)

/* Absolute path of the store directory (owned by the store). */
const char *nube_store_dir(const NubeStore *store);

/* Directory for temporary work files inside the store (same file system as
 * the bases, so a rename moves a finished file in). */
const char *nube_store_tmp_dir(const NubeStore *store);

/*
 * Imports the file PATH.  FORMAT is "raw" or "qcow2", or NULL to detect it
 * safely (qcow2 magic means qcow2; other known image magics are refused;
 * anything else is raw).  Refused with ERR code "InvalidParameterValue": a
 * qcow2 with a backing file or an external data file, a corrupt qcow2, a file
 * whose content is not the format it is said to be, a file that is not a
 * regular file.  The content is converted to a standalone qcow2, hashed and
 * stored once.  Fills OUT (caller clears).  0 or a negative errno; on
 * failure nothing is left behind.
 */
int nube_store_import(NubeStore *store, const char *path, const char *format, NubeBase *out,
                      NubeError **err);

/*
 * Changes the standalone qcow2 QCOW2 (a private work file) in place; 0 or
 * a negative errno with ERR.
 */
typedef int (*NubeStoreEditFn)(const char *qcow2, void *opaque, NubeError **err);

/*
 * nube_store_import() that calls EDIT (with OPAQUE) on the converted work
 * copy after every check and before the copy is hashed and stored, so the
 * stored base is the edited image (e.g. with the guest agent added).  The
 * edited copy goes through the same qcow2 checks as any other.  An EDIT
 * error ends the import with nothing stored or left behind.
 */
int nube_store_import_edit(NubeStore *store, const char *path, const char *format,
                           NubeStoreEditFn edit, void *opaque, NubeBase *out, NubeError **err);

/*
 * Moves TMP_QCOW2, a standalone qcow2 that nube made itself inside
 * nube_store_tmp_dir(), into the store under its sha256 (after the same
 * header checks as an import) and fills OUT (caller clears).  On success
 * TMP_QCOW2 is gone (moved, or dropped when that base already exists); on
 * failure it is left for the caller to remove.  0 or a negative errno.
 */
int nube_store_adopt(NubeStore *store, const char *tmp_qcow2, NubeBase *out, NubeError **err);

/* Fills OUT for the stored base SHA256 (caller clears).  -ENOENT if absent,
 * -EINVAL if SHA256 is not 64 lowercase hex digits. */
int nube_store_lookup(NubeStore *store, const char *sha256, NubeBase *out, NubeError **err);

/* Removes the base SHA256 (no error if absent).  The caller has checked that
 * nothing needs it.  0 or a negative errno. */
int nube_store_remove_base(NubeStore *store, const char *sha256, NubeError **err);

/* Copies PATH (a regular file, not a symlink) into blobs/ under its sha256
 * (read-only, stored once) and writes the hex digest into SHA256.  0 or a
 * negative errno (code "InvalidParameterValue" for a bad PATH); on failure
 * nothing is left behind. */
int nube_store_add_blob(NubeStore *store, const char *path, char sha256[65], NubeError **err);

/* Absolute path of blobs/SHA256 (caller frees); NULL if absent. */
char *nube_store_blob_path(NubeStore *store, const char *sha256);

/* Removes blobs/SHA256 (no error if absent).  0 or a negative errno. */
int nube_store_remove_blob(NubeStore *store, const char *sha256, NubeError **err);

/*
 * The image format named by the first LEN bytes HEAD of a file (512 are
 * enough): "qcow2", "raw" when no known magic matches, or the name of a
 * format nube does not accept ("qcow", "vmdk", "vdi", "vhdx", "vpc", "qed",
 * "luks", "parallels", "bochs", "cloop").  Returns a static string.  Pure:
 * exposed for tests and fuzzing.
 */
const char *nube_store_detect_format(const void *head, size_t len);

/*
 * Checks the qcow2 header in the first LEN bytes HEAD of the file NAME
 * (quoted in messages) without running QEMU: version 2 or 3, no backing
 * file, no external data file, not marked corrupt, not encrypted, no
 * incompatible feature nube does not know.  0, or -EINVAL with ERR code
 * "InvalidParameterValue".  Pure: exposed for tests and fuzzing.
 */
int nube_store_check_qcow2_header(const void *head, size_t len, const char *name, NubeError **err);
