/*
 * test-keypairs-sg.c: key pairs and security groups without a hypervisor:
 * keys made here are read by OpenSSL and OpenSSH (ssh-keygen) and their
 * fingerprints are EC2's (computed the way AWS documents, with the openssl
 * and ssh-keygen commands); keys made by ssh-keygen import; every bad input
 * gets EC2's code and leaves no row behind; rules reach the forwards of the
 * groups' instances; a version 4 database migrates its SSH ports.
 */
#include "fixture.h"

#include "fsutil.h"
#include "secgroup.h"
#include "spawn.h"
#include "sshkey.h"

#include <gio/gio.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#define OWNER FIXTURE_OWNER
#define AMI   FIXTURE_AMI
#define INST  "i-0abcdef0123456789"

static void insert_image(Fixture *f)
{
    g_autoptr(NubeImage) img = fixture_image_new(NULL);
    fixture_insert_image(f, img, NULL, NULL, NULL);
}

static const FixtureSpec spec = { "kpsg", insert_image };

/* A stopped instance in GROUP_ID (if not NULL) whose port 9000 is
 * forwarded with NubeForwardPort. */
static void insert_instance(Fixture *f, const char *id, NubeInstanceState state,
                            const char *group_id)
{
    g_autoptr(NubeInstance) inst = fixture_instance_new(id, state, "t3.micro", NULL);
    inst->key_name = g_strdup("mykey");
    inst->public_key = g_strdup("ssh-ed25519 AAAA mykey");
    inst->forwards = g_array_new(FALSE, TRUE, sizeof(NubePortForward));
    inst->extra_ports = g_array_new(FALSE, FALSE, sizeof(guint16));
    NubePortForward extra = { .host_port = 40900, .guest_port = 9000 };
    g_array_append_val(inst->forwards, extra);
    g_array_append_val(inst->extra_ports, extra.guest_port);
    inst->groups = g_ptr_array_new_with_free_func((GDestroyNotify) nube_secgroup_free);
    if (group_id != NULL) {
        NubeSecGroup *ref = g_new0(NubeSecGroup, 1);
        ref->id = g_strdup(group_id);
        g_ptr_array_add(inst->groups, ref);
    }
    fixture_insert_instance(f, inst);
}

/* ---- helpers ------------------------------------------------------------ */

static void text_of(xmlNodePtr node, const char *name, char **out)
{
    for (; node != NULL && *out == NULL; node = node->next) {
        if (node->type == XML_ELEMENT_NODE && g_str_equal((const char *) node->name, name)) {
            xmlChar *t = xmlNodeGetContent(node);
            *out = g_strdup((const char *) t);
            xmlFree(t);
            return;
        }
        text_of(node->children, name, out);
    }
}

/* Text of the first element NAME in XML (new string), or NULL. */
static char *xml_text(const char *xml, const char *name)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), NULL, NULL, XML_PARSE_NONET);
    g_assert_nonnull(doc);
    char *out = NULL;
    text_of(xmlDocGetRootElement(doc), name, &out);
    xmlFreeDoc(doc);
    return out;
}

/* Output of the shell command CMD (run in the fixture's directory),
 * stripped; the test fails if it fails. */
static char *shell(Fixture *f, const char *cmd)
{
    g_autofree char *full = g_strdup_printf("cd '%s' && %s", f->dir, cmd);
    const char *argv[] = { "sh", "-c", full, NULL };
    g_autoptr(NubeError) err = NULL;
    char *out = NULL;
    if (nube_spawn(argv, NULL, &out, &err) < 0)
        g_error("%s: %s", cmd, err->message);
    return g_strstrip(out);
}

static gboolean have(const char *program)
{
    g_autofree char *path = g_find_program_in_path(program);
    return path != NULL;
}

static void write_file(Fixture *f, const char *name, const char *text, int mode)
{
    g_autofree char *path = g_build_filename(f->dir, name, NULL);
    g_assert_true(g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, NULL));
}

static char *read_file(Fixture *f, const char *name)
{
    g_autofree char *path = g_build_filename(f->dir, name, NULL);
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* "Action=ImportKeyPair&KeyName=NAME&PublicKeyMaterial=base64(TEXT)". */
static char *import_params(const char *name, const char *text, gsize len)
{
    g_autofree char *b64 = g_base64_encode((const guchar *) text, len);
    g_autofree char *enc = g_uri_escape_string(b64, NULL, FALSE);
    return g_strdup_printf("Action=ImportKeyPair&KeyName=%s&PublicKeyMaterial=%s", name, enc);
}

/* The public key of key pair NAME as DescribeKeyPairs shows it. */
static char *described_public_key(Fixture *f, const char *name)
{
    g_autofree char *params =
        g_strdup_printf("Action=DescribeKeyPairs&KeyName.1=%s&IncludePublicKey=true", name);
    g_autofree char *xml = fixture_ok(f, params);
    return xml_text(xml, "publicKey");
}

/* ---- key pairs -------------------------------------------------------------- */

static void test_create_rsa(Fixture *f, gconstpointer data)
{
    g_autofree char *xml = fixture_ok(f, "Action=CreateKeyPair&KeyName=k-rsa");
    g_autofree char *pem = xml_text(xml, "keyMaterial");
    g_autofree char *fp = xml_text(xml, "keyFingerprint");
    g_autofree char *id = xml_text(xml, "keyPairId");
    g_assert_true(g_str_has_prefix(pem, "-----BEGIN RSA PRIVATE KEY-----\n"));
    g_assert_true(nube_id_valid(id, "key"));
    g_assert_true(g_regex_match_simple("^([0-9a-f]{2}:){19}[0-9a-f]{2}$", fp, 0, 0));

    /* OpenSSL reads the private key: RSA, 2048 bits. */
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    g_assert_nonnull(pkey);
    g_assert_cmpint(EVP_PKEY_get_base_id(pkey), ==, EVP_PKEY_RSA);
    g_assert_cmpint(EVP_PKEY_get_bits(pkey), ==, 2048);
    EVP_PKEY_free(pkey);
    BIO_free(bio);

    /* Nothing private is stored. */
    g_autofree char *stored = described_public_key(f, "k-rsa");
    g_assert_true(g_str_has_prefix(stored, "ssh-rsa AAAA"));
    g_assert_true(g_str_has_suffix(stored, " k-rsa"));
    g_autofree char *listed = fixture_ok(f, "Action=DescribeKeyPairs&IncludePublicKey=true");
    g_assert_null(strstr(listed, "keyMaterial"));
    g_assert_null(strstr(listed, "PRIVATE"));

    if (!have("openssl") || !have("ssh-keygen")) {
        g_test_skip("openssl or ssh-keygen is missing");
        return;
    }
    write_file(f, "k-rsa.pem", pem, 0600);
    /* AWS's recipe for the fingerprint of a key it made. */
    g_autofree char *want = shell(f, "openssl pkcs8 -in k-rsa.pem -inform PEM -outform DER "
                                     "-topk8 -nocrypt | openssl sha1 -c | sed 's/^.*= //'");
    g_assert_cmpstr(fp, ==, want);
    /* The private key belongs to the stored public key. */
    g_autofree char *derived = shell(f, "ssh-keygen -y -f k-rsa.pem");
    g_autofree char *stored_key = g_strndup(stored, strrchr(stored, ' ') - stored);
    g_assert_cmpstr(derived, ==, stored_key);
}

static void test_create_ed25519(Fixture *f, gconstpointer data)
{
    g_autofree char *xml =
        fixture_ok(f, "Action=CreateKeyPair&KeyName=k-ed&KeyType=ed25519"
                      "&KeyFormat=pem&TagSpecification.1.ResourceType=key-pair"
                      "&TagSpecification.1.Tag.1.Key=team&TagSpecification.1.Tag.1.Value=a");
    g_autofree char *pem = xml_text(xml, "keyMaterial");
    g_autofree char *fp = xml_text(xml, "keyFingerprint");
    g_assert_true(g_str_has_prefix(pem, "-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    g_assert_true(g_str_has_suffix(pem, "-----END OPENSSH PRIVATE KEY-----\n"));
    g_assert_cmpuint(strlen(fp), ==, 44);
    g_assert_true(g_str_has_suffix(fp, "="));
    g_assert_nonnull(strstr(xml, "<key>team</key>"));
    g_autofree char *stored = described_public_key(f, "k-ed");
    g_assert_true(g_str_has_prefix(stored, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"));

    if (!have("ssh-keygen")) {
        g_test_skip("ssh-keygen is missing");
        return;
    }
    write_file(f, "k-ed", pem, 0600);
    /* OpenSSH reads the private key, with the key name as its comment. */
    g_autofree char *derived = shell(f, "ssh-keygen -y -f k-ed");
    g_assert_cmpstr(derived, ==, stored);
    /* ssh-keygen -l shows the same SHA-256 without EC2's padding. */
    g_autofree char *listed = shell(f, "ssh-keygen -l -f k-ed");
    g_autofree char *want = g_strdup_printf("256 SHA256:%.*s k-ed (ED25519)", 43, fp);
    g_assert_cmpstr(listed, ==, want);
    /* The private half signs what the public half verifies. */
    write_file(f, "data", "nube\n", 0600);
    g_free(shell(f, "ssh-keygen -q -Y sign -f k-ed -n test data"));
    g_autofree char *check =
        shell(f, "ssh-keygen -Y check-novalidate -n test -s data.sig < data 2>&1");
    g_assert_nonnull(strstr(check, "Good \"test\" signature"));
}

/* Imports a key ssh-keygen makes with ARGS; checks its public key and
 * that its fingerprint is FP_CMD's output. */
static void import_generated(Fixture *f, const char *name, const char *args, const char *fp_cmd)
{
    g_autofree char *gen = g_strdup_printf("ssh-keygen -q -N '' -C 'me@host' %s -f %s", args, name);
    g_free(shell(f, gen));
    g_autofree char *pubname = g_strconcat(name, ".pub", NULL);
    g_autofree char *pub = read_file(f, pubname);
    g_autofree char *params = import_params(name, pub, strlen(pub));
    g_autofree char *xml = fixture_ok(f, params);
    g_autofree char *fp = xml_text(xml, "keyFingerprint");
    g_assert_null(xml_text(xml, "keyMaterial"));
    g_autofree char *want = shell(f, fp_cmd);
    g_assert_cmpstr(fp, ==, want);

    /* Stored as "TYPE BASE64", shown with the key name as comment. */
    g_auto(GStrv) words = g_strsplit(g_strstrip(pub), " ", 3);
    g_autofree char *shown = g_strdup_printf("%s %s %s", words[0], words[1], name);
    g_autofree char *stored = described_public_key(f, name);
    g_assert_cmpstr(stored, ==, shown);
}

static void test_import(Fixture *f, gconstpointer data)
{
    if (!have("ssh-keygen") || !have("openssl")) {
        g_test_skip("ssh-keygen or openssl is missing");
        return;
    }
    import_generated(f, "imp-ed", "-t ed25519",
                     "ssh-keygen -l -f imp-ed.pub | sed 's/^256 SHA256:\\([^ ]*\\) .*/\\1=/'");
    /* AWS's recipe for an imported RSA key: MD5 of the DER public key. */
    import_generated(f, "imp-rsa", "-t rsa -b 3072",
                     "ssh-keygen -e -m PKCS8 -f imp-rsa.pub | openssl pkey -pubin -outform DER "
                     "| openssl md5 -c | sed 's/^.*= //'");

    /* Some clients send the line itself rather than its base64. */
    g_autofree char *pub = read_file(f, "imp-ed.pub");
    g_autofree char *enc = g_uri_escape_string(g_strstrip(pub), NULL, FALSE);
    g_autofree char *params =
        g_strdup_printf("Action=ImportKeyPair&KeyName=raw-line&PublicKeyMaterial=%s", enc);
    g_free(fixture_ok(f, params));
    g_assert_cmpint(fixture_count_rows(f, "key_pairs"), ==, 3);
}

/* An Ed25519 public key line whose blob is BLOB (LEN bytes). */
static char *ed25519_line(const guchar *blob, gsize len)
{
    g_autofree char *b64 = g_base64_encode(blob, len);
    return g_strdup_printf("ssh-ed25519 %s x\n", b64);
}

static char *blob_line(const char *type, const char *const *fields, const gsize *lens)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    for (size_t i = 0; fields[i] != NULL; i++) {
        guint8 be[4] = { lens[i] >> 24, lens[i] >> 16, lens[i] >> 8, lens[i] };
        g_byte_array_append(b, be, 4);
        g_byte_array_append(b, (const guint8 *) fields[i], lens[i]);
    }
    g_autofree char *b64 = g_base64_encode(b->data, b->len);
    return g_strdup_printf("%s %s\n", type, b64);
}

static void refuse_import(Fixture *f, const char *text, const char *code)
{
    g_autofree char *params = import_params("bad", text, strlen(text));
    fixture_refused(f, params, code);
}

static void test_keypair_bad_input(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(f, "Action=CreateKeyPair&KeyName=taken&KeyType=ed25519"));
    g_autofree char *long_name = g_strnfill(256, 'a');
    g_autofree char *p_long = g_strdup_printf("Action=CreateKeyPair&KeyName=%s", long_name);
    static const struct {
        const char *params, *code;
    } cases[] = {
        { "Action=CreateKeyPair", "MissingParameter" },
        { "Action=CreateKeyPair&KeyName=", "MissingParameter" },
        { "Action=CreateKeyPair&KeyName=a%01b", "InvalidParameterValue" },
        { "Action=CreateKeyPair&KeyName=caf%C3%A9", "InvalidParameterValue" },
        { "Action=CreateKeyPair&KeyName=k&KeyType=dsa", "InvalidParameterValue" },
        { "Action=CreateKeyPair&KeyName=k&KeyFormat=ppk", "InvalidParameterValue" },
        { "Action=CreateKeyPair&KeyName=k&KeyFormat=der", "InvalidParameterValue" },
        { "Action=CreateKeyPair&KeyName=taken", "InvalidKeyPair.Duplicate" },
        { "Action=CreateKeyPair&KeyName=k&TagSpecification.1.ResourceType=instance"
          "&TagSpecification.1.Tag.1.Key=a",
          "InvalidParameterValue" },
        { "Action=CreateKeyPair&KeyName=k&TagSpecification.1.ResourceType=key-pair"
          "&TagSpecification.1.Tag.1.Key=aws:x",
          "InvalidParameterValue" },
        { "Action=ImportKeyPair&KeyName=k", "MissingParameter" },
        { "Action=ImportKeyPair&PublicKeyMaterial=c3NoLQ==", "MissingParameter" },
        { "Action=ImportKeyPair&KeyName=k&PublicKeyMaterial=%25%25%25", "InvalidParameterValue" },
        { "Action=ImportKeyPair&KeyName=k&PublicKeyMaterial=aGVsbG8=", "InvalidKey.Format" },
        { "Action=DescribeKeyPairs&KeyName.1=nope", "InvalidKeyPair.NotFound" },
        { "Action=DescribeKeyPairs&KeyPairId.1=key-zz", "InvalidKeyPair.NotFound" },
        { "Action=DescribeKeyPairs&KeyPairId.1=key-00000000000000000", "InvalidKeyPair.NotFound" },
        { "Action=DescribeKeyPairs&Filter.1.Name=color&Filter.1.Value.1=red",
          "InvalidParameterValue" },
        { "Action=DescribeKeyPairs&IncludePublicKey=maybe", "InvalidParameterValue" },
        { "Action=DeleteKeyPair", "MissingParameter" },
        { "Action=DeleteKeyPair&KeyPairId=key-00000000000000000", "InvalidKeyPair.NotFound" },
        { "Action=DeleteKeyPair&KeyPairId=nope", "InvalidKeyPair.NotFound" },
        { "Action=RunInstances&ImageId=" AMI "&KeyName=nope", "InvalidKeyPair.NotFound" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        fixture_refused(f, cases[i].params, cases[i].code);
    fixture_refused(f, p_long, "InvalidParameterValue");

    /* Public keys that are not what they say. */
    guchar pk[33] = { 0 };
    g_autofree char *short_blob = NULL, *mismatch = NULL, *rsa_zero = NULL, *trailing = NULL;
    const gsize ed_lens[] = { 11, 31 }, ed_lens2[] = { 11, 32, 1 }, rsa_lens[] = { 7, 3, 2 };
    short_blob = blob_line("ssh-ed25519", (const char *const[]){ "ssh-ed25519", (char *) pk, NULL },
                           ed_lens);
    trailing =
        blob_line("ssh-ed25519",
                  (const char *const[]){ "ssh-ed25519", (char *) pk, (char *) pk, NULL }, ed_lens2);
    mismatch = ed25519_line((const guchar *) "\0\0\0\x07ssh-rsa", 11);
    /* e = 0x00 0x01 0x01 is not canonical (a needless zero byte). */
    rsa_zero =
        blob_line("ssh-rsa", (const char *const[]){ "ssh-rsa", "\0\1\1", "\1\1", NULL }, rsa_lens);
    refuse_import(f, short_blob, "InvalidKey.Format");
    refuse_import(f, trailing, "InvalidKey.Format");
    refuse_import(f, mismatch, "InvalidKey.Format");
    refuse_import(f, rsa_zero, "InvalidKey.Format");
    refuse_import(f, "ssh-dss AAAAB3NzaC1kc3MAAACBAP== x\n", "InvalidKey.Format");
    refuse_import(f, "ssh-ed25519 AAAA!!!! x\n", "InvalidKey.Format");
    refuse_import(f, "ssh-ed25519\n", "InvalidKey.Format");
    refuse_import(f, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 \xff\xfe\n", "InvalidKey.Format");
    if (have("ssh-keygen")) {
        g_free(shell(f, "ssh-keygen -q -N '' -t ed25519 -f two"));
        g_autofree char *one = read_file(f, "two.pub");
        g_autofree char *both = g_strconcat(one, one, NULL);
        refuse_import(f, both, "InvalidKey.Format");
        g_autofree char *opts = g_strconcat("no-pty ", one, NULL);
        refuse_import(f, opts, "InvalidKey.Format");
        g_free(shell(f, "ssh-keygen -q -N '' -t rsa -b 1024 -f weak"));
        g_autofree char *weak = read_file(f, "weak.pub");
        refuse_import(f, weak, "InvalidParameterValue");
        g_autofree char *dup = import_params("taken", one, strlen(one));
        fixture_refused(f, dup, "InvalidKeyPair.Duplicate");
    }
    g_assert_cmpint(fixture_count_rows(f, "key_pairs"), ==, 1);
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 0);
    g_assert_cmpint(fixture_count_rows(f, "tags"), ==, 0);
}

static void test_keypair_describe_delete(Fixture *f, gconstpointer data)
{
    g_autofree char *a =
        fixture_ok(f, "Action=CreateKeyPair&KeyName=alpha&KeyType=ed25519"
                      "&TagSpecification.1.ResourceType=key-pair"
                      "&TagSpecification.1.Tag.1.Key=env&TagSpecification.1.Tag.1.Value=prod");
    g_free(fixture_ok(f, "Action=CreateKeyPair&KeyName=beta"));
    g_autofree char *a_id = xml_text(a, "keyPairId");
    g_autofree char *a_fp = xml_text(a, "keyFingerprint");
    g_autofree char *all = fixture_ok(f, "Action=DescribeKeyPairs");
    g_assert_cmpuint(fixture_count(all, "<keyName>"), ==, 2);
    g_assert_null(strstr(all, "publicKey"));
    g_assert_null(strstr(all, "PRIVATE"));

    g_autofree char *by_fp_enc = g_uri_escape_string(a_fp, NULL, FALSE);
    const char *filters[][2] = {
        { "Filter.1.Name=key-name&Filter.1.Value.1=al*", "alpha" },
        { "Filter.1.Name=key-type&Filter.1.Value.1=rsa", "beta" },
        { "Filter.1.Name=tag:env&Filter.1.Value.1=prod", "alpha" },
        { "Filter.1.Name=tag-key&Filter.1.Value.1=env", "alpha" },
        { "KeyName.1=beta", "beta" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(filters); i++) {
        g_autofree char *params = g_strdup_printf("Action=DescribeKeyPairs&%s", filters[i][0]);
        g_autofree char *xml = fixture_ok(f, params);
        g_assert_cmpuint(fixture_count(xml, "<keyName>"), ==, 1);
        g_autofree char *name = xml_text(xml, "keyName");
        g_assert_cmpstr(name, ==, filters[i][1]);
    }
    g_autofree char *fp_params = g_strdup_printf(
        "Action=DescribeKeyPairs&Filter.1.Name=fingerprint&Filter.1.Value.1=%s", by_fp_enc);
    g_autofree char *by_fp = fixture_ok(f, fp_params);
    g_assert_nonnull(strstr(by_fp, a_id));
    g_assert_cmpuint(fixture_count(by_fp, "<keyName>"), ==, 1);
    g_autofree char *id_params = g_strdup_printf("Action=DescribeKeyPairs&KeyPairId.1=%s", a_id);
    g_autofree char *by_id = fixture_ok(f, id_params);
    g_assert_nonnull(strstr(by_id, "<keyType>ed25519</keyType>"));

    /* EC2 answers true for a name it does not know. */
    g_autofree char *unknown = fixture_ok(f, "Action=DeleteKeyPair&KeyName=nobody");
    g_assert_nonnull(strstr(unknown, "<return>true</return>"));
    g_free(fixture_ok(f, "Action=DeleteKeyPair&KeyName=beta"));
    g_autofree char *del_params = g_strdup_printf("Action=DeleteKeyPair&KeyPairId=%s", a_id);
    g_free(fixture_ok(f, del_params));
    g_assert_cmpint(fixture_count_rows(f, "key_pairs"), ==, 0);
    g_assert_cmpint(fixture_count_rows(f, "tags"), ==, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One pseudo-random change to BLOB: a bit flip, an interesting byte, a
 * truncation, an inserted byte, or a length field made larger. */
static void mutate(GByteArray *blob, GRand *rng)
{
    static const guint8 interesting[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, ' ', '\n', '=' };
    guint at = blob->len ? g_rand_int_range(rng, 0, blob->len) : 0;
    switch (g_rand_int_range(rng, 0, 5)) {
    case 0:
        if (blob->len)
            blob->data[at] ^= 1 << g_rand_int_range(rng, 0, 8);
        break;
    case 1:
        if (blob->len)
            blob->data[at] = interesting[g_rand_int_range(rng, 0, sizeof(interesting))];
        break;
    case 2:
        g_byte_array_set_size(blob, at);
        break;
    case 3: {
        g_byte_array_set_size(blob, blob->len + 1);
        memmove(blob->data + at + 1, blob->data + at, blob->len - at - 1);
        blob->data[at] = (guint8) g_rand_int_range(rng, 0, 256);
        break;
    }
    default:
        if (blob->len >= 4)
            blob->data[at & ~3u] = 0x7f;
    }
}

/* The fuzz target of fuzz-sshkey.c over mutations of real keys: of the
 * line's text, and of the decoded blob (to reach the SSH wire parser). */
static void test_import_mutations(void)
{
    g_autoptr(GRand) rng = g_rand_new_with_seed(20261127);
    g_autoptr(GPtrArray) seeds = g_ptr_array_new_with_free_func(g_free);
    for (int t = 0; t < 2; t++) {
        g_auto(NubeSshKey) key = { 0 };
        g_assert_cmpint(
            nube_sshkey_generate(t ? NUBE_SSHKEY_RSA : NUBE_SSHKEY_ED25519, "c", &key, NULL), ==,
            0);
        g_ptr_array_add(seeds, g_strconcat(key.public_key, " comment\n", NULL));
    }
    for (int round = 0; round < 20000; round++) {
        const char *seed = seeds->pdata[round % seeds->len];
        g_autoptr(GByteArray) buf = g_byte_array_new();
        if (round % 2 == 0) {
            g_byte_array_append(buf, (const guint8 *) seed, strlen(seed));
            for (int n = g_rand_int_range(rng, 1, 4); n > 0; n--)
                mutate(buf, rng);
        } else {
            g_auto(GStrv) words = g_strsplit(seed, " ", 3);
            gsize len = 0;
            g_autofree guchar *raw = g_base64_decode(words[1], &len);
            g_autoptr(GByteArray) blob = g_byte_array_new();
            g_byte_array_append(blob, raw, len);
            for (int n = g_rand_int_range(rng, 1, 4); n > 0; n--)
                mutate(blob, rng);
            g_autofree char *b64 = g_base64_encode(blob->data, blob->len);
            g_autofree char *line = g_strdup_printf("%s %s x", words[0], b64);
            g_byte_array_append(buf, (const guint8 *) line, strlen(line));
        }
        LLVMFuzzerTestOneInput(buf->data, buf->len);
    }
}

/* ---- security groups ------------------------------------------------------ */

static char *create_group(Fixture *f, const char *name)
{
    g_autofree char *params = g_strdup_printf(
        "Action=CreateSecurityGroup&GroupName=%s&GroupDescription=group%%20%s", name, name);
    g_autofree char *xml = fixture_ok(f, params);
    g_assert_nonnull(strstr(xml, "<return>true</return>"));
    return xml_text(xml, "groupId");
}

static void test_default_group(Fixture *f, gconstpointer data)
{
    g_autofree char *xml = fixture_ok(f, "Action=DescribeSecurityGroups");
    g_assert_cmpuint(fixture_count(xml, "<groupName>"), ==, 1);
    g_assert_nonnull(strstr(xml, "<groupName>default</groupName>"));
    g_autoptr(GRegex) re = g_regex_new("<ipPermissions>\\s*<item>\\s*<ipProtocol>tcp</ipProtocol>"
                                       "\\s*<fromPort>22</fromPort>\\s*<toPort>22</toPort>.*"
                                       "<cidrIp>0.0.0.0/0</cidrIp>.*</ipPermissions>",
                                       G_REGEX_DOTALL, 0, NULL);
    g_assert_true(g_regex_match(re, xml, 0, NULL));
    g_assert_nonnull(strstr(xml, "<ipPermissionsEgress>"));
    fixture_refused(f, "Action=DeleteSecurityGroup&GroupName=default", "CannotDelete");
    fixture_refused(f, "Action=CreateSecurityGroup&GroupName=default&GroupDescription=x",
                    "InvalidGroup.Duplicate");
    g_autofree char *id = xml_text(xml, "groupId");
    g_autofree char *by_id = g_strdup_printf("Action=DeleteSecurityGroup&GroupId=%s", id);
    fixture_refused(f, by_id, "CannotDelete");
    /* Made once. */
    g_free(fixture_ok(f, "Action=DescribeSecurityGroups"));
    g_assert_cmpint(fixture_count_rows(f, "security_groups"), ==, 1);
    g_assert_cmpint(fixture_count_rows(f, "security_group_rules"), ==, 1);
}

static void test_rules(Fixture *f, gconstpointer data)
{
    g_autofree char *id = create_group(f, "web");
    g_autofree char *a =
        fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=web"
                      "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=8080"
                      "&IpPermissions.1.ToPort=8080"
                      "&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8"
                      "&IpPermissions.1.IpRanges.1.Description=office"
                      "&IpPermissions.1.IpRanges.2.CidrIp=0.0.0.0/0"
                      "&IpPermissions.2.IpProtocol=6&IpPermissions.2.FromPort=9000"
                      "&IpPermissions.2.ToPort=9063"
                      "&IpPermissions.2.IpRanges.1.CidrIp=192.168.1.128/25");
    g_assert_cmpuint(fixture_count(a, "<securityGroupRuleId>sgr-"), ==, 3);
    /* The legacy flat form. */
    g_autofree char *legacy = g_strdup_printf("Action=AuthorizeSecurityGroupIngress&GroupId=%s"
                                              "&IpProtocol=tcp&FromPort=443&ToPort=443"
                                              "&CidrIp=172.16.0.0/12",
                                              id);
    g_free(fixture_ok(f, legacy));

    g_autofree char *params = g_strdup_printf("Action=DescribeSecurityGroups&GroupId.1=%s", id);
    g_autofree char *xml = fixture_ok(f, params);
    /* Rules of the same ports are one permission with its ranges. */
    g_assert_cmpuint(fixture_count(xml, "<ipProtocol>tcp</ipProtocol>"), ==, 3);
    g_assert_cmpuint(fixture_count(xml, "<cidrIp>"), ==, 5);
    g_assert_nonnull(strstr(xml, "<description>office</description>"));
    g_assert_nonnull(strstr(xml, "<groupDescription>group web</groupDescription>"));

    /* Nothing of a request with one duplicate is added. */
    fixture_refused(f,
                    "Action=AuthorizeSecurityGroupIngress&GroupName=web"
                    "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1"
                    "&IpPermissions.1.ToPort=1&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"
                    "&IpPermissions.2.IpProtocol=tcp&IpPermissions.2.FromPort=8080"
                    "&IpPermissions.2.ToPort=8080&IpPermissions.2.IpRanges.1.CidrIp=10.0.0.0/8",
                    "InvalidPermission.Duplicate");
    fixture_refused(f,
                    "Action=AuthorizeSecurityGroupIngress&GroupName=web"
                    "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=2"
                    "&IpPermissions.1.ToPort=2&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"
                    "&IpPermissions.1.IpRanges.2.CidrIp=0.0.0.0/0",
                    "InvalidPermission.Duplicate");
    g_assert_cmpint(fixture_count_rows(f, "security_group_rules"), ==, 5);

    /* Revoke: all or nothing, then by rule id. */
    fixture_refused(f,
                    "Action=RevokeSecurityGroupIngress&GroupName=web"
                    "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=8080"
                    "&IpPermissions.1.ToPort=8080&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"
                    "&IpPermissions.2.IpProtocol=tcp&IpPermissions.2.FromPort=8080"
                    "&IpPermissions.2.ToPort=8080&IpPermissions.2.IpRanges.1.CidrIp=10.9.0.0/16",
                    "InvalidPermission.NotFound");
    g_assert_cmpint(fixture_count_rows(f, "security_group_rules"), ==, 5);
    g_free(fixture_ok(f,
                      "Action=RevokeSecurityGroupIngress&GroupName=web"
                      "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=8080"
                      "&IpPermissions.1.ToPort=8080&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"));
    g_autofree char *rule_id = xml_text(a, "securityGroupRuleId");
    g_autofree char *by_rule = g_strdup_printf(
        "Action=RevokeSecurityGroupIngress&GroupName=web&SecurityGroupRuleId.1=%s", rule_id);
    g_free(fixture_ok(f, by_rule));
    fixture_refused(f, by_rule, "InvalidSecurityGroupRuleId.NotFound");
    g_assert_cmpint(fixture_count_rows(f, "security_group_rules"), ==, 3);
}

static void test_group_filters(Fixture *f, gconstpointer data)
{
    g_free(create_group(f, "web"));
    g_free(create_group(f, "db"));
    g_free(fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=80&ToPort=81&CidrIp=0.0.0.0/0"));
    g_free(fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=db&IpProtocol=tcp"
                         "&FromPort=5432&ToPort=5432&CidrIp=10.0.0.0/8"));
    g_autofree char *tag =
        g_strdup_printf("Action=CreateSecurityGroup&GroupName=tagged&GroupDescription=t"
                        "&VpcId=vpc-0123456789abcdef0"
                        "&TagSpecification.1.ResourceType=security-group"
                        "&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=t1");
    g_free(fixture_ok(f, tag));
    const char *cases[][2] = {
        { "Filter.1.Name=ip-permission.from-port&Filter.1.Value.1=80", "web" },
        { "Filter.1.Name=ip-permission.to-port&Filter.1.Value.1=5432", "db" },
        { "Filter.1.Name=ip-permission.cidr&Filter.1.Value.1=10.*", "db" },
        { "Filter.1.Name=ip-permission.protocol&Filter.1.Value.1=tcp"
          "&Filter.2.Name=group-name&Filter.2.Value.1=w*",
          "web" },
        { "Filter.1.Name=description&Filter.1.Value.1=group%20db", "db" },
        { "Filter.1.Name=tag:Name&Filter.1.Value.1=t1", "tagged" },
        { "Filter.1.Name=tag-key&Filter.1.Value.1=Name", "tagged" },
        { "Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-0123456789abcdef0", "tagged" },
        { "GroupName.1=db", "db" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *params = g_strdup_printf("Action=DescribeSecurityGroups&%s", cases[i][0]);
        g_autofree char *xml = fixture_ok(f, params);
        g_test_message("%s", cases[i][0]);
        g_assert_cmpuint(fixture_count(xml, "<groupName>"), ==, 1);
        g_autofree char *name = xml_text(xml, "groupName");
        g_assert_cmpstr(name, ==, cases[i][1]);
    }
    g_autofree char *all = fixture_ok(f, "Action=DescribeSecurityGroups&MaxResults=5");
    g_assert_cmpuint(fixture_count(all, "<groupName>"), ==, 4);
}

static void test_group_bad_input(Fixture *f, gconstpointer data)
{
    g_free(create_group(f, "web"));
    g_autofree char *busy = create_group(f, "busy");
    insert_instance(f, INST, NUBE_INSTANCE_STOPPED, busy);
    g_autofree char *long_desc = g_strnfill(256, 'd');
    g_autofree char *p_long =
        g_strdup_printf("Action=CreateSecurityGroup&GroupName=x&GroupDescription=%s", long_desc);
    fixture_refused(f, p_long, "InvalidParameterValue");
    g_autofree char *p_busy = g_strdup_printf("Action=DeleteSecurityGroup&GroupId=%s", busy);
    fixture_refused(f, p_busy, "DependencyViolation");

#define AUTH "Action=AuthorizeSecurityGroupIngress&GroupName=web"
#define PERM(proto, from, to, cidr)                                        \
    "&IpPermissions.1.IpProtocol=" proto "&IpPermissions.1.FromPort=" from \
    "&IpPermissions.1.ToPort=" to "&IpPermissions.1.IpRanges.1.CidrIp=" cidr
    static const struct {
        const char *params, *code;
    } cases[] = {
        { "Action=CreateSecurityGroup&GroupDescription=d", "MissingParameter" },
        { "Action=CreateSecurityGroup&GroupName=x", "MissingParameter" },
        { "Action=CreateSecurityGroup&GroupName=x&GroupDescription=", "MissingParameter" },
        { "Action=CreateSecurityGroup&GroupName=sg-x&GroupDescription=d", "InvalidParameterValue" },
        { "Action=CreateSecurityGroup&GroupName=a%3Cb&GroupDescription=d",
          "InvalidParameterValue" },
        { "Action=CreateSecurityGroup&GroupName=x&GroupDescription=caf%C3%A9",
          "InvalidParameterValue" },
        { "Action=CreateSecurityGroup&GroupName=x&GroupDescription=d&VpcId=abc",
          "InvalidVpcID.Malformed" },
        { "Action=CreateSecurityGroup&GroupName=web&GroupDescription=d", "InvalidGroup.Duplicate" },
        { "Action=CreateSecurityGroup&GroupName=x&GroupDescription=d"
          "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a",
          "InvalidParameterValue" },
        { "Action=AuthorizeSecurityGroupIngress&GroupId=sg-zz" PERM("tcp", "80", "80", "0.0.0.0/0"),
          "InvalidGroupId.Malformed" },
        { "Action=AuthorizeSecurityGroupIngress&GroupId=sg-00000000000000000" PERM(
              "tcp", "80", "80", "0.0.0.0/0"),
          "InvalidGroup.NotFound" },
        { "Action=AuthorizeSecurityGroupIngress&GroupName=nope" PERM("tcp", "80", "80",
                                                                     "0.0.0.0/0"),
          "InvalidGroup.NotFound" },
        { "Action=AuthorizeSecurityGroupIngress" PERM("tcp", "80", "80", "0.0.0.0/0"),
          "MissingParameter" },
        { AUTH, "MissingParameter" },
        { AUTH PERM("udp", "53", "53", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("icmp", "1", "1", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("-1", "1", "1", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("tcpx", "1", "1", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "0", "0", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "1", "70000", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "81", "80", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "1000", "1064", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "x", "80", "0.0.0.0/0"), "InvalidParameterValue" },
        { AUTH "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80"
               "&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
          "InvalidParameterValue" },
        { AUTH "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80"
               "&IpPermissions.1.ToPort=80",
          "MissingParameter" },
        { AUTH PERM("tcp", "80", "80", "10.0.0.0/33"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "10.0.0.1/8"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "256.0.0.0/8"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "10.0.0/8"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "010.0.0.0/8"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "10.0.0.0/08"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "10.0.0.0"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "0.0.0.0/0%20"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "::/0"), "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "0.0.0.0/0") "&IpPermissions.1.Ipv6Ranges.1.CidrIpv6=::/0",
          "InvalidParameterValue" },
        { AUTH PERM("tcp", "80", "80", "0.0.0.0/0") "&IpPermissions.1.Groups.1.GroupId=sg-1",
          "InvalidParameterValue" },
        { AUTH "&IpProtocol=tcp&FromPort=80&ToPort=80", "MissingParameter" },
        { AUTH "&IpProtocol=udp&FromPort=80&ToPort=80&CidrIp=0.0.0.0/0", "InvalidParameterValue" },
        { AUTH "&IpProtocol=tcp&FromPort=80&ToPort=80&CidrIp=1.2.3.4/33", "InvalidParameterValue" },
        { "Action=RevokeSecurityGroupIngress&GroupName=web" PERM("tcp", "80", "80", "0.0.0.0/0"),
          "InvalidPermission.NotFound" },
        { "Action=DeleteSecurityGroup", "MissingParameter" },
        { "Action=DeleteSecurityGroup&GroupName=nope", "InvalidGroup.NotFound" },
        { "Action=DeleteSecurityGroup&GroupId=sg-00000000000000000", "InvalidGroup.NotFound" },
        { "Action=DeleteSecurityGroup&GroupId=nope", "InvalidGroupId.Malformed" },
        { "Action=DeleteSecurityGroup&GroupName=busy", "DependencyViolation" },
        { "Action=DescribeSecurityGroups&GroupId.1=sg-zz", "InvalidGroupId.Malformed" },
        { "Action=DescribeSecurityGroups&GroupName.1=nope", "InvalidGroup.NotFound" },
        { "Action=DescribeSecurityGroups&Filter.1.Name=ip-permission.color&Filter.1.Value.1=x",
          "InvalidParameterValue" },
        { "Action=RunInstances&ImageId=" AMI "&SecurityGroupId.1=sg-00000000000000000",
          "InvalidGroup.NotFound" },
        { "Action=RunInstances&ImageId=" AMI "&SecurityGroupId.1=bad", "InvalidGroupId.Malformed" },
        { "Action=RunInstances&ImageId=" AMI "&SecurityGroup.1=nope", "InvalidGroup.NotFound" },
        { "Action=RunInstances&ImageId=" AMI "&SecurityGroup.1=web&SecurityGroup.2=busy"
          "&SecurityGroup.3=default&SecurityGroup.4=g4&SecurityGroup.5=g5&SecurityGroup.6=g6",
          "SecurityGroupsPerInterfaceLimitExceeded" },
    };
#undef AUTH
#undef PERM
    g_free(create_group(f, "g4"));
    g_free(create_group(f, "g5"));
    g_free(create_group(f, "g6"));
    int groups = fixture_count_rows(f, "security_groups");
    int rules = fixture_count_rows(f, "security_group_rules");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        fixture_refused(f, cases[i].params, cases[i].code);
    g_assert_cmpint(fixture_count_rows(f, "security_groups"), ==, groups);
    g_assert_cmpint(fixture_count_rows(f, "security_group_rules"), ==, rules);
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 1);
    g_assert_cmpint(fixture_count_rows(f, "instance_groups"), ==, 1);
    g_assert_cmpint(fixture_count_rows(f, "tags"), ==, 0);
}

static void test_rule_limit(Fixture *f, gconstpointer data)
{
    g_free(create_group(f, "many"));
    for (int i = 0; i < NUBE_SECGROUP_MAX_RULES; i++) {
        g_autofree char *params =
            g_strdup_printf("Action=AuthorizeSecurityGroupIngress&GroupName=many&IpProtocol=tcp"
                            "&FromPort=%d&ToPort=%d&CidrIp=0.0.0.0/0",
                            1000 + i, 1000 + i);
        g_free(fixture_ok(f, params));
    }
    fixture_refused(f,
                    "Action=AuthorizeSecurityGroupIngress&GroupName=many&IpProtocol=tcp"
                    "&FromPort=2000&ToPort=2000&CidrIp=0.0.0.0/0",
                    "RulesPerSecurityGroupLimitExceeded");
}

/* guest:host:origin of each forward of INST, by guest port. */
static char *forwards_of(Fixture *f, const char *id)
{
    GString *out = g_string_new(NULL);
    sqlite3_stmt *stmt =
        nube_db_prepare(f->cloud.db,
                        "SELECT guest_port, host_port, origin FROM forwards WHERE instance_id = ?1 "
                        "ORDER BY guest_port",
                        NULL);
    nube_db_bind(f->cloud.db, stmt, "s", id);
    while (nube_db_step(f->cloud.db, stmt, NULL) == 1) {
        int host = sqlite3_column_int(stmt, 1);
        g_assert_cmpint(host, >=, 40000);
        g_string_append_printf(out, "%s%d:%s", out->len ? " " : "", sqlite3_column_int(stmt, 0),
                               sqlite3_column_text(stmt, 2));
    }
    sqlite3_finalize(stmt);
    return g_string_free(out, FALSE);
}

/* Rules reach the forwards of the group's instances (here stopped: the
 * records only); NubeForwardPort's forwards stay whatever the rules say. */
static void test_forwards_follow_rules(Fixture *f, gconstpointer data)
{
    g_autofree char *web = create_group(f, "web");
    insert_instance(f, INST, NUBE_INSTANCE_STOPPED, web);
    insert_instance(f, "i-0000000000000000a", NUBE_INSTANCE_TERMINATED, web);
    char *fw = forwards_of(f, INST);
    g_assert_cmpstr(fw, ==, "9000:extra");
    g_free(fw);

    g_free(fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=8080&ToPort=8081&CidrIp=0.0.0.0/0"));
    g_free(fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=8081&ToPort=8081&CidrIp=10.0.0.0/8"));
    g_free(fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=9000&ToPort=9000&CidrIp=0.0.0.0/0"));
    fw = forwards_of(f, INST);
    g_assert_cmpstr(fw, ==, "8080:group 8081:group 9000:extra");
    g_free(fw);
    /* A terminated instance is left alone. */
    fw = forwards_of(f, "i-0000000000000000a");
    g_assert_cmpstr(fw, ==, "9000:extra");
    g_free(fw);

    /* 8081 stays open while another rule opens it. */
    g_free(fixture_ok(f, "Action=RevokeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=8080&ToPort=8081&CidrIp=0.0.0.0/0"));
    fw = forwards_of(f, INST);
    g_assert_cmpstr(fw, ==, "8081:group 9000:extra");
    g_free(fw);
    g_free(fixture_ok(f, "Action=RevokeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=8081&ToPort=8081&CidrIp=10.0.0.0/8"));
    g_free(fixture_ok(f, "Action=RevokeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=9000&ToPort=9000&CidrIp=0.0.0.0/0"));
    fw = forwards_of(f, INST);
    g_assert_cmpstr(fw, ==, "9000:extra");
    g_free(fw);

    /* DescribeInstances shows the key, the groups and the forwards. */
    g_free(fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=tcp"
                         "&FromPort=22&ToPort=22&CidrIp=0.0.0.0/0"));
    g_autofree char *xml = fixture_ok(f, "Action=DescribeInstances&InstanceId.1=" INST);
    g_assert_nonnull(strstr(xml, "<keyName>mykey</keyName>"));
    g_autofree char *group_id = g_strdup_printf("<groupId>%s</groupId>", web);
    g_assert_nonnull(strstr(xml, group_id));
    g_assert_nonnull(strstr(xml, "<groupName>web</groupName>"));
    g_assert_nonnull(strstr(xml, "<guestPort>22</guestPort>"));
    g_assert_nonnull(strstr(xml, "<guestPort>9000</guestPort>"));

    /* A terminated instance does not keep its group from being deleted. */
    g_assert_cmpint(nube_db_exec(f->cloud.db, NULL,
                                 "UPDATE instances SET state = 'terminated' WHERE id = ?1", "s",
                                 INST),
                    ==, 1);
    g_free(fixture_ok(f, "Action=DeleteSecurityGroup&GroupName=web"));
    g_assert_cmpint(fixture_count_rows(f, "instance_groups"), ==, 0);
    g_assert_cmpint(fixture_count_rows(f, "security_group_rules"), ==, 1);
}

/* ---- migration -------------------------------------------------------------- */

static void exec_resource(sqlite3 *db, const char *name)
{
    g_autofree char *path = g_strdup_printf("/org/nube/schemas/migrations/%s", name);
    g_autoptr(GBytes) sql = g_resources_lookup_data(path, 0, NULL);
    g_assert_nonnull(sql);
    g_autofree char *text = g_strndup(g_bytes_get_data(sql, NULL), g_bytes_get_size(sql));
    g_assert_cmpint(sqlite3_exec(db, text, NULL, NULL, NULL), ==, SQLITE_OK);
}

/* A version 4 database's instances join their owner's new default group and
 * their SSH port becomes that group's forward. */
static void test_migration_from_4(void)
{
    g_autofree char *dir = g_dir_make_tmp("nube-mig-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "nube.db", NULL);
    g_autoptr(NubeError) err = NULL;
    /* Opening once registers the schema resource. */
    g_autofree char *probe = g_build_filename(dir, "probe.db", NULL);
    nube_db_close(nube_db_open(probe, &err));

    sqlite3 *raw = NULL;
    g_assert_cmpint(sqlite3_open(path, &raw), ==, SQLITE_OK);
    const char *old[] = { "0001_initial.sql", "0002_forwards_volumes.sql", "0003_capture_time.sql",
                          "0004_agent.sql" };
    for (size_t i = 0; i < G_N_ELEMENTS(old); i++)
        exec_resource(raw, old[i]);
    g_assert_cmpint(
        sqlite3_exec(raw,
                     "PRAGMA user_version = 4;"
                     "INSERT INTO accounts VALUES ('" OWNER "', 'AKIA', 's', 0);"
                     "INSERT INTO images (id, owner_id, name, state, source, created_at) "
                     "VALUES ('" AMI "', '" OWNER "', 'img', 'available', 'import', 0);"
                     "INSERT INTO instances (id, reservation_id, owner_id, image_id, "
                     "instance_type, state, state_changed_at, root_device_type, base_sha256, "
                     "mac, private_ip, hostname, ssh_host_port, vcpus, memory_mib, launch_time) "
                     "VALUES ('" INST "', 'r-1', '" OWNER "', '" AMI "', 't3.micro', 'running', "
                     "0, 'ebs', 'ab', 'm', '10.0.2.15', 'h', 40022, 1, 512, 0);"
                     "INSERT INTO forwards VALUES ('" INST "', 80, 40080);",
                     NULL, NULL, NULL),
        ==, SQLITE_OK);
    sqlite3_close(raw);

    NubeDb *db = nube_db_open(path, &err);
    g_assert_nonnull(db);
    g_autoptr(NubeInstance) inst = nube_instance_get(db, INST, &err);
    g_assert_nonnull(inst);
    g_assert_cmpuint(inst->forwards->len, ==, 2);
    NubePortForward *ssh = &g_array_index(inst->forwards, NubePortForward, 0);
    g_assert_cmpuint(ssh->guest_port, ==, 22);
    g_assert_cmpuint(ssh->host_port, ==, 40022);
    g_assert_cmpuint(inst->extra_ports->len, ==, 1);
    g_assert_cmpuint(g_array_index(inst->extra_ports, guint16, 0), ==, 80);
    g_assert_cmpuint(inst->groups->len, ==, 1);
    NubeSecGroup *g = inst->groups->pdata[0];
    g_assert_cmpstr(g->name, ==, "default");
    g_assert_true(nube_id_valid(g->id, "sg"));
    g_autoptr(GArray) ports = nube_secgroup_instance_ports(db, INST, &err);
    g_assert_cmpuint(ports->len, ==, 1);
    g_assert_cmpuint(g_array_index(ports, guint16, 0), ==, 22);
    nube_db_close(db);
    nube_rm_rf(dir, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, &spec, fixture_setup, fn, fixture_teardown)
    ADD("/keypairs/create-rsa", test_create_rsa);
    ADD("/keypairs/create-ed25519", test_create_ed25519);
    ADD("/keypairs/import", test_import);
    ADD("/keypairs/bad-input", test_keypair_bad_input);
    ADD("/keypairs/describe-delete", test_keypair_describe_delete);
    ADD("/secgroups/default", test_default_group);
    ADD("/secgroups/rules", test_rules);
    ADD("/secgroups/filters", test_group_filters);
    ADD("/secgroups/bad-input", test_group_bad_input);
    ADD("/secgroups/rule-limit", test_rule_limit);
    ADD("/secgroups/forwards-follow-rules", test_forwards_follow_rules);
#undef ADD
    g_test_add_func("/secgroups/migration-from-4", test_migration_from_4);
    g_test_add_func("/keypairs/import-mutations", test_import_mutations);
    return g_test_run();
}
