/*
 * tags.h: EC2 tags (key/value pairs) on any resource id.
 */
#pragma once

#include "db.h"

/* EC2's limits: tags per resource, characters of a key and of a value. */
#define NUBE_TAGS_MAX      50
#define NUBE_TAG_KEY_MAX   128
#define NUBE_TAG_VALUE_MAX 256

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

/*
 * Adds TAGS (already validated) to the tags RESOURCE_ID has, replacing the
 * values of keys it has, if the result stays within 50 tags: else -EINVAL
 * with ERR "TagLimitExceeded" and nothing written.  The caller holds the db
 * lock and a transaction when several resources must change together.
 */
int nube_tags_add_limited(NubeDb *db, const char *resource_id, const GPtrArray *tags,
                          NubeError **err);

/* Tags of RESOURCE_ID sorted by key (new array).  NULL with ERR on error. */
GPtrArray *nube_tags_get(NubeDb *db, const char *resource_id, NubeError **err);

/* Value of KEY on RESOURCE_ID in TAGS, or NULL. */
const char *nube_tags_lookup(const GPtrArray *tags, const char *key);

/* A tag with the resource it is on (DescribeTags). */
typedef struct {
    NubeTag tag;
    char *resource_id;
} NubeResourceTag;

void nube_resource_tag_free(NubeResourceTag *tag);

/* Every tag of every resource, sorted by resource id and key (a new array
 * of NubeResourceTag), NULL with ERR.  Tags of resources that are gone are
 * included: the caller decides what is still visible. */
GPtrArray *nube_tags_list(NubeDb *db, NubeError **err);

/*
 * Deletes from RESOURCE_ID the tag KEY (NULL: every tag), only if its value
 * is VALUE when VALUE is not NULL.  Returns the number of tags deleted (an
 * absent tag is no error), or -errno with ERR.
 */
int nube_tags_delete(NubeDb *db, const char *resource_id, const char *key, const char *value,
                     NubeError **err);
