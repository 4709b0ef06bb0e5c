/*
 * test-tags.c: CreateTags, DeleteTags, DescribeTags (EC2's limits, errors
 * and all-or-nothing), the filters of the Describe actions, the form of
 * ids of each resource kind, and Describe/ModifyInstanceAttribute, without
 * a hypervisor.
 */
#include "fixture.h"

#include "catalog.h"
#include "resource.h"
#include "tags.h"

#include <string.h>

#define OWNER    FIXTURE_OWNER
#define AMI      FIXTURE_AMI
#define RUNNING  "i-0abcdef0123456789"
#define STOPPED  "i-0000000000000000c"
#define VOL      "vol-0abcdef0123456789"
#define KEYPAIR  "key-0123456789abcdef0"
#define GROUP    "sg-0123456789abcdef0"
#define NO_SUCH_ "00000000000000000"

/* An image, a running and a stopped instance, the running one's root
 * volume, a key pair and a security group (their tables come with
 * migration 0005). */
static void insert_records(Fixture *f)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeImage) img = fixture_image_new("base");
    fixture_insert_image(f, img, NULL, NULL, NULL);
    g_autoptr(NubeInstance) running =
        fixture_instance_new(RUNNING, NUBE_INSTANCE_RUNNING, "t3.micro", "web");
    g_autoptr(NubeInstance) stopped =
        fixture_instance_new(STOPPED, NUBE_INSTANCE_STOPPED, "t3.micro", "db");
    fixture_insert_instance(f, running);
    fixture_insert_instance(f, stopped);
    fixture_insert_volume(f, VOL, RUNNING);
    g_assert_cmpint(nube_db_exec(f->cloud.db, &err,
                                 "INSERT INTO key_pairs (id, owner_id, name, key_type, "
                                 "fingerprint, public_key, created_at) VALUES (?1, ?2, 'k1', "
                                 "'ed25519', 'fp', 'ssh-ed25519 AAAA', 0)",
                                 "ss", KEYPAIR, OWNER),
                    ==, 1);
    g_assert_cmpint(nube_db_exec(f->cloud.db, &err,
                                 "INSERT INTO security_groups (id, owner_id, name, description, "
                                 "created_at) VALUES (?1, ?2, 'web', 'web servers', 0)",
                                 "ss", GROUP, OWNER),
                    ==, 1);
}

static const FixtureSpec spec = { "tags", insert_records };

static int tag_rows(Fixture *f, const char *resource_id)
{
    g_autoptr(GPtrArray) tags = nube_tags_get(f->cloud.db, resource_id, NULL);
    g_assert_nonnull(tags);
    return (int) tags->len;
}

/* "Tag.1.Key=kFIRST&Tag.1.Value=v…" for N tags named kFIRST… */
static char *tag_params(guint first, guint n)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < n; i++)
        g_string_append_printf(s, "&Tag.%u.Key=k%u&Tag.%u.Value=v", i + 1, first + i, i + 1);
    return g_string_free(s, FALSE);
}

/* ---- CreateTags -------------------------------------------------------- */

static void test_create_each_kind(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *id, *type;
    } kinds[] = {
        { RUNNING, "instance" },     { AMI, "image" }, { VOL, "volume" }, { KEYPAIR, "key-pair" },
        { GROUP, "security-group" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autofree char *p = g_strdup_printf(
            "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=team&Tag.1.Value=blue", kinds[i].id);
        g_autofree char *xml = fixture_ok(f, p);
        g_assert_nonnull(strstr(xml, "<return>true</return>"));
    }
    g_autofree char *xml =
        fixture_ok(f, "Action=DescribeTags&Filter.1.Name=key&Filter.1.Value.1=team");
    g_assert_cmpuint(fixture_count(xml, "<item>"), ==, G_N_ELEMENTS(kinds));
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autofree char *item =
            g_strdup_printf("<resourceId>%s</resourceId>\n      <resourceType>%s</resourceType>\n"
                            "      <key>team</key>\n      <value>blue</value>",
                            kinds[i].id, kinds[i].type);
        g_assert_nonnull(strstr(xml, item));
    }
    /* Tags show in the resources' own answers. */
    g_autofree char *vols = fixture_ok(f, "Action=DescribeVolumes");
    g_assert_nonnull(strstr(vols, "<key>team</key>"));
    /* A value may be absent (empty) and a key may be set again. */
    g_free(fixture_ok(f, "Action=CreateTags&ResourceId.1=" AMI "&Tag.1.Key=team"));
    g_autoptr(NubeImage) img = nube_image_get(f->cloud.db, AMI, NULL);
    g_assert_cmpstr(nube_tags_lookup(img->tags, "team"), ==, "");
}

static void test_limit(Fixture *f, gconstpointer data)
{
    /* The image has Name: 49 more make 50. */
    g_autofree char *t49 = tag_params(1, 49);
    g_autofree char *p49 = g_strconcat("Action=CreateTags&ResourceId.1=" AMI, t49, NULL);
    g_free(fixture_ok(f, p49));
    g_assert_cmpint(tag_rows(f, AMI), ==, 50);
    /* Setting keys it has does not count. */
    g_free(fixture_ok(f, "Action=CreateTags&ResourceId.1=" AMI "&Tag.1.Key=k3&Tag.1.Value=again"));
    fixture_refused(f, "Action=CreateTags&ResourceId.1=" AMI "&Tag.1.Key=one-more",
                    "TagLimitExceeded");
    g_assert_cmpint(tag_rows(f, AMI), ==, 50);

    /* 51 in one request: nothing written. */
    g_autofree char *t51 = tag_params(1, 51);
    g_autofree char *p51 = g_strconcat("Action=CreateTags&ResourceId.1=" VOL, t51, NULL);
    fixture_refused(f, p51, "TagLimitExceeded");
    g_assert_cmpint(tag_rows(f, VOL), ==, 0);

    /* 50 on the volume, but 50 + Name on the instance in the same
     * request: neither changes. */
    g_autofree char *t50 = tag_params(1, 50);
    g_autofree char *p2 =
        g_strconcat("Action=CreateTags&ResourceId.1=" VOL "&ResourceId.2=" RUNNING, t50, NULL);
    fixture_refused(f, p2, "TagLimitExceeded");
    g_assert_cmpint(tag_rows(f, VOL), ==, 0);
    g_assert_cmpint(tag_rows(f, RUNNING), ==, 1);
}

static void test_lengths(Fixture *f, gconstpointer data)
{
    g_autofree char *k128 = g_strnfill(128, 'k');
    g_autofree char *k129 = g_strnfill(129, 'k');
    g_autofree char *v256 = g_strnfill(256, 'v');
    g_autofree char *v257 = g_strnfill(257, 'v');
    /* Characters, not bytes: 128 × "é" (%C3%A9) is a valid key. */
    GString *e128 = g_string_new(NULL);
    for (int i = 0; i < 128; i++)
        g_string_append(e128, "%C3%A9");
    g_autofree char *utf8 = g_string_free(e128, FALSE);

    struct {
        const char *key, *value, *code;
    } cases[] = {
        { k128, v256, NULL },
        { utf8, "x", NULL },
        { k129, "x", "InvalidParameterValue" },
        { "k", v257, "InvalidParameterValue" },
        { "", "x", "InvalidParameterValue" },
        { "aws:owner", "x", "InvalidParameterValue" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *p =
            g_strdup_printf("Action=CreateTags&ResourceId.1=" VOL "&Tag.1.Key=%s&Tag.1.Value=%s",
                            cases[i].key, cases[i].value);
        if (cases[i].code == NULL)
            g_free(fixture_ok(f, p));
        else
            fixture_refused(f, p, cases[i].code);
    }
    g_assert_cmpint(tag_rows(f, VOL), ==, 2);
    /* A bad tag among good ones: none is written. */
    fixture_refused(f,
                    "Action=CreateTags&ResourceId.1=" STOPPED "&Tag.1.Key=fine&Tag.2.Key=aws:no"
                    "&Tag.2.Value=x",
                    "InvalidParameterValue");
    fixture_refused(f, "Action=CreateTags&ResourceId.1=" STOPPED "&Tag.1.Key=a&Tag.2.Key=a",
                    "InvalidParameterValue");
    g_assert_cmpint(tag_rows(f, STOPPED), ==, 1);
}

static void test_bad_ids(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *id, *code;
    } cases[] = {
        { "i-" NO_SUCH_, "InvalidInstanceID.NotFound" },
        { "ami-" NO_SUCH_, "InvalidAMIID.NotFound" },
        { "vol-" NO_SUCH_, "InvalidVolume.NotFound" },
        { "key-" NO_SUCH_, "InvalidKeyPair.NotFound" },
        { "sg-" NO_SUCH_, "InvalidGroup.NotFound" },
        { "i-xyz", "InvalidID" },
        { "ami-0123", "InvalidID" },
        { "vol-0ABCDEF0123456789", "InvalidID" },
        { "snap-0123456789abcdef0", "InvalidID" },
        { "web", "InvalidID" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *p = g_strdup_printf(
            "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=a&Tag.1.Value=b", cases[i].id);
        fixture_refused(f, p, cases[i].code);
        g_autofree char *d =
            g_strdup_printf("Action=DeleteTags&ResourceId.1=%s&Tag.1.Key=a", cases[i].id);
        fixture_refused(f, d, cases[i].code);
    }
    fixture_refused(f, "Action=CreateTags&Tag.1.Key=a", "MissingParameter");
    fixture_refused(f, "Action=CreateTags&ResourceId.1=" AMI, "MissingParameter");
    fixture_refused(f, "Action=DeleteTags", "MissingParameter");

    /* Known first, unknown second: the known one is not tagged. */
    fixture_refused(f,
                    "Action=CreateTags&ResourceId.1=" AMI "&ResourceId.2=i-" NO_SUCH_
                    "&Tag.1.Key=a&Tag.1.Value=b",
                    "InvalidInstanceID.NotFound");
    g_assert_cmpint(tag_rows(f, AMI), ==, 1);
    fixture_refused(f, "Action=DeleteTags&ResourceId.1=" AMI "&ResourceId.2=vol-" NO_SUCH_,
                    "InvalidVolume.NotFound");
    g_assert_cmpint(tag_rows(f, AMI), ==, 1);

    /* Gone resources are not found: a deregistered image, and a key pair
     * whose table does not exist (as before migration 0005). */
    g_assert_cmpint(nube_image_deregister(f->cloud.db, AMI, NULL), ==, 0);
    fixture_refused(f, "Action=CreateTags&ResourceId.1=" AMI "&Tag.1.Key=a",
                    "InvalidAMIID.NotFound");
    g_assert_cmpint(nube_db_exec(f->cloud.db, NULL, "DROP TABLE key_pairs", ""), >=, 0);
    fixture_refused(f, "Action=CreateTags&ResourceId.1=" KEYPAIR "&Tag.1.Key=a",
                    "InvalidKeyPair.NotFound");
}

/* ---- DeleteTags -------------------------------------------------------- */

/* An id of one kind: its prefix and 8 or 17 lowercase hex digits, else the
 * kind's Malformed code and the message EC2 clients have always got. */
static void test_id_check(void)
{
    static const struct {
        NubeResourceKindId kind;
        const char *id, *code, *message; /* CODE NULL: accepted */
    } cases[] = {
        { NUBE_RESOURCE_INSTANCE, RUNNING, NULL, NULL },
        { NUBE_RESOURCE_INSTANCE, "i-0123abcd", NULL, NULL },
        { NUBE_RESOURCE_INSTANCE, "i-0123abc", "InvalidInstanceID.Malformed",
          "Invalid id: \"i-0123abc\"" },
        { NUBE_RESOURCE_INSTANCE, "i-0ABCDEF0123456789", "InvalidInstanceID.Malformed",
          "Invalid id: \"i-0ABCDEF0123456789\"" },
        { NUBE_RESOURCE_INSTANCE, RUNNING "0", "InvalidInstanceID.Malformed",
          "Invalid id: \"" RUNNING "0\"" },
        { NUBE_RESOURCE_INSTANCE, AMI, "InvalidInstanceID.Malformed", "Invalid id: \"" AMI "\"" },
        { NUBE_RESOURCE_IMAGE, AMI, NULL, NULL },
        { NUBE_RESOURCE_IMAGE, "ami-0123abcg", "InvalidAMIID.Malformed",
          "Invalid id: \"ami-0123abcg\"" },
        { NUBE_RESOURCE_VOLUME, VOL, NULL, NULL },
        { NUBE_RESOURCE_VOLUME, "vol-x", "InvalidVolumeID.Malformed", "Invalid id: \"vol-x\"" },
        { NUBE_RESOURCE_SECURITY_GROUP, GROUP, NULL, NULL },
        { NUBE_RESOURCE_SECURITY_GROUP, "sg-", "InvalidGroupId.Malformed",
          "Invalid id: \"sg-\" (expecting \"sg-...\")" },
        { NUBE_RESOURCE_SECURITY_GROUP, "web", "InvalidGroupId.Malformed",
          "Invalid id: \"web\" (expecting \"sg-...\")" },
        { NUBE_RESOURCE_KEY_PAIR, KEYPAIR, NULL, NULL },
        { NUBE_RESOURCE_KEY_PAIR, "key-1", "InvalidID", "Invalid id: \"key-1\"" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(NubeError) err = NULL;
        int r = nube_resource_id_check(cases[i].kind, cases[i].id, &err);
        if (cases[i].code == NULL) {
            g_assert_cmpint(r, ==, 0);
            g_assert_null(err);
            continue;
        }
        g_assert_cmpint(r, ==, -EINVAL);
        g_assert_cmpint(err->errnum, ==, EINVAL);
        g_assert_cmpstr(nube_error_code(err), ==, cases[i].code);
        g_assert_cmpstr(err->message, ==, cases[i].message);
    }
}

static void test_delete(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(f, "Action=CreateTags&ResourceId.1=" AMI "&ResourceId.2=" VOL
                         "&Tag.1.Key=env&Tag.1.Value=prod&Tag.2.Key=team&Tag.2.Value=blue"
                         "&Tag.3.Key=empty"));
    g_assert_cmpint(tag_rows(f, AMI), ==, 4);

    /* A value that does not match keeps the tag; an empty value matches
     * only an empty value. */
    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.1=" AMI "&Tag.1.Key=env&Tag.1.Value=test"));
    g_assert_cmpint(tag_rows(f, AMI), ==, 4);
    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.1=" AMI "&Tag.1.Key=team&Tag.1.Value="));
    g_assert_cmpint(tag_rows(f, AMI), ==, 4);
    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.1=" AMI "&Tag.1.Key=empty&Tag.1.Value="));
    g_assert_cmpint(tag_rows(f, AMI), ==, 3);
    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.1=" AMI "&Tag.1.Key=env&Tag.1.Value=prod"));
    g_assert_cmpint(tag_rows(f, AMI), ==, 2);
    /* Without a value, whatever it is; an absent key is no error. */
    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.1=" AMI "&Tag.1.Key=team&Tag.2.Key=absent"));
    g_autoptr(NubeImage) img = nube_image_get(f->cloud.db, AMI, NULL);
    g_assert_cmpint(img->tags->len, ==, 1);
    g_assert_cmpstr(nube_tags_lookup(img->tags, "Name"), ==, "base");

    fixture_refused(f, "Action=DeleteTags&ResourceId.1=" VOL "&Tag.1.Key=aws:x",
                    "InvalidParameterValue");
    g_assert_cmpint(tag_rows(f, VOL), ==, 3);
    /* No Tag: every tag of the resources. */
    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.1=" VOL "&ResourceId.2=" AMI));
    g_assert_cmpint(tag_rows(f, VOL), ==, 0);
    g_assert_cmpint(tag_rows(f, AMI), ==, 0);
    g_assert_cmpint(tag_rows(f, RUNNING), ==, 1);
}

/* ---- DescribeTags ------------------------------------------------------ */

static void test_describe_filters(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(f, "Action=CreateTags&ResourceId.1=" VOL "&ResourceId.2=" GROUP
                         "&Tag.1.Key=env&Tag.1.Value=prod&Tag.2.Key=owner&Tag.2.Value=ana"));
    /* Tags now: image Name=base, instances Name=web/db, volume and group
     * env=prod and owner=ana. */
    static const struct {
        const char *filter;
        guint items;
    } cases[] = {
        { "", 7 },
        { "&Filter.1.Name=key&Filter.1.Value.1=Name", 3 },
        { "&Filter.1.Name=key&Filter.1.Value.1=N*&Filter.1.Value.2=env", 5 },
        { "&Filter.1.Name=value&Filter.1.Value.1=prod", 2 },
        { "&Filter.1.Name=resource-id&Filter.1.Value.1=" VOL, 2 },
        { "&Filter.1.Name=resource-type&Filter.1.Value.1=instance", 2 },
        { "&Filter.1.Name=resource-type&Filter.1.Value.1=security-group", 2 },
        { "&Filter.1.Name=resource-type&Filter.1.Value.1=image"
          "&Filter.2.Name=value&Filter.2.Value.1=base",
          1 },
        { "&Filter.1.Name=tag:Name&Filter.1.Value.1=web", 1 },
        { "&Filter.1.Name=tag:Name&Filter.1.Value.1=*", 3 },
        { "&Filter.1.Name=tag-key&Filter.1.Value.1=owner", 2 },
        { "&Filter.1.Name=tag-value&Filter.1.Value.1=ana", 2 },
        { "&Filter.1.Name=key&Filter.1.Value.1=nothing", 0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *p = g_strconcat("Action=DescribeTags", cases[i].filter, NULL);
        g_autofree char *xml = fixture_ok(f, p);
        g_test_message("%s", p);
        g_assert_cmpuint(fixture_count(xml, "<item>"), ==, cases[i].items);
    }
    fixture_refused(f, "Action=DescribeTags&Filter.1.Name=colour&Filter.1.Value.1=red",
                    "InvalidParameterValue");
    fixture_refused(f, "Action=DescribeTags&MaxResults=4", "InvalidParameterValue");
    fixture_refused(f, "Action=DescribeTags&MaxResults=1001", "InvalidParameterValue");

    /* A deregistered image's tags are no longer listed. */
    g_assert_cmpint(nube_image_deregister(f->cloud.db, AMI, NULL), ==, 0);
    g_autofree char *xml = fixture_ok(f, "Action=DescribeTags");
    g_assert_cmpuint(fixture_count(xml, "<item>"), ==, 6);
    g_assert_null(strstr(xml, AMI));
}

static void test_describe_pages(Fixture *f, gconstpointer data)
{
    g_autofree char *t = tag_params(1, 20);
    g_autofree char *p = g_strconcat("Action=CreateTags&ResourceId.1=" VOL, t, NULL);
    g_free(fixture_ok(f, p));

    g_autofree char *token = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint pages = 0;
    do {
        g_autofree char *escaped = token ? g_uri_escape_string(token, NULL, FALSE) : NULL;
        g_autofree char *req = g_strdup_printf("Action=DescribeTags&MaxResults=6%s%s",
                                               token ? "&NextToken=" : "", token ? escaped : "");
        g_autofree char *xml = fixture_ok(f, req);
        g_assert_cmpuint(fixture_count(xml, "<item>"), <=, 6);
        for (const char *k = xml; (k = strstr(k, "<key>")) != NULL; k++) {
            const char *r = g_strrstr_len(xml, k - xml, "<resourceId>");
            g_autofree char *pair = g_strndup(r, strstr(k, "</key>") - r);
            g_assert_false(g_hash_table_contains(seen, pair));
            g_hash_table_add(seen, g_steal_pointer(&pair));
        }
        g_clear_pointer(&token, g_free);
        const char *n = strstr(xml, "<nextToken>");
        if (n != NULL) {
            n += strlen("<nextToken>");
            token = g_strndup(n, strchr(n, '<') - n);
        }
        pages++;
    } while (token != NULL && pages < 10);
    /* 20 + image Name + 2 instances' Name, 6 per page. */
    g_assert_cmpuint(g_hash_table_size(seen), ==, 23);
    g_assert_cmpuint(pages, ==, 4);
}

/* ---- filters of the Describe actions ----------------------------------- */

typedef struct {
    const char *request;
    const char *id; /* what the answer names, or not */
    gboolean found;
} FilterCase;

static void check_filters(Fixture *f, const FilterCase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_autofree char *xml = fixture_ok(f, cases[i].request);
        g_test_message("%s", cases[i].request);
        g_assert_cmpint(strstr(xml, cases[i].id) != NULL, ==, cases[i].found);
    }
}

static void test_describe_action_filters(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(f, "Action=CreateTags&ResourceId.1=" VOL "&Tag.1.Key=disk&Tag.1.Value=root"));
    g_assert_cmpint(nube_db_exec(f->cloud.db, NULL,
                                 "INSERT INTO instance_groups (instance_id, group_id, position) "
                                 "VALUES (?1, ?2, 0)",
                                 "ss", RUNNING, GROUP),
                    ==, 1);
    static const FilterCase cases[] = {
        /* DescribeImages */
        { "Action=DescribeImages&Filter.1.Name=tag:Name&Filter.1.Value.1=base", AMI, TRUE },
        { "Action=DescribeImages&Filter.1.Name=tag:Name&Filter.1.Value.1=web", AMI, FALSE },
        { "Action=DescribeImages&Filter.1.Name=tag-key&Filter.1.Value.1=Na*", AMI, TRUE },
        { "Action=DescribeImages&Filter.1.Name=tag-value&Filter.1.Value.1=base", AMI, TRUE },
        { "Action=DescribeImages&Filter.1.Name=tag-value&Filter.1.Value.1=Name", AMI, FALSE },
        { "Action=DescribeImages&Filter.1.Name=is-public&Filter.1.Value.1=false", AMI, TRUE },
        { "Action=DescribeImages&Filter.1.Name=creation-date&Filter.1.Value.1=2026-11-*", AMI,
          TRUE },
        { "Action=DescribeImages&Filter.1.Name=block-device-mapping.volume-size"
          "&Filter.1.Value.1=4",
          AMI, TRUE },
        { "Action=DescribeImages&Filter.1.Name=virtualization-type&Filter.1.Value.1=paravirtual",
          AMI, FALSE },
        /* DescribeInstances */
        { "Action=DescribeInstances&Filter.1.Name=tag:Name&Filter.1.Value.1=db", STOPPED, TRUE },
        { "Action=DescribeInstances&Filter.1.Name=tag:Name&Filter.1.Value.1=db", RUNNING, FALSE },
        { "Action=DescribeInstances&Filter.1.Name=tag-value&Filter.1.Value.1=web", RUNNING, TRUE },
        { "Action=DescribeInstances&Filter.1.Name=availability-zone"
          "&Filter.1.Value.1=nube-local-1a",
          RUNNING, TRUE },
        { "Action=DescribeInstances&Filter.1.Name=availability-zone&Filter.1.Value.1=us-east-1a",
          RUNNING, FALSE },
        { "Action=DescribeInstances&Filter.1.Name=private-dns-name"
          "&Filter.1.Value.1=" RUNNING ".nube-local-1.compute.internal",
          RUNNING, TRUE },
        { "Action=DescribeInstances&Filter.1.Name=launch-time&Filter.1.Value.1=2026-11-*", RUNNING,
          TRUE },
        { "Action=DescribeInstances&Filter.1.Name=architecture&Filter.1.Value.1=arm64", RUNNING,
          FALSE },
        { "Action=DescribeInstances&Filter.1.Name=block-device-mapping.volume-id"
          "&Filter.1.Value.1=" VOL,
          RUNNING, TRUE },
        { "Action=DescribeInstances&Filter.1.Name=block-device-mapping.volume-id"
          "&Filter.1.Value.1=" VOL,
          STOPPED, FALSE },
        { "Action=DescribeInstances&Filter.1.Name=instance.group-id&Filter.1.Value.1=" GROUP,
          RUNNING, TRUE },
        { "Action=DescribeInstances&Filter.1.Name=instance.group-id&Filter.1.Value.1=" GROUP,
          STOPPED, FALSE },
        { "Action=DescribeInstances&Filter.1.Name=group-name&Filter.1.Value.1=web", RUNNING, TRUE },
        { "Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=stopped"
          "&Filter.2.Name=owner-id&Filter.2.Value.1=" OWNER,
          STOPPED, TRUE },
        /* DescribeVolumes */
        { "Action=DescribeVolumes&Filter.1.Name=tag:disk&Filter.1.Value.1=root", VOL, TRUE },
        { "Action=DescribeVolumes&Filter.1.Name=tag-key&Filter.1.Value.1=nothing", VOL, FALSE },
        { "Action=DescribeVolumes&Filter.1.Name=size&Filter.1.Value.1=4", VOL, TRUE },
        { "Action=DescribeVolumes&Filter.1.Name=size&Filter.1.Value.1=8", VOL, FALSE },
        { "Action=DescribeVolumes&Filter.1.Name=availability-zone"
          "&Filter.1.Value.1=nube-local-1a",
          VOL, TRUE },
        { "Action=DescribeVolumes&Filter.1.Name=attachment.status&Filter.1.Value.1=attached", VOL,
          TRUE },
        { "Action=DescribeVolumes&Filter.1.Name=attachment.device&Filter.1.Value.1=/dev/vda", VOL,
          TRUE },
        { "Action=DescribeVolumes&Filter.1.Name=create-time&Filter.1.Value.1=2026-11-*", VOL,
          TRUE },
        /* DescribeInstanceStatus */
        { "Action=DescribeInstanceStatus&Filter.1.Name=tag:Name&Filter.1.Value.1=web", RUNNING,
          TRUE },
        { "Action=DescribeInstanceStatus&Filter.1.Name=tag:Name&Filter.1.Value.1=db", RUNNING,
          FALSE },
        /* DescribeInstanceTypes */
        { "Action=DescribeInstanceTypes&Filter.1.Name=vcpu-info.default-vcpus"
          "&Filter.1.Value.1=8",
          "m5.2xlarge", TRUE },
        { "Action=DescribeInstanceTypes&Filter.1.Name=vcpu-info.default-vcpus"
          "&Filter.1.Value.1=8",
          "t3.micro", FALSE },
        { "Action=DescribeInstanceTypes&Filter.1.Name=memory-info.size-in-mib"
          "&Filter.1.Value.1=512",
          "t3.nano", TRUE },
        { "Action=DescribeInstanceTypes&Filter.1.Name=supported-root-device-type"
          "&Filter.1.Value.1=instance-store",
          "t3.nano", TRUE },
        { "Action=DescribeInstanceTypes&Filter.1.Name=burstable-performance-supported"
          "&Filter.1.Value.1=false",
          "t3.nano", FALSE },
    };
    check_filters(f, cases, G_N_ELEMENTS(cases));

    static const char *const unknown[] = {
        "DescribeImages",        "DescribeInstances",      "DescribeVolumes",
        "DescribeInstanceTypes", "DescribeInstanceStatus",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++) {
        g_autofree char *p =
            g_strdup_printf("Action=%s&Filter.1.Name=colour&Filter.1.Value.1=red", unknown[i]);
        fixture_refused(f, p, "InvalidParameterValue");
    }
}

/* ---- instance attributes ----------------------------------------------- */

static void test_describe_attribute(Fixture *f, gconstpointer data)
{
    g_autofree char *xml = fixture_ok(f, "Action=DescribeInstanceAttribute&InstanceId=" RUNNING
                                         "&Attribute=instanceType");
    g_assert_nonnull(strstr(xml, "<instanceId>" RUNNING "</instanceId>"));
    g_assert_nonnull(strstr(xml, "<instanceType>\n    <value>t3.micro</value>"));
    g_free(xml);
    xml =
        fixture_ok(f, "Action=DescribeInstanceAttribute&InstanceId=" RUNNING "&Attribute=userData");
    g_assert_nonnull(strstr(xml, "<userData/>"));
    g_free(xml);
    xml = fixture_ok(f, "Action=DescribeInstanceAttribute&InstanceId=" RUNNING
                        "&Attribute=instanceInitiatedShutdownBehavior");
    g_assert_nonnull(strstr(xml, "<value>stop</value>"));

    fixture_refused(f, "Action=DescribeInstanceAttribute&InstanceId=" RUNNING "&Attribute=colour",
                    "InvalidParameterValue");
    fixture_refused(f, "Action=DescribeInstanceAttribute&InstanceId=" RUNNING "&Attribute=kernel",
                    "UnsupportedOperation");
    fixture_refused(f, "Action=DescribeInstanceAttribute&InstanceId=" RUNNING, "MissingParameter");
    fixture_refused(f, "Action=DescribeInstanceAttribute&Attribute=userData", "MissingParameter");
    fixture_refused(f, "Action=DescribeInstanceAttribute&InstanceId=i-x&Attribute=userData",
                    "InvalidInstanceID.Malformed");
    fixture_refused(f,
                    "Action=DescribeInstanceAttribute&InstanceId=i-" NO_SUCH_ "&Attribute=userData",
                    "InvalidInstanceID.NotFound");
}

static void test_modify_refused(Fixture *f, gconstpointer data)
{
    /* IyEvYmluL3NoCg== is "#!/bin/sh\n". */
    fixture_refused(
        f, "Action=ModifyInstanceAttribute&InstanceId=" RUNNING "&InstanceType.Value=t3.small",
        "IncorrectInstanceState");
    fixture_refused(
        f, "Action=ModifyInstanceAttribute&InstanceId=" RUNNING "&UserData.Value=IyEvYmluL3NoCg==",
        "IncorrectInstanceState");
    fixture_refused(
        f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED "&InstanceType.Value=t9.huge",
        "InvalidInstanceAttributeValue");
    fixture_refused(f,
                    "Action=ModifyInstanceAttribute&InstanceId=" STOPPED "&UserData.Value=%25%25",
                    "InvalidParameterValue");
    fixture_refused(f,
                    "Action=ModifyInstanceAttribute&InstanceId=" STOPPED
                    "&InstanceType.Value=t3.small&UserData.Value=IyEvYmluL3NoCg==",
                    "InvalidParameterCombination");
    fixture_refused(f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED, "MissingParameter");
    fixture_refused(
        f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED "&Attribute=colour&Value=x",
        "InvalidParameterValue");
    fixture_refused(f,
                    "Action=ModifyInstanceAttribute&InstanceId=" STOPPED "&Attribute=instanceType",
                    "MissingParameter");
    fixture_refused(
        f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED "&DisableApiTermination.Value=true",
        "UnsupportedOperation");
    fixture_refused(
        f, "Action=ModifyInstanceAttribute&InstanceId=i-" NO_SUCH_ "&InstanceType.Value=t3.small",
        "InvalidInstanceID.NotFound");

    /* User data over 16384 bytes, as RunInstances. */
    g_autofree char *raw = g_strnfill(16385, 'a');
    g_autofree char *b64 = g_base64_encode((const guchar *) raw, 16385);
    g_autofree char *p = g_strdup_printf(
        "Action=ModifyInstanceAttribute&InstanceId=" STOPPED "&UserData.Value=%s", b64);
    fixture_refused(f, p, "InvalidParameterValue");

    g_autoptr(NubeInstance) running = nube_instance_get(f->cloud.db, RUNNING, NULL);
    g_autoptr(NubeInstance) stopped = nube_instance_get(f->cloud.db, STOPPED, NULL);
    g_assert_cmpstr(running->instance_type, ==, "t3.micro");
    g_assert_cmpstr(stopped->instance_type, ==, "t3.micro");
    g_assert_null(running->user_data);
    g_assert_null(stopped->user_data);
}

static void test_modify_stopped(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED
                         "&InstanceType.Value=t3.xlarge"));
    g_autoptr(NubeInstance) inst = nube_instance_get(f->cloud.db, STOPPED, NULL);
    const NubeInstanceType *t = nube_catalog_type("t3.xlarge", NULL);
    g_assert_cmpstr(inst->instance_type, ==, "t3.xlarge");
    g_assert_cmpint(inst->vcpus, ==, t->vcpus);
    g_assert_cmpint(inst->memory_mib, ==, t->memory_mib);
    g_autofree char *xml = fixture_ok(f, "Action=DescribeInstanceAttribute&InstanceId=" STOPPED
                                         "&Attribute=instanceType");
    g_assert_nonnull(strstr(xml, "<value>t3.xlarge</value>"));

    /* The other form, Attribute and Value. */
    g_free(fixture_ok(f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED
                         "&Attribute=instanceType&Value=t3.nano"));
    g_clear_pointer(&inst, nube_instance_free);
    inst = nube_instance_get(f->cloud.db, STOPPED, NULL);
    g_assert_cmpstr(inst->instance_type, ==, "t3.nano");
    g_assert_cmpint(inst->memory_mib, ==, 512);

    /* "#!/bin/sh\necho hi\n" */
    g_free(fixture_ok(f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED
                         "&UserData.Value=IyEvYmluL3NoCmVjaG8gaGkK"));
    g_clear_pointer(&inst, nube_instance_free);
    inst = nube_instance_get(f->cloud.db, STOPPED, NULL);
    gsize len = 0;
    const char *ud = g_bytes_get_data(inst->user_data, &len);
    g_assert_cmpmem(ud, len, "#!/bin/sh\necho hi\n", 18);
    g_free(xml);
    xml =
        fixture_ok(f, "Action=DescribeInstanceAttribute&InstanceId=" STOPPED "&Attribute=userData");
    g_assert_nonnull(strstr(xml, "<userData>\n    <value>IyEvYmluL3NoCmVjaG8gaGkK</value>"));

    /* Empty user data removes it. */
    g_free(fixture_ok(f, "Action=ModifyInstanceAttribute&InstanceId=" STOPPED "&UserData.Value="));
    g_clear_pointer(&inst, nube_instance_free);
    inst = nube_instance_get(f->cloud.db, STOPPED, NULL);
    g_assert_null(inst->user_data);
    /* The running instance did not change. */
    g_autoptr(NubeInstance) other = nube_instance_get(f->cloud.db, RUNNING, NULL);
    g_assert_cmpstr(other->instance_type, ==, "t3.micro");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, &spec, fixture_setup, fn, fixture_teardown)
    ADD("/tags/create/each-kind", test_create_each_kind);
    ADD("/tags/create/limit", test_limit);
    ADD("/tags/create/lengths", test_lengths);
    ADD("/tags/bad-ids", test_bad_ids);
    g_test_add_func("/resources/id-check", test_id_check);
    ADD("/tags/delete", test_delete);
    ADD("/tags/describe/filters", test_describe_filters);
    ADD("/tags/describe/pages", test_describe_pages);
    ADD("/filters/describe-actions", test_describe_action_filters);
    ADD("/attributes/describe", test_describe_attribute);
    ADD("/attributes/modify-refused", test_modify_refused);
    ADD("/attributes/modify-stopped", test_modify_stopped);
#undef ADD
    return g_test_run();
}
