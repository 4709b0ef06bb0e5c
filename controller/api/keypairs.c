/*
 * keypairs.c: CreateKeyPair, ImportKeyPair, DescribeKeyPairs and
 * DeleteKeyPair.  The private key of CreateKeyPair is in the answer only.
 */
#include "api.h"
#include "xml.h"
#include "fsutil.h"
#include "keypair.h"
#include "sshkey.h"
#include "tags.h"

#include <string.h>

/* ImportKeyPair's PublicKeyMaterial, decoded: at most this many bytes. */
#define MAX_PUBLIC_KEY 16384

static GPtrArray *keypair_tags(const NubeApiRequest *req, NubeError **err)
{
    static const char *const allowed[] = { "key-pair", NULL };
    return nube_api_tag_specs(req, "key-pair", allowed, err);
}

/* KeyName, checked; NULL with ERR. */
static const char *key_name(const NubeApiRequest *req, NubeError **err)
{
    const char *name = nube_api_require(req, "KeyName", err);
    if (name == NULL || nube_keypair_name_check(name, err) < 0)
        return NULL;
    return name;
}

/* Records a new key pair of KEY named NAME for the requester and answers
 * what both actions answer.  0 or -errno with ERR. */
static int store_key(NubeApiRequest *req, xmlNodePtr resp, const char *name, const NubeSshKey *key,
                     const GPtrArray *tags, NubeError **err)
{
    g_autofree char *id = nube_id_new("key");
    NubeKeyPair kp = {
        .id = id,
        .owner_id = req->account->id,
        .name = (char *) name,
        .key_type = (char *) nube_sshkey_type_name(key->type),
        .fingerprint = key->fingerprint,
        .public_key = key->public_key,
        .created_at = g_get_real_time() / G_USEC_PER_SEC,
    };
    if (nube_keypair_insert(req->cloud->db, &kp, tags, err) < 0)
        return -EEXIST;
    nube_xml_add(resp, "keyName", name);
    nube_xml_add(resp, "keyFingerprint", key->fingerprint);
    if (key->private_pem != NULL)
        nube_xml_add(resp, "keyMaterial", key->private_pem);
    nube_xml_add(resp, "keyPairId", id);
    nube_xml_add_tags(resp, tags);
    return 0;
}

/* Refused when OWNER has NAME already, before a key is made for nothing. */
static int name_free(const NubeApiRequest *req, const char *name, NubeError **err)
{
    g_autoptr(NubeKeyPair) kp = nube_keypair_by_name(req->cloud->db, req->account->id, name, NULL);
    if (kp != NULL)
        return nube_error_setc(err, EEXIST, "InvalidKeyPair.Duplicate",
                               "The keypair '%s' already exists.", name);
    return 0;
}

static int key_format(const NubeApiRequest *req, NubeError **err)
{
    const char *format = nube_query_get(req->q, "KeyFormat");
    if (format == NULL || g_str_equal(format, "pem"))
        return 0;
    if (g_str_equal(format, "ppk"))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "KeyFormat 'ppk' is not supported by nube: ask for 'pem' and "
                               "convert the key with puttygen if PuTTY needs it.");
    return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                           "Value (%s) for parameter KeyFormat is invalid: 'pem' or 'ppk'.",
                           format);
}

int nube_api_create_key_pair(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *name = key_name(req, err);
    if (name == NULL || key_format(req, err) < 0)
        return -EINVAL;
    const char *type_name = nube_query_get(req->q, "KeyType");
    NubeSshKeyType type = NUBE_SSHKEY_RSA;
    if (type_name != NULL && nube_sshkey_type_parse(type_name, &type) < 0)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Value (%s) for parameter KeyType is invalid: 'rsa' or 'ed25519'.",
                               type_name);
    g_autoptr(GPtrArray) tags = keypair_tags(req, err);
    if (tags == NULL || name_free(req, name, err) < 0)
        return -EINVAL;
    g_auto(NubeSshKey) key = { 0 };
    if (nube_sshkey_generate(type, name, &key, err) < 0)
        return -EIO;
    return store_key(req, resp, name, &key, tags, err);
}

/* PublicKeyMaterial as text: base64 of the key file as EC2 wants it, or
 * (as some clients send it) the OpenSSH line itself.  NULL with ERR. */
static GBytes *public_key_material(const NubeApiRequest *req, NubeError **err)
{
    const char *value = nube_api_require(req, "PublicKeyMaterial", err);
    if (value == NULL)
        return NULL;
    if (g_str_has_prefix(value, "ssh-"))
        return g_bytes_new(value, strlen(value));
    for (const char *p = value; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=' && !g_ascii_isspace(*p)) {
            nube_error_setc(err, EINVAL, "InvalidParameterValue",
                            "PublicKeyMaterial is not base64.");
            return NULL;
        }
    gsize len = 0;
    guchar *raw = g_base64_decode(value, &len);
    if (len == 0 || len > MAX_PUBLIC_KEY) {
        g_free(raw);
        nube_error_setc(err, EINVAL, "InvalidKey.Format",
                        "Key is not in valid OpenSSH public key format (%zu bytes).", len);
        return NULL;
    }
    return g_bytes_new_take(raw, len);
}

int nube_api_import_key_pair(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *name = key_name(req, err);
    if (name == NULL)
        return -EINVAL;
    g_autoptr(GBytes) material = public_key_material(req, err);
    if (material == NULL)
        return -EINVAL;
    g_autoptr(GPtrArray) tags = keypair_tags(req, err);
    if (tags == NULL)
        return -EINVAL;
    gsize len = 0;
    const char *text = g_bytes_get_data(material, &len);
    g_auto(NubeSshKey) key = { 0 };
    if (nube_sshkey_import(text, len, &key, err) < 0)
        return -EINVAL;
    return store_key(req, resp, name, &key, tags, err);
}

static const NubeApiFilterField keypair_filters[] = {
    NUBE_FILTER_MEMBER("key-name", NubeKeyPair, name),
    NUBE_FILTER_MEMBER("key-pair-id", NubeKeyPair, id),
    NUBE_FILTER_MEMBER("fingerprint", NubeKeyPair, fingerprint),
    NUBE_FILTER_MEMBER("key-type", NubeKeyPair, key_type),
    NUBE_FILTER_END,
};

static int keypair_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                          gboolean *match, NubeError **err)
{
    const NubeKeyPair *kp = item;
    return nube_api_filter_fields(req, keypair_filters, kp, kp->tags, f, match, err);
}

static int keypair_id_check(const char *id, NubeError **err)
{
    if (!nube_id_valid(id, "key"))
        return nube_error_setc(err, ENOENT, "InvalidKeyPair.NotFound",
                               "The key pair ID '%s' is malformed or does not exist", id);
    return 0;
}

/* KeyName.N and KeyPairId.N (every one must exist), or all key pairs. */
static GPtrArray *select_keypairs(const NubeApiRequest *req, NubeError **err)
{
    g_autofree const char **names = nube_query_list(req->q, "KeyName");
    g_autofree const char **ids = nube_query_list(req->q, "KeyPairId");
    if (names[0] == NULL && ids[0] == NULL)
        return nube_keypair_list(req->cloud->db, req->account->id, err);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) nube_keypair_free);
    for (size_t i = 0; names[i] != NULL; i++) {
        NubeKeyPair *kp = nube_keypair_by_name(req->cloud->db, req->account->id, names[i], err);
        if (kp == NULL)
            return NULL;
        g_ptr_array_add(out, kp);
    }
    for (size_t i = 0; ids[i] != NULL; i++) {
        NubeKeyPair *kp = keypair_id_check(ids[i], err) < 0
                              ? NULL
                              : nube_keypair_get(req->cloud->db, req->account->id, ids[i], err);
        if (kp == NULL)
            return NULL;
        g_ptr_array_add(out, kp);
    }
    return g_steal_pointer(&out);
}

static void render_keypair(xmlNodePtr item, const NubeKeyPair *kp, gboolean public_key)
{
    nube_xml_add(item, "keyPairId", kp->id);
    nube_xml_add(item, "keyType", kp->key_type);
    nube_xml_add_tags(item, kp->tags);
    nube_xml_add(item, "keyName", kp->name);
    nube_xml_add(item, "keyFingerprint", kp->fingerprint);
    if (public_key) {
        g_autofree char *line = nube_keypair_public_line(kp);
        nube_xml_add(item, "publicKey", line);
    }
    nube_xml_add_time(item, "createTime", kp->created_at);
}

int nube_api_describe_key_pairs(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    gboolean public_key = FALSE;
    if (nube_query_bool(req->q, "IncludePublicKey", FALSE, &public_key, err) < 0)
        return -EINVAL;
    g_autoptr(GPtrArray) all = select_keypairs(req, err);
    if (all == NULL || nube_api_filter_items(req, all, keypair_filter, NULL, err) < 0)
        return -EINVAL;
    xmlNodePtr set = nube_xml_add(resp, "keySet", NULL);
    for (guint i = 0; i < all->len; i++)
        render_keypair(nube_xml_add(set, "item", NULL), all->pdata[i], public_key);
    return 0;
}

int nube_api_delete_key_pair(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *name = nube_query_get(req->q, "KeyName");
    const char *id = nube_query_get(req->q, "KeyPairId");
    g_autoptr(NubeKeyPair) kp = NULL;
    if (id != NULL && *id != '\0') {
        if (keypair_id_check(id, err) < 0 ||
            (kp = nube_keypair_get(req->cloud->db, req->account->id, id, err)) == NULL)
            return -ENOENT;
    } else if (name != NULL && *name != '\0') {
        /* EC2 answers true for a name it does not know. */
        NubeError *lerr = NULL;
        kp = nube_keypair_by_name(req->cloud->db, req->account->id, name, &lerr);
        if (kp == NULL && lerr->errnum != ENOENT)
            return nube_error_propagate(err, lerr);
        nube_error_free(lerr);
    } else {
        return nube_error_setc(err, EINVAL, "MissingParameter",
                               "The request must contain the parameter KeyName or KeyPairId");
    }
    if (kp != NULL && nube_keypair_delete(req->cloud->db, kp->id, err) < 0)
        return -EIO;
    nube_xml_add_bool(resp, "return", TRUE);
    if (kp != NULL)
        nube_xml_add(resp, "keyPairId", kp->id);
    return 0;
}
