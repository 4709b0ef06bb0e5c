/*
 * images.h: AMIs as nube shows them: DescribeImages items as JSON objects
 * (ImageId, Name, State, RootDeviceType, CreationDate, StateReason.Message,
 * NubeVirtualSize in bytes, NubeSource, NubeBaseSha256, …), and waiting
 * for a new AMI.
 */
#pragma once

#include "client.h"

#include <json-glib/json-glib.h>

/* The image element ITEM of REPLY as a new JSON object (caller unrefs). */
JsonObject *nube_cli_image_from_node(NubeCliReply *reply, xmlNode *item);

/*
 * DescribeImages for IDS (NULL or empty: all), following nextToken.
 * Returns a new array of image objects, or NULL with ERR set.
 */
JsonArray *nube_cli_images_describe(NubeCliClient *client, const char *const *ids, NubeError **err);

/*
 * DescribeImages for ID alone.  Returns a new object, or NULL with ERR set
 * (InvalidAMIID.NotFound when the answer has no such image).
 */
JsonObject *nube_cli_image_describe(NubeCliClient *client, const char *id, NubeError **err);

/*
 * Polls ID every 2 s while it is pending, printing its progress messages
 * (stateReason/message, "[ 35s] message") on stderr when they change.
 * Returns the image object (new) once it is available, or NULL with ERR set
 * when it failed (code and message of its stateReason) or vanished.
 */
JsonObject *nube_cli_image_wait(NubeCliClient *client, const char *id, NubeError **err);
