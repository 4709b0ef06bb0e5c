/*
 * describe.h: EC2 Describe* actions, page after page (nextToken), with
 * their items turned into JSON objects.
 */
#pragma once

#include "client.h"

#include <json-glib/json-glib.h>

/* Turns one item element of REPLY into a new JSON object. */
typedef JsonObject *(*NubeCliItemConvert)(NubeCliReply *reply, xmlNode *item);

/*
 * Calls ACTION with ID_PARAM.1, ID_PARAM.2, … = IDS (NULL or empty: no ids)
 * until the answer has no nextToken, converting every node ITEM_XPATH
 * selects in each answer with CONVERT.  Returns a new array, or NULL with
 * ERR set.
 */
JsonArray *nube_cli_describe_all(NubeCliClient *client, const char *action, const char *id_param,
                                 const char *const *ids, const char *item_xpath,
                                 NubeCliItemConvert convert, NubeError **err);

/*
 * As nube_cli_describe_all(), with the filter Filter.1.Name=FILTER whose values
 * are VALUES instead of ids (NULL or empty: no filter).
 */
JsonArray *nube_cli_describe_filtered(NubeCliClient *client, const char *action, const char *filter,
                                      const char *const *values, const char *item_xpath,
                                      NubeCliItemConvert convert, NubeError **err);

/*
 * The object among ITEMS whose string MEMBER is ID (a new reference), or
 * NULL with ERR set to NOT_FOUND_CODE.
 */
JsonObject *nube_cli_describe_find(JsonArray *items, const char *member, const char *id,
                                   const char *not_found_code, NubeError **err);
