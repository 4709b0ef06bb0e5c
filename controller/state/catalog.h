/*
 * catalog.h: what nube offers: the instance-type catalogue (compiled in from
 * schemas/instance-types.json) and the region and availability zone.
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct {
    char *name; /* "t3.micro" */
    guint vcpus;
    guint memory_mib;
    gboolean burstable;
} NubeInstanceType;

/* Loads the catalogue once (thread-safe).  Aborts if the compiled-in file is
 * malformed: that is a build defect, not a runtime condition. */
const GPtrArray *nube_catalog_types(void);

/* The type NAME, or NULL with ERR "InvalidParameterValue" naming it. */
const NubeInstanceType *nube_catalog_type(const char *name, NubeError **err);

/* The default instance type's name ("t3.micro"). */
const char *nube_catalog_default_type(void);

/* The availability zone of REGION ("REGION" + "a"); caller frees. */
char *nube_catalog_zone(const char *region);
