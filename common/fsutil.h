/*
 * fsutil.h: file helpers shared by every part.
 */
#pragma once

#include "error.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Writes LEN bytes of DATA to PATH whole: to a temporary sibling, fsynced,
 * chmod MODE, then renamed over PATH.  Returns 0 or a negative errno.
 */
int nube_file_write_atomic(const char *path, const void *data, size_t len, int mode,
                           NubeError **err);

/*
 * A new empty file (mode 0600) next to PATH, on the same file system so a
 * rename can move it in place.  Returns its name (caller frees and, on
 * failure paths, unlinks it) or NULL with ERR.
 */
char *nube_file_tmp_sibling(const char *path, NubeError **err);

/*
 * Makes the finished temporary file TMP the file PATH: fsyncs it, renames it
 * without ever replacing an existing PATH (-EEXIST), fsyncs the directory.
 * 0 or -errno with ERR.
 */
int nube_file_commit(const char *tmp, const char *path, NubeError **err);

/* mkdir -p with MODE for the directories it creates.  0 or -errno. */
int nube_mkdir_p(const char *path, int mode, NubeError **err);

/* rm -rf PATH (no error if it does not exist).  0 or -errno. */
int nube_rm_rf(const char *path, NubeError **err);

/*
 * sha256 of a whole file, as 64 lowercase hex digits in HEX (65 bytes with
 * the NUL).  0 or -errno.
 */
int nube_file_sha256(const char *path, char hex[65], NubeError **err);

/* Lowercase hex SHA-256 of a buffer (HEX is 65 bytes). */
void nube_sha256_hex(const void *data, size_t len, char hex[65]);

/* Fills BUF with LEN cryptographically random bytes.  0 or -errno. */
int nube_random_bytes(void *buf, size_t len, NubeError **err);

/* A new id PREFIX-<17 lowercase hex digits>, as EC2's (caller frees). */
char *nube_id_new(const char *prefix);

/* True if ID is PREFIX- followed by 8 or 17 lowercase hex digits. */
gboolean nube_id_valid(const char *id, const char *prefix);
