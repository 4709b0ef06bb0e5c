/*
 * testutil.h: helpers shared by the imagestore tests: scratch directories,
 * running qemu-img / qemu-io directly (to check the library independently
 * of its own wrapper) and small file checks.
 */
#pragma once

#include <glib.h>

/* A new scratch directory from g_dir_make_tmp() (free with scratch_free()). */
char *scratch_new(void);

/* Removes DIR and everything in it, then frees the string. */
void scratch_free(char *dir);
static inline void scratch_freep(char **dir)
{
    scratch_free(*dir);
}
#define _cleanup_scratch_ __attribute__((cleanup(scratch_freep)))

/* Runs ARGV (NULL-terminated, looked up in PATH); fails the test unless it
 * exits 0.  Returns its stdout (caller frees). */
char *run(const char *const *argv);

/* Runs ARGV; TRUE if it exits 0.  Its output is discarded. */
gboolean run_ok(const char *const *argv);

/* Writes SIZE bytes of a position-dependent pattern (no all-zero clusters)
 * to PATH, as a raw disk. */
void write_pattern(const char *path, gsize size);

/* Number of entries in DIR (0 if it does not exist). */
guint dir_count(const char *dir);

/* Lowercase hex sha256 of the file PATH, computed with GChecksum. */
char *file_sha256(const char *path);

/* TRUE if files A and B have the same bytes. */
gboolean files_equal(const char *a, const char *b);
