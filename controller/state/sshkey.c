/*
 * sshkey.c: SSH key pairs and public keys (see sshkey.h).  The SSH wire
 * encoding (RFC 4251: uint32, string, mpint) is written and read here; the
 * cryptography is libcrypto's.
 */
#include "sshkey.h"
#include "fsutil.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#define ED25519_LEN   32
#define MAX_LINE      16384
#define OPENSSH_MAGIC "openssh-key-v1"
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define OPENSSH_END   "-----END OPENSSH PRIVATE KEY-----\n"
#define OPENSSH_WRAP  70
#define TYPE_ED25519  "ssh-ed25519"
#define TYPE_RSA      "ssh-rsa"

static void evp_pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}
static void bn_freep(BIGNUM **p)
{
    BN_free(*p);
}
static void bio_freep(BIO **p)
{
    BIO_free(*p);
}
/* Wipes and frees a buffer that held private key material. */
static void secret_freep(GByteArray **p)
{
    if (*p == NULL)
        return;
    OPENSSL_cleanse((*p)->data, (*p)->len);
    g_byte_array_unref(*p);
}
#define _cleanup_pkey_   _cleanup_(evp_pkey_freep)
#define _cleanup_bn_     _cleanup_(bn_freep)
#define _cleanup_bio_    _cleanup_(bio_freep)
#define _cleanup_secret_ _cleanup_(secret_freep)

void nube_sshkey_clear(NubeSshKey *key)
{
    if (key->private_pem != NULL) {
        OPENSSL_cleanse(key->private_pem, strlen(key->private_pem));
        g_free(key->private_pem);
    }
    g_free(key->public_key);
    g_free(key->fingerprint);
    memset(key, 0, sizeof(*key));
}

const char *nube_sshkey_type_name(NubeSshKeyType type)
{
    return type == NUBE_SSHKEY_ED25519 ? "ed25519" : "rsa";
}

int nube_sshkey_type_parse(const char *name, NubeSshKeyType *out)
{
    if (g_strcmp0(name, "rsa") == 0)
        *out = NUBE_SSHKEY_RSA;
    else if (g_strcmp0(name, "ed25519") == 0)
        *out = NUBE_SSHKEY_ED25519;
    else
        return -EINVAL;
    return 0;
}

/* ---- SSH wire encoding ----------------------------------------------------- */

static void put_u32(GByteArray *b, guint32 v)
{
    guint8 be[4] = { v >> 24, v >> 16, v >> 8, v };
    g_byte_array_append(b, be, 4);
}

static void put_string(GByteArray *b, const void *data, size_t len)
{
    put_u32(b, (guint32) len);
    g_byte_array_append(b, data, (guint) len);
}

static void put_cstring(GByteArray *b, const char *s)
{
    put_string(b, s, strlen(s));
}

/* An mpint: big-endian, with a zero byte first when the top bit is set. */
static void put_mpint(GByteArray *b, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    g_autofree guint8 *raw = g_malloc0(n + 1);
    BN_bn2bin(bn, raw + 1);
    gboolean pad = n > 0 && (raw[1] & 0x80);
    put_string(b, pad ? raw : raw + 1, n + (pad ? 1 : 0));
}

typedef struct {
    const guint8 *p;
    size_t left;
} Reader;

static gboolean get_u32(Reader *r, guint32 *v)
{
    if (r->left < 4)
        return FALSE;
    *v = ((guint32) r->p[0] << 24) | ((guint32) r->p[1] << 16) | ((guint32) r->p[2] << 8) | r->p[3];
    r->p += 4;
    r->left -= 4;
    return TRUE;
}

static gboolean get_string(Reader *r, const guint8 **data, size_t *len)
{
    guint32 n = 0;
    if (!get_u32(r, &n) || n > r->left)
        return FALSE;
    *data = r->p;
    *len = n;
    r->p += n;
    r->left -= n;
    return TRUE;
}

static gboolean get_string_is(Reader *r, const char *expected)
{
    const guint8 *s = NULL;
    size_t n = 0;
    return get_string(r, &s, &n) && n == strlen(expected) && memcmp(s, expected, n) == 0;
}

/* A positive mpint in canonical form (no needless zero byte).  NULL if not. */
static BIGNUM *get_positive_mpint(Reader *r)
{
    const guint8 *s = NULL;
    size_t n = 0;
    if (!get_string(r, &s, &n) || n == 0 || (s[0] & 0x80))
        return NULL;
    if (s[0] == 0 && (n == 1 || !(s[1] & 0x80)))
        return NULL;
    return BN_bin2bn(s, (int) n, NULL);
}

/* ---- digests --------------------------------------------------------------- */

static char *colon_hex(const guint8 *d, size_t n)
{
    GString *s = g_string_sized_new(n * 3);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(s, "%s%02x", i ? ":" : "", d[i]);
    return g_string_free(s, FALSE);
}

static char *digest_colon_hex(const EVP_MD *md, const void *data, size_t len)
{
    guint8 out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
        return NULL;
    return colon_hex(out, n);
}

/* Base64 of the SHA-256 of BLOB, with padding (EC2's Ed25519 fingerprint). */
static char *sha256_base64(const GByteArray *blob)
{
    guint8 out[32];
    unsigned int n = 0;
    if (EVP_Digest(blob->data, blob->len, out, &n, EVP_sha256(), NULL) != 1)
        return NULL;
    return g_base64_encode(out, n);
}

static char *public_line(const char *type, const GByteArray *blob)
{
    g_autofree char *b64 = g_base64_encode(blob->data, blob->len);
    return g_strdup_printf("%s %s", type, b64);
}

static int crypto_error(NubeError **err, const char *what)
{
    return nube_error_set(err, EIO, "libcrypto: %s failed", what);
}

/* ---- Ed25519 --------------------------------------------------------------- */

static GByteArray *ed25519_blob(const guint8 pk[ED25519_LEN])
{
    GByteArray *blob = g_byte_array_new();
    put_cstring(blob, TYPE_ED25519);
    put_string(blob, pk, ED25519_LEN);
    return blob;
}

/* The private section of PROTOCOL.key: check integers, the key, the
 * comment, and padding 1, 2, 3… to a multiple of 8 (cipher "none"). */
static GByteArray *ed25519_private_section(const guint8 pk[ED25519_LEN],
                                           const guint8 sk[ED25519_LEN], const char *comment)
{
    GByteArray *sec = g_byte_array_new();
    guint32 check = 0;
    nube_random_bytes(&check, sizeof(check), NULL);
    put_u32(sec, check);
    put_u32(sec, check);
    put_cstring(sec, TYPE_ED25519);
    put_string(sec, pk, ED25519_LEN);
    guint8 both[2 * ED25519_LEN];
    memcpy(both, sk, ED25519_LEN);
    memcpy(both + ED25519_LEN, pk, ED25519_LEN);
    put_string(sec, both, sizeof(both));
    OPENSSL_cleanse(both, sizeof(both));
    put_cstring(sec, comment ? comment : "");
    for (guint8 pad = 1; sec->len % 8 != 0; pad++)
        g_byte_array_append(sec, &pad, 1);
    return sec;
}

/* The whole "BEGIN OPENSSH PRIVATE KEY" text around BLOB and SECTION. */
static char *openssh_armor(const GByteArray *blob, const GByteArray *section)
{
    _cleanup_secret_ GByteArray *file = g_byte_array_new();
    g_byte_array_append(file, (const guint8 *) OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC));
    put_cstring(file, "none"); /* cipher */
    put_cstring(file, "none"); /* kdf */
    put_cstring(file, "");     /* kdf options */
    put_u32(file, 1);          /* number of keys */
    put_string(file, blob->data, blob->len);
    put_string(file, section->data, section->len);

    g_autofree char *b64 = g_base64_encode(file->data, file->len);
    GString *out = g_string_new(OPENSSH_BEGIN);
    for (size_t i = 0, n = strlen(b64); i < n; i += OPENSSH_WRAP) {
        g_string_append_len(out, b64 + i, MIN(OPENSSH_WRAP, n - i));
        g_string_append_c(out, '\n');
    }
    g_string_append(out, OPENSSH_END);
    OPENSSL_cleanse(b64, strlen(b64));
    return g_string_free(out, FALSE);
}

static int generate_ed25519(const char *comment, NubeSshKey *out, NubeError **err)
{
    _cleanup_pkey_ EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    guint8 pk[ED25519_LEN], sk[ED25519_LEN];
    size_t pk_len = sizeof(pk), sk_len = sizeof(sk);
    if (pkey == NULL || EVP_PKEY_get_raw_public_key(pkey, pk, &pk_len) != 1 ||
        EVP_PKEY_get_raw_private_key(pkey, sk, &sk_len) != 1 || pk_len != ED25519_LEN ||
        sk_len != ED25519_LEN)
        return crypto_error(err, "Ed25519 key generation");

    g_autoptr(GByteArray) blob = ed25519_blob(pk);
    _cleanup_secret_ GByteArray *section = ed25519_private_section(pk, sk, comment);
    OPENSSL_cleanse(sk, sizeof(sk));
    out->type = NUBE_SSHKEY_ED25519;
    out->private_pem = openssh_armor(blob, section);
    out->public_key = public_line(TYPE_ED25519, blob);
    out->fingerprint = sha256_base64(blob);
    return 0;
}

/* ---- RSA ------------------------------------------------------------------- */

static GByteArray *rsa_blob(const BIGNUM *e, const BIGNUM *n)
{
    GByteArray *blob = g_byte_array_new();
    put_cstring(blob, TYPE_RSA);
    put_mpint(blob, e);
    put_mpint(blob, n);
    return blob;
}

/* The traditional PKCS#1 PEM of PKEY ("BEGIN RSA PRIVATE KEY"). */
static char *rsa_private_pem(EVP_PKEY *pkey)
{
    _cleanup_bio_ BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL ||
        PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
        return NULL;
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *pem = g_strndup(data, len);
    OPENSSL_cleanse(data, len);
    return pem;
}

/* SHA-1 of the DER PKCS#8 PrivateKeyInfo of PKEY, colon hex. */
static char *rsa_private_fingerprint(EVP_PKEY *pkey)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    if (p8 == NULL)
        return NULL;
    unsigned char *der = NULL;
    int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (len <= 0)
        return NULL;
    char *fp = digest_colon_hex(EVP_sha1(), der, len);
    OPENSSL_clear_free(der, len);
    return fp;
}

/* MD5 of the DER SubjectPublicKeyInfo of PKEY, colon hex. */
static char *rsa_public_fingerprint(EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(pkey, &der);
    if (len <= 0)
        return NULL;
    char *fp = digest_colon_hex(EVP_md5(), der, len);
    OPENSSL_free(der);
    return fp;
}

static int generate_rsa(NubeSshKey *out, NubeError **err)
{
    _cleanup_pkey_ EVP_PKEY *pkey =
        EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) NUBE_SSHKEY_RSA_BITS);
    _cleanup_bn_ BIGNUM *n = NULL;
    _cleanup_bn_ BIGNUM *e = NULL;
    if (pkey == NULL || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
        return crypto_error(err, "RSA key generation");

    g_autoptr(GByteArray) blob = rsa_blob(e, n);
    out->type = NUBE_SSHKEY_RSA;
    out->private_pem = rsa_private_pem(pkey);
    out->fingerprint = rsa_private_fingerprint(pkey);
    out->public_key = public_line(TYPE_RSA, blob);
    if (out->private_pem == NULL || out->fingerprint == NULL) {
        nube_sshkey_clear(out);
        return crypto_error(err, "RSA private key encoding");
    }
    return 0;
}

int nube_sshkey_generate(NubeSshKeyType type, const char *comment, NubeSshKey *out, NubeError **err)
{
    memset(out, 0, sizeof(*out));
    return type == NUBE_SSHKEY_ED25519 ? generate_ed25519(comment, out, err)
                                       : generate_rsa(out, err);
}

/* ---- import ---------------------------------------------------------------- */

static int bad_format(NubeError **err, const char *why)
{
    return nube_error_setc(err, EINVAL, "InvalidKey.Format",
                           "Key is not in valid OpenSSH public key format: %s.", why);
}

/* Strict base64: the alphabet, a length that is a multiple of 4, '='
 * only as the last one or two characters. */
static gboolean base64_strict(const char *s, size_t n)
{
    if (n == 0 || n % 4 != 0)
        return FALSE;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            if (i < n - 2 || (i == n - 2 && s[n - 1] != '='))
                return FALSE;
        } else if (!g_ascii_isalnum(c) && c != '+' && c != '/') {
            return FALSE;
        }
    }
    return TRUE;
}

static int import_ed25519(Reader *r, NubeSshKey *out, NubeError **err)
{
    const guint8 *pk = NULL;
    size_t len = 0;
    if (!get_string(r, &pk, &len) || len != ED25519_LEN)
        return bad_format(err, "an Ed25519 key is 32 bytes");
    if (r->left != 0)
        return bad_format(err, "bytes after the key");
    g_autoptr(GByteArray) blob = ed25519_blob(pk);
    out->type = NUBE_SSHKEY_ED25519;
    out->public_key = public_line(TYPE_ED25519, blob);
    out->fingerprint = sha256_base64(blob);
    return 0;
}

/* An EVP_PKEY of the RSA public key (N, E). */
static EVP_PKEY *rsa_public_pkey(const BIGNUM *n, const BIGNUM *e)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (bld != NULL && ctx != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static int import_rsa(Reader *r, NubeSshKey *out, NubeError **err)
{
    _cleanup_bn_ BIGNUM *e = get_positive_mpint(r);
    _cleanup_bn_ BIGNUM *n = e ? get_positive_mpint(r) : NULL;
    if (n == NULL)
        return bad_format(err, "an RSA key is two positive integers e and n");
    if (r->left != 0)
        return bad_format(err, "bytes after the key");
    if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_num_bits(e) > 64 || !BN_is_odd(n))
        return bad_format(err, "not a valid RSA public key");
    int bits = BN_num_bits(n);
    if (bits < NUBE_SSHKEY_RSA_MIN_BITS || bits > NUBE_SSHKEY_RSA_MAX_BITS)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "RSA keys must have %d to %d bits (this one has %d).",
                               NUBE_SSHKEY_RSA_MIN_BITS, NUBE_SSHKEY_RSA_MAX_BITS, bits);
    _cleanup_pkey_ EVP_PKEY *pkey = rsa_public_pkey(n, e);
    g_autofree char *fp = pkey ? rsa_public_fingerprint(pkey) : NULL;
    if (fp == NULL)
        return crypto_error(err, "RSA public key encoding");
    g_autoptr(GByteArray) blob = rsa_blob(e, n);
    out->type = NUBE_SSHKEY_RSA;
    out->public_key = public_line(TYPE_RSA, blob);
    out->fingerprint = g_steal_pointer(&fp);
    return 0;
}

/* The key line without a final line break; NULL if it has other control
 * characters, more lines, is not UTF-8 or is too long. */
static char *one_line(const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len == 0 || len > MAX_LINE || !g_utf8_validate_len(text, len, NULL))
        return NULL;
    for (size_t i = 0; i < len; i++)
        if ((guchar) text[i] < 0x20 && text[i] != '\t')
            return NULL;
    return g_strndup(text, len);
}

/* The next word of *P (ended by a space or tab, which is cut), or NULL at
 * the end; *P moves past it and the blanks after it. */
static const char *next_word(char **p)
{
    char *s = *p + strspn(*p, " \t");
    if (*s == '\0')
        return NULL;
    char *end = s + strcspn(s, " \t");
    if (*end != '\0')
        *end++ = '\0';
    *p = end;
    return s;
}

int nube_sshkey_import(const char *text, size_t len, NubeSshKey *out, NubeError **err)
{
    memset(out, 0, sizeof(*out));
    g_autofree char *line = one_line(text, len);
    if (line == NULL)
        return bad_format(err, "expected one line 'TYPE BASE64 [COMMENT]'");
    char *p = line;
    const char *type = next_word(&p);
    const char *b64 = next_word(&p);
    if (b64 == NULL)
        return bad_format(err, "expected 'TYPE BASE64 [COMMENT]'");
    if (strcmp(type, TYPE_ED25519) != 0 && strcmp(type, TYPE_RSA) != 0)
        return bad_format(err, "only ssh-ed25519 and ssh-rsa keys are supported");
    if (!base64_strict(b64, strlen(b64)))
        return bad_format(err, "the key is not base64");

    gsize blob_len = 0;
    g_autofree guint8 *blob = g_base64_decode(b64, &blob_len);
    Reader r = { blob, blob_len };
    if (!get_string_is(&r, type))
        return bad_format(err, "the key's type does not match its line");
    int ret =
        strcmp(type, TYPE_ED25519) == 0 ? import_ed25519(&r, out, err) : import_rsa(&r, out, err);
    if (ret < 0)
        nube_sshkey_clear(out);
    return ret;
}
