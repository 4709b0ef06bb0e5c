/*
 * test-api.c: the EC2 actions without a hypervisor: answers against golden
 * files, EC2 error codes for bad input, filters and pagination, and that
 * refused requests write nothing.
 */
#include "fixture.h"
#include "golden.h"

#include "agentstatus.h"
#include "xml.h"
#include "catalog.h"

#include <string.h>

/* The image, a running instance with two forwards and its root volume, and
 * two more instances. */
static void insert_records(Fixture *f)
{
    g_autoptr(NubeImage) img = fixture_image_new("base");
    img->description = g_strdup("a <test> & image");
    fixture_insert_image(f, img, "cd34", "ef56", "root=/dev/vda");

    g_autoptr(NubeInstance) inst =
        fixture_instance_new("i-0abcdef0123456789", NUBE_INSTANCE_RUNNING, "t3.micro", "web");
    inst->accelerator = g_strdup("tcg");
    inst->forwards = g_array_new(FALSE, TRUE, sizeof(NubePortForward));
    NubePortForward ssh = { .host_port = 40022, .guest_port = 22 };
    NubePortForward http = { .host_port = 40080, .guest_port = 80 };
    g_array_append_val(inst->forwards, ssh);
    g_array_append_val(inst->forwards, http);
    fixture_insert_instance(f, inst);

    /* A terminated instance (hidden from DescribeInstances after 2 hours)
     * and a running instance-store one. */
    const struct {
        const char *id;
        NubeInstanceState state;
        const char *root;
    } more[] = {
        { "i-0000000000000000a", NUBE_INSTANCE_TERMINATED, "ebs" },
        { "i-0000000000000000b", NUBE_INSTANCE_RUNNING, "instance-store" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(more); i++) {
        g_autoptr(NubeInstance) o =
            fixture_instance_new(more[i].id, more[i].state, "t3.nano", NULL);
        fixture_set_str(&o->reservation_id, "r-0000000000000000a");
        fixture_set_str(&o->root_device_type, more[i].root);
        fixture_set_str(&o->mac, "52:54:00:12:34:57");
        o->state_changed_at = 1795000200;
        o->launch_time = 1795000200;
        o->terminated_at = more[i].state == NUBE_INSTANCE_TERMINATED ? 1795000300 : 0;
        fixture_insert_instance(f, o);
    }

    fixture_insert_volume(f, "vol-0abcdef0123456789", inst->id);
}

static const FixtureSpec spec = { "api", insert_records };

static void test_golden_images(Fixture *f, gconstpointer data)
{
    g_autofree char *code = NULL;
    g_autofree char *xml =
        fixture_call(f, "Action=DescribeImages&Version=2016-11-15&Owner.1=self", &code);
    g_assert_nonnull(xml);
    golden_check("api", "describe-images.xml", xml);
}

static void test_golden_instances(Fixture *f, gconstpointer data)
{
    g_autofree char *code = NULL;
    g_autofree char *xml = fixture_call(f, "Action=DescribeInstances&Version=2016-11-15", &code);
    g_assert_nonnull(xml);
    golden_check("api", "describe-instances.xml", xml);
}

static void test_golden_volumes(Fixture *f, gconstpointer data)
{
    g_autofree char *code = NULL;
    g_autofree char *xml = fixture_call(f, "Action=DescribeVolumes&Version=2016-11-15", &code);
    g_assert_nonnull(xml);
    golden_check("api", "describe-volumes.xml", xml);
}

static void test_golden_error(Fixture *f, gconstpointer data)
{
    int len = 0;
    g_autofree char *xml =
        nube_xml_error("InvalidInstanceID.NotFound", "The instance ID 'i-00000000' does not exist",
                       FIXTURE_REQUEST_ID, &len);
    golden_check("api", "error.xml", xml);
}

static const struct {
    const char *params;
    const char *code;
} bad_requests[] = {
    { "Action=Frobnicate", "InvalidAction" },
    { "Action=RunInstances", "MissingParameter" },
    { "Action=RunInstances&ImageId=ami-nothex", "InvalidAMIID.Malformed" },
    { "Action=RunInstances&ImageId=ami-00000000000000000", "InvalidAMIID.NotFound" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&InstanceType=t9.huge",
      "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&MinCount=3&MaxCount=2",
      "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&MinCount=x", "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&MinCount=500&MaxCount=500",
      "InstanceLimitExceeded" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&UserData=%25%25%25",
      "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&KeyName=nope", "InvalidKeyPair.NotFound" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&TagSpecification.1.ResourceType=bucket"
      "&TagSpecification.1.Tag.1.Key=a",
      "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&TagSpecification.1.ResourceType=instance"
      "&TagSpecification.1.Tag.1.Key=aws:x",
      "InvalidParameterValue" },
    { "Action=DescribeInstances&InstanceId.1=i-zz", "InvalidInstanceID.Malformed" },
    { "Action=DescribeInstances&InstanceId.1=i-00000000000000000", "InvalidInstanceID.NotFound" },
    { "Action=DescribeInstances&InstanceId.1=i-0abcdef0123456789&MaxResults=5",
      "InvalidParameterCombination" },
    { "Action=DescribeInstances&Filter.1.Name=color&Filter.1.Value.1=red",
      "InvalidParameterValue" },
    { "Action=DescribeInstances&MaxResults=2", "InvalidParameterValue" },
    { "Action=DescribeInstances&NextToken=bogus", "InvalidParameterValue" },
    { "Action=TerminateInstances", "MissingParameter" },
    { "Action=TerminateInstances&InstanceId.1=i-00000000000000000", "InvalidInstanceID.NotFound" },
    { "Action=StopInstances&InstanceId.1=i-0abcdef0123456789&Force=maybe",
      "InvalidParameterValue" },
    { "Action=StopInstances&InstanceId.1=i-0abcdef0123456789&InstanceId.2=i-00000000000000000",
      "InvalidInstanceID.NotFound" },
    { "Action=GetConsoleOutput&InstanceId=i-00000000000000000", "InvalidInstanceID.NotFound" },
    { "Action=DescribeImages&ImageId.1=ami-00000000000000000", "InvalidAMIID.NotFound" },
    { "Action=DeregisterImage&ImageId=ami-00000000000000000", "InvalidAMIID.NotFound" },
    { "Action=DeregisterImage&ImageId=bogus", "InvalidAMIID.Malformed" },
    { "Action=DescribeInstanceTypes&InstanceType.1=z1.tiny", "InvalidParameterValue" },
    { "Action=DescribeRegions&RegionName.1=mars-1", "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&NubeForwardPort.1=22",
      "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&NubeForwardPort.1=0",
      "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&NubeForwardPort.1=80"
      "&NubeForwardPort.2=80",
      "InvalidParameterValue" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&BlockDeviceMapping.1.DeviceName=/dev/vdz"
      "&BlockDeviceMapping.1.Ebs.DeleteOnTermination=false",
      "InvalidBlockDeviceMapping" },
    { "Action=RunInstances&ImageId=ami-0123456789abcdef0&BlockDeviceMapping.1.DeviceName=/dev/vda"
      "&BlockDeviceMapping.1.Ebs.DeleteOnTermination=perhaps",
      "InvalidParameterValue" },
    { "Action=CreateImage&Name=abc", "MissingParameter" },
    { "Action=CreateImage&InstanceId=i-zz&Name=abc", "InvalidInstanceID.Malformed" },
    { "Action=CreateImage&InstanceId=i-00000000000000000&Name=abc", "InvalidInstanceID.NotFound" },
    { "Action=CreateImage&InstanceId=i-0abcdef0123456789", "MissingParameter" },
    { "Action=CreateImage&InstanceId=i-0abcdef0123456789&Name=x", "InvalidAMIName.Malformed" },
    { "Action=CreateImage&InstanceId=i-0abcdef0123456789&Name=debian-12-test",
      "InvalidAMIName.Duplicate" },
    { "Action=CreateImage&InstanceId=i-0abcdef0123456789&Name=abcd&NoReboot=sometimes",
      "InvalidParameterValue" },
    { "Action=CreateImage&InstanceId=i-0abcdef0123456789&Name=abcd"
      "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a",
      "InvalidParameterValue" },
    { "Action=CreateImage&InstanceId=i-0000000000000000a&Name=from-terminated",
      "IncorrectInstanceState" },
    { "Action=StopInstances&InstanceId.1=i-0000000000000000b", "UnsupportedOperation" },
    { "Action=StopInstances&InstanceId.1=i-0000000000000000b&Force=true", "UnsupportedOperation" },
    { "Action=DeleteVolume", "MissingParameter" },
    { "Action=DeleteVolume&VolumeId=vol-x", "InvalidVolumeID.Malformed" },
    { "Action=DeleteVolume&VolumeId=vol-00000000000000000", "InvalidVolume.NotFound" },
    { "Action=DeleteVolume&VolumeId=vol-0abcdef0123456789", "VolumeInUse" },
    { "Action=DescribeVolumes&VolumeId.1=vol-00000000000000000", "InvalidVolume.NotFound" },
    { "Action=DescribeVolumes&Filter.1.Name=colour&Filter.1.Value.1=1", "InvalidParameterValue" },
    { "Action=NubeImportImage", "MissingParameter" },
    { "Action=NubeImportImage&Path=relative.img", "InvalidParameterValue" },
    { "Action=NubeImportImage&Path=/x.img&Name=ab", "InvalidAMIName.Malformed" },
    { "Action=NubeImportImage&Path=/x.img&Name=bad%21name", "InvalidAMIName.Malformed" },
    { "Action=NubeImportImage&Path=/x.img&Architecture=arm64", "InvalidParameterValue" },
    { "Action=NubeImportImage&Path=/x.img&NubeWithAgent=maybe", "InvalidParameterValue" },
    { "Action=NubeBuildDefaultImage&NubeCloudInit=maybe", "InvalidParameterValue" },
    { "Action=DescribeInstanceStatus&InstanceId.1=i-nope", "InvalidInstanceID.Malformed" },
    { "Action=DescribeInstanceStatus&IncludeAllInstances=perhaps", "InvalidParameterValue" },
    { "Action=NubeImportImage&Path=/x.img&RootDeviceType=floppy", "InvalidParameterValue" },
    { "Action=CreateTags&ResourceId.1=i-00000000000000000&Tag.1.Key=a",
      "InvalidInstanceID.NotFound" },
    { "Action=CreateTags&ResourceId.1=bogus&Tag.1.Key=a", "InvalidID" },
    { "Action=CreateTags&ResourceId.1=i-0abcdef0123456789&Tag.1.Key=aws:a",
      "InvalidParameterValue" },
    { "Action=DeleteTags&ResourceId.1=vol-00000000000000000", "InvalidVolume.NotFound" },
    { "Action=DescribeTags&Filter.1.Name=colour&Filter.1.Value.1=red", "InvalidParameterValue" },
    { "Action=ModifyInstanceAttribute&InstanceId=i-0abcdef0123456789&InstanceType.Value=t3.small",
      "IncorrectInstanceState" },
    { "Action=DescribeInstanceAttribute&InstanceId=i-0abcdef0123456789&Attribute=colour",
      "InvalidParameterValue" },
};

static void test_bad_input(Fixture *f, gconstpointer data)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_requests); i++) {
        g_autofree char *params = g_strconcat(bad_requests[i].params, "&Version=2016-11-15", NULL);
        g_autofree char *code = NULL;
        g_autofree char *xml = fixture_call(f, params, &code);
        g_test_message("%s", bad_requests[i].params);
        g_assert_null(xml);
        g_assert_cmpstr(code, ==, bad_requests[i].code);
    }
    /* Nothing refused left a record behind or changed one (the StopInstances
     * naming one unknown id did not stop the known one). */
    g_autoptr(NubeInstance) inst = nube_instance_get(f->cloud.db, "i-0abcdef0123456789", NULL);
    g_assert_cmpint(inst->state, ==, NUBE_INSTANCE_RUNNING);
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 3);
    g_assert_cmpint(fixture_count_rows(f, "images"), ==, 1);
    g_autoptr(NubeInstance) is = nube_instance_get(f->cloud.db, "i-0000000000000000b", NULL);
    g_assert_cmpint(is->state, ==, NUBE_INSTANCE_RUNNING);
}

static void test_user_data_limit(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = g_malloc0(16385);
    memset(raw, 'a', 16385);
    g_autofree char *b64 = g_base64_encode((const guchar *) raw, 16385);
    g_autofree char *params = g_strdup_printf(
        "Action=RunInstances&Version=2016-11-15&ImageId=ami-0123456789abcdef0&UserData=%s", b64);
    g_autofree char *code = NULL;
    g_assert_null(fixture_call(f, params, &code));
    g_assert_cmpstr(code, ==, "InvalidParameterValue");
    g_assert_cmpint(fixture_count_rows(f, "instances"), ==, 3);
}

static void test_filters(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *filter;
        gboolean found;
    } cases[] = {
        { "Filter.1.Name=instance-state-name&Filter.1.Value.1=running", TRUE },
        { "Filter.1.Name=instance-state-name&Filter.1.Value.1=stopped", FALSE },
        { "Filter.1.Name=instance-state-code&Filter.1.Value.1=16", TRUE },
        { "Filter.1.Name=tag:Name&Filter.1.Value.1=w*", TRUE },
        { "Filter.1.Name=tag:Name&Filter.1.Value.1=db", FALSE },
        { "Filter.1.Name=tag-key&Filter.1.Value.1=Name", TRUE },
        { "Filter.1.Name=image-id&Filter.1.Value.1=ami-0123456789abcdef0"
          "&Filter.2.Name=instance-id&Filter.2.Value.1=i-0abcdef0123456789",
          TRUE },
        { "Filter.1.Name=image-id&Filter.1.Value.1=ami-0123456789abcdef0"
          "&Filter.2.Name=instance-id&Filter.2.Value.1=i-1",
          FALSE },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *params =
            g_strdup_printf("Action=DescribeInstances&Version=2016-11-15&%s", cases[i].filter);
        g_autofree char *code = NULL;
        g_autofree char *xml = fixture_call(f, params, &code);
        g_assert_nonnull(xml);
        g_assert_cmpint(strstr(xml, "i-0abcdef0123456789") != NULL, ==, cases[i].found);
    }
    g_autofree char *code = NULL;
    g_autofree char *xml =
        fixture_call(f,
                     "Action=DescribeImages&Version=2016-11-15&Filter.1.Name=name"
                     "&Filter.1.Value.1=debian-*",
                     &code);
    g_assert_nonnull(strstr(xml, "ami-0123456789abcdef0"));
}

static void test_pagination(Fixture *f, gconstpointer data)
{
    g_autofree char *code = NULL;
    g_autofree char *token = NULL;
    guint seen = 0;
    for (int page = 0; page < 10; page++) {
        g_autofree char *params =
            g_strdup_printf("Action=DescribeInstanceTypes&Version=2016-11-15&MaxResults=5%s%s",
                            token ? "&NextToken=" : "", token ? token : "");
        g_autofree char *xml = fixture_call(f, params, &code);
        g_assert_nonnull(xml);
        for (const char *p = xml; (p = strstr(p, "<instanceType>")) != NULL; p++)
            seen++;
        g_clear_pointer(&token, g_free);
        const char *t = strstr(xml, "<nextToken>");
        if (t == NULL)
            break;
        t += strlen("<nextToken>");
        token = g_strndup(t, strchr(t, '<') - t);
        g_autofree char *escaped = g_uri_escape_string(token, NULL, FALSE);
        g_free(token);
        token = g_steal_pointer(&escaped);
    }
    g_assert_cmpuint(seen, ==, nube_catalog_types()->len);
}

static void test_migrations(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(nube_db_schema_version(f->cloud.db), ==, 7);
    g_autofree char *path = g_build_filename(f->dir, "nube.db", NULL);
    g_autoptr(NubeError) err = NULL;
    NubeDb *again = nube_db_open(path, &err);
    g_assert_nonnull(again);
    g_assert_cmpint(nube_db_schema_version(again), ==, 7);
    nube_db_close(again);
}

/* ---- DescribeInstanceStatus and the agent's report ---------------------- */

#define INST "i-0abcdef0123456789"
#define BOOT "0f0e0d0c-0b0a-4908-8706-050403020100"

static void record(Fixture *f, NubeMsg *m, gint64 now_ms)
{
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_agent_status_record(f->cloud.db, INST, m, now_ms, &err), ==, 0);
}

static void record_hello(Fixture *f, const char *boot, gint64 now_ms)
{
    NubeMsg m;
    nube_msg_init(&m);
    m.type = NUBE_MSG_HELLO;
    m.agent_version = strdup("0.1.0");
    m.boot_id = strdup(boot);
    m.kernel = strdup("6.1.0-test");
    m.cloud_init = TRUE;
    m.uptime = 3.5;
    record(f, &m, now_ms);
    nube_msg_clear(&m);
}

static void record_userdata(Fixture *f, const char *status, gint64 now_ms)
{
    NubeMsg m;
    nube_msg_init(&m);
    m.type = NUBE_MSG_USERDATA;
    m.runner = strdup("cloud-init");
    m.phase = status ? NUBE_USERDATA_FINISHED : NUBE_USERDATA_STARTED;
    if (status != NULL) {
        m.status = strdup(status);
        m.duration = 12.25;
        m.log = strdup("line one\nboom <&>");
        if (g_str_equal(status, "failed"))
            m.error = strdup("('scripts_user', RuntimeError('Runparts: 1 failures'))");
    }
    record(f, &m, now_ms);
    nube_msg_clear(&m);
}

/* "SYSTEM INSTANCE" status of INST from DescribeInstanceStatus. */
static char *status_of(Fixture *f)
{
    g_autofree char *code = NULL;
    g_autofree char *xml =
        fixture_call(f, "Action=DescribeInstanceStatus&InstanceId.1=" INST, &code);
    g_assert_nonnull(xml);
    g_autoptr(GRegex) re = g_regex_new(
        "<systemStatus>\\s*<status>([a-z-]+)</status>.*<instanceStatus>\\s*<status>([a-z-]+)</status>",
        G_REGEX_DOTALL, 0, NULL);
    g_autoptr(GMatchInfo) mi = NULL;
    if (!g_regex_match(re, xml, 0, &mi))
        return g_strdup(xml);
    g_autofree char *a = g_match_info_fetch(mi, 1);
    g_autofree char *b = g_match_info_fetch(mi, 2);
    return g_strdup_printf("%s %s", a, b);
}

static void test_instance_status(Fixture *f, gconstpointer data)
{
    g_autoptr(NubeError) err = NULL;
    gint64 now = g_get_real_time() / 1000;
    char *s;

    /* The image is not recorded as having an agent. */
    s = status_of(f);
    g_assert_cmpstr(s, ==, "ok insufficient-data");
    g_free(s);
    g_assert_cmpint(nube_db_exec(f->cloud.db, &err, "UPDATE images SET has_agent = 1", ""), ==, 1);
    s = status_of(f);
    g_assert_cmpstr(s, ==, "initializing initializing");
    g_free(s);

    record_hello(f, BOOT, now);
    s = status_of(f);
    g_assert_cmpstr(s, ==, "ok ok");
    g_free(s);

    record_userdata(f, NULL, now);
    record_userdata(f, "failed", now);
    s = status_of(f);
    g_assert_cmpstr(s, ==, "ok impaired");
    g_free(s);
    g_autofree char *code = NULL;
    g_autofree char *xml = fixture_call(f, "Action=DescribeInstances&InstanceId.1=" INST, &code);
    g_assert_nonnull(strstr(xml, "<state>failed</state>"));
    g_assert_nonnull(strstr(xml, "<runner>cloud-init</runner>"));
    g_assert_nonnull(strstr(xml, "<duration>12.250</duration>"));
    g_assert_nonnull(strstr(xml, "boom &lt;&amp;&gt;"));

    /* A replayed "started" after a reconnect does not undo the result. */
    record_userdata(f, NULL, now);
    g_autoptr(NubeAgentStatus) st = nube_agent_status_get(f->cloud.db, INST);
    g_assert_cmpstr(st->userdata_state, ==, "failed");

    /* A new boot forgets the boot, not the user data. */
    nube_agent_status_new_boot(f->cloud.db, INST);
    s = status_of(f);
    g_assert_cmpstr(s, ==, "initializing initializing");
    g_free(s);
    record_hello(f, "1f0e0d0c-0b0a-4908-8706-050403020100", now);
    s = status_of(f);
    g_assert_cmpstr(s, ==, "ok impaired");
    g_free(s);

    /* Not running: not listed unless asked for, then not-applicable. */
    g_free(xml);
    g_clear_pointer(&code, g_free);
    xml = fixture_call(f, "Action=DescribeInstanceStatus&InstanceId.1=i-0000000000000000a", &code);
    g_assert_null(xml);
    g_assert_cmpstr(code, ==, "InvalidInstanceID.NotFound");
    g_clear_pointer(&code, g_free);
    xml = fixture_call(f,
                       "Action=DescribeInstanceStatus&Filter.1.Name=instance-status.status"
                       "&Filter.1.Value.1=impaired",
                       &code);
    g_assert_nonnull(strstr(xml, INST));
    g_assert_null(strstr(xml, "i-0000000000000000b"));
    g_free(xml);
    xml = fixture_call(
        f,
        "Action=DescribeInstanceStatus&InstanceId.1=i-0000000000000000b&IncludeAllInstances=true",
        &code);
    g_assert_nonnull(xml);
    g_assert_nonnull(strstr(xml, "<status>initializing</status>"));
    g_free(xml);
    xml = fixture_call(f, "Action=DescribeInstanceStatus&InstanceId.1=i-bad", &code);
    g_assert_null(xml);
    g_assert_cmpstr(code, ==, "InvalidInstanceID.Malformed");
    g_clear_pointer(&code, g_free);
    xml = fixture_call(f, "Action=DescribeInstanceStatus&Filter.1.Name=no-such&Filter.1.Value.1=x",
                       &code);
    g_assert_null(xml);
    g_assert_cmpstr(code, ==, "InvalidParameterValue");
}

static void test_status_checks(void)
{
    NubeAgentStatus a = { .hello_at = 1000, .last_seen_at = 1000 };
    NubeCheck sys, ins;

    nube_agent_status_checks(FALSE, TRUE, &a, 2000, &sys, &ins);
    g_assert_cmpint(sys.status, ==, NUBE_CHECK_NOT_APPLICABLE);
    g_assert_cmpint(ins.status, ==, NUBE_CHECK_NOT_APPLICABLE);
    nube_agent_status_checks(TRUE, TRUE, NULL, 2000, &sys, &ins);
    g_assert_cmpint(ins.status, ==, NUBE_CHECK_INITIALIZING);
    nube_agent_status_checks(TRUE, TRUE, &a, 1000 + NUBE_AGENT_STALE_MS, &sys, &ins);
    g_assert_cmpint(ins.status, ==, NUBE_CHECK_OK);
    /* Heartbeats stopped. */
    nube_agent_status_checks(TRUE, TRUE, &a, 1001 + NUBE_AGENT_STALE_MS, &sys, &ins);
    g_assert_cmpint(sys.status, ==, NUBE_CHECK_OK);
    g_assert_cmpint(ins.status, ==, NUBE_CHECK_IMPAIRED);
    g_assert_cmpint(ins.impaired_since, ==, 1000 + NUBE_AGENT_STALE_MS);
    g_assert_cmpstr(nube_check_detail_name(ins.status), ==, "failed");
}

/* The state table: EC2's names and codes, and names back to states. */
static void test_state_table(void)
{
    const struct {
        NubeInstanceState state;
        const char *name;
        int code;
    } ec2[] = {
        { NUBE_INSTANCE_PENDING, "pending", 0 },
        { NUBE_INSTANCE_RUNNING, "running", 16 },
        { NUBE_INSTANCE_SHUTTING_DOWN, "shutting-down", 32 },
        { NUBE_INSTANCE_TERMINATED, "terminated", 48 },
        { NUBE_INSTANCE_STOPPING, "stopping", 64 },
        { NUBE_INSTANCE_STOPPED, "stopped", 80 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ec2); i++) {
        NubeInstanceState back = NUBE_INSTANCE_TERMINATED;
        g_assert_cmpstr(nube_instance_state_name(ec2[i].state), ==, ec2[i].name);
        g_assert_cmpint(nube_instance_state_code(ec2[i].state), ==, ec2[i].code);
        g_assert_cmpint(nube_instance_state_parse(ec2[i].name, &back), ==, 0);
        g_assert_cmpint(back, ==, ec2[i].state);
    }
    NubeInstanceState s = NUBE_INSTANCE_STOPPED;
    g_assert_cmpint(nube_instance_state_parse("Running", &s), ==, -EINVAL);
    g_assert_cmpint(nube_instance_state_parse(NULL, &s), ==, -EINVAL);
    g_assert_cmpint(s, ==, NUBE_INSTANCE_STOPPED);
    g_assert_null(nube_instance_state_name((NubeInstanceState) G_N_ELEMENTS(ec2)));
    g_assert_cmpint(nube_instance_state_code((NubeInstanceState) G_N_ELEMENTS(ec2)), ==, -1);
}

/* Each state survives the database, and the live ids are those of pending,
 * running and stopping instances. */
static void test_state_records(Fixture *f, gconstpointer data)
{
    static const char *const ids[] = {
        "i-00000000000000010", "i-00000000000000011", "i-00000000000000012",
        "i-00000000000000013", "i-00000000000000014", "i-00000000000000015",
    };
    for (NubeInstanceState s = NUBE_INSTANCE_PENDING; s <= NUBE_INSTANCE_STOPPED; s++) {
        g_autoptr(NubeInstance) inst = fixture_instance_new(ids[s], s, "t3.nano", NULL);
        fixture_insert_instance(f, inst);
        g_autoptr(NubeInstance) back = nube_instance_get(f->cloud.db, ids[s], NULL);
        g_assert_cmpint(back->state, ==, s);
    }
    g_autoptr(NubeError) err = NULL;
    g_autoptr(GPtrArray) live = nube_instance_live_ids(f->cloud.db, &err);
    g_assert_nonnull(live);
    const char *expect[] = { "i-0abcdef0123456789", "i-0000000000000000b",
                             ids[NUBE_INSTANCE_PENDING], ids[NUBE_INSTANCE_RUNNING],
                             ids[NUBE_INSTANCE_STOPPING] };
    g_assert_cmpuint(live->len, ==, G_N_ELEMENTS(expect));
    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++)
        g_assert_true(g_ptr_array_find_with_equal_func(live, expect[i], g_str_equal, NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, &spec, fixture_setup, fn, fixture_teardown)
    ADD("/api/golden/describe-images", test_golden_images);
    ADD("/api/golden/describe-instances", test_golden_instances);
    ADD("/api/golden/describe-volumes", test_golden_volumes);
    ADD("/api/golden/error", test_golden_error);
    ADD("/api/bad-input", test_bad_input);
    ADD("/api/user-data-limit", test_user_data_limit);
    ADD("/api/filters", test_filters);
    ADD("/api/pagination", test_pagination);
    ADD("/api/migrations", test_migrations);
    ADD("/api/instance-status", test_instance_status);
    ADD("/api/state-records", test_state_records);
    g_test_add_func("/api/status-checks", test_status_checks);
    g_test_add_func("/api/state-table", test_state_table);
#undef ADD
    return g_test_run();
}
