/*
 * reply.h: an XML answer of nubed, read with libxml2 and XPath.  Expressions
 * use the prefix "ec2" for http://ec2.amazonaws.com/doc/2016-11-15/ and are
 * evaluated relative to a node (the root element when NULL), e.g.
 * "ec2:reservationSet/ec2:item".  Error documents have no namespace and are
 * read with nube_cli_reply_error().
 */
#pragma once

#include "error.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libxml/tree.h>

#define NUBE_CLI_EC2_NS "http://ec2.amazonaws.com/doc/2016-11-15/"

typedef struct NubeCliReply NubeCliReply;

/*
 * Parses LEN bytes of DATA (no network access, no entity expansion).
 * Returns a new reply (free with nube_cli_reply_free()), or NULL with ERR set
 * when DATA is not XML.
 */
NubeCliReply *nube_cli_reply_parse(const char *data, size_t len, NubeError **err);
/* Frees REPLY and its document: nodes taken from it die with it. */
void nube_cli_reply_free(NubeCliReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCliReply, nube_cli_reply_free)

/*
 * The element nodes XPATH selects from AT (NULL: the root element), in
 * document order.  Returns a new array of nodes owned by REPLY (free the
 * array only); empty, never NULL.
 */
GPtrArray *nube_cli_reply_nodes(NubeCliReply *reply, xmlNode *at, const char *xpath);

/*
 * Text of the first node XPATH selects from AT.  Returns a new string, or
 * NULL when nothing is selected.
 */
char *nube_cli_reply_text(NubeCliReply *reply, xmlNode *at, const char *xpath);

/*
 * If REPLY is an EC2 error document (Response/Errors/Error), sets ERR to its
 * first error: code and message as sent, errnum EIO.  Returns -EIO then,
 * 0 when REPLY is no error document.
 */
int nube_cli_reply_error(NubeCliReply *reply, NubeError **err);

typedef enum {
    NUBE_CLI_FIELD_STRING,
    NUBE_CLI_FIELD_INT,  /* decimal integer; other text is skipped */
    NUBE_CLI_FIELD_BOOL, /* "true" or "false" */
} NubeCliFieldType;

/* A JSON member taken from the text an XPath expression selects. */
typedef struct {
    const char *member;
    const char *xpath;
    NubeCliFieldType type;
} NubeCliReplyField;

/* Sets OBJ's members from FIELDS (ended by a NULL member), selected from AT;
 * fields that select nothing are left out. */
void nube_cli_reply_set_fields(NubeCliReply *reply, JsonObject *obj, xmlNode *at,
                               const NubeCliReplyField *fields);

/* Sets OBJ's MEMBER to an object filled from FIELDS at the first node XPATH
 * selects from AT; nothing when XPATH selects nothing. */
void nube_cli_reply_set_object(NubeCliReply *reply, JsonObject *obj, const char *member,
                               xmlNode *at, const char *xpath, const NubeCliReplyField *fields);

/* Sets OBJ's MEMBER to an array with one object, filled from FIELDS, per
 * node XPATH selects from AT (an empty array when it selects none). */
void nube_cli_reply_set_array(NubeCliReply *reply, JsonObject *obj, const char *member, xmlNode *at,
                              const char *xpath, const NubeCliReplyField *fields);
