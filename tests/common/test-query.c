/*
 * test-query.c: EC2 Query API form parameters (common/query.c).
 */
#include "query.h"

#include <string.h>

static NubeQuery *parse_ok(const char *s)
{
    g_autoptr(NubeError) err = NULL;
    NubeQuery *q = nube_query_parse(s, strlen(s), &err);
    if (q == NULL)
        g_error("'%s' refused: %s: %s", s, nube_error_code(err), err->message);
    return q;
}

static void parse_fails(const char *s, size_t len, const char *code)
{
    g_autoptr(NubeError) err = NULL;
    g_autofree char *shown = s ? g_strescape(s, NULL) : g_strdup("(null)");
    g_test_message("query: '%s'", shown);
    g_assert_null(nube_query_parse(s, len, &err));
    g_assert_nonnull(err);
    g_assert_cmpint(err->errnum, ==, EINVAL);
    g_assert_cmpstr(nube_error_code(err), ==, code);
}

static void test_parse_good(void)
{
    g_autoptr(NubeQuery) q =
        parse_ok("Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0"
                 "&Name=a+b%20c%2B%2b&Utf8=%E1%88%B4%c3%a9&Empty=&Eq=a=b&Tilde=~*&");

    g_assert_cmpuint(nube_query_size(q), ==, 8);
    g_assert_cmpstr(nube_query_get(q, "Action"), ==, "DescribeInstances");
    g_assert_cmpstr(nube_query_get(q, "Version"), ==, "2016-11-15");
    g_assert_cmpstr(nube_query_get(q, "InstanceId.1"), ==, "i-0123456789abcdef0");
    g_assert_cmpstr(nube_query_get(q, "Name"), ==, "a b c++");
    g_assert_cmpstr(nube_query_get(q, "Utf8"), ==, "\xe1\x88\xb4\xc3\xa9");
    g_assert_cmpstr(nube_query_get(q, "Empty"), ==, "");
    g_assert_cmpstr(nube_query_get(q, "Eq"), ==, "a=b");
    g_assert_cmpstr(nube_query_get(q, "Tilde"), ==, "~*");
    /* Keys are case-sensitive, as in EC2. */
    g_assert_null(nube_query_get(q, "action"));
    g_assert_null(nube_query_get(q, "Missing"));

    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeQuery) empty = nube_query_parse("", 0, &err);
    g_assert_nonnull(empty);
    g_assert_cmpuint(nube_query_size(empty), ==, 0);
    g_autoptr(NubeQuery) null_empty = nube_query_parse(NULL, 0, &err);
    g_assert_nonnull(null_empty);
    g_assert_null(err);

    /* Only LEN bytes are read: the body need not be NUL-terminated. */
    const char buf[] = { 'a', '=', '1', '&', 'b', '=', '2', 'X', 'Y' };
    g_autoptr(NubeQuery) partial = nube_query_parse(buf, 7, &err);
    g_assert_nonnull(partial);
    g_assert_cmpstr(nube_query_get(partial, "b"), ==, "2");
}

static void test_parse_repeated(void)
{
    parse_fails("a=1&a=2", 7, "InvalidParameterValue");
    parse_fails("a=1&a=1", 7, "InvalidParameterValue");
    /* The same key after decoding. */
    parse_fails("a=1&%61=2", 9, "InvalidParameterValue");
    parse_fails("a+b=1&a%20b=2", 13, "InvalidParameterValue");
}

static void test_parse_bad(void)
{
    const char *bad[] = {
        "a=%",   "a=%4",  "a=%zz",    "a=%G1", "a=%%41", "%=1",  "a=%00",    "a%00=1",
        "a=%ff", "a=%C3", "a=%C0%80", "a",     "a=1&b",  "&a=1", "a=1&&b=2", "=v",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        parse_fails(bad[i], strlen(bad[i]), "MalformedQueryString");

    /* Raw NUL bytes and raw invalid UTF-8 inside the body. */
    parse_fails("a=1\0b=2", 7, "MalformedQueryString");
    parse_fails("a=\xff", 3, "MalformedQueryString");
    parse_fails(NULL, 5, "MalformedQueryString");
}

static void test_list(void)
{
    g_autoptr(NubeQuery) q =
        parse_ok("InstanceId.10=ten&InstanceId.2=two&InstanceId.1=one&InstanceId.3=three"
                 "&InstanceId.0=zero&InstanceId.01=leading-zero&InstanceId.00=zeros"
                 "&InstanceId.x=x&InstanceId.=e&InstanceId.1.Foo=nested&InstanceIdX.4=other"
                 "&InstanceId=bare&InstanceId.1234567890=too-big&InstanceId.-1=neg"
                 "&InstanceId.+5=plus&InstanceId.0x1=hex&InstanceId.1%20=space");

    g_autofree const char **ids = nube_query_list(q, "InstanceId");
    g_assert_cmpuint(g_strv_length((char **) ids), ==, 5);
    g_assert_cmpstr(ids[0], ==, "zero"); /* EC2 takes any non-negative index */
    g_assert_cmpstr(ids[1], ==, "one");
    g_assert_cmpstr(ids[2], ==, "two");
    g_assert_cmpstr(ids[3], ==, "three");
    g_assert_cmpstr(ids[4], ==, "ten"); /* numeric, not lexicographic */
    g_assert_null(ids[5]);

    /* Gaps are allowed, as in EC2. */
    g_autoptr(NubeQuery) gaps =
        parse_ok("GroupId.7=g7&GroupId.3=g3&GroupId.999999999=last&GroupId.0=first");
    g_autofree const char **groups = nube_query_list(gaps, "GroupId");
    g_assert_cmpuint(g_strv_length((char **) groups), ==, 4);
    g_assert_cmpstr(groups[0], ==, "first");
    g_assert_cmpstr(groups[1], ==, "g3");
    g_assert_cmpstr(groups[2], ==, "g7");
    g_assert_cmpstr(groups[3], ==, "last");

    /* A list of index 0 alone is a list. */
    g_autoptr(NubeQuery) zero = parse_ok("KeyName.0=nope");
    g_autofree const char **names = nube_query_list(zero, "KeyName");
    g_assert_cmpuint(g_strv_length((char **) names), ==, 1);
    g_assert_cmpstr(names[0], ==, "nope");

    g_autofree const char **none = nube_query_list(q, "SecurityGroup");
    g_assert_nonnull(none);
    g_assert_null(none[0]);
    g_autofree const char **null_q = nube_query_list(NULL, "InstanceId");
    g_assert_nonnull(null_q);
    g_assert_null(null_q[0]);
    g_autofree const char **null_prefix = nube_query_list(q, NULL);
    g_assert_null(null_prefix[0]);
}

static void test_indices(void)
{
    g_autoptr(NubeQuery) q =
        parse_ok("TagSpecification.2.ResourceType=volume&TagSpecification.2.Tag.1.Key=a"
                 "&TagSpecification.2.Tag.3.Key=c&TagSpecification.2.Tag.3.Value=C"
                 "&TagSpecification.1.ResourceType=instance&TagSpecification.11.Tag.1.Key=k"
                 "&TagSpecification.3=no-dot-after&TagSpecification.04.ResourceType=zero"
                 "&TagSpecificationX.5.ResourceType=other&TagSpecification.0.Tag.0.Key=z"
                 "&TagSpecification.2.Tag.0.Value=Z&TagSpecification.2.Tag.00.Key=zeros");

    g_autoptr(GArray) specs = nube_query_indices(q, "TagSpecification");
    g_assert_cmpuint(specs->len, ==, 4);
    g_assert_cmpuint(g_array_index(specs, guint, 0), ==, 0);
    g_assert_cmpuint(g_array_index(specs, guint, 1), ==, 1);
    g_assert_cmpuint(g_array_index(specs, guint, 2), ==, 2);
    g_assert_cmpuint(g_array_index(specs, guint, 3), ==, 11);

    g_autoptr(GArray) tags = nube_query_indices(q, "TagSpecification.2.Tag");
    g_assert_cmpuint(tags->len, ==, 3);
    g_assert_cmpuint(g_array_index(tags, guint, 0), ==, 0);
    g_assert_cmpuint(g_array_index(tags, guint, 1), ==, 1);
    g_assert_cmpuint(g_array_index(tags, guint, 2), ==, 3);

    g_autoptr(GArray) zero = nube_query_indices(q, "TagSpecification.0.Tag");
    g_assert_cmpuint(zero->len, ==, 1);
    g_assert_cmpuint(g_array_index(zero, guint, 0), ==, 0);

    g_autoptr(GArray) none = nube_query_indices(NULL, "TagSpecification");
    g_assert_cmpuint(none->len, ==, 0);
}

static void test_key_patterns(void)
{
    static const struct {
        const char *key, *pattern;
        gboolean match;
    } cases[] = {
        { "InstanceId.0", "InstanceId.N", TRUE },
        { "InstanceId.999999999", "InstanceId.N", TRUE },
        { "InstanceId.1000000000", "InstanceId.N", FALSE },
        { "InstanceId.01", "InstanceId.N", FALSE },
        { "InstanceId.00", "InstanceId.N", FALSE },
        { "InstanceId.", "InstanceId.N", FALSE },
        { "InstanceId.x", "InstanceId.N", FALSE },
        { "InstanceId.-1", "InstanceId.N", FALSE },
        { "InstanceId", "InstanceId.N", FALSE },
        { "InstanceId.1.Foo", "InstanceId.N", FALSE },
        { "InstanceId", "InstanceId", TRUE },
        { "InstanceIds", "InstanceId", FALSE },
        { "InstanceI", "InstanceId", FALSE },
        { "instanceid", "InstanceId", FALSE },
        { "Filter.0.Value.12", "Filter.N.Value.M", TRUE },
        { "Filter.1.Value", "Filter.N.Value.M", FALSE },
        { "Filter.1.Value.1.", "Filter.N.Value.M", FALSE },
        { "Filter.1.Values.1", "Filter.N.Value.M", FALSE },
        { "IpPermissions.3.IpRanges.0.CidrIp", "IpPermissions.N.IpRanges.M.CidrIp", TRUE },
        { "IpPermissions.3.IpRanges.0.CidrIp", "IpPermissions.N.IpRanges.M.Description", FALSE },
        { "BlockDeviceMapping.1.Ebs.DeleteOnTermination",
          "BlockDeviceMapping.N.Ebs.DeleteOnTermination", TRUE },
        { "BlockDeviceMapping.1.Ebs.VolumeSize", "BlockDeviceMapping.N.Ebs.DeleteOnTermination",
          FALSE },
        /* N only stands for an index, and an index only for N or M. */
        { "N", "N", FALSE },
        { "Tag.N.Key", "Tag.N.Key", FALSE },
        { "Tag.1.Key", "Tag.1.Key", TRUE },
        { "", "", TRUE },
        { "a..b", "a..b", TRUE },
        { "a.b", "a..b", FALSE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("'%s' ~ '%s'", cases[i].key, cases[i].pattern);
        g_assert_cmpint(nube_query_key_matches(cases[i].key, cases[i].pattern), ==, cases[i].match);
    }
    g_assert_false(nube_query_key_matches(NULL, "a"));
    g_assert_false(nube_query_key_matches("a", NULL));
}

static void test_keys_digest(void)
{
    g_autoptr(NubeQuery) q = parse_ok("b=1&a.2=2&a.10=3&Z=4");
    g_autofree const char **keys = nube_query_keys(q);
    g_assert_cmpuint(g_strv_length((char **) keys), ==, 4);
    g_assert_cmpstr(keys[0], ==, "Z");
    g_assert_cmpstr(keys[1], ==, "a.10");
    g_assert_cmpstr(keys[2], ==, "a.2");
    g_assert_cmpstr(keys[3], ==, "b");
    g_autofree const char **none = nube_query_keys(NULL);
    g_assert_null(none[0]);

    static const char *const excluded[] = { "ClientToken", "DryRun", NULL };
    static const struct {
        const char *a, *b;
        gboolean same;
    } cases[] = {
        { "A=1&B=2", "B=2&A=1", TRUE },
        { "A=1&B=2&ClientToken=x", "B=2&A=1&ClientToken=y&DryRun=true", TRUE },
        { "A=1", "A=1&B=", FALSE },
        { "A=1", "A=2", FALSE },
        { "A=bc", "Ab=c", FALSE },
        { "A=1&B=2", "A=1:1:B&", FALSE },
        { "", "ClientToken=z", TRUE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(NubeQuery) qa = parse_ok(cases[i].a);
        g_autoptr(NubeQuery) qb = parse_ok(cases[i].b);
        g_autofree char *da = nube_query_digest(qa, excluded);
        g_autofree char *db = nube_query_digest(qb, excluded);
        g_test_message("'%s' / '%s'", cases[i].a, cases[i].b);
        g_assert_cmpuint(strlen(da), ==, 64);
        g_assert_cmpint(g_str_equal(da, db), ==, cases[i].same);
    }
    g_autofree char *with = nube_query_digest(q, NULL);
    g_autoptr(NubeQuery) other = parse_ok("Z=4&b=1&a.10=3&a.2=2");
    g_autofree char *same = nube_query_digest(other, NULL);
    g_assert_cmpstr(with, ==, same);
}

static void test_filters(void)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeQuery) q = parse_ok(
        "Filter.5.Name=tag%3AName&Filter.5.Value.1=web+server"
        "&Filter.1.Name=instance-state-name&Filter.1.Value.3=stopped&Filter.1.Value.1=running"
        "&Filter.0.Name=image-id&Filter.0.Value.0=ami-0&Filter.1.Value.0=pending"
        "&Action=DescribeInstances");

    g_autoptr(GArray) filters = nube_query_filters(q, &err);
    g_assert_null(err);
    g_assert_nonnull(filters);
    g_assert_cmpuint(filters->len, ==, 3);

    NubeFilter *f0 = &g_array_index(filters, NubeFilter, 0);
    g_assert_cmpstr(f0->name, ==, "image-id");
    g_assert_cmpuint(g_strv_length(f0->values), ==, 1);
    g_assert_cmpstr(f0->values[0], ==, "ami-0");

    NubeFilter *f1 = &g_array_index(filters, NubeFilter, 1);
    g_assert_cmpstr(f1->name, ==, "instance-state-name");
    g_assert_cmpuint(g_strv_length(f1->values), ==, 3);
    g_assert_cmpstr(f1->values[0], ==, "pending");
    g_assert_cmpstr(f1->values[1], ==, "running");
    g_assert_cmpstr(f1->values[2], ==, "stopped");

    NubeFilter *f2 = &g_array_index(filters, NubeFilter, 2);
    g_assert_cmpstr(f2->name, ==, "tag:Name");
    g_assert_cmpuint(g_strv_length(f2->values), ==, 1);
    g_assert_cmpstr(f2->values[0], ==, "web server");

    g_autoptr(NubeQuery) none = parse_ok("Action=DescribeInstances");
    g_autoptr(GArray) empty = nube_query_filters(none, &err);
    g_assert_nonnull(empty);
    g_assert_cmpuint(empty->len, ==, 0);
}

static void test_filters_bad(void)
{
    const char *bad[] = {
        "Filter.1.Value.1=running",                /* no name */
        "Filter.1.Name=&Filter.1.Value.1=running", /* empty name */
        "Filter.1.Name=instance-state-name",       /* no value */
        "Filter.1.Name=a&Filter.1.Value.1=x&Filter.2.Name=b",
        "Filter.1.Name=a&Filter.1.Value=x", /* value without index */
        "Filter.0.Value.0=x",               /* index 0 is a filter too */
        "Filter.1.Name=a&Filter.1.Value.01=x",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(NubeError) err = NULL;
        g_autoptr(NubeQuery) q = parse_ok(bad[i]);
        g_test_message("query: '%s'", bad[i]);
        g_assert_null(nube_query_filters(q, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
    }
}

static void test_int(void)
{
    g_autoptr(NubeQuery) q =
        parse_ok("MaxResults=10&Neg=-5&Max=1000&Big=99999999999999999999&Min=4&Words=ten&Empty="
                 "&Space=+1&Trail=1+&Plus=%2B1&Hex=0x10&Frac=1.5&Int64=9223372036854775807");
    gint64 v = 0;
    g_autoptr(NubeError) err = NULL;

    g_assert_cmpint(nube_query_int(q, "MaxResults", 5, 1000, 6, &v, &err), ==, 0);
    g_assert_cmpint(v, ==, 10);
    g_assert_cmpint(nube_query_int(q, "Absent", 5, 1000, 6, &v, &err), ==, 0);
    g_assert_cmpint(v, ==, 6);
    g_assert_cmpint(nube_query_int(q, "Neg", -10, 10, 0, &v, &err), ==, 0);
    g_assert_cmpint(v, ==, -5);
    g_assert_cmpint(nube_query_int(q, "Max", 5, 1000, 6, &v, &err), ==, 0);
    g_assert_cmpint(v, ==, 1000);
    g_assert_cmpint(nube_query_int(q, "Plus", 0, 10, 0, &v, &err), ==, 0);
    g_assert_cmpint(v, ==, 1);
    g_assert_cmpint(nube_query_int(q, "Int64", G_MININT64, G_MAXINT64, 0, &v, &err), ==, 0);
    g_assert_cmpint(v, ==, G_MAXINT64);
    g_assert_null(err);

    const char *bad[] = { "Big", "Min", "Neg", "Words", "Empty", "Space", "Trail", "Hex", "Frac" };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        v = 42;
        g_test_message("key: %s", bad[i]);
        g_assert_cmpint(nube_query_int(q, bad[i], 5, 1000, 6, &v, &err), ==, -EINVAL);
        g_assert_cmpint(v, ==, 42);
        g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
        g_assert_nonnull(strstr(err->message, bad[i]));
        g_clear_pointer(&err, nube_error_free);
    }
}

static void test_bool(void)
{
    g_autoptr(NubeQuery) q = parse_ok("DryRun=true&Force=FALSE&Mixed=TrUe&Yes=yes&One=1&Empty=");
    gboolean b = FALSE;
    g_autoptr(NubeError) err = NULL;

    g_assert_cmpint(nube_query_bool(q, "DryRun", FALSE, &b, &err), ==, 0);
    g_assert_true(b);
    g_assert_cmpint(nube_query_bool(q, "Force", TRUE, &b, &err), ==, 0);
    g_assert_false(b);
    g_assert_cmpint(nube_query_bool(q, "Mixed", FALSE, &b, &err), ==, 0);
    g_assert_true(b);
    g_assert_cmpint(nube_query_bool(q, "Absent", TRUE, &b, &err), ==, 0);
    g_assert_true(b);
    g_assert_cmpint(nube_query_bool(q, "Absent", FALSE, &b, &err), ==, 0);
    g_assert_false(b);
    g_assert_null(err);

    const char *bad[] = { "Yes", "One", "Empty" };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(nube_query_bool(q, bad[i], FALSE, &b, &err), ==, -EINVAL);
        g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
        g_clear_pointer(&err, nube_error_free);
    }
}

static void test_merge(void)
{
    g_autoptr(NubeQuery) dst = parse_ok("Action=DescribeInstances&A=body");
    g_autoptr(NubeQuery) src = parse_ok("A=query&Version=2016-11-15");

    nube_query_merge(dst, src);
    g_assert_cmpuint(nube_query_size(dst), ==, 3);
    g_assert_cmpstr(nube_query_get(dst, "A"), ==, "body");
    g_assert_cmpstr(nube_query_get(dst, "Version"), ==, "2016-11-15");
    /* SRC is untouched and DST owns its copies. */
    g_assert_cmpuint(nube_query_size(src), ==, 2);
    g_clear_pointer(&src, nube_query_free);
    g_assert_cmpstr(nube_query_get(dst, "Version"), ==, "2016-11-15");

    nube_query_merge(dst, dst);
    nube_query_merge(dst, NULL);
    nube_query_merge(NULL, dst);
    g_assert_cmpuint(nube_query_size(dst), ==, 3);
}

static void test_uri_encode(void)
{
    static const struct {
        const char *in;
        gboolean encode_slash;
        const char *out;
    } cases[] = {
        { "AZaz09-_.~", TRUE, "AZaz09-_.~" },
        { "a b+c*d/e=f&g%h", TRUE, "a%20b%2Bc%2Ad%2Fe%3Df%26g%25h" },
        { "a b/c", FALSE, "a%20b/c" },
        { "\xe1\x88\xb4\xff\x01", TRUE, "%E1%88%B4%FF%01" },
        { "", TRUE, "" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = nube_uri_encode(cases[i].in, cases[i].encode_slash);
        g_assert_cmpstr(got, ==, cases[i].out);
    }
    g_autofree char *null = nube_uri_encode(NULL, TRUE);
    g_assert_cmpstr(null, ==, "");
}

static void test_null_safety(void)
{
    gint64 v = 3;
    gboolean b = TRUE;
    g_assert_null(nube_query_get(NULL, "a"));
    g_assert_cmpuint(nube_query_size(NULL), ==, 0);
    g_assert_cmpint(nube_query_int(NULL, "a", 0, 10, 7, &v, NULL), ==, 0);
    g_assert_cmpint(v, ==, 7);
    g_assert_cmpint(nube_query_bool(NULL, NULL, FALSE, &b, NULL), ==, 0);
    g_assert_false(b);
    g_autoptr(GArray) filters = nube_query_filters(NULL, NULL);
    g_assert_cmpuint(filters->len, ==, 0);
    nube_query_free(NULL);
}

/* Random bytes: parsing never crashes and what parses is consistent. */
static void test_random(void)
{
    static const char alphabet[] = "aB1.=&+%0fF\xc3\xa9\xff";
    for (int round = 0; round < 5000; round++) {
        char buf[64];
        int n = g_test_rand_int_range(0, sizeof(buf));
        for (int i = 0; i < n; i++)
            buf[i] = alphabet[g_test_rand_int_range(0, sizeof(alphabet))];

        g_autoptr(NubeError) err = NULL;
        g_autoptr(NubeQuery) q = nube_query_parse(buf, n, &err);
        g_assert_true((q == NULL) == (err != NULL));
        if (q == NULL)
            continue;
        g_autofree const char **list = nube_query_list(q, "a");
        g_assert_cmpuint(g_strv_length((char **) list), <=, nube_query_size(q));
        g_autoptr(GArray) filters = nube_query_filters(q, NULL);
        g_assert_true(filters == NULL || filters->len <= nube_query_size(q));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/query/parse/good", test_parse_good);
    g_test_add_func("/query/parse/repeated-keys", test_parse_repeated);
    g_test_add_func("/query/parse/bad-escapes", test_parse_bad);
    g_test_add_func("/query/list/gaps-and-order", test_list);
    g_test_add_func("/query/indices", test_indices);
    g_test_add_func("/query/key-patterns", test_key_patterns);
    g_test_add_func("/query/keys-digest", test_keys_digest);
    g_test_add_func("/query/filters/good", test_filters);
    g_test_add_func("/query/filters/bad", test_filters_bad);
    g_test_add_func("/query/int", test_int);
    g_test_add_func("/query/bool", test_bool);
    g_test_add_func("/query/merge", test_merge);
    g_test_add_func("/query/uri-encode", test_uri_encode);
    g_test_add_func("/query/null-safety", test_null_safety);
    g_test_add_func("/query/random", test_random);

    return g_test_run();
}
