/*
 * api.h: nubed's EC2 Query API: an HTTP server (libmicrohttpd) that takes
 * POST / (or GET) form parameters Action=…&Version=…, checks the AWS
 * Signature Version 4 of every request against the stored secret, runs the
 * action and answers EC2 XML or an EC2 error document.
 */
#pragma once

#include "account.h"
#include "cloud.h"
#include "image.h"
#include "instance.h"
#include "query.h"
#include "resource.h"

#include <libxml/tree.h>

typedef struct NubeApi NubeApi;

typedef struct {
    NubeCloud *cloud;
    const NubeQuery *q;
    const char *action;
    const char *request_id;
    const NubeAccount *account; /* who signed the request */
} NubeApiRequest;

/* An action: fills RESP (the <ActionResponse> element, with requestId
 * already there).  0 or -errno with an EC2 error in ERR. */
typedef int (*NubeApiHandler)(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);

/* Starts the server on the daemon's listen address.  NULL with ERR. */
NubeApi *nube_api_start(NubeCloud *d, NubeError **err);
void nube_api_stop(NubeApi *api);

/*
 * Runs REQ->action on REQ's parameters (after authentication) and returns
 * the answer document in *DOC (caller frees).  0 or -errno with ERR:
 * "InvalidAction", "UnknownParameter" for a key the action does not read,
 * "InvalidParameterValue" for a DryRun that is not a boolean,
 * "DryRunOperation" for DryRun=true (nothing done), or the action's error.
 */
int nube_api_dispatch(NubeApiRequest *req, xmlDocPtr *doc, NubeError **err);

/* The name of the I-th action of the dispatch table (static), NULL past
 * the last. */
const char *nube_api_action_name(guint i);

/* Value of the required parameter KEY, or NULL with "MissingParameter". */
const char *nube_api_require(const NubeApiRequest *req, const char *key, NubeError **err);

/* Value of the required parameter KEY, a well-formed id of KIND; NULL with
 * "MissingParameter" or the kind's Malformed code
 * (nube_resource_id_check()). */
const char *nube_api_require_id(const NubeApiRequest *req, const char *key, NubeResourceKindId kind,
                                NubeError **err);

/*
 * Pagination with MaxResults (in [MIN, MAX], absent: everything) and
 * NextToken over N_ITEMS items: sets [*START, *END) and *NEXT_TOKEN (NULL
 * when there is no more; caller frees).  0 or -EINVAL with
 * "InvalidParameterValue".
 */
int nube_api_page(const NubeApiRequest *req, gint64 min, gint64 max, guint n_items, guint *start,
                  guint *end, char **next_token, NubeError **err);

/*
 * One filter of a Describe action whose value comes from the item: a
 * function's (a new string, NULL when the item has none), else the string
 * member at OFFSET, else (OFFSET -1) the constant.  A filter with several
 * values (a group's rules, an instance's groups) has GET_ALL instead, which
 * adds them to VALUES (new strings, NULL for none): the filter matches when
 * one of them does.  Declare with the macros.
 */
typedef struct {
    const char *name;
    char *(*get)(const NubeApiRequest *req, const void *item);
    void (*get_all)(const NubeApiRequest *req, const void *item, GPtrArray *values);
    gssize offset;
    const char *constant;
} NubeApiFilterField;

/* clang-format off */
#define NUBE_FILTER_MEMBER(name, type, member) { name, NULL, NULL, G_STRUCT_OFFSET(type, member), NULL }
#define NUBE_FILTER_FN(name, fn)               { name, fn, NULL, -1, NULL }
#define NUBE_FILTER_VALUES(name, fn)           { name, NULL, fn, -1, NULL }
#define NUBE_FILTER_CONST(name, value)         { name, NULL, NULL, -1, value }
#define NUBE_FILTER_END                        { NULL, NULL, NULL, -1, NULL }
/* clang-format on */

/*
 * Whether F matches ITEM (in *MATCH), with EC2's wildcards * and ?: first
 * the tag filters every Describe action has, on TAGS (an array of NubeTag,
 * may be NULL: no tags): tag:KEY (the value of tag KEY matches), tag-key
 * (some tag's key matches), tag-value (some tag's value matches); then the
 * filters of FIELDS (ended by NUBE_FILTER_END).  0, or -EINVAL with ERR
 * "InvalidParameterValue" for a name neither knows.
 */
int nube_api_filter_fields(const NubeApiRequest *req, const NubeApiFilterField *fields,
                           const void *item, const GPtrArray *tags, const NubeFilter *f,
                           gboolean *match, NubeError **err);

/* Whether the filter F matches ITEM (in *MATCH), by
 * nube_api_filter_fields() on the resource's table: 0, or -EINVAL with ERR
 * for a filter the resource does not have. */
typedef int (*NubeApiFilterFn)(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                               gboolean *match, NubeError **err);

/* Keeps in ITEMS those that every filter of the request's Filter.N matches
 * (and, if KEEP is not NULL, that KEEP accepts).  0 or -EINVAL with ERR. */
int nube_api_filter_items(const NubeApiRequest *req, GPtrArray *items, NubeApiFilterFn match,
                          gboolean (*keep)(const NubeApiRequest *req, const void *item),
                          NubeError **err);

/* Tags of TagSpecification.N whose ResourceType is TYPE; specifications for
 * the other ALLOWED types are accepted and ignored, any other type is
 * refused.  A new NubeTag array, NULL with ERR. */
GPtrArray *nube_api_tag_specs(const NubeApiRequest *req, const char *type,
                              const char *const *allowed, NubeError **err);

/* Largest user data (decoded), as EC2. */
#define NUBE_USER_DATA_MAX 16384

/* User data sent base64-encoded (RunInstances UserData,
 * ModifyInstanceAttribute UserData.Value): the decoded bytes (new), or NULL
 * with ERR "InvalidParameterValue" when B64 is not base64 or decodes to more
 * than NUBE_USER_DATA_MAX bytes.  B64 must not be NULL. */
GBytes *nube_api_user_data(const char *b64, NubeError **err);

/* Handlers (one file per resource). */
int nube_api_describe_images(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_create_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_deregister_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_build_default_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_import_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_run_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_start_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_stop_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_reboot_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_terminate_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_get_console_output(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_instance_types(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_regions(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_availability_zones(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_add_packages(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_volumes(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_delete_volume(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_host(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_instance_status(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_modify_instance_metadata_options(NubeApiRequest *req, xmlNodePtr resp,
                                              NubeError **err);
int nube_api_create_key_pair(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_import_key_pair(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_key_pairs(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_delete_key_pair(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_create_security_group(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_security_groups(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_delete_security_group(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_authorize_security_group_ingress(NubeApiRequest *req, xmlNodePtr resp,
                                              NubeError **err);
int nube_api_revoke_security_group_ingress(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);

/*
 * The requester's security groups named by ID_PREFIX.N (ids, checked for
 * form) and NAME_PREFIX.N (names), in that order, all of which must exist
 * ("InvalidGroupId.Malformed", "InvalidGroup.NotFound"); empty when
 * neither is given.  Makes the requester's default group first if needed.
 * A new array of NubeSecGroup, NULL with ERR.
 */
GPtrArray *nube_api_security_groups(const NubeApiRequest *req, const char *id_prefix,
                                    const char *name_prefix, NubeError **err);
int nube_api_create_tags(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_delete_tags(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_tags(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_describe_instance_attribute(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);
int nube_api_modify_instance_attribute(NubeApiRequest *req, xmlNodePtr resp, NubeError **err);

/* Renderers, shared by actions and golden tests. */
void nube_api_render_instance(xmlNodePtr item, const char *region, const NubeInstance *inst);
/* STATE as element NAME of PARENT: its code and name. */
void nube_api_render_state(xmlNodePtr parent, const char *name, NubeInstanceState state);
/* The agent's report on INST (nubeAgent, nubeUserData). */
void nube_api_render_agent(xmlNodePtr item, const NubeInstance *inst);
/* What the user data of INST did: none, pending, unknown, running,
 * succeeded, failed. */
const char *nube_api_userdata_state(const NubeInstance *inst);
void nube_api_render_image(xmlNodePtr item, const NubeImage *img);
