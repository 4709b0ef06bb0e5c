/*
 * error.h: the project's error type.
 *
 * A function that can fail returns a negative errno (or NULL) and, where a
 * message matters, fills a NubeError out-parameter.  The error carries the
 * errno, a stable code (an EC2 error code such as
 * "InvalidInstanceID.NotFound", or NULL for an internal failure) and a
 * human-readable message.  Context is added on the way up with
 * nube_error_prefix().  Only the request boundary in nubed and main() in the
 * CLI report an error, once.
 */
#pragma once

#include <errno.h>
#include <glib.h>
#include <unistd.h>

typedef struct NubeError NubeError;
struct NubeError {
    int errnum; /* positive errno, never 0 */
    char *code; /* EC2 error code, or NULL for an internal error */
    char *message;
};

/*
 * Sets *err (if err and *err is NULL) to an internal error.  Returns
 * -errnum, or -EIO when errnum is 0, so callers can write
 *     return nube_error_set(err, errno, "open '%s'", path);
 */
int nube_error_set(NubeError **err, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Same as nube_error_set() with an EC2 error code (copied). */
int nube_error_setc(NubeError **err, int errnum, const char *code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/*
 * Prepends "CONTEXT: " to the message of *err, if any.  Returns the error's
 * -errnum (or -EIO if err is NULL or unset) so it can end a return statement.
 */
int nube_error_prefix(NubeError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Moves *src into *dst (dst must be unset).  Returns -errnum of the error. */
int nube_error_propagate(NubeError **dst, NubeError *src);

/* Code of the error for clients: its code, or "InternalError". */
const char *nube_error_code(const NubeError *err);

void nube_error_free(NubeError *err);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeError, nube_error_free)

/* The libc-style cleanup helpers used everywhere (systemd's _cleanup_). */
#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void nube_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
#define _cleanup_close_ _cleanup_(nube_closep)
