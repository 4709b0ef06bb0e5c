/*
 * test-params.c: how every action reads its parameters: EC2's list
 * indices (0 and gaps, in index order) at every nesting, unknown parameters
 * and values a handler cannot honour refused with nothing changed,
 * RunInstances' ClientToken, and DryRun on every action.
 */
#include "fixture.h"

#include "api.h"
#include "keypair.h"
#include "tags.h"
#include "volume.h"

#include <string.h>

#define INST_A "i-0000000000000000a"
#define INST_B "i-0000000000000000b"
#define INST_C "i-0000000000000000c"

/* The image, two running instances and a stopped one, and two key pairs. */
static void insert_records(Fixture *f)
{
    g_autoptr(NubeImage) img = fixture_image_new(NULL);
    img->root_device_type = g_strdup("ebs");
    fixture_insert_image(f, img, NULL, NULL, NULL);
    const struct {
        const char *id;
        NubeInstanceState state;
    } insts[] = {
        { INST_A, NUBE_INSTANCE_RUNNING },
        { INST_B, NUBE_INSTANCE_RUNNING },
        { INST_C, NUBE_INSTANCE_STOPPED },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(insts); i++) {
        g_autoptr(NubeInstance) inst =
            fixture_instance_new(insts[i].id, insts[i].state, "t3.micro", NULL);
        fixture_insert_instance(f, inst);
    }
    const char *const keys[] = { "alpha", "beta" };
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_autofree char *params =
            g_strdup_printf("Action=CreateKeyPair&KeyName=%s&KeyType=ed25519", keys[i]);
        g_free(fixture_ok(f, params));
    }
}

static const FixtureSpec spec = { "params", insert_records };

static char *tag_of(Fixture *f, const char *id, const char *key)
{
    g_autoptr(GPtrArray) tags = nube_tags_get(f->cloud.db, id, NULL);
    g_assert_nonnull(tags);
    return g_strdup(nube_tags_lookup(tags, key));
}

static char *state_of(Fixture *f, const char *id)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(f->cloud.db, id, NULL);
    g_assert_nonnull(inst);
    return g_strdup(nube_instance_state_name(inst->state));
}

/* ---- list indices ---------------------------------------------------------- */

static void test_tags_index_zero(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(f, "Action=CreateTags&ResourceId.0=" INST_A "&ResourceId.7=" INST_B
                         "&Tag.0.Key=k0&Tag.0.Value=v0&Tag.12.Key=k12"));
    const char *const ids[] = { INST_A, INST_B };
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autofree char *k0 = tag_of(f, ids[i], "k0");
        g_autofree char *k12 = tag_of(f, ids[i], "k12");
        g_assert_cmpstr(k0, ==, "v0");
        g_assert_cmpstr(k12, ==, "");
    }
    g_assert_cmpint(fixture_count_rows(f, "tags"), ==, 4);

    /* Index 0 alone is the list: not a missing parameter. */
    fixture_refused(f, "Action=CreateTags&ResourceId.0=i-00000000000000000&Tag.0.Key=a",
                    "InvalidInstanceID.NotFound");
    /* A key whose index is not one names no parameter. */
    fixture_refused(f, "Action=CreateTags&ResourceId.0=" INST_A "&Tag.01.Key=a",
                    "UnknownParameter");
    fixture_refused(f, "Action=CreateTags&ResourceId.00=" INST_A "&Tag.0.Key=a",
                    "UnknownParameter");

    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.0=" INST_A "&Tag.0.Key=k0"));
    g_autofree char *gone = tag_of(f, INST_A, "k0");
    g_autofree char *kept = tag_of(f, INST_B, "k0");
    g_assert_null(gone);
    g_assert_cmpstr(kept, ==, "v0");
    /* A value with no key, at an index that is not 1. */
    g_autofree char *message = fixture_refused_message(
        f, "Action=DeleteTags&ResourceId.0=" INST_B "&Tag.7.Value=v0", "MissingParameter");
    g_assert_cmpstr(message, ==, "The request must contain the parameter Tag.7.Key");
    g_free(fixture_ok(f, "Action=DeleteTags&ResourceId.3=" INST_B "&ResourceId.0=" INST_A));
    g_assert_cmpint(fixture_count_rows(f, "tags"), ==, 0);
}

static void test_instances_index_zero(Fixture *f, gconstpointer data)
{
    g_autofree char *xml =
        fixture_ok(f, "Action=StopInstances&InstanceId.5=" INST_B "&InstanceId.0=" INST_A);
    /* Both stop, answered in index order. */
    const char *a = strstr(xml, INST_A), *b = strstr(xml, INST_B);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_true(a < b);
    g_autofree char *sa = state_of(f, INST_A);
    g_autofree char *sb = state_of(f, INST_B);
    g_assert_cmpstr(sa, ==, "stopping");
    g_assert_cmpstr(sb, ==, "stopping");
    g_assert_cmpuint(nube_jobs_held(f->cloud.jobs), ==, 2);

    fixture_refused(f, "Action=TerminateInstances&InstanceId.0=i-00000000000000000",
                    "InvalidInstanceID.NotFound");
    g_autofree char *filtered =
        fixture_ok(f, "Action=DescribeInstances&Filter.0.Name=instance-state-name"
                      "&Filter.0.Value.3=pending&Filter.0.Value.0=stopped");
    g_assert_cmpuint(fixture_count(filtered, "<instanceId>"), ==, 1);
    g_assert_nonnull(strstr(filtered, INST_C));
}

static void test_keypairs_index_zero(Fixture *f, gconstpointer data)
{
    fixture_refused(f, "Action=DescribeKeyPairs&KeyName.0=nope", "InvalidKeyPair.NotFound");
    fixture_refused(f, "Action=DescribeKeyPairs&KeyName.1=nope", "InvalidKeyPair.NotFound");
    g_autofree char *xml = fixture_ok(f, "Action=DescribeKeyPairs&KeyName.9=beta&KeyName.0=alpha");
    g_assert_cmpuint(fixture_count(xml, "<keyName>"), ==, 2);
    g_assert_true(strstr(xml, "alpha") < strstr(xml, "beta"));
    g_autofree char *one = fixture_ok(f, "Action=DescribeKeyPairs&Filter.0.Name=key-name"
                                         "&Filter.0.Value.0=beta");
    g_assert_cmpuint(fixture_count(one, "<keyName>"), ==, 1);
    g_assert_nonnull(strstr(one, "<keyName>beta</keyName>"));

    g_free(fixture_ok(f, "Action=CreateKeyPair&KeyName=gamma&KeyType=ed25519"
                         "&TagSpecification.0.ResourceType=key-pair"
                         "&TagSpecification.0.Tag.0.Key=team&TagSpecification.0.Tag.0.Value=qa"));
    g_autoptr(NubeKeyPair) kp = nube_keypair_by_name(f->cloud.db, FIXTURE_OWNER, "gamma", NULL);
    g_assert_nonnull(kp);
    g_assert_cmpstr(nube_tags_lookup(kp->tags, "team"), ==, "qa");
}

static void test_images_index_zero(Fixture *f, gconstpointer data)
{
    g_autofree char *xml = fixture_ok(f, "Action=DescribeImages&ImageId.0=" FIXTURE_AMI);
    g_assert_cmpuint(fixture_count(xml, "<imageId>"), ==, 1);
    fixture_refused(f, "Action=DescribeImages&ImageId.0=ami-00000000000000000",
                    "InvalidAMIID.NotFound");
    fixture_refused(
        f, "Action=DescribeImages&ImageId.0=" FIXTURE_AMI "&ImageId.4=ami-00000000000000000",
        "InvalidAMIID.NotFound");
    g_autofree char *none = fixture_ok(f, "Action=DescribeImages&Owner.0=000000000000");
    g_assert_cmpuint(fixture_count(none, "<imageId>"), ==, 0);
    g_autofree char *mine =
        fixture_ok(f, "Action=DescribeImages&Owner.3=000000000000&Owner.0=self");
    g_assert_cmpuint(fixture_count(mine, "<imageId>"), ==, 1);
}

static void test_run_index_zero(Fixture *f, gconstpointer data)
{
    g_autofree char *xml = fixture_ok(
        f, "Action=RunInstances&ImageId=" FIXTURE_AMI "&BlockDeviceMapping.0.DeviceName=/dev/vda"
           "&BlockDeviceMapping.0.Ebs.DeleteOnTermination=false"
           "&TagSpecification.0.ResourceType=instance&TagSpecification.0.Tag.0.Key=Name"
           "&TagSpecification.0.Tag.0.Value=zero&SecurityGroup.0=default&NubeForwardPort.0=8080");
    g_assert_cmpuint(fixture_count(xml, "<instanceId>"), ==, 1);
    g_assert_nonnull(strstr(xml, "<key>Name</key>"));
    g_assert_nonnull(strstr(xml, "<value>zero</value>"));
    g_assert_nonnull(strstr(xml, "<guestPort>8080</guestPort>"));
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 4);
    g_autofree char *vols = fixture_ok(f, "Action=DescribeVolumes");
    g_assert_cmpuint(fixture_count(vols, "<size>"), ==, 1);
    g_assert_nonnull(strstr(vols, "<deleteOnTermination>false</deleteOnTermination>"));

    g_free(fixture_ok(f, "Action=AuthorizeSecurityGroupIngress&GroupName=default"
                         "&IpPermissions.0.IpProtocol=tcp&IpPermissions.0.FromPort=80"
                         "&IpPermissions.0.ToPort=80&IpPermissions.0.IpRanges.0.CidrIp=10.0.0.0/8"
                         "&IpPermissions.0.IpRanges.2.CidrIp=192.168.0.0/16"));
    g_autofree char *sg = fixture_ok(f, "Action=DescribeSecurityGroups&GroupName.0=default");
    g_assert_nonnull(strstr(sg, "<cidrIp>10.0.0.0/8</cidrIp>"));
    g_assert_nonnull(strstr(sg, "<cidrIp>192.168.0.0/16</cidrIp>"));
}

/* ---- unknown parameters, values a handler cannot honour ---------------------- */

static const struct {
    const char *params;
    const char *unknown; /* the parameter the error names */
} unknown_params[] = {
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&Foo=bar", "Foo" },
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&Placement.Tenancy=dedicated",
      "Placement.Tenancy" },
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&IamInstanceProfile.Name=admin",
      "IamInstanceProfile.Name" },
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&BlockDeviceMapping.1.DeviceName=/dev/vda"
      "&BlockDeviceMapping.1.Ebs.VolumeSize=100",
      "BlockDeviceMapping.1.Ebs.VolumeSize" },
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&MetadataOptions.InstanceMetadataTags=enabled",
      "MetadataOptions.InstanceMetadataTags" },
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&ClientTokens=x", "ClientTokens" },
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&SecurityGroupId=sg-0", "SecurityGroupId" },
    { "Action=RunInstances&ImageId=" FIXTURE_AMI "&TagSpecification.1.ResourceType=instance"
      "&TagSpecification.1.Tags.1.Key=a",
      "TagSpecification.1.Tags.1.Key" },
    { "Action=TerminateInstances&InstanceId.1=" INST_A "&InstanceId.01=" INST_B, "InstanceId.01" },
    { "Action=TerminateInstances&InstanceId.1=" INST_A "&InstanceIds.1=" INST_B, "InstanceIds.1" },
    { "Action=TerminateInstances&InstanceId=" INST_A, "InstanceId" },
    { "Action=StopInstances&InstanceId.1=" INST_A "&Hibernate=true", "Hibernate" },
    { "Action=StartInstances&InstanceId.1=" INST_C "&AdditionalInfo=x", "AdditionalInfo" },
    { "Action=CreateTags&ResourceId.1=" INST_A "&Tag.1.Key=a&Tag.1.Colour=red", "Tag.1.Colour" },
    { "Action=DeleteTags&ResourceId.1=" INST_A "&Filter.1.Name=key&Filter.1.Value.1=a",
      "Filter.1.Name" },
    { "Action=DescribeInstances&Filter.1.Name=instance-id&Filter.1.Values.1=" INST_A,
      "Filter.1.Values.1" },
    { "Action=DescribeKeyPairs&MaxResults=5", "MaxResults" },
    { "Action=DescribeRegions&AllRegions=true", "AllRegions" },
    { "Action=DescribeImages&ExecutableBy.1=self", "ExecutableBy.1" },
    { "Action=CreateImage&InstanceId=" INST_A "&Name=abcd&BlockDeviceMapping.1.NoDevice=",
      "BlockDeviceMapping.1.NoDevice" },
    { "Action=AuthorizeSecurityGroupIngress&GroupName=default&IpPermissions.1.IpProtocol=tcp"
      "&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80"
      "&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8&TagSpecification.1.ResourceType=x",
      "TagSpecification.1.ResourceType" },
    { "Action=ModifyInstanceMetadataOptions&InstanceId=" INST_A "&InstanceMetadataTags=enabled",
      "InstanceMetadataTags" },
    { "Action=GetConsoleOutput&InstanceId=" INST_A "&Latest=true", "Latest" },
    { "Action=NubeDescribeHost&Verbose=true", "Verbose" },
    { "Action=NubeAddPackages&Package.1=hello&Package.1.Version=2", "Package.1.Version" },
};

static void test_unknown(Fixture *f, gconstpointer data)
{
    g_autofree char *before = fixture_dump(f);
    for (size_t i = 0; i < G_N_ELEMENTS(unknown_params); i++) {
        g_autofree char *message =
            fixture_refused_message(f, unknown_params[i].params, "UnknownParameter");
        g_autofree char *want =
            g_strdup_printf("The parameter %s is not recognized", unknown_params[i].unknown);
        g_assert_cmpstr(message, ==, want);
    }
    g_autofree char *after = fixture_dump(f);
    g_assert_cmpstr(after, ==, before);
    g_assert_cmpuint(nube_jobs_held(f->cloud.jobs), ==, 0);
}

/* What a handler reads but cannot honour is refused, never dropped. */
static void test_unsupported_values(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *params;
        const char *code;
    } cases[] = {
        { "Action=AuthorizeSecurityGroupIngress&GroupName=default&IpProtocol=tcp&FromPort=81"
          "&ToPort=81&CidrIp=0.0.0.0/0&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80"
          "&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
          "InvalidParameterCombination" },
        { "Action=AuthorizeSecurityGroupIngress&GroupName=default&IpPermissions.1.IpProtocol=tcp"
          "&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80"
          "&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"
          "&IpPermissions.1.Ipv6Ranges.1.CidrIpv6=::/0",
          "InvalidParameterValue" },
        { "Action=AuthorizeSecurityGroupIngress&GroupName=default&IpPermissions.1.IpProtocol=tcp"
          "&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80"
          "&IpPermissions.1.Groups.1.GroupId=sg-0123456789abcdef0",
          "InvalidParameterValue" },
        { "Action=RevokeSecurityGroupIngress&GroupName=default&SecurityGroupRuleId.1=sgr-0"
          "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22"
          "&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
          "InvalidParameterCombination" },
        { "Action=ModifyInstanceAttribute&InstanceId=" INST_C "&InstanceType.Value=t3.small"
          "&Value=t3.nano",
          "MissingParameter" },
        { "Action=ModifyInstanceAttribute&InstanceId=" INST_C "&GroupId.1=sg-0123456789abcdef0",
          "UnsupportedOperation" },
        { "Action=ModifyInstanceAttribute&InstanceId=" INST_C
          "&BlockDeviceMapping.1.DeviceName=/dev/vda&BlockDeviceMapping.1.Ebs.VolumeId=vol-0",
          "UnsupportedOperation" },
    };
    g_free(fixture_ok(f, "Action=DescribeSecurityGroups")); /* makes the default group */
    g_autofree char *before = fixture_dump(f);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        fixture_refused(f, cases[i].params, cases[i].code);
    g_autofree char *after = fixture_dump(f);
    g_assert_cmpstr(after, ==, before);
}

/* RunInstances tags the ebs root volume with the volume specifications. */
static void test_volume_tags(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(
        f, "Action=RunInstances&ImageId=" FIXTURE_AMI "&TagSpecification.1.ResourceType=instance"
           "&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=web"
           "&TagSpecification.2.ResourceType=volume&TagSpecification.2.Tag.1.Key=Name"
           "&TagSpecification.2.Tag.1.Value=web-root&TagSpecification.2.Tag.2.Key=backup"));
    g_autofree char *vols =
        fixture_ok(f, "Action=DescribeVolumes&Filter.1.Name=tag:Name&Filter.1.Value.1=web-root");
    g_assert_cmpuint(fixture_count(vols, "<size>"), ==, 1);
    g_assert_cmpuint(fixture_count(vols, "<key>"), ==, 2);
    g_autofree char *insts =
        fixture_ok(f, "Action=DescribeInstances&Filter.1.Name=tag:Name&Filter.1.Value.1=web");
    g_assert_cmpuint(fixture_count(insts, "<instanceId>"), ==, 1);
    g_assert_cmpuint(fixture_count(insts, "<key>"), ==, 1);
}

/* ---- ClientToken ------------------------------------------------------------- */

#define RUN_TWO \
    "Action=RunInstances&ImageId=" FIXTURE_AMI "&InstanceType=t3.nano&MinCount=2&MaxCount=2"

static void test_client_token_retry(Fixture *f, gconstpointer data)
{
    g_autofree char *first = fixture_ok(f, RUN_TWO "&ClientToken=retry-1");
    g_autofree char *reservation = fixture_element(first, "reservationId");
    g_assert_cmpuint(fixture_count(first, "<instanceId>"), ==, 2);
    g_assert_cmpuint(fixture_count(first, "<clientToken>retry-1</clientToken>"), ==, 2);
    g_autofree char *rows = fixture_dump(f);
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 5);
    g_assert_cmpint(fixture_count_rows(f, "client_tokens"), ==, 1);
    g_assert_cmpuint(nube_jobs_held(f->cloud.jobs), ==, 2);

    /* The retry (its parameters in another order) gets the same reservation
     * and makes nothing. */
    g_autofree char *again = fixture_ok(f, "Action=RunInstances&ClientToken=retry-1&MaxCount=2"
                                           "&MinCount=2&InstanceType=t3.nano&ImageId=" FIXTURE_AMI);
    g_autofree char *again_reservation = fixture_element(again, "reservationId");
    g_assert_cmpstr(again_reservation, ==, reservation);
    g_autofree char *first_id = fixture_element(first, "instanceId");
    g_autofree char *again_id = fixture_element(again, "instanceId");
    g_assert_cmpstr(again_id, ==, first_id);
    g_assert_cmpuint(fixture_count(again, "<instanceId>"), ==, 2);
    g_autofree char *after = fixture_dump(f);
    g_assert_cmpstr(after, ==, rows);
    g_assert_cmpuint(nube_jobs_held(f->cloud.jobs), ==, 2);

    /* As the instances are now, even once their image is gone. */
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_instance_transition(f->cloud.db, first_id,
                                             NUBE_STATE_BIT(NUBE_INSTANCE_PENDING),
                                             NUBE_INSTANCE_RUNNING, NULL, NULL, &err),
                    ==, 0);
    g_free(fixture_ok(f, "Action=DeregisterImage&ImageId=" FIXTURE_AMI));
    g_autofree char *later = fixture_ok(f, RUN_TWO "&ClientToken=retry-1");
    g_autofree char *later_reservation = fixture_element(later, "reservationId");
    g_assert_cmpstr(later_reservation, ==, reservation);
    g_assert_cmpuint(fixture_count(later, "<name>running</name>"), ==, 1);
    g_assert_cmpuint(fixture_count(later, "<name>pending</name>"), ==, 1);
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 5);

    /* DescribeInstances shows the token. */
    g_autofree char *params = g_strdup_printf("Action=DescribeInstances&InstanceId.1=%s", first_id);
    g_autofree char *described = fixture_ok(f, params);
    g_assert_nonnull(strstr(described, "<clientToken>retry-1</clientToken>"));
}

static void test_client_token_mismatch(Fixture *f, gconstpointer data)
{
    g_free(fixture_ok(f, RUN_TWO "&ClientToken=mismatch"));
    g_autofree char *rows = fixture_dump(f);
    const char *const other[] = {
        "Action=RunInstances&ImageId=" FIXTURE_AMI "&InstanceType=t3.micro&MinCount=2&MaxCount=2",
        "Action=RunInstances&ImageId=" FIXTURE_AMI "&InstanceType=t3.nano&MinCount=1&MaxCount=2",
        RUN_TWO "&UserData=", RUN_TWO "&KeyName=alpha",
        /* Not another token: tokens are case-sensitive. */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(other); i++) {
        g_autofree char *params = g_strconcat(other[i], "&ClientToken=mismatch", NULL);
        fixture_refused(f, params, "IdempotentParameterMismatch");
    }
    g_autofree char *after = fixture_dump(f);
    g_assert_cmpstr(after, ==, rows);

    g_free(fixture_ok(f, RUN_TWO "&ClientToken=MISMATCH"));
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 7);
    g_assert_cmpint(fixture_count_rows(f, "client_tokens"), ==, 2);
}

static void test_client_token_values(Fixture *f, gconstpointer data)
{
    g_autofree char *max = g_strnfill(64, 'a');
    g_autofree char *over = g_strnfill(65, 'a');
    g_autofree char *ok = g_strdup_printf(RUN_TWO "&ClientToken=%s", max);
    g_autofree char *long_token = g_strdup_printf(RUN_TWO "&ClientToken=%s", over);
    g_autofree char *rows = fixture_dump(f);
    fixture_refused(f, long_token, "InvalidParameterValue");
    fixture_refused(f, RUN_TWO "&ClientToken=caf%C3%A9", "InvalidParameterValue");
    /* A refused launch records no token: a retry is checked afresh. */
    fixture_refused(f, RUN_TWO "&ClientToken=t1&KeyName=nope", "InvalidKeyPair.NotFound");
    g_autofree char *after = fixture_dump(f);
    g_assert_cmpstr(after, ==, rows);
    g_free(fixture_ok(f, RUN_TWO "&ClientToken=t1"));
    g_free(fixture_ok(f, ok));
    g_assert_cmpint(fixture_count_rows(f, "client_tokens"), ==, 2);
    /* An empty token is none: every such call launches. */
    g_free(fixture_ok(f, RUN_TWO "&ClientToken="));
    g_free(fixture_ok(f, RUN_TWO "&ClientToken="));
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 11);
    g_assert_cmpint(fixture_count_rows(f, "client_tokens"), ==, 2);
}

/* Tokens are each account's own. */
static void test_client_token_accounts(Fixture *f, gconstpointer data)
{
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_db_exec(f->cloud.db, &err,
                                 "INSERT INTO accounts VALUES ('210987654321', "
                                 "'AKIAOTHEROTHEROTHER0', 's', 0)",
                                 NULL),
                    ==, 1);
    g_autofree char *mine = fixture_ok(f, RUN_TWO "&ClientToken=shared");
    fixture_set_str(&f->acct.id, "210987654321");
    g_autofree char *theirs = fixture_ok(f, RUN_TWO "&ClientToken=shared");
    g_autofree char *r1 = fixture_element(mine, "reservationId");
    g_autofree char *r2 = fixture_element(theirs, "reservationId");
    g_assert_cmpstr(r1, !=, r2);
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 7);
    g_assert_cmpint(fixture_count_rows(f, "client_tokens"), ==, 2);
}

/* ---- DryRun ------------------------------------------------------------------- */

#define RULE                                                                                \
    "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80" \
    "&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"

/* Each action with the parameters it needs (nothing runs: DryRun=true). */
static const struct {
    const char *action;
    const char *params;
} dry_runs[] = {
    { "DescribeImages", "" },
    { "CreateImage", "&InstanceId=" INST_A "&Name=dry-image&NoReboot=true" },
    { "DeregisterImage", "&ImageId=" FIXTURE_AMI },
    { "RunInstances", "&ImageId=" FIXTURE_AMI "&MinCount=1&MaxCount=1&ClientToken=dry" },
    { "DescribeInstances", "" },
    { "DescribeInstanceStatus", "" },
    { "ModifyInstanceMetadataOptions", "&InstanceId=" INST_A "&HttpTokens=required" },
    { "StartInstances", "&InstanceId.1=" INST_C },
    { "StopInstances", "&InstanceId.1=" INST_A "&Force=true" },
    { "RebootInstances", "&InstanceId.1=" INST_A },
    { "TerminateInstances", "&InstanceId.1=" INST_A "&InstanceId.2=" INST_B },
    { "GetConsoleOutput", "&InstanceId=" INST_A },
    { "DescribeVolumes", "" },
    { "DeleteVolume", "&VolumeId=vol-0000000000000000c" },
    { "CreateKeyPair", "&KeyName=dry" },
    { "ImportKeyPair", "&KeyName=dry&PublicKeyMaterial=c3NoLWVkMjU1MTkgQUFBQQ%3D%3D" },
    { "DescribeKeyPairs", "" },
    { "DeleteKeyPair", "&KeyName=alpha" },
    { "CreateSecurityGroup", "&GroupName=dry&GroupDescription=dry" },
    { "DescribeSecurityGroups", "" },
    { "DeleteSecurityGroup", "&GroupName=default" },
    { "AuthorizeSecurityGroupIngress", "&GroupName=default" RULE },
    { "RevokeSecurityGroupIngress", "&GroupName=default" RULE },
    { "DescribeInstanceTypes", "" },
    { "DescribeRegions", "" },
    { "DescribeAvailabilityZones", "" },
    { "CreateTags", "&ResourceId.1=" INST_A "&Tag.1.Key=k" },
    { "DeleteTags", "&ResourceId.1=" INST_A },
    { "DescribeTags", "" },
    { "DescribeInstanceAttribute", "&InstanceId=" INST_A "&Attribute=instanceType" },
    { "ModifyInstanceAttribute", "&InstanceId=" INST_C "&InstanceType.Value=t3.small" },
    { "NubeBuildDefaultImage", "" },
    { "NubeImportImage", "&Path=/nonexistent.img" },
    /* Their handlers need the hypervisor and the package repository, which
     * the fixture has not: they must not run. */
    { "NubeDescribeHost", "" },
    { "NubeAddPackages", "&Package.1=hello" },
};

static const char *dry_run_params(const char *action)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dry_runs); i++)
        if (g_str_equal(dry_runs[i].action, action))
            return dry_runs[i].params;
    return NULL;
}

/* DryRun=true on every action of the dispatch table: DryRunOperation, and
 * no row of any table changes. */
static void test_dry_run_all(Fixture *f, gconstpointer data)
{
    g_autofree char *before = fixture_dump(f);
    guint n = 0;
    for (const char *action; (action = nube_api_action_name(n)) != NULL; n++) {
        const char *params = dry_run_params(action);
        if (params == NULL)
            g_error("no DryRun case for the action %s", action);
        g_autofree char *req = g_strdup_printf("Action=%s%s&DryRun=true", action, params);
        g_autofree char *message = fixture_refused_message(f, req, "DryRunOperation");
        g_assert_cmpstr(message, ==, "Request would have succeeded, but DryRun flag is set.");
    }
    g_assert_cmpuint(n, ==, G_N_ELEMENTS(dry_runs));
    g_autofree char *after = fixture_dump(f);
    g_assert_cmpstr(after, ==, before);
    g_assert_cmpuint(nube_jobs_held(f->cloud.jobs), ==, 0);
}

static void test_dry_run_values(Fixture *f, gconstpointer data)
{
    g_autofree char *before = fixture_dump(f);
    fixture_refused(f, "Action=TerminateInstances&InstanceId.1=" INST_A "&DryRun=maybe",
                    "InvalidParameterValue");
    fixture_refused(
        f, "Action=TerminateInstances&InstanceId.1=" INST_A "&DryRun=", "InvalidParameterValue");
    fixture_refused(f, "Action=DescribeRegions&DryRun=1", "InvalidParameterValue");
    fixture_refused(f, "Action=TerminateInstances&InstanceId.1=" INST_A "&DryRun=TRUE",
                    "DryRunOperation");
    /* The parameters are checked first, the action's name before them. */
    fixture_refused(f, "Action=TerminateInstances&InstanceId.1=" INST_A "&DryRun=true&Foo=1",
                    "UnknownParameter");
    fixture_refused(f, "Action=Frobnicate&DryRun=true", "InvalidAction");
    /* A dry run records no client token. */
    fixture_refused(f, RUN_TWO "&ClientToken=dry&DryRun=true", "DryRunOperation");
    g_autofree char *after = fixture_dump(f);
    g_assert_cmpstr(after, ==, before);

    g_free(fixture_ok(f, "Action=TerminateInstances&InstanceId.1=" INST_A "&DryRun=false"));
    g_autofree char *state = state_of(f, INST_A);
    g_assert_cmpstr(state, ==, "shutting-down");
    g_free(fixture_ok(f, RUN_TWO "&ClientToken=dry&DryRun=false"));
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 5);
    /* DryRun is not part of what a retry must repeat. */
    g_free(fixture_ok(f, RUN_TWO "&ClientToken=dry"));
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 5);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, &spec, fixture_setup, fn, fixture_teardown)
    ADD("/params/index-zero/tags", test_tags_index_zero);
    ADD("/params/index-zero/instances", test_instances_index_zero);
    ADD("/params/index-zero/key-pairs", test_keypairs_index_zero);
    ADD("/params/index-zero/images", test_images_index_zero);
    ADD("/params/index-zero/run-instances", test_run_index_zero);
    ADD("/params/unknown", test_unknown);
    ADD("/params/unsupported-values", test_unsupported_values);
    ADD("/params/volume-tags", test_volume_tags);
    ADD("/params/client-token/retry", test_client_token_retry);
    ADD("/params/client-token/mismatch", test_client_token_mismatch);
    ADD("/params/client-token/values", test_client_token_values);
    ADD("/params/client-token/accounts", test_client_token_accounts);
    ADD("/params/dry-run/every-action", test_dry_run_all);
    ADD("/params/dry-run/values", test_dry_run_values);
#undef ADD
    return g_test_run();
}
