/*
 * error.c: the project's error type (see error.h).
 */
#include "error.h"

#include <stdarg.h>

static G_GNUC_PRINTF(4, 0) int error_vset(NubeError **err, int errnum, const char *code,
                                          const char *fmt, va_list ap)
{
    if (errnum <= 0)
        errnum = EIO;
    if (err == NULL || *err != NULL)
        return -errnum;

    NubeError *e = g_new0(NubeError, 1);
    e->errnum = errnum;
    e->code = g_strdup(code);
    e->message = g_strdup_vprintf(fmt, ap);
    *err = e;
    return -errnum;
}

int nube_error_set(NubeError **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = error_vset(err, errnum, NULL, fmt, ap);
    va_end(ap);
    return r;
}

int nube_error_setc(NubeError **err, int errnum, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = error_vset(err, errnum, code, fmt, ap);
    va_end(ap);
    return r;
}

int nube_error_prefix(NubeError **err, const char *fmt, ...)
{
    if (err == NULL || *err == NULL)
        return -EIO;

    va_list ap;
    va_start(ap, fmt);
    g_autofree char *ctx = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    char *msg = g_strdup_printf("%s: %s", ctx, (*err)->message);
    g_free((*err)->message);
    (*err)->message = msg;
    return -(*err)->errnum;
}

int nube_error_propagate(NubeError **dst, NubeError *src)
{
    if (src == NULL)
        return -EIO;
    int r = -src->errnum;
    if (dst != NULL && *dst == NULL)
        *dst = src;
    else
        nube_error_free(src);
    return r;
}

const char *nube_error_code(const NubeError *err)
{
    if (err == NULL || err->code == NULL)
        return "InternalError";
    return err->code;
}

void nube_error_free(NubeError *err)
{
    if (err == NULL)
        return;
    g_free(err->code);
    g_free(err->message);
    g_free(err);
}
