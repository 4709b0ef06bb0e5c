/*
 * log.c: timestamped log lines on stderr (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_level = -1;
static char log_ident[32] = "nube";
static GMutex log_lock;

void nube_log_set_level(NubeLogLevel level)
{
    log_level = level;
}

void nube_log_set_ident(const char *ident)
{
    g_strlcpy(log_ident, ident, sizeof(log_ident));
}

static int effective_level(void)
{
    if (log_level < 0) {
        const char *env = getenv("NUBE_DEBUG");
        log_level = (env && strcmp(env, "0") != 0) ? NUBE_LOG_DEBUG : NUBE_LOG_INFO;
    }
    return log_level;
}

void nube_log(NubeLogLevel level, const char *fmt, ...)
{
    static const char *const names[] = { "debug", "info", "warning", "error" };

    if ((int) level < effective_level())
        return;

    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");

    g_mutex_lock(&log_lock);
    fprintf(stderr, "%s %s[%d]: %s: %s\n", ts, log_ident, (int) getpid(), names[level], msg);
    g_mutex_unlock(&log_lock);
}
