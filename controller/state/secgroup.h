/*
 * secgroup.h: security group records, their ingress rules and the groups
 * of each instance.  Every account has a group "default" (made on first
 * use) with one rule, TCP 22 from 0.0.0.0/0; instances launched without a
 * group join it.
 *
 * With user-mode networking a rule opens TCP ports only: each port a rule
 * of an instance's groups opens is forwarded from a free port on
 * 127.0.0.1 to the guest (forwards.h).  The CIDR is checked and shown but
 * cannot narrow anything: the forwards listen on 127.0.0.1 only.
 */
#pragma once

#include "db.h"

#define NUBE_SECGROUP_DEFAULT "default"
/* EC2's default quota of inbound rules per group. */
#define NUBE_SECGROUP_MAX_RULES 60
/* Ports one rule may open (each is one forward). */
#define NUBE_SECGROUP_MAX_RANGE 64
/* Groups per instance (EC2: per network interface). */
#define NUBE_SECGROUP_MAX_PER_INSTANCE 5

typedef struct {
    char *id; /* sgr-… */
    char *group_id;
    char *protocol; /* "tcp" */
    gint64 from_port;
    gint64 to_port;
    char *cidr;        /* IPv4 CIDR, host bits zero */
    char *description; /* may be NULL */
} NubeSgRule;

typedef struct {
    char *id; /* sg-… */
    char *owner_id;
    char *name;
    char *description;
    char *vpc_id; /* as given at creation, may be NULL */
    gint64 created_at;
    GPtrArray *rules; /* NubeSgRule by protocol, ports, CIDR; filled by get/list */
    GPtrArray *tags;  /* NubeTag; filled by get/list */
} NubeSecGroup;

void nube_sg_rule_free(NubeSgRule *rule);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeSgRule, nube_sg_rule_free)
void nube_secgroup_free(NubeSecGroup *sg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeSecGroup, nube_secgroup_free)

/* Makes OWNER's default group if it does not exist.  0 or -errno. */
int nube_secgroup_ensure_default(NubeDb *db, const char *owner, NubeError **err);

/* Inserts SG (no rules) with TAGS (may be NULL), atomically.  A name the
 * owner already uses gives "InvalidGroup.Duplicate". */
int nube_secgroup_insert(NubeDb *db, const NubeSecGroup *sg, const GPtrArray *tags,
                         NubeError **err);

/* OWNER's group ID / NAME, NULL with "InvalidGroup.NotFound" if none. */
NubeSecGroup *nube_secgroup_get(NubeDb *db, const char *owner, const char *id, NubeError **err);
NubeSecGroup *nube_secgroup_by_name(NubeDb *db, const char *owner, const char *name,
                                    NubeError **err);

/* OWNER's groups by name (array of NubeSecGroup), NULL with ERR. */
GPtrArray *nube_secgroup_list(NubeDb *db, const char *owner, NubeError **err);

/*
 * Deletes SG with its rules and tags, and forgets it on terminated
 * instances.  Refused with "CannotDelete" for the default group and
 * "DependencyViolation" while an instance that is not terminated uses it
 * (checked in the same transaction).  0 or -errno with ERR.
 */
int nube_secgroup_delete(NubeDb *db, const NubeSecGroup *sg, NubeError **err);

/*
 * Adds RULES (NubeSgRule; ids are made for those without one) to GROUP_ID,
 * all or none: a rule the group already has (or one given twice) gives
 * "InvalidPermission.Duplicate", going over NUBE_SECGROUP_MAX_RULES
 * "RulesPerSecurityGroupLimitExceeded".  0 or -errno with ERR.
 */
int nube_secgroup_add_rules(NubeDb *db, const char *group_id, GPtrArray *rules, NubeError **err);

/* Removes RULES (matched by protocol, ports and CIDR) from GROUP_ID, all or
 * none: one the group lacks gives "InvalidPermission.NotFound". */
int nube_secgroup_remove_rules(NubeDb *db, const char *group_id, const GPtrArray *rules,
                               NubeError **err);

/* Ids (new strings) of the instances that are not terminated and use
 * GROUP_ID, NULL with ERR. */
GPtrArray *nube_secgroup_instances(NubeDb *db, const char *group_id, NubeError **err);

/* The TCP ports (guint16, ascending, distinct) opened by the rules of the
 * groups GROUP_IDS (NULL-terminated).  NULL with ERR. */
GArray *nube_secgroup_ports(NubeDb *db, const char *const *group_ids, NubeError **err);

/* The same for the groups of INSTANCE_ID. */
GArray *nube_secgroup_instance_ports(NubeDb *db, const char *instance_id, NubeError **err);

/* The groups of INSTANCE_ID in launch order (NubeSecGroup with id and
 * name only), NULL with ERR. */
GPtrArray *nube_secgroup_of_instance(NubeDb *db, const char *instance_id, NubeError **err);
