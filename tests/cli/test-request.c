/*
 * test-request.c: what nube puts on the wire and reads back: endpoint
 * parsing (Host header, loopback), the form-encoded body, EC2 answers and
 * error documents turned into JSON and errors.
 */
#include "endpoint.h"
#include "instances.h"
#include "output.h"
#include "params.h"
#include "reply.h"

#include <string.h>

static void test_endpoint(void)
{
    g_autoptr(NubeCliEndpoint) plain = nube_cli_endpoint_parse("http://127.0.0.1:8773", NULL);
    g_assert_cmpstr(plain->host_header, ==, "127.0.0.1:8773");
    g_assert_cmpstr(plain->path, ==, "/");
    g_assert_true(plain->loopback);
    g_autofree char *listen = nube_cli_endpoint_listen(plain);
    g_assert_cmpstr(listen, ==, "127.0.0.1:8773");

    g_autoptr(NubeCliEndpoint) v6 = nube_cli_endpoint_parse("http://[::1]:9000/", NULL);
    g_assert_cmpstr(v6->host, ==, "::1");
    g_assert_cmpstr(v6->host_header, ==, "[::1]:9000");
    g_assert_true(v6->loopback);
    g_autofree char *listen6 = nube_cli_endpoint_listen(v6);
    g_assert_cmpstr(listen6, ==, "[::1]:9000");

    g_autoptr(NubeCliEndpoint) local = nube_cli_endpoint_parse("http://localhost", NULL);
    g_assert_cmpint(local->port, ==, 80);
    g_assert_cmpstr(local->host_header, ==, "localhost");
    g_autofree char *listen_local = nube_cli_endpoint_listen(local);
    g_assert_cmpstr(listen_local, ==, "127.0.0.1:80");

    g_autoptr(NubeCliEndpoint) remote = nube_cli_endpoint_parse("https://cloud.example:8443", NULL);
    g_assert_false(remote->loopback);
    g_assert_cmpint(remote->port, ==, 8443);

    g_autoptr(NubeError) err = NULL;
    g_assert_null(nube_cli_endpoint_parse("ftp://127.0.0.1/", &err));
    g_assert_nonnull(err);
}

static void test_params_encode(void)
{
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    const char *const ids[] = { "i-1", "i-2", NULL };
    nube_cli_params_add_list(params, "InstanceId", ids);
    nube_cli_params_add(params, "TagSpecification.1.Tag.1.Value", "a b&c=d/é~");
    g_autofree char *body = nube_cli_params_encode(params, "DescribeInstances");
    g_assert_cmpstr(body, ==,
                    "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2"
                    "&TagSpecification.1.Tag.1.Value=a%20b%26c%3Dd%2F%C3%A9~");
}

static const char describe_xml[] =
    "<DescribeInstancesResponse xmlns='http://ec2.amazonaws.com/doc/2016-11-15/'>"
    "<reservationSet><item><instancesSet><item>"
    "<instanceId>i-0123456789abcdef0</instanceId><imageId>ami-1</imageId>"
    "<instanceState><code>16</code><name>running</name></instanceState>"
    "<tagSet><item><key>env</key><value>dev</value></item>"
    "<item><key>Name</key><value>web</value></item></tagSet>"
    "<nubePortForwardSet><item><protocol>tcp</protocol><hostIp>127.0.0.1</hostIp>"
    "<hostPort>2222</hostPort><guestPort>22</guestPort></item></nubePortForwardSet>"
    "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>";

static void test_instance_json(void)
{
    g_autoptr(NubeCliReply) reply = nube_cli_reply_parse(describe_xml, strlen(describe_xml), NULL);
    g_autoptr(GPtrArray) items =
        nube_cli_reply_nodes(reply, NULL, "ec2:reservationSet/ec2:item/ec2:instancesSet/ec2:item");
    g_assert_cmpuint(items->len, ==, 1);

    g_autoptr(JsonObject) inst = nube_cli_instance_from_node(reply, items->pdata[0]);
    g_autofree char *state = nube_cli_json_lookup(inst, "State.Name");
    g_autofree char *code = nube_cli_json_lookup(inst, "State.Code");
    g_autofree char *name = nube_cli_instance_name(inst);
    g_autofree char *ssh = nube_cli_instance_ssh(inst);
    g_autofree char *ports = nube_cli_instance_ports(inst);
    g_assert_cmpstr(state, ==, "running");
    g_assert_cmpstr(code, ==, "16");
    g_assert_cmpstr(name, ==, "web");
    g_assert_cmpstr(ssh, ==, "127.0.0.1:2222");
    g_assert_cmpstr(ports, ==, "tcp 127.0.0.1:2222->22");
}

/* Answers in another namespace are not EC2's: nothing is read from them. */
static void test_wrong_namespace(void)
{
    static const char xml[] = "<DescribeInstancesResponse><reservationSet><item/>"
                              "</reservationSet></DescribeInstancesResponse>";
    g_autoptr(NubeCliReply) reply = nube_cli_reply_parse(xml, strlen(xml), NULL);
    g_autoptr(GPtrArray) items = nube_cli_reply_nodes(reply, NULL, "ec2:reservationSet/ec2:item");
    g_assert_cmpuint(items->len, ==, 0);
}

static void test_error_document(void)
{
    static const char xml[] =
        "<?xml version='1.0' encoding='UTF-8'?>\n<Response><Errors><Error>"
        "<Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist"
        "</Message></Error></Errors><RequestID>r-1</RequestID></Response>";
    g_autoptr(NubeCliReply) reply = nube_cli_reply_parse(xml, strlen(xml), NULL);
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_cli_reply_error(reply, &err), <, 0);
    g_assert_cmpstr(err->code, ==, "InvalidInstanceID.NotFound");
    g_assert_cmpstr(err->message, ==, "The instance ID 'i-1' does not exist");

    g_autoptr(NubeCliReply) ok = nube_cli_reply_parse(describe_xml, strlen(describe_xml), NULL);
    g_assert_cmpint(nube_cli_reply_error(ok, NULL), ==, 0);

    g_autoptr(NubeError) not_xml = NULL;
    g_assert_null(nube_cli_reply_parse("<html", 5, &not_xml));
    g_assert_nonnull(not_xml);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/request/endpoint", test_endpoint);
    g_test_add_func("/cli/request/params-encode", test_params_encode);
    g_test_add_func("/cli/request/instance-json", test_instance_json);
    g_test_add_func("/cli/request/wrong-namespace", test_wrong_namespace);
    g_test_add_func("/cli/request/error-document", test_error_document);
    return g_test_run();
}
