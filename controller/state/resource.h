/*
 * resource.h: the kinds of resources an EC2 id can name (instance, image,
 * volume, key pair, security group), found from the id's prefix: the table
 * that holds them, EC2's resource type and its NotFound and Malformed error
 * codes.  Used where an action takes ids of any kind (CreateTags,
 * DescribeTags) and to check the form of ids of one kind.
 */
#pragma once

#include "db.h"

/* The kinds, for the actions that take ids of one. */
typedef enum {
    NUBE_RESOURCE_INSTANCE,
    NUBE_RESOURCE_IMAGE,
    NUBE_RESOURCE_VOLUME,
    NUBE_RESOURCE_KEY_PAIR,
    NUBE_RESOURCE_SECURITY_GROUP,
} NubeResourceKindId;

typedef struct {
    const char *prefix;    /* id prefix before '-': "i" */
    const char *type;      /* EC2 resource type: "instance" */
    const char *table;     /* table with an "id" column: "instances" */
    const char *live_sql;  /* SQL condition on a row that users still see */
    const char *not_found; /* EC2 error code: "InvalidInstanceID.NotFound" */
    /* EC2 error code for an ill-formed id: "InvalidInstanceID.Malformed";
     * NULL for key pairs, whose ill-formed ids EC2 answers with
     * InvalidKeyPair.NotFound (keypairs.c). */
    const char *malformed;
    const char *malformed_hint; /* said after the id in that error, or NULL */
} NubeResourceKind;

/* The kind of resource ID names (by its prefix and form), or NULL if ID is
 * not a well-formed id of a taggable resource. */
const NubeResourceKind *nube_resource_kind(const char *id);

/*
 * Checks that ID is a well-formed id of KIND: its prefix and 8 or 17
 * lowercase hex digits.  0, or -EINVAL with ERR the kind's Malformed code
 * ("InvalidID" for key pairs, which have none) and the message
 * 'Invalid id: "ID"' followed by the kind's hint.
 */
int nube_resource_id_check(NubeResourceKindId kind, const char *id, NubeError **err);

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
