/*
 * secgroups.c: CreateSecurityGroup, DescribeSecurityGroups,
 * DeleteSecurityGroup, AuthorizeSecurityGroupIngress and
 * RevokeSecurityGroupIngress.  A rule change reaches the running guests of
 * the group at once (forwards.h).
 */
#include "api.h"
#include "xml.h"
#include "forwards.h"
#include "fsutil.h"
#include "secgroup.h"
#include "tags.h"

#include <string.h>

#define MAX_TEXT 255

/* ---- checks ----------------------------------------------------------------- */

/* EC2's characters for VPC group names and descriptions. */
static gboolean text_valid(const char *s)
{
    for (const char *p = s; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && strchr(" ._-:/()#,@[]+=&;{}!$*", *p) == NULL)
            return FALSE;
    return TRUE;
}

static int text_check(const char *what, const char *value, NubeError **err)
{
    if (strlen(value) > MAX_TEXT || !text_valid(value))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Invalid %s '%s': up to %d of a-z, A-Z, 0-9, spaces and "
                               "._-:/()#,@[]+=&;{}!$*",
                               what, g_utf8_validate(value, -1, NULL) ? value : "(not UTF-8)",
                               MAX_TEXT);
    return 0;
}

static int group_name_check(const char *name, NubeError **err)
{
    if (g_str_has_prefix(name, "sg-"))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Group names may not be in the format sg-*: '%s'.", name);
    return text_check("group name", name, err);
}

/* An octet or prefix: decimal without leading zeros, at most MAX. */
static gboolean parse_decimal(const char **p, guint max, guint *out)
{
    const char *s = *p;
    guint v = 0;
    size_t n = 0;
    while (g_ascii_isdigit(s[n]) && n < 3)
        v = v * 10 + (s[n++] - '0');
    if (n == 0 || (n > 1 && s[0] == '0') || v > max || g_ascii_isdigit(s[n]))
        return FALSE;
    *out = v;
    *p = s + n;
    return TRUE;
}

/* A.B.C.D/N with no host bits set, every number in its plain form. */
static gboolean cidr_valid(const char *cidr)
{
    const char *p = cidr;
    guint32 addr = 0;
    guint v = 0, prefix = 0;
    for (int i = 0; i < 4; i++) {
        if (!parse_decimal(&p, 255, &v) || *p++ != (i < 3 ? '.' : '/'))
            return FALSE;
        addr = addr << 8 | v;
    }
    if (!parse_decimal(&p, 32, &prefix) || *p != '\0')
        return FALSE;
    guint32 host = prefix == 32 ? 0 : 0xffffffffu >> prefix;
    return (addr & host) == 0;
}

/* "tcp" for TCP in any of EC2's spellings; an error for the rest. */
static int protocol_check(const char *proto, NubeError **err)
{
    static const char *const other[] = {
        "udp", "17", "icmp", "1", "icmpv6", "58", "-1", "all", NULL
    };
    g_autofree char *lower = g_ascii_strdown(proto, -1);
    if (g_str_equal(lower, "tcp") || g_str_equal(lower, "6"))
        return 0;
    if (g_strv_contains(other, lower))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Protocol '%s' is not supported: nube's user-mode networking "
                               "forwards TCP ports only.",
                               proto);
    return nube_error_setc(err, EINVAL, "InvalidParameterValue", "Invalid IP protocol '%s'.",
                           g_utf8_validate(proto, -1, NULL) ? proto : "(not UTF-8)");
}

/* ---- rules of a request --------------------------------------------------------- */

/* The port parameter KEY (1-65535).  0 or -EINVAL with ERR. */
static int port_param(const NubeApiRequest *req, const char *key, gint64 *out, NubeError **err)
{
    const char *v = nube_query_get(req->q, key);
    if (v == NULL)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Invalid value 'null' for %s: TCP rules need both FromPort and "
                               "ToPort.",
                               key);
    char *end = NULL;
    gint64 port = g_ascii_strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || port < 1 || port > 65535)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Invalid value '%s' for %s: a TCP port from 1 to 65535.", v, key);
    *out = port;
    return 0;
}

static int ports_check(gint64 from, gint64 to, NubeError **err)
{
    if (from > to)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Invalid TCP port range %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                               ": FromPort is larger than ToPort.",
                               from, to);
    if (to - from + 1 > NUBE_SECGROUP_MAX_RANGE)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "The TCP port range %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                               " opens more than %d ports (each is one forward).",
                               from, to, NUBE_SECGROUP_MAX_RANGE);
    return 0;
}

static NubeSgRule *new_rule(gint64 from, gint64 to, const char *cidr, const char *description)
{
    NubeSgRule *rule = g_new0(NubeSgRule, 1);
    rule->protocol = g_strdup("tcp");
    rule->from_port = from;
    rule->to_port = to;
    rule->cidr = g_strdup(cidr);
    rule->description = g_strdup(description);
    return rule;
}

/* Adds to RULES one rule per CIDR in IpPermissions.N.IpRanges.M. */
static int add_ranges(const NubeApiRequest *req, const char *prefix, gint64 from, gint64 to,
                      GPtrArray *rules, NubeError **err)
{
    g_autofree char *ranges = g_strconcat(prefix, "IpRanges", NULL);
    g_autoptr(GArray) idx = nube_query_indices(req->q, ranges);
    if (idx->len == 0)
        return nube_error_setc(err, EINVAL, "MissingParameter",
                               "The request must contain the parameter %s.N.CidrIp", ranges);
    for (guint j = 0; j < idx->len; j++) {
        guint m = g_array_index(idx, guint, j);
        g_autofree char *ck = g_strdup_printf("%s.%u.CidrIp", ranges, m);
        g_autofree char *dk = g_strdup_printf("%s.%u.Description", ranges, m);
        const char *cidr = nube_api_require(req, ck, err);
        const char *desc = nube_query_get(req->q, dk);
        if (cidr == NULL)
            return -EINVAL;
        if (!cidr_valid(cidr))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "CIDR block '%s' is malformed", cidr);
        if (desc != NULL && text_check("rule description", desc, err) < 0)
            return -EINVAL;
        g_ptr_array_add(rules, new_rule(from, to, cidr, desc));
    }
    return 0;
}

/* Sources nube cannot express: other groups, IPv6, prefix lists. */
static int other_sources(const NubeApiRequest *req, const char *prefix, NubeError **err)
{
    static const char *const names[] = { "Ipv6Ranges", "Groups", "PrefixListIds" };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *key = g_strconcat(prefix, names[i], NULL);
        g_autoptr(GArray) idx = nube_query_indices(req->q, key);
        if (idx->len > 0)
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "%s is not supported: nube's rules take IPv4 CIDRs "
                                   "(IpRanges) only.",
                                   key);
    }
    return 0;
}

/* The rules of IpPermissions.N. */
static int permission_rules(const NubeApiRequest *req, guint n, GPtrArray *rules, NubeError **err)
{
    g_autofree char *prefix = g_strdup_printf("IpPermissions.%u.", n);
    g_autofree char *pk = g_strconcat(prefix, "IpProtocol", NULL);
    g_autofree char *fk = g_strconcat(prefix, "FromPort", NULL);
    g_autofree char *tk = g_strconcat(prefix, "ToPort", NULL);
    const char *proto = nube_api_require(req, pk, err);
    gint64 from = 0, to = 0;
    if (proto == NULL || protocol_check(proto, err) < 0 || port_param(req, fk, &from, err) < 0 ||
        port_param(req, tk, &to, err) < 0 || ports_check(from, to, err) < 0 ||
        other_sources(req, prefix, err) < 0)
        return -EINVAL;
    return add_ranges(req, prefix, from, to, rules, err);
}

/* The legacy flat form IpProtocol, FromPort, ToPort, CidrIp. */
static int flat_rule(const NubeApiRequest *req, GPtrArray *rules, NubeError **err)
{
    const char *proto = nube_api_require(req, "IpProtocol", err);
    gint64 from = 0, to = 0;
    if (proto == NULL || protocol_check(proto, err) < 0 ||
        port_param(req, "FromPort", &from, err) < 0 || port_param(req, "ToPort", &to, err) < 0 ||
        ports_check(from, to, err) < 0)
        return -EINVAL;
    if (nube_query_get(req->q, "SourceSecurityGroupName") != NULL ||
        nube_query_get(req->q, "SourceSecurityGroupOwnerId") != NULL)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Source security groups are not supported: nube's rules take IPv4 "
                               "CIDRs only.");
    const char *cidr = nube_api_require(req, "CidrIp", err);
    if (cidr == NULL)
        return -EINVAL;
    if (!cidr_valid(cidr))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue", "CIDR block '%s' is malformed",
                               cidr);
    g_ptr_array_add(rules, new_rule(from, to, cidr, NULL));
    return 0;
}

/* Whether the request has rules in the flat form or as IpPermissions.N. */
static gboolean has_flat_rule(const NubeApiRequest *req)
{
    static const char *const flat[] = {
        "IpProtocol",
        "FromPort",
        "ToPort",
        "CidrIp",
        "SourceSecurityGroupName",
        "SourceSecurityGroupOwnerId",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(flat); i++)
        if (nube_query_get(req->q, flat[i]) != NULL)
            return TRUE;
    return FALSE;
}

static gboolean has_permissions(const NubeApiRequest *req)
{
    g_autoptr(GArray) idx = nube_query_indices(req->q, "IpPermissions");
    return idx->len > 0;
}

/* Every rule of the request, checked (NubeSgRule array), NULL with ERR.
 * Both forms at once are refused rather than one of them dropped. */
static GPtrArray *request_rules(const NubeApiRequest *req, NubeError **err)
{
    g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func((GDestroyNotify) nube_sg_rule_free);
    g_autoptr(GArray) idx = nube_query_indices(req->q, "IpPermissions");
    if (idx->len > 0 && has_flat_rule(req)) {
        nube_error_setc(err, EINVAL, "InvalidParameterCombination",
                        "The parameter IpPermissions cannot be used with IpProtocol, FromPort, "
                        "ToPort, CidrIp or SourceSecurityGroup*");
        return NULL;
    }
    for (guint i = 0; i < idx->len; i++)
        if (permission_rules(req, g_array_index(idx, guint, i), rules, err) < 0)
            return NULL;
    if (idx->len == 0 && nube_query_get(req->q, "IpProtocol") == NULL) {
        nube_error_setc(err, EINVAL, "MissingParameter",
                        "The request must contain the parameter IpPermissions");
        return NULL;
    }
    if (idx->len == 0 && flat_rule(req, rules, err) < 0)
        return NULL;
    return g_steal_pointer(&rules);
}

/* ---- groups of a request ------------------------------------------------------- */

/* GroupId or GroupName: the requester's group (its default one made
 * first if needed).  NULL with ERR. */
static NubeSecGroup *request_group(const NubeApiRequest *req, NubeError **err)
{
    const char *id = nube_query_get(req->q, "GroupId");
    const char *name = nube_query_get(req->q, "GroupName");
    if (nube_secgroup_ensure_default(req->cloud->db, req->account->id, err) < 0)
        return NULL;
    if (id != NULL && *id != '\0')
        return nube_resource_id_check(NUBE_RESOURCE_SECURITY_GROUP, id, err) < 0
                   ? NULL
                   : nube_secgroup_get(req->cloud->db, req->account->id, id, err);
    if (name != NULL && *name != '\0')
        return nube_secgroup_by_name(req->cloud->db, req->account->id, name, err);
    nube_error_setc(err, EINVAL, "MissingParameter",
                    "The request must contain the parameter GroupId or GroupName");
    return NULL;
}

GPtrArray *nube_api_security_groups(const NubeApiRequest *req, const char *id_prefix,
                                    const char *name_prefix, NubeError **err)
{
    g_autofree const char **ids = nube_query_list(req->q, id_prefix);
    g_autofree const char **names = nube_query_list(req->q, name_prefix);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) nube_secgroup_free);
    if (nube_secgroup_ensure_default(req->cloud->db, req->account->id, err) < 0)
        return NULL;
    for (size_t i = 0; ids[i] != NULL; i++) {
        NubeSecGroup *sg = nube_resource_id_check(NUBE_RESOURCE_SECURITY_GROUP, ids[i], err) < 0
                               ? NULL
                               : nube_secgroup_get(req->cloud->db, req->account->id, ids[i], err);
        if (sg == NULL)
            return NULL;
        g_ptr_array_add(out, sg);
    }
    for (size_t i = 0; names[i] != NULL; i++) {
        NubeSecGroup *sg = nube_secgroup_by_name(req->cloud->db, req->account->id, names[i], err);
        if (sg == NULL)
            return NULL;
        g_ptr_array_add(out, sg);
    }
    return g_steal_pointer(&out);
}

/* ---- CreateSecurityGroup / DeleteSecurityGroup ------------------------------ */

static int vpc_check(const char *vpc, NubeError **err)
{
    if (vpc != NULL && !nube_id_valid(vpc, "vpc"))
        return nube_error_setc(err, EINVAL, "InvalidVpcID.Malformed", "Invalid id: \"%s\"", vpc);
    return 0;
}

int nube_api_create_security_group(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    static const char *const allowed[] = { "security-group", NULL };
    const char *name = nube_api_require(req, "GroupName", err);
    const char *desc = name ? nube_api_require(req, "GroupDescription", err) : NULL;
    const char *vpc = nube_query_get(req->q, "VpcId");
    if (desc == NULL || group_name_check(name, err) < 0 ||
        text_check("group description", desc, err) < 0 || vpc_check(vpc, err) < 0)
        return -EINVAL;
    g_autoptr(GPtrArray) tags = nube_api_tag_specs(req, "security-group", allowed, err);
    if (tags == NULL || nube_secgroup_ensure_default(req->cloud->db, req->account->id, err) < 0)
        return -EINVAL;

    g_autofree char *id = nube_id_new("sg");
    NubeSecGroup sg = {
        .id = id,
        .owner_id = req->account->id,
        .name = (char *) name,
        .description = (char *) desc,
        .vpc_id = (char *) vpc,
        .created_at = g_get_real_time() / G_USEC_PER_SEC,
    };
    if (nube_secgroup_insert(req->cloud->db, &sg, tags, err) < 0)
        return -EEXIST;
    nube_xml_add_bool(resp, "return", TRUE);
    nube_xml_add(resp, "groupId", id);
    if (tags->len > 0)
        nube_xml_add_tags(resp, tags);
    return 0;
}

int nube_api_delete_security_group(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(NubeSecGroup) sg = request_group(req, err);
    if (sg == NULL || nube_secgroup_delete(req->cloud->db, sg, err) < 0)
        return -EINVAL;
    nube_xml_add_bool(resp, "return", TRUE);
    nube_xml_add(resp, "groupId", sg->id);
    return 0;
}

/* ---- DescribeSecurityGroups --------------------------------------------------- */

/* Values of the ip-permission.* filters: one per rule of the group. */

static char *rule_from_port(const NubeSgRule *rule)
{
    return g_strdup_printf("%" G_GINT64_FORMAT, rule->from_port);
}

static char *rule_to_port(const NubeSgRule *rule)
{
    return g_strdup_printf("%" G_GINT64_FORMAT, rule->to_port);
}

static char *rule_protocol(const NubeSgRule *rule)
{
    return g_strdup(rule->protocol);
}

static char *rule_cidr(const NubeSgRule *rule)
{
    return g_strdup(rule->cidr);
}

/* Adds VALUE of each rule of the group ITEM to VALUES. */
static void rule_values(const void *item, char *(*value)(const NubeSgRule *rule), GPtrArray *values)
{
    const NubeSecGroup *sg = item;
    for (guint i = 0; i < sg->rules->len; i++)
        g_ptr_array_add(values, value(sg->rules->pdata[i]));
}

static void field_from_ports(const NubeApiRequest *req, const void *item, GPtrArray *values)
{
    rule_values(item, rule_from_port, values);
}

static void field_to_ports(const NubeApiRequest *req, const void *item, GPtrArray *values)
{
    rule_values(item, rule_to_port, values);
}

static void field_protocols(const NubeApiRequest *req, const void *item, GPtrArray *values)
{
    rule_values(item, rule_protocol, values);
}

static void field_cidrs(const NubeApiRequest *req, const void *item, GPtrArray *values)
{
    rule_values(item, rule_cidr, values);
}

static const NubeApiFilterField group_filters[] = {
    NUBE_FILTER_MEMBER("group-id", NubeSecGroup, id),
    NUBE_FILTER_MEMBER("group-name", NubeSecGroup, name),
    NUBE_FILTER_MEMBER("description", NubeSecGroup, description),
    NUBE_FILTER_MEMBER("owner-id", NubeSecGroup, owner_id),
    NUBE_FILTER_MEMBER("vpc-id", NubeSecGroup, vpc_id),
    NUBE_FILTER_VALUES("ip-permission.from-port", field_from_ports),
    NUBE_FILTER_VALUES("ip-permission.to-port", field_to_ports),
    NUBE_FILTER_VALUES("ip-permission.protocol", field_protocols),
    NUBE_FILTER_VALUES("ip-permission.cidr", field_cidrs),
    NUBE_FILTER_END,
};

static int group_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                        gboolean *match, NubeError **err)
{
    const NubeSecGroup *sg = item;
    return nube_api_filter_fields(req, group_filters, sg, sg->tags, f, match, err);
}

static xmlNodePtr add_permission(xmlNodePtr set, const char *proto, gint64 from, gint64 to)
{
    xmlNodePtr item = nube_xml_add(set, "item", NULL);
    nube_xml_add(item, "ipProtocol", proto);
    if (from >= 0) {
        nube_xml_add_int(item, "fromPort", from);
        nube_xml_add_int(item, "toPort", to);
    }
    nube_xml_add(item, "groups", NULL);
    return item;
}

static void add_range(xmlNodePtr ranges, const char *cidr, const char *description)
{
    xmlNodePtr item = nube_xml_add(ranges, "item", NULL);
    nube_xml_add(item, "cidrIp", cidr);
    if (description != NULL)
        nube_xml_add(item, "description", description);
}

/* ipPermissions: one item per protocol and port range, with its CIDRs. */
static void render_permissions(xmlNodePtr item, const NubeSecGroup *sg)
{
    xmlNodePtr set = nube_xml_add(item, "ipPermissions", NULL);
    xmlNodePtr ranges = NULL;
    const NubeSgRule *prev = NULL;
    for (guint i = 0; i < sg->rules->len; i++) {
        const NubeSgRule *rule = sg->rules->pdata[i];
        if (prev == NULL || !g_str_equal(prev->protocol, rule->protocol) ||
            prev->from_port != rule->from_port || prev->to_port != rule->to_port) {
            xmlNodePtr perm = add_permission(set, rule->protocol, rule->from_port, rule->to_port);
            ranges = nube_xml_add(perm, "ipRanges", NULL);
            nube_xml_add(perm, "ipv6Ranges", NULL);
            nube_xml_add(perm, "prefixListIds", NULL);
        }
        add_range(ranges, rule->cidr, rule->description);
        prev = rule;
    }
}

/* Guests reach everything through user-mode networking: EC2's default
 * egress rule says so. */
static void render_egress(xmlNodePtr item)
{
    xmlNodePtr set = nube_xml_add(item, "ipPermissionsEgress", NULL);
    xmlNodePtr perm = add_permission(set, "-1", -1, -1);
    add_range(nube_xml_add(perm, "ipRanges", NULL), "0.0.0.0/0", NULL);
    nube_xml_add(perm, "ipv6Ranges", NULL);
    nube_xml_add(perm, "prefixListIds", NULL);
}

static void render_group(xmlNodePtr item, const NubeSecGroup *sg)
{
    nube_xml_add(item, "ownerId", sg->owner_id);
    nube_xml_add(item, "groupId", sg->id);
    nube_xml_add(item, "groupName", sg->name);
    nube_xml_add(item, "groupDescription", sg->description);
    if (sg->vpc_id != NULL)
        nube_xml_add(item, "vpcId", sg->vpc_id);
    render_permissions(item, sg);
    render_egress(item);
    nube_xml_add_tags(item, sg->tags);
}

int nube_api_describe_security_groups(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(GPtrArray) all = nube_api_security_groups(req, "GroupId", "GroupName", err);
    if (all == NULL)
        return -EINVAL;
    if (all->len == 0) {
        g_ptr_array_unref(all);
        if ((all = nube_secgroup_list(req->cloud->db, req->account->id, err)) == NULL)
            return -EIO;
    }
    if (nube_api_filter_items(req, all, group_filter, NULL, err) < 0)
        return -EINVAL;
    guint start = 0, end = 0;
    g_autofree char *next = NULL;
    if (nube_api_page(req, 5, 1000, all->len, &start, &end, &next, err) < 0)
        return -EINVAL;
    xmlNodePtr set = nube_xml_add(resp, "securityGroupInfo", NULL);
    for (guint i = start; i < end; i++)
        render_group(nube_xml_add(set, "item", NULL), all->pdata[i]);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}

/* ---- Authorize / Revoke ------------------------------------------------------- */

static void render_rules(xmlNodePtr resp, const NubeSecGroup *sg, const GPtrArray *rules)
{
    xmlNodePtr set = nube_xml_add(resp, "securityGroupRuleSet", NULL);
    for (guint i = 0; i < rules->len; i++) {
        const NubeSgRule *rule = rules->pdata[i];
        xmlNodePtr item = nube_xml_add(set, "item", NULL);
        nube_xml_add(item, "securityGroupRuleId", rule->id);
        nube_xml_add(item, "groupId", sg->id);
        nube_xml_add(item, "groupOwnerId", sg->owner_id);
        nube_xml_add_bool(item, "isEgress", FALSE);
        nube_xml_add(item, "ipProtocol", rule->protocol);
        nube_xml_add_int(item, "fromPort", rule->from_port);
        nube_xml_add_int(item, "toPort", rule->to_port);
        nube_xml_add(item, "cidrIpv4", rule->cidr);
        if (rule->description != NULL)
            nube_xml_add(item, "description", rule->description);
    }
}

int nube_api_authorize_security_group_ingress(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(NubeSecGroup) sg = request_group(req, err);
    g_autoptr(GPtrArray) rules = sg ? request_rules(req, err) : NULL;
    if (rules == NULL || nube_secgroup_add_rules(req->cloud->db, sg->id, rules, err) < 0)
        return -EINVAL;
    nube_forwards_sync_group(req->cloud->db, req->cloud->hv, sg->id);
    nube_xml_add_bool(resp, "return", TRUE);
    render_rules(resp, sg, rules);
    return 0;
}

/* SecurityGroupRuleId.N: copies of those rules of SG.  NULL with ERR. */
static GPtrArray *rules_by_id(const NubeApiRequest *req, const NubeSecGroup *sg, const char **ids,
                              NubeError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) nube_sg_rule_free);
    for (size_t i = 0; ids[i] != NULL; i++) {
        const NubeSgRule *found = NULL;
        for (guint j = 0; j < sg->rules->len && found == NULL; j++)
            if (g_str_equal(((NubeSgRule *) sg->rules->pdata[j])->id, ids[i]))
                found = sg->rules->pdata[j];
        if (found == NULL) {
            nube_error_setc(err, ENOENT, "InvalidSecurityGroupRuleId.NotFound",
                            "The security group rule ID '%s' does not exist in '%s'", ids[i],
                            sg->id);
            return NULL;
        }
        g_ptr_array_add(out, new_rule(found->from_port, found->to_port, found->cidr, NULL));
    }
    return g_steal_pointer(&out);
}

int nube_api_revoke_security_group_ingress(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(NubeSecGroup) sg = request_group(req, err);
    if (sg == NULL)
        return -EINVAL;
    g_autofree const char **rule_ids = nube_query_list(req->q, "SecurityGroupRuleId");
    if (rule_ids[0] != NULL && (has_permissions(req) || has_flat_rule(req)))
        return nube_error_setc(err, EINVAL, "InvalidParameterCombination",
                               "The parameter SecurityGroupRuleId cannot be used with rules "
                               "(IpPermissions or IpProtocol)");
    g_autoptr(GPtrArray) rules =
        rule_ids[0] ? rules_by_id(req, sg, rule_ids, err) : request_rules(req, err);
    if (rules == NULL || nube_secgroup_remove_rules(req->cloud->db, sg->id, rules, err) < 0)
        return -EINVAL;
    nube_forwards_sync_group(req->cloud->db, req->cloud->hv, sg->id);
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}
