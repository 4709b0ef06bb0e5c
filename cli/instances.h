/*
 * instances.h: instances as nube shows them: EC2 instance elements turned
 * into JSON objects with AWS CLI member names (InstanceId, State.Name,
 * Tags[].Key, KeyName, SecurityGroups[].GroupId, …) plus
 * NubePortForwards[] {Protocol, HostIp, HostPort, GuestPort}, NubeAgent
 * {Version, BootId, …} and NubeUserData {State, Runner, Duration,
 * ExitCode, Error, LogTail}.
 */
#pragma once

#include "client.h"

#include <json-glib/json-glib.h>

/* The instance element ITEM of REPLY as a new JSON object (caller unrefs). */
JsonObject *nube_cli_instance_from_node(NubeCliReply *reply, xmlNode *item);

/* The instances of a RunInstances answer (instancesSet/item), new array. */
JsonArray *nube_cli_instances_from_run(NubeCliReply *reply);

/*
 * DescribeInstances for IDS (NULL or empty: all), following nextToken.
 * Returns a new array of instance objects, or NULL with ERR set.
 */
JsonArray *nube_cli_instances_describe(NubeCliClient *client, const char *const *ids,
                                       NubeError **err);

/*
 * DescribeInstances for ID alone.  Returns a new object, or NULL with ERR
 * set (InvalidInstanceID.NotFound when the answer has no such instance).
 */
JsonObject *nube_cli_instance_describe(NubeCliClient *client, const char *id, NubeError **err);

/* The instance's Name tag (new string), or NULL. */
char *nube_cli_instance_name(JsonObject *instance);

/* "HOST:PORT" of the port forwarded to the guest's SSH port 22 (new
 * string), or NULL. */
char *nube_cli_instance_ssh(JsonObject *instance);

/* Every forwarded port as "tcp 127.0.0.1:2222->22", comma-separated (new
 * string), or NULL when there are none. */
char *nube_cli_instance_ports(JsonObject *instance);

/* Every security group as "NAME (ID)", comma-separated (new string), or
 * NULL. */
char *nube_cli_instance_groups(JsonObject *instance);

/* Every tag as "K=V", comma-separated (new string), or NULL. */
char *nube_cli_instance_tags(JsonObject *instance);

/* The guest agent's report as one line ("nube-agent 0.1.0, boot complete
 * (running), last heard …"), new string. */
char *nube_cli_instance_agent_text(JsonObject *instance);

/* What the user data did ("succeeded (run by cloud-init) in 41.2 s"), new
 * string, or NULL. */
char *nube_cli_instance_userdata_text(JsonObject *instance);
