/*
 * events.c: collecting the hypervisor's lifecycle events (see events.h).
 */
#include "events.h"

#include <string.h>

static const char *event_word(NubeDomainEvent event)
{
    switch (event) {
    case NUBE_DOMAIN_EVENT_STARTED:
        return "started";
    case NUBE_DOMAIN_EVENT_STOPPED:
        return "stopped";
    case NUBE_DOMAIN_EVENT_REBOOTED:
        return "rebooted";
    }
    return "?";
}

void events_push(const char *name, NubeDomainEvent event, const char *detail, void *opaque)
{
    g_async_queue_push(opaque, g_strdup_printf("%s %s %s", name, event_word(event), detail));
}

char *events_wait(GAsyncQueue *queue, const char *name, guint timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;
    g_autofree char *prefix = g_strdup_printf("%s ", name);
    for (;;) {
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0)
            return NULL;
        g_autofree char *ev = g_async_queue_timeout_pop(queue, left);
        if (ev == NULL)
            return NULL;
        if (g_str_has_prefix(ev, prefix))
            return g_strdup(ev + strlen(prefix));
        g_test_message("ignored event: %s", ev);
    }
}
