/*
 * fault.c: fault-injection points (see fault.h).
 */
#include "fault.h"
#include "log.h"

#include <glib.h>
#include <signal.h>

static char **points(void)
{
    static char **list;
    static gsize once;
    if (g_once_init_enter(&once)) {
        const char *env = g_getenv("NUBE_FAULT");
        list = env != NULL && *env != '\0' ? g_strsplit(env, ",", -1) : NULL;
        g_once_init_leave(&once, 1);
    }
    return list;
}

void nube_fault_point(const char *point)
{
    char **list = points();
    if (list == NULL || !g_strv_contains((const char *const *) list, point))
        return;
    nube_warn("fault injection: dying at '%s'", point);
    raise(SIGKILL);
}
