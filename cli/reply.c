/*
 * reply.c: nubed's XML answers (see reply.h).
 */
#include "reply.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

struct NubeCliReply {
    xmlDoc *doc;
    xmlXPathContext *xpath;
};

typedef xmlXPathObject NubeXPathObject;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeXPathObject, xmlXPathFreeObject)

NubeCliReply *nube_cli_reply_parse(const char *data, size_t len, NubeError **err)
{
    if (len > G_MAXINT) {
        nube_error_set(err, EMSGSIZE, "answer of %zu bytes is too large", len);
        return NULL;
    }
    xmlDoc *doc = xmlReadMemory(data, (int) len, "answer.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
        xmlFreeDoc(doc);
        nube_error_set(err, EPROTO, "answer is not XML");
        return NULL;
    }
    NubeCliReply *reply = g_new0(NubeCliReply, 1);
    reply->doc = doc;
    reply->xpath = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(reply->xpath, BAD_CAST "ec2", BAD_CAST NUBE_CLI_EC2_NS);
    return reply;
}

void nube_cli_reply_free(NubeCliReply *reply)
{
    if (reply == NULL)
        return;
    xmlXPathFreeContext(reply->xpath);
    xmlFreeDoc(reply->doc);
    g_free(reply);
}

static NubeXPathObject *reply_eval(NubeCliReply *reply, xmlNode *at, const char *xpath)
{
    reply->xpath->node = at ? at : xmlDocGetRootElement(reply->doc);
    return xmlXPathEvalExpression(BAD_CAST xpath, reply->xpath);
}

GPtrArray *nube_cli_reply_nodes(NubeCliReply *reply, xmlNode *at, const char *xpath)
{
    GPtrArray *nodes = g_ptr_array_new();
    g_autoptr(NubeXPathObject) obj = reply_eval(reply, at, xpath);
    if (obj == NULL || obj->type != XPATH_NODESET || obj->nodesetval == NULL)
        return nodes;
    for (int i = 0; i < obj->nodesetval->nodeNr; i++) {
        xmlNode *node = obj->nodesetval->nodeTab[i];
        if (node->type == XML_ELEMENT_NODE)
            g_ptr_array_add(nodes, node);
    }
    return nodes;
}

char *nube_cli_reply_text(NubeCliReply *reply, xmlNode *at, const char *xpath)
{
    g_autoptr(NubeXPathObject) obj = reply_eval(reply, at, xpath);
    if (obj == NULL || obj->type != XPATH_NODESET || obj->nodesetval == NULL ||
        obj->nodesetval->nodeNr == 0)
        return NULL;
    xmlChar *content = xmlNodeGetContent(obj->nodesetval->nodeTab[0]);
    char *text = g_strdup((const char *) content);
    xmlFree(content);
    return text;
}

int nube_cli_reply_error(NubeCliReply *reply, NubeError **err)
{
    static const char error_path[] =
        "/*[local-name()='Response']/*[local-name()='Errors']/*[local-name()='Error']";
    g_autoptr(GPtrArray) errors = nube_cli_reply_nodes(reply, NULL, error_path);
    if (errors->len == 0)
        return 0;

    xmlNode *first = errors->pdata[0];
    g_autofree char *code = nube_cli_reply_text(reply, first, "*[local-name()='Code']");
    g_autofree char *message = nube_cli_reply_text(reply, first, "*[local-name()='Message']");
    return nube_error_setc(err, EIO, code ? code : "InternalError", "%s",
                           message ? message : "(no message)");
}

static void set_field(NubeCliReply *reply, JsonObject *obj, xmlNode *at,
                      const NubeCliReplyField *field)
{
    g_autofree char *text = nube_cli_reply_text(reply, at, field->xpath);
    gint64 value;

    if (text == NULL)
        return;
    switch (field->type) {
    case NUBE_CLI_FIELD_STRING:
        json_object_set_string_member(obj, field->member, text);
        break;
    case NUBE_CLI_FIELD_INT:
        if (g_ascii_string_to_signed(g_strstrip(text), 10, G_MININT64, G_MAXINT64, &value, NULL))
            json_object_set_int_member(obj, field->member, value);
        break;
    case NUBE_CLI_FIELD_BOOL:
        json_object_set_boolean_member(obj, field->member,
                                       g_ascii_strcasecmp(g_strstrip(text), "true") == 0);
        break;
    }
}

void nube_cli_reply_set_fields(NubeCliReply *reply, JsonObject *obj, xmlNode *at,
                               const NubeCliReplyField *fields)
{
    for (size_t i = 0; fields[i].member != NULL; i++)
        set_field(reply, obj, at, &fields[i]);
}

void nube_cli_reply_set_object(NubeCliReply *reply, JsonObject *obj, const char *member,
                               xmlNode *at, const char *xpath, const NubeCliReplyField *fields)
{
    g_autoptr(GPtrArray) nodes = nube_cli_reply_nodes(reply, at, xpath);
    if (nodes->len == 0)
        return;
    JsonObject *child = json_object_new();
    nube_cli_reply_set_fields(reply, child, nodes->pdata[0], fields);
    json_object_set_object_member(obj, member, child);
}

void nube_cli_reply_set_array(NubeCliReply *reply, JsonObject *obj, const char *member, xmlNode *at,
                              const char *xpath, const NubeCliReplyField *fields)
{
    g_autoptr(GPtrArray) nodes = nube_cli_reply_nodes(reply, at, xpath);
    JsonArray *array = json_array_sized_new(nodes->len);

    for (guint i = 0; i < nodes->len; i++) {
        JsonObject *child = json_object_new();
        nube_cli_reply_set_fields(reply, child, nodes->pdata[i], fields);
        json_array_add_object_element(array, child);
    }
    json_object_set_array_member(obj, member, array);
}
