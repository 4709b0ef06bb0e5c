/*
 * xml.c: EC2 XML answers (see xml.h).
 */
#include "xml.h"
#include "tags.h"

xmlNodePtr nube_xml_response_new(const char *action, const char *request_id, xmlDocPtr *doc)
{
    g_autofree char *root_name = g_strconcat(action, "Response", NULL);
    *doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(*doc, NULL, BAD_CAST root_name, NULL);
    xmlDocSetRootElement(*doc, root);
    xmlSetNs(root, xmlNewNs(root, BAD_CAST NUBE_EC2_XMLNS, NULL));
    nube_xml_add(root, "requestId", request_id);
    return root;
}

xmlNodePtr nube_xml_add(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST text);
}

xmlNodePtr nube_xml_add_int(xmlNodePtr parent, const char *name, gint64 value)
{
    g_autofree char *text = g_strdup_printf("%" G_GINT64_FORMAT, value);
    return nube_xml_add(parent, name, text);
}

xmlNodePtr nube_xml_add_bool(xmlNodePtr parent, const char *name, gboolean value)
{
    return nube_xml_add(parent, name, value ? "true" : "false");
}

char *nube_xml_time(gint64 unix_secs)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(unix_secs);
    return g_date_time_format(t, "%Y-%m-%dT%H:%M:%S.000Z");
}

xmlNodePtr nube_xml_add_time(xmlNodePtr parent, const char *name, gint64 unix_secs)
{
    g_autofree char *text = nube_xml_time(unix_secs);
    return nube_xml_add(parent, name, text);
}

xmlNodePtr nube_xml_add_tags(xmlNodePtr parent, const GPtrArray *tags)
{
    xmlNodePtr set = nube_xml_add(parent, "tagSet", NULL);
    for (guint i = 0; tags != NULL && i < tags->len; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        xmlNodePtr item = nube_xml_add(set, "item", NULL);
        nube_xml_add(item, "key", t->key);
        nube_xml_add(item, "value", t->value);
    }
    return set;
}

xmlChar *nube_xml_serialize(xmlDocPtr doc, int *len)
{
    xmlChar *out = NULL;
    xmlDocDumpFormatMemoryEnc(doc, &out, len, "UTF-8", 1);
    return out;
}

char *nube_xml_error(const char *code, const char *message, const char *request_id, int *len)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(doc, NULL, BAD_CAST "Response", NULL);
    xmlDocSetRootElement(doc, root);
    xmlNodePtr error = nube_xml_add(nube_xml_add(root, "Errors", NULL), "Error", NULL);
    nube_xml_add(error, "Code", code);
    nube_xml_add(error, "Message", message);
    nube_xml_add(root, "RequestID", request_id);

    xmlChar *text = nube_xml_serialize(doc, len);
    char *out = g_strndup((const char *) text, *len);
    xmlFree(text);
    xmlFreeDoc(doc);
    return out;
}
