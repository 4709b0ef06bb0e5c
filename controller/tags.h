/*
 * tags.h: EC2 tags (key/value pairs) on any resource id.
 */
#pragma once

#include "db.h"

typedef struct {
    char *key;
    char *value;
} NubeTag;

void nube_tag_free(NubeTag *tag);

/* A new array of NubeTag (with free func). */
GPtrArray *nube_tags_new(void);

/* Appends a copy of KEY=VALUE to TAGS. */
void nube_tags_add(GPtrArray *tags, const char *key, const char *value);

/*
 * Checks TAGS against EC2's limits: at most 50, keys 1-128 characters not
 * starting with "aws:", values up to 256 characters, no duplicate keys.
 * 0 or -EINVAL with ERR (InvalidParameterValue / TagLimitExceeded).
 */
int nube_tags_validate(const GPtrArray *tags, NubeError **err);

/* Stores TAGS on RESOURCE_ID (replacing keys that exist).  The caller holds
 * the db lock if it needs this atomic with other writes. */
int nube_tags_set(NubeDb *db, const char *resource_id, const GPtrArray *tags, NubeError **err);

/* Tags of RESOURCE_ID sorted by key (new array).  NULL with ERR on error. */
GPtrArray *nube_tags_get(NubeDb *db, const char *resource_id, NubeError **err);

/* Value of KEY on RESOURCE_ID in TAGS, or NULL. */
const char *nube_tags_lookup(const GPtrArray *tags, const char *key);
