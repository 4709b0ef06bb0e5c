/*
 * cmd_keypair.c: nube keypair create | import | list | delete.
 */
#include "args.h"
#include "commands.h"
#include "describe.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* A public key file bigger than this is no OpenSSH public key. */
#define MAX_PUBLIC_KEY_FILE 16384

static const NubeCliReplyField keypair_fields[] = {
    { "KeyPairId", "ec2:keyPairId", NUBE_CLI_FIELD_STRING },
    { "KeyName", "ec2:keyName", NUBE_CLI_FIELD_STRING },
    { "KeyType", "ec2:keyType", NUBE_CLI_FIELD_STRING },
    { "KeyFingerprint", "ec2:keyFingerprint", NUBE_CLI_FIELD_STRING },
    { "CreateTime", "ec2:createTime", NUBE_CLI_FIELD_STRING },
    { "PublicKey", "ec2:publicKey", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField tag_fields[] = {
    { "Key", "ec2:key", NUBE_CLI_FIELD_STRING },
    { "Value", "ec2:value", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static char *cell_created(JsonObject *kp)
{
    return nube_cli_output_time(json_object_get_string_member_with_default(kp, "CreateTime", NULL));
}

static const NubeCliColumn keypair_columns[] = {
    { "ID", "KeyPairId", NULL },       { "NAME", "KeyName", NULL },
    { "TYPE", "KeyType", NULL },       { "FINGERPRINT", "KeyFingerprint", NULL },
    { "CREATED", NULL, cell_created }, { NULL, NULL, NULL },
};

static JsonObject *keypair_from_node(NubeCliReply *reply, xmlNode *item)
{
    JsonObject *obj = json_object_new();
    nube_cli_reply_set_fields(reply, obj, item, keypair_fields);
    nube_cli_reply_set_array(reply, obj, "Tags", item, "ec2:tagSet/ec2:item", tag_fields);
    return obj;
}

/* Prints what CreateKeyPair or ImportKeyPair answered (KEY_FILE: where
 * the private key went, or NULL). */
static void print_answer(NubeCli *cli, NubeCliReply *reply, const char *key_file)
{
    g_autoptr(JsonObject) obj = keypair_from_node(reply, NULL);
    if (key_file != NULL)
        json_object_set_string_member(obj, "KeyFile", key_file);
    if (cli->format == NUBE_CLI_OUTPUT_JSON)
        nube_cli_output_json_object(stdout, obj);
    else
        printf("%s\n", json_object_get_string_member_with_default(obj, "KeyPairId", "?"));
}

/* Opens PATH for a new private key: created with mode 0600, never over an
 * existing file.  The descriptor or -errno with ERR. */
static int open_key_file(const char *path, NubeError **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST)
        return nube_error_set(err, EEXIST, "'%s' exists: refusing to overwrite it", path);
    if (fd < 0)
        return nube_error_set(err, errno, "create '%s'", path);
    return fd;
}

static int write_key(int fd, const char *path, const char *pem, NubeError **err)
{
    size_t len = strlen(pem), done = 0;
    while (done < len) {
        ssize_t n = write(fd, pem + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nube_error_set(err, errno, "write '%s'", path);
        done += (size_t) n;
    }
    if (fsync(fd) < 0)
        return nube_error_set(err, errno, "sync '%s'", path);
    return 0;
}

/* Writes the keyMaterial of REPLY to FD (the file PATH) or, without a
 * file, to stdout in table output.  0 or -errno with ERR. */
static int save_private_key(NubeCli *cli, NubeCliReply *reply, int fd, const char *path,
                            NubeError **err)
{
    g_autofree char *pem = nube_cli_reply_text(reply, NULL, "ec2:keyMaterial");
    if (pem == NULL)
        return nube_error_set(err, EPROTO, "the answer to CreateKeyPair has no keyMaterial");
    if (fd >= 0)
        return write_key(fd, path, pem, err);
    if (cli->format == NUBE_CLI_OUTPUT_JSON) {
        g_autoptr(JsonObject) obj = keypair_from_node(reply, NULL);
        json_object_set_string_member(obj, "KeyMaterial", pem);
        nube_cli_output_json_object(stdout, obj);
    } else {
        fputs(pem, stdout);
    }
    return 0;
}

typedef struct {
    char *type;
    char *file;
} CreateOptions;

static void create_options_clear(CreateOptions *o)
{
    g_free(o->type);
    g_free(o->file);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CreateOptions, create_options_clear)

static int create_call(NubeCli *cli, const CreateOptions *o, const char *name, int fd,
                       NubeError **err)
{
    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "KeyName", name);
    nube_cli_params_add(params, "KeyType", o->type ? o->type : "ed25519");
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "CreateKeyPair", params, err);
    if (reply == NULL || save_private_key(cli, reply, fd, o->file, err) < 0)
        return -EIO;
    if (fd >= 0)
        print_answer(cli, reply, o->file);
    return 0;
}

static int create_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    g_auto(CreateOptions) o = { 0 };
    const GOptionEntry options[] = {
        { "type", 't', 0, G_OPTION_ARG_STRING, &o.type, "Key type (default: ed25519)",
          "ed25519|rsa" },
        { "file", 'f', 0, G_OPTION_ARG_FILENAME, &o.file,
          "Write the private key to FILE (mode 0600; an existing file is never overwritten)",
          "FILE" },
        G_OPTION_ENTRY_NULL
    };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    _cleanup_close_ int fd = -1;
    if (o.file != NULL && (fd = open_key_file(o.file, err)) < 0)
        return -EIO;
    r = create_call(cli, &o, argv[1], fd, err);
    if (r < 0 && fd >= 0)
        unlink(o.file);
    return r;
}

const NubeCliCommand nube_cli_cmd_keypair_create = {
    .name = "keypair create",
    .args = "NAME",
    .summary = "Make a key pair (the private key is shown once)",
    .description = "Makes key pair NAME (CreateKeyPair).  nubed keeps only the public key: the\n"
                   "private key is in the answer alone.  With --file it is written to FILE\n"
                   "(created with mode 0600; nube refuses an existing file, before asking\n"
                   "nubed) and the key pair's id is printed; without, the private key is\n"
                   "printed.  Ed25519 keys are in OpenSSH's format, RSA keys (2048 bits) are\n"
                   "PEM.  Example: nube keypair create mykey -f ~/.ssh/mykey\n",
    .min_args = 1,
    .max_args = 1,
    .run = create_run,
};

static int import_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    int r = nube_cli_args_parse(cli, cmd, NULL, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) gerr = NULL;
    if (!g_file_get_contents(argv[2], &text, &len, &gerr))
        return nube_error_set(err, EIO, "read '%s': %s", argv[2], gerr->message);
    if (len > MAX_PUBLIC_KEY_FILE)
        return nube_error_set(err, EFBIG, "'%s' is too large to be an OpenSSH public key", argv[2]);
    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    g_autofree char *b64 = g_base64_encode((const guchar *) text, len);
    nube_cli_params_add(params, "KeyName", argv[1]);
    nube_cli_params_add(params, "PublicKeyMaterial", b64);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "ImportKeyPair", params, err);
    if (reply == NULL)
        return -EIO;
    print_answer(cli, reply, NULL);
    return 0;
}

const NubeCliCommand nube_cli_cmd_keypair_import = {
    .name = "keypair import",
    .args = "NAME FILE.pub",
    .summary = "Import an OpenSSH public key as a key pair",
    .description = "Imports the public key in FILE.pub (one 'ssh-ed25519 …' or 'ssh-rsa …'\n"
                   "line, RSA of at least 2048 bits) as key pair NAME (ImportKeyPair).\n"
                   "Example: nube keypair import laptop ~/.ssh/id_ed25519.pub\n",
    .min_args = 2,
    .max_args = 2,
    .run = import_run,
};

static JsonArray *describe_keypairs(NubeCliClient *client, const char *const *names,
                                    NubeError **err)
{
    return nube_cli_describe_all(client, "DescribeKeyPairs", "KeyName", names,
                                 "ec2:keySet/ec2:item", keypair_from_node, err);
}

static int list_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autoptr(JsonArray) keys = describe_keypairs(client, NULL, err);
    if (keys == NULL)
        return -EIO;
    nube_cli_output_rows(cli->format, keys, keypair_columns);
    return 0;
}

const NubeCliCommand nube_cli_cmd_keypair_list = {
    .name = "keypair list",
    .summary = "List key pairs",
    .description = "Lists the key pairs (DescribeKeyPairs): ID NAME TYPE FINGERPRINT CREATED.\n"
                   "Fingerprints are EC2's: SHA-1 of the private key for RSA keys made by\n"
                   "nubed, MD5 of the public key for imported RSA keys, base64 SHA-256 (as\n"
                   "ssh-keygen -l shows, with '=' padding) for Ed25519 keys.\n",
    .min_args = 0,
    .max_args = 0,
    .run = list_run,
};

static int delete_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    /* EC2 deletes an unknown name without a word; a typo should show. */
    const char *const names[] = { argv[1], NULL };
    g_autoptr(JsonArray) found = describe_keypairs(client, names, err);
    if (found == NULL)
        return -EIO;
    g_autoptr(JsonObject) kp =
        nube_cli_describe_find(found, "KeyName", argv[1], "InvalidKeyPair.NotFound", err);
    if (kp == NULL)
        return -ENOENT;
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "KeyPairId", json_object_get_string_member(kp, "KeyPairId"));
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "DeleteKeyPair", params, err);
    if (reply == NULL)
        return -EIO;
    if (cli->format == NUBE_CLI_OUTPUT_JSON)
        nube_cli_output_json_object(stdout, kp);
    else
        printf("%s\n", argv[1]);
    return 0;
}

const NubeCliCommand nube_cli_cmd_keypair_delete = {
    .name = "keypair delete",
    .args = "NAME",
    .summary = "Delete a key pair",
    .description = "Deletes key pair NAME (DeleteKeyPair).  Instances launched with it keep\n"
                   "its public key.\n",
    .min_args = 1,
    .max_args = 1,
    .run = delete_run,
};
