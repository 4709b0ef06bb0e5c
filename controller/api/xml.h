/*
 * xml.h: EC2 XML answers, built with libxml2's tree API (text is always
 * escaped by libxml2, never concatenated into markup).
 */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

#define NUBE_EC2_XMLNS "http://ec2.amazonaws.com/doc/2016-11-15/"

/* A new document whose root is <ACTIONResponse xmlns=EC2> with a
 * <requestId>.  Returns the root; *DOC gets the document (caller frees). */
xmlNodePtr nube_xml_response_new(const char *action, const char *request_id, xmlDocPtr *doc);

/* Appends <NAME>TEXT</NAME> (TEXT NULL: an empty element) and returns it. */
xmlNodePtr nube_xml_add(xmlNodePtr parent, const char *name, const char *text);
xmlNodePtr nube_xml_add_int(xmlNodePtr parent, const char *name, gint64 value);
xmlNodePtr nube_xml_add_bool(xmlNodePtr parent, const char *name, gboolean value);

/* Unix seconds as EC2 writes times: 2026-11-27T07:00:54.000Z. */
xmlNodePtr nube_xml_add_time(xmlNodePtr parent, const char *name, gint64 unix_secs);
char *nube_xml_time(gint64 unix_secs);

/* <tagSet><item><key/><value/></item>…</tagSet> for TAGS (NubeTag). */
xmlNodePtr nube_xml_add_tags(xmlNodePtr parent, const GPtrArray *tags);

/* An EC2 error document <Response><Errors><Error><Code/><Message/>
 * </Error></Errors><RequestID/></Response> (caller frees). */
char *nube_xml_error(const char *code, const char *message, const char *request_id, int *len);

/* Serializes DOC (caller frees the result with xmlFree). */
xmlChar *nube_xml_serialize(xmlDocPtr doc, int *len);
