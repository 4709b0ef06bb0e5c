/*
 * resource.h: the kinds of resources an EC2 id can name (instance, image,
 * volume, key pair, security group), found from the id's prefix: the table
 * that holds them, EC2's resource type and its NotFound error code.  Used
 * where an action takes ids of any kind (CreateTags, DescribeTags).
 */
#pragma once

#include "db.h"

typedef struct {
    const char *prefix;    /* id prefix before '-': "i" */
    const char *type;      /* EC2 resource type: "instance" */
    const char *table;     /* table with an "id" column: "instances" */
    const char *live_sql;  /* SQL condition on a row that users still see */
    const char *not_found; /* EC2 error code: "InvalidInstanceID.NotFound" */
} NubeResourceKind;

/* The kind of resource ID names (by its prefix and form), or NULL if ID is
 * not a well-formed id of a taggable resource. */
const NubeResourceKind *nube_resource_kind(const char *id);

/* The kind whose EC2 resource type is TYPE ("key-pair"), or NULL. */
const NubeResourceKind *nube_resource_kind_by_type(const char *type);

/*
 * Checks that ID names a resource users can see.  Returns 0 and sets *KIND
 * (may be NULL); -EINVAL with ERR "InvalidID" for an id of no taggable
 * kind; -ENOENT with ERR the kind's NotFound code when no such resource
 * exists (also while the kind's table does not exist yet); -EIO with ERR on
 * database errors.
 */
int nube_resource_check(NubeDb *db, const char *id, const NubeResourceKind **kind, NubeError **err);
