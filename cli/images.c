/*
 * images.c: EC2 image elements as JSON, and waiting for a build (see
 * images.h).
 */
#include "images.h"

#include "describe.h"
#include "output.h"

#include <stdio.h>

#define POLL_INTERVAL_S 2

static const NubeCliReplyField image_fields[] = {
    { "ImageId", "ec2:imageId", NUBE_CLI_FIELD_STRING },
    { "Name", "ec2:name", NUBE_CLI_FIELD_STRING },
    { "Description", "ec2:description", NUBE_CLI_FIELD_STRING },
    { "State", "ec2:imageState", NUBE_CLI_FIELD_STRING },
    { "RootDeviceType", "ec2:rootDeviceType", NUBE_CLI_FIELD_STRING },
    { "RootDeviceName", "ec2:rootDeviceName", NUBE_CLI_FIELD_STRING },
    { "CreationDate", "ec2:creationDate", NUBE_CLI_FIELD_STRING },
    { "Architecture", "ec2:architecture", NUBE_CLI_FIELD_STRING },
    { "ImageType", "ec2:imageType", NUBE_CLI_FIELD_STRING },
    { "OwnerId", "ec2:imageOwnerId", NUBE_CLI_FIELD_STRING },
    { "NubeVirtualSize", "ec2:nubeVirtualSize", NUBE_CLI_FIELD_INT },
    { "NubeSource", "ec2:nubeSource", NUBE_CLI_FIELD_STRING },
    { "NubeBaseSha256", "ec2:nubeBaseSha256", NUBE_CLI_FIELD_STRING },
    { "NubeHasAgent", "ec2:nubeHasAgent", NUBE_CLI_FIELD_BOOL },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField reason_fields[] = {
    { "Code", "ec2:code", NUBE_CLI_FIELD_STRING },
    { "Message", "ec2:message", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

JsonObject *nube_cli_image_from_node(NubeCliReply *reply, xmlNode *item)
{
    JsonObject *obj = json_object_new();
    nube_cli_reply_set_fields(reply, obj, item, image_fields);
    nube_cli_reply_set_object(reply, obj, "StateReason", item, "ec2:stateReason", reason_fields);
    return obj;
}

JsonArray *nube_cli_images_describe(NubeCliClient *client, const char *const *ids, NubeError **err)
{
    return nube_cli_describe_all(client, "DescribeImages", "ImageId", ids, "ec2:imagesSet/ec2:item",
                                 nube_cli_image_from_node, err);
}

JsonObject *nube_cli_image_describe(NubeCliClient *client, const char *id, NubeError **err)
{
    const char *const ids[] = { id, NULL };
    g_autoptr(JsonArray) found = nube_cli_images_describe(client, ids, err);
    if (found == NULL)
        return NULL;
    return nube_cli_describe_find(found, "ImageId", id, "InvalidAMIID.NotFound", err);
}

/* Prints IMAGE's progress message if it differs from *LAST.  nubed's
 * messages carry the build's time ("[ 35s] …"); others get the wait's. */
static void progress_print(JsonObject *image, gint64 start, char **last)
{
    g_autofree char *message = nube_cli_json_lookup(image, "StateReason.Message");
    if (message == NULL || g_strcmp0(message, *last) == 0)
        return;
    if (message[0] == '[') {
        fprintf(stderr, "%s\n", message);
    } else {
        gint64 elapsed = (g_get_monotonic_time() - start) / G_USEC_PER_SEC;
        fprintf(stderr, "[%3" G_GINT64_FORMAT "s] %s\n", elapsed, message);
    }
    g_free(*last);
    *last = g_steal_pointer(&message);
}

static int image_failed(JsonObject *image, const char *id, const char *state, NubeError **err)
{
    g_autofree char *code = nube_cli_json_lookup(image, "StateReason.Code");
    g_autofree char *message = nube_cli_json_lookup(image, "StateReason.Message");
    g_autofree char *what =
        g_strcmp0(state, "failed") == 0 ? g_strdup("failed") : g_strdup_printf("is %s", state);
    return nube_error_setc(err, EIO, code, "image '%s' %s%s%s", id, what, message ? ": " : "",
                           message ? message : "");
}

JsonObject *nube_cli_image_wait(NubeCliClient *client, const char *id, NubeError **err)
{
    gint64 start = g_get_monotonic_time();
    g_autofree char *last = NULL;

    for (;;) {
        g_autoptr(JsonObject) image = nube_cli_image_describe(client, id, err);
        if (image == NULL)
            return NULL;
        const char *state = json_object_get_string_member_with_default(image, "State", "");
        if (g_strcmp0(state, "available") == 0)
            return g_steal_pointer(&image);
        if (g_strcmp0(state, "pending") != 0) {
            image_failed(image, id, state, err);
            return NULL;
        }
        progress_print(image, start, &last);
        g_usleep(POLL_INTERVAL_S * G_USEC_PER_SEC);
    }
}
