/*
 * events.h: collecting the hypervisor's lifecycle events in tests.
 */
#pragma once

#include "hypervisor.h"

/* The NubeDomainEventFn for tests: OPAQUE is a GAsyncQueue that receives
 * "NAME started|stopped|rebooted DETAIL" strings. */
void events_push(const char *name, NubeDomainEvent event, const char *detail, void *opaque);

/*
 * Waits up to TIMEOUT_S seconds for the next event of domain NAME (events
 * of other domains are dropped) and returns "EVENT DETAIL" (caller frees),
 * or NULL on timeout.
 */
char *events_wait(GAsyncQueue *queue, const char *name, guint timeout_s);
