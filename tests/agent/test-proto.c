/*
 * test-proto.c: the agent protocol module (agent/proto.c): parsing and
 * formatting every message type, what is refused and why, the line and
 * field limits, and the order of a guest's messages in a session.
 */
#include "proto.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define BOOT_ID "0f1e2d3c-4b5a-4697-8877-665544332211"

static void parse_ok(const char *line, NubeMsg *msg)
{
    char err[256];
    if (nube_msg_parse(line, strlen(line), msg, err, sizeof(err)) < 0)
        g_error("'%s' refused: %s", line, err);
}

static void parse_ok_len(const char *line, size_t len)
{
    NubeMsg msg;
    char err[256];
    if (nube_msg_parse(line, len, &msg, err, sizeof(err)) < 0)
        g_error("line of %zu bytes refused: %s", len, err);
    nube_msg_clear(&msg);
}

static void parse_fails_len(const char *line, size_t len, const char *why)
{
    NubeMsg msg;
    char err[256] = "unset";
    g_autofree char *shown = g_strescape(len < 200 ? line : "(long line)", NULL);
    if (nube_msg_parse(line, len, &msg, err, sizeof(err)) == 0)
        g_error("'%s' accepted, type %s", shown, nube_msg_type_name(msg.type));
    g_assert_cmpint(msg.type, ==, NUBE_MSG_INVALID);
    g_assert_null(msg.agent_version);
    g_assert_cmpstr(err, !=, "unset");
    g_assert_cmpuint(strlen(err), >, 0);
    if (why != NULL && strstr(err, why) == NULL)
        g_error("'%s': reason '%s' does not say '%s'", shown, err, why);
}

static void parse_fails(const char *line, const char *why)
{
    parse_fails_len(line, strlen(line), why);
}

/* FORMAT(MSG) parses back to MSG. */
static void assert_round_trip(const NubeMsg *msg)
{
    g_autofree char *line = nube_msg_format(msg);
    g_assert_nonnull(line);
    size_t len = strlen(line);
    g_assert_cmpuint(len, <=, NUBE_AGENT_MAX_LINE);
    g_assert_cmpint(line[len - 1], ==, '\n');
    g_assert_null(memchr(line, '\n', len - 1));
    NubeMsg back;
    parse_ok(line, &back);
    if (!nube_msg_equal(msg, &back))
        g_error("'%s' does not read back the same", line);
    nube_msg_clear(&back);
}

static const char *const good_lines[] = {
    "{\"v\":1,\"type\":\"hello\",\"agent\":\"0.1.0\",\"boot_id\":\"" BOOT_ID "\","
    "\"kernel\":\"6.1.0-13-cloud-amd64\",\"uptime\":3.25,\"cloud_init\":true}",
    "{\"v\":1,\"type\":\"boot-complete\",\"state\":\"degraded\",\"uptime\":12}",
    "{\"v\":1,\"type\":\"userdata\",\"phase\":\"started\",\"runner\":\"agent\"}",
    "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\",\"status\":"
    "\"failed\",\"exit_code\":3,\"duration\":0.5,\"error\":\"user data script exited with "
    "status 3\",\"log\":\"one\\ntwo \\u00e9\\u2603\\ud83d\\ude00\"}",
    "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"cloud-init\","
    "\"status\":\"succeeded\",\"duration\":41.125}",
    "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":100.0}",
    "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":true,\"frozen\":2}",
    "{\"v\":1,\"type\":\"result\",\"id\":9007199254740992,\"ok\":false,\"error\":\"freeze '/': "
    "Operation not supported\"}",
    "{\"v\":1,\"type\":\"ping\",\"id\":42}",
    "{\"v\":1,\"type\":\"prepare-image\",\"id\":5,\"freeze\":true,\"generalize\":true,"
    "\"thaw_after\":600}",
    "{\"v\":1,\"type\":\"prepare-image\",\"id\":6}",
    "{\"v\":1,\"type\":\"thaw\",\"id\":7}",
    "{\"v\":1,\"type\":\"shutdown\",\"id\":8,\"mode\":\"reboot\"}",
};

static void test_good(void)
{
    NubeMsg m;
    parse_ok(good_lines[0], &m);
    g_assert_cmpint(m.type, ==, NUBE_MSG_HELLO);
    g_assert_true(nube_msg_from_guest(m.type));
    g_assert_cmpstr(m.agent_version, ==, "0.1.0");
    g_assert_cmpstr(m.boot_id, ==, BOOT_ID);
    g_assert_cmpstr(m.kernel, ==, "6.1.0-13-cloud-amd64");
    g_assert_cmpfloat(m.uptime, ==, 3.25);
    g_assert_true(m.cloud_init);
    nube_msg_clear(&m);

    parse_ok(good_lines[1], &m);
    g_assert_cmpint(m.type, ==, NUBE_MSG_BOOT_COMPLETE);
    g_assert_cmpstr(m.system_state, ==, "degraded");
    g_assert_cmpfloat(m.uptime, ==, 12);
    nube_msg_clear(&m);

    parse_ok(good_lines[3], &m);
    g_assert_cmpint(m.phase, ==, NUBE_USERDATA_FINISHED);
    g_assert_cmpstr(m.runner, ==, "agent");
    g_assert_cmpstr(m.status, ==, "failed");
    g_assert_true(m.has_exit_code);
    g_assert_cmpint(m.exit_code, ==, 3);
    g_assert_cmpfloat(m.duration, ==, 0.5);
    g_assert_cmpstr(m.error, ==, "user data script exited with status 3");
    g_assert_cmpstr(m.log, ==, "one\ntwo \xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80");
    nube_msg_clear(&m);

    parse_ok(good_lines[4], &m);
    g_assert_false(m.has_exit_code);
    g_assert_null(m.error);
    g_assert_null(m.log);
    nube_msg_clear(&m);

    parse_ok(good_lines[7], &m);
    g_assert_cmpint(m.type, ==, NUBE_MSG_RESULT);
    g_assert_cmpint(m.id, ==, G_GINT64_CONSTANT(1) << 53);
    g_assert_false(m.ok);
    nube_msg_clear(&m);

    parse_ok(good_lines[9], &m);
    g_assert_true(m.freeze && m.generalize);
    g_assert_cmpint(m.thaw_after, ==, 600);
    g_assert_false(nube_msg_from_guest(m.type));
    nube_msg_clear(&m);

    /* Defaults: no freeze, no generalize, thaw after 60 s. */
    parse_ok(good_lines[10], &m);
    g_assert_false(m.freeze || m.generalize);
    g_assert_cmpint(m.thaw_after, ==, 60);
    nube_msg_clear(&m);

    parse_ok(good_lines[12], &m);
    g_assert_cmpstr(m.mode, ==, "reboot");
    nube_msg_clear(&m);
}

static void test_round_trip(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(good_lines); i++) {
        NubeMsg m;
        parse_ok(good_lines[i], &m);
        assert_round_trip(&m);
        /* With the newline, and with white space and unknown fields. */
        g_autofree char *nl = g_strconcat(good_lines[i], "\n", NULL);
        g_autofree char *spaced =
            g_strdup_printf(" { \"future\" : [1, {\"x\": null}] ,\t%s\r\n", good_lines[i] + 1);
        NubeMsg a, b;
        parse_ok(nl, &a);
        parse_ok(spaced, &b);
        g_assert_true(nube_msg_equal(&m, &a));
        g_assert_true(nube_msg_equal(&m, &b));
        nube_msg_clear(&a);
        nube_msg_clear(&b);
        nube_msg_clear(&m);
    }
}

/* Messages built in code, as the agent and nubed build them. */
static void test_format(void)
{
    NubeMsg m;
    nube_msg_init(&m);
    m.type = NUBE_MSG_HEARTBEAT;
    m.uptime = 0.1;
    g_autofree char *hb = nube_msg_format(&m);
    g_assert_cmpstr(hb, ==, "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":0.1}\n");
    m.uptime = 1.0 / 3.0;
    assert_round_trip(&m);
    m.uptime = 1e300;
    assert_round_trip(&m);

    nube_msg_init(&m);
    m.type = NUBE_MSG_PREPARE_IMAGE;
    m.id = 3;
    g_autofree char *prep = nube_msg_format(&m);
    g_assert_cmpstr(prep, ==,
                    "{\"v\":1,\"type\":\"prepare-image\",\"id\":3,\"freeze\":false,"
                    "\"generalize\":false,\"thaw_after\":60}\n");

    nube_msg_init(&m);
    m.type = NUBE_MSG_USERDATA;
    m.phase = NUBE_USERDATA_FINISHED;
    m.runner = "agent";
    m.status = "failed";
    m.error = "a \"quoted\" / back\\slash \x01 error";
    m.log = "tail\n\t\xe2\x82\xac";
    m.has_exit_code = true;
    m.exit_code = 255;
    assert_round_trip(&m);

    /* Fields beside the message's purpose are not formatted. */
    nube_msg_init(&m);
    m.type = NUBE_MSG_RESULT;
    m.id = 1;
    m.ok = true;
    m.error = "ignored when ok";
    g_autofree char *res = nube_msg_format(&m);
    g_assert_cmpstr(res, ==, "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":true}\n");
}

static void format_fails(const NubeMsg *m)
{
    g_autofree char *line = nube_msg_format(m);
    if (line != NULL)
        g_error("formatted an invalid message: %s", line);
}

static void test_format_invalid(void)
{
    NubeMsg m;
    nube_msg_init(&m);
    format_fails(&m); /* NUBE_MSG_INVALID */
    m.type = NUBE_MSG_PING;
    format_fails(&m); /* id 0 */
    m.id = (G_GINT64_CONSTANT(1) << 53) + 1;
    format_fails(&m);

    nube_msg_init(&m);
    m.type = NUBE_MSG_HELLO;
    m.agent_version = "1";
    m.kernel = "k";
    m.boot_id = "0F1E2D3C-4B5A-4697-8877-665544332211";
    format_fails(&m);
    m.boot_id = BOOT_ID;
    m.uptime = NAN;
    format_fails(&m);
    m.uptime = -1;
    format_fails(&m);
    m.uptime = 1;
    m.kernel = "\xc3\x28";
    format_fails(&m);
    m.kernel = "";
    format_fails(&m);
    char long_kernel[NUBE_AGENT_MAX_SHORT + 2];
    memset(long_kernel, 'k', sizeof(long_kernel) - 1);
    long_kernel[sizeof(long_kernel) - 1] = '\0';
    m.kernel = long_kernel;
    format_fails(&m);
    long_kernel[NUBE_AGENT_MAX_SHORT] = '\0';
    assert_round_trip(&m);

    nube_msg_init(&m);
    m.type = NUBE_MSG_USERDATA;
    m.phase = NUBE_USERDATA_FINISHED;
    m.runner = "agent";
    m.status = "failed";
    format_fails(&m); /* failed needs an error */
    m.error = "e";
    m.has_exit_code = true;
    m.exit_code = 256;
    format_fails(&m);
    m.exit_code = 0;
    m.runner = "shell";
    format_fails(&m);
    m.runner = "agent";
    /* A log within its byte limit whose escapes do not fit in a line. */
    char log[NUBE_AGENT_MAX_LOG + 1];
    memset(log, '\x01', NUBE_AGENT_MAX_LOG);
    log[NUBE_AGENT_MAX_LOG] = '\0';
    m.log = log;
    format_fails(&m);
    log[1000] = '\0';
    assert_round_trip(&m);

    nube_msg_init(&m);
    m.type = NUBE_MSG_SHUTDOWN;
    m.id = 1;
    m.mode = "halt";
    format_fails(&m);
    nube_msg_init(&m);
    m.type = NUBE_MSG_PREPARE_IMAGE;
    m.id = 1;
    m.thaw_after = 601;
    format_fails(&m);
}

static void test_malformed(void)
{
    static const struct {
        const char *line;
        const char *why;
    } bad[] = {
        { "", "JSON" },
        { "not json", "JSON" },
        { "[1,2]", "JSON object" },
        { "\"hello\"", "JSON object" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1} {}", "JSON" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1,}", "JSON" },
        { "{'v':1,'type':'ping','id':1}", "JSON" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":01}", "JSON" },
        { "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":NaN}", "JSON" },
        { "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":Infinity}", "JSON" },
        { "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":1.}", "JSON" },
        { "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":.5}", "JSON" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1,\"x\":\"tab\there\"}", "JSON" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1,\"x\":\"\\ud800\"}", "JSON" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1,\"x\":\"\\udc00\\ud800\"}", "JSON" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1,\"x\":\"\\q\"}", "JSON" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1,\"type\":\"thaw\"}", "duplicate" },
        { "{\"type\":\"ping\",\"id\":1}", "'v'" },
        { "{\"v\":2,\"type\":\"ping\",\"id\":1}", "version" },
        { "{\"v\":0,\"type\":\"ping\",\"id\":1}", "version" },
        { "{\"v\":1.0,\"type\":\"ping\",\"id\":1}", "'v'" },
        { "{\"v\":\"1\",\"type\":\"ping\",\"id\":1}", "'v'" },
        { "{\"v\":1,\"id\":1}", "'type'" },
        { "{\"v\":1,\"type\":\"pong\",\"id\":1}", "unknown" },
        { "{\"v\":1,\"type\":\"Ping\",\"id\":1}", "unknown" },
        { "{\"v\":1,\"type\":7,\"id\":1}", "'type'" },
        { "{\"v\":1,\"type\":\"ping\"}", "'id'" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":0}", "'id'" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":-1}", "'id'" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":9007199254740993}", "'id'" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":99999999999999999999999}", "'id'" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":1.5}", "'id'" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":\"1\"}", "'id'" },
        { "{\"v\":1,\"type\":\"ping\",\"id\":null}", "'id'" },
        { "{\"v\":1,\"type\":\"hello\",\"agent\":\"1\",\"boot_id\":\"" BOOT_ID "\","
          "\"kernel\":\"k\",\"uptime\":1}",
          "'cloud_init'" },
        { "{\"v\":1,\"type\":\"hello\",\"agent\":\"1\",\"boot_id\":\"" BOOT_ID "\","
          "\"kernel\":\"k\",\"uptime\":1,\"cloud_init\":1}",
          "'cloud_init'" },
        { "{\"v\":1,\"type\":\"hello\",\"agent\":\"1\",\"boot_id\":\"0F1E2D3C-4B5A-4697-8877-"
          "665544332211\",\"kernel\":\"k\",\"uptime\":1,\"cloud_init\":false}",
          "'boot_id'" },
        { "{\"v\":1,\"type\":\"hello\",\"agent\":\"1\",\"boot_id\":\"0f1e2d3c4b5a46978877665544"
          "332211\",\"kernel\":\"k\",\"uptime\":1,\"cloud_init\":false}",
          "'boot_id'" },
        { "{\"v\":1,\"type\":\"hello\",\"agent\":\"1\",\"boot_id\":\"0f1e2d3c-4b5a-4697-8877-"
          "66554433221g\",\"kernel\":\"k\",\"uptime\":1,\"cloud_init\":false}",
          "'boot_id'" },
        { "{\"v\":1,\"type\":\"hello\",\"agent\":\"\",\"boot_id\":\"" BOOT_ID "\","
          "\"kernel\":\"k\",\"uptime\":1,\"cloud_init\":false}",
          "'agent'" },
        { "{\"v\":1,\"type\":\"hello\",\"agent\":\"1\",\"boot_id\":\"" BOOT_ID "\","
          "\"kernel\":\"k\",\"uptime\":-0.5,\"cloud_init\":false}",
          "'uptime'" },
        { "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":1e400}", "'uptime'" },
        { "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":-1}", "'uptime'" },
        { "{\"v\":1,\"type\":\"heartbeat\",\"uptime\":\"5\"}", "'uptime'" },
        { "{\"v\":1,\"type\":\"heartbeat\"}", "'uptime'" },
        { "{\"v\":1,\"type\":\"boot-complete\",\"state\":\"starting\",\"uptime\":1}", "'state'" },
        { "{\"v\":1,\"type\":\"boot-complete\",\"state\":\"running\"}", "'uptime'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"begun\",\"runner\":\"agent\"}", "'phase'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"started\",\"runner\":\"bash\"}", "'runner'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"started\"}", "'runner'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"duration\":1}",
          "'status'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"status\":\"ok\",\"duration\":1}",
          "'status'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"status\":\"succeeded\"}",
          "'duration'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"status\":\"failed\",\"duration\":1}",
          "'error'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"status\":\"failed\",\"duration\":1,\"error\":\"\"}",
          "'error'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"status\":\"succeeded\",\"duration\":1,\"exit_code\":256}",
          "'exit_code'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"status\":\"succeeded\",\"duration\":1,\"exit_code\":-1}",
          "'exit_code'" },
        { "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
          "\"status\":\"succeeded\",\"duration\":1,\"log\":7}",
          "'log'" },
        { "{\"v\":1,\"type\":\"result\",\"id\":1}", "'ok'" },
        { "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":false}", "'error'" },
        { "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":\"true\"}", "'ok'" },
        { "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":true,\"frozen\":-1}", "'frozen'" },
        { "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":true,\"thawed\":1.5}", "'thawed'" },
        { "{\"v\":1,\"type\":\"prepare-image\",\"id\":1,\"thaw_after\":0}", "'thaw_after'" },
        { "{\"v\":1,\"type\":\"prepare-image\",\"id\":1,\"thaw_after\":601}", "'thaw_after'" },
        { "{\"v\":1,\"type\":\"prepare-image\",\"id\":1,\"freeze\":\"yes\"}", "'freeze'" },
        { "{\"v\":1,\"type\":\"prepare-image\",\"id\":1,\"generalize\":1}", "'generalize'" },
        { "{\"v\":1,\"type\":\"shutdown\",\"id\":1}", "'mode'" },
        { "{\"v\":1,\"type\":\"shutdown\",\"id\":1,\"mode\":\"halt\"}", "'mode'" },
        { "{\"v\":1,\"type\":\"shutdown\",\"id\":1,\"mode\":\"Reboot\"}", "'mode'" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        parse_fails(bad[i].line, bad[i].why);
    NubeMsg m;
    char err[256];
    g_assert_cmpint(nube_msg_parse(NULL, 0, &m, err, sizeof(err)), ==, -1);
    /* A tiny or absent error buffer is fine. */
    g_assert_cmpint(nube_msg_parse("x", 1, &m, err, 4), ==, -1);
    g_assert_cmpuint(strlen(err), ==, 3);
    g_assert_cmpint(nube_msg_parse("x", 1, &m, NULL, 0), ==, -1);
}

/* Every proper prefix of a valid line is refused. */
static void test_truncated(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(good_lines); i++) {
        size_t len = strlen(good_lines[i]);
        for (size_t n = 0; n < len; n++)
            parse_fails_len(good_lines[i], n, NULL);
    }
}

/* A valid ping padded with an unknown field to exactly LEN bytes, the
 * newline included. */
static char *padded_ping(size_t len)
{
    const char *head = "{\"v\":1,\"type\":\"ping\",\"id\":3,\"pad\":\"";
    const char *tail = "\"}\n";
    size_t fill = len - strlen(head) - strlen(tail);
    char *line = g_malloc(len + 1);
    strcpy(line, head);
    memset(line + strlen(head), 'x', fill);
    strcpy(line + strlen(head) + fill, tail);
    g_assert_cmpuint(strlen(line), ==, len);
    return line;
}

static void test_oversized(void)
{
    g_autofree char *exact = padded_ping(NUBE_AGENT_MAX_LINE);
    NubeMsg m;
    parse_ok(exact, &m);
    g_assert_cmpint(m.id, ==, 3);
    nube_msg_clear(&m);

    g_autofree char *over = padded_ping(NUBE_AGENT_MAX_LINE + 1);
    parse_fails(over, "longer");
    /* The limit counts the newline even when the caller took it off. */
    parse_fails_len(over, NUBE_AGENT_MAX_LINE, "longer");
    parse_ok_len(exact, NUBE_AGENT_MAX_LINE - 1);

    /* Exactly the limit but invalid: refused for its content. */
    exact[1] = '!';
    parse_fails(exact, "JSON");

    /* Huge fields within the line limit are refused by field limit. */
    g_autofree char *log = g_strnfill(NUBE_AGENT_MAX_LOG + 1, 'l');
    g_autofree char *line = g_strdup_printf(
        "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
        "\"status\":\"succeeded\",\"duration\":1,\"log\":\"%s\"}",
        log);
    parse_fails(line, "'log'");
    log[NUBE_AGENT_MAX_LOG] = '\0';
    g_autofree char *fits = g_strdup_printf(
        "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":\"agent\","
        "\"status\":\"succeeded\",\"duration\":1,\"log\":\"%s\"}",
        log);
    parse_ok(fits, &m);
    g_assert_cmpuint(strlen(m.log), ==, NUBE_AGENT_MAX_LOG);
    nube_msg_clear(&m);
    g_autofree char *err = g_strnfill(NUBE_AGENT_MAX_ERROR + 1, 'e');
    g_autofree char *res = g_strdup_printf(
        "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":false,\"error\":\"%s\"}", err);
    parse_fails(res, "'error'");
    g_autofree char *agent = g_strnfill(NUBE_AGENT_MAX_SHORT + 1, 'a');
    g_autofree char *hello =
        g_strdup_printf("{\"v\":1,\"type\":\"hello\",\"agent\":\"%s\",\"boot_id\":\"" BOOT_ID
                        "\",\"kernel\":\"k\",\"uptime\":1,\"cloud_init\":false}",
                        agent);
    parse_fails(hello, "'agent'");
}

static void test_nul(void)
{
    const char *line = good_lines[8]; /* ping */
    size_t len = strlen(line);
    for (size_t at = 0; at <= len; at++) {
        char buf[128];
        memcpy(buf, line, at);
        buf[at] = '\0';
        memcpy(buf + at + 1, line + at, len - at);
        parse_fails_len(buf, len + 1, "NUL");
    }
    parse_fails("{\"v\":1,\"type\":\"ping\",\"id\":1,\"x\":\"a\\u0000b\"}", "JSON");
    parse_fails("{\"v\":1,\"type\":\"shutdown\",\"id\":1,\"mode\":\"reboot\\u0000\"}", "JSON");
}

static void test_utf8(void)
{
    static const char *const bad[] = {
        "\xff",
        "\xc0\x80",
        "\xc1\xbf",
        "\xe0\x80\x80",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xf8\x88\x80\x80\x80",
        "\xc3",
        "\xe2\x82",
        "\x80",
        "\xf0\x9f\x98",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *line =
            g_strdup_printf("{\"v\":1,\"type\":\"ping\",\"id\":1,\"x\":\"a%sb\"}", bad[i]);
        parse_fails(line, "UTF-8");
        g_assert_false(nube_utf8_valid(bad[i], strlen(bad[i])));
    }
    static const char *const good[] = {
        "\x7f",         "\xc2\x80",         "\xdf\xbf",        "\xe0\xa0\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"
    };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *line = g_strdup_printf(
            "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":false,\"error\":\"%s\"}", good[i]);
        NubeMsg m;
        parse_ok(line, &m);
        g_assert_cmpstr(m.error, ==, good[i]);
        assert_round_trip(&m);
        nube_msg_clear(&m);
    }
}

static void test_nesting(void)
{
    for (int depth = 1; depth <= 200000; depth *= 4) {
        GString *s = g_string_new("{\"v\":1,\"type\":\"ping\",\"id\":1,\"x\":");
        for (int i = 0; i < depth; i++)
            g_string_append(s, i % 2 ? "{\"k\":" : "[");
        g_string_append(s, "0");
        for (int i = depth - 1; i >= 0; i--)
            g_string_append(s, i % 2 ? "}" : "]");
        g_string_append(s, "}");
        NubeMsg m;
        char err[256];
        int r = nube_msg_parse(s->str, s->len, &m, err, sizeof(err));
        if (depth <= 4)
            g_assert_cmpint(r, ==, 0);
        else
            g_assert_cmpint(r, ==, -1); /* too deep (or, at last, too long) */
        nube_msg_clear(&m);
        g_string_free(s, TRUE);
    }
}

static void test_numbers(void)
{
    NubeMsg m;
    parse_ok("{\"v\":1,\"type\":\"heartbeat\",\"uptime\":1.5e3}", &m);
    g_assert_cmpfloat(m.uptime, ==, 1500);
    parse_ok("{\"v\":1,\"type\":\"heartbeat\",\"uptime\":-0}", &m);
    g_assert_cmpfloat(m.uptime, ==, 0);
    parse_ok("{\"v\":1,\"type\":\"heartbeat\",\"uptime\":1E+308}", &m);
    assert_round_trip(&m);
    parse_ok("{\"v\":1,\"type\":\"heartbeat\",\"uptime\":4.9e-324}", &m);
    assert_round_trip(&m);
    parse_fails("{\"v\":1,\"type\":\"heartbeat\",\"uptime\":9223372036854775807}", "'uptime'");
    parse_fails("{\"v\":1,\"type\":\"heartbeat\",\"uptime\":18446744073709551616}", "'uptime'");
    parse_fails("{\"v\":1,\"type\":\"heartbeat\",\"uptime\":-1e-300}", "'uptime'");
    parse_ok("{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":true,\"frozen\":2147483647}", &m);
    g_assert_cmpint(m.frozen, ==, G_MAXINT32);
    parse_fails("{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":true,\"frozen\":2147483648}",
                "'frozen'");
    parse_fails("{\"v\":1,\"type\":\"ping\",\"id\":18446744073709551615}", "'id'");
    parse_fails("{\"v\":1,\"type\":\"ping\",\"id\":-9223372036854775809}", "'id'");
    parse_fails("{\"v\":18446744073709551617,\"type\":\"ping\",\"id\":1}", "version");
}

/* ---- sessions ---- */

static void accept_ok(NubeSession *s, const char *line)
{
    NubeMsg m;
    char err[256];
    parse_ok(line, &m);
    if (nube_session_accept(s, &m, err, sizeof(err)) < 0)
        g_error("session refused '%s': %s", line, err);
    nube_msg_clear(&m);
}

static void accept_fails(NubeSession *s, const char *line, const char *why)
{
    NubeMsg m;
    char err[256] = "";
    parse_ok(line, &m);
    NubeSession before = *s;
    g_assert_cmpint(nube_session_accept(s, &m, err, sizeof(err)), ==, -1);
    g_assert_nonnull(strstr(err, why));
    g_assert_cmpint(memcmp(&before, s, sizeof(before)), ==, 0);
    nube_msg_clear(&m);
}

#define HELLO       good_lines[0]
#define BOOT        good_lines[1]
#define UD_STARTED  good_lines[2]
#define UD_FINISHED good_lines[3]
#define UD_CI_DONE  good_lines[4]
#define HEARTBEAT   good_lines[5]
#define RESULT      good_lines[6]
#define UD_CI_START \
    "{\"v\":1,\"type\":\"userdata\",\"phase\":\"started\",\"runner\":\"cloud-init\"}"

static void test_session(void)
{
    NubeSession s;
    nube_session_init(&s);
    /* Nothing before hello. */
    accept_fails(&s, BOOT, "before hello");
    accept_fails(&s, UD_STARTED, "before hello");
    accept_fails(&s, HEARTBEAT, "before hello");
    accept_fails(&s, RESULT, "before hello");
    /* Commands are the controller's, never the guest's. */
    for (size_t i = 8; i < G_N_ELEMENTS(good_lines); i++)
        accept_fails(&s, good_lines[i], "not a message a guest sends");

    accept_ok(&s, HELLO);
    g_assert_true(s.hello);
    accept_fails(&s, UD_FINISHED, "before userdata started");
    accept_ok(&s, BOOT);
    accept_ok(&s, HEARTBEAT);
    accept_ok(&s, RESULT);
    accept_ok(&s, UD_STARTED);
    accept_fails(&s, UD_STARTED, "twice");
    accept_fails(&s, UD_CI_DONE, "another runner");
    accept_ok(&s, UD_FINISHED);
    accept_ok(&s, UD_FINISHED); /* a replay */
    accept_fails(&s, good_lines[8], "not a message a guest sends");
    accept_ok(&s, HEARTBEAT);

    /* A new hello starts over: the guest rebooted and replays. */
    accept_ok(&s, HELLO);
    g_assert_false(s.userdata_started);
    accept_fails(&s, UD_FINISHED, "before userdata started");
    accept_ok(&s, UD_CI_START);
    g_assert_cmpstr(s.runner, ==, "cloud-init");
    accept_fails(&s, UD_FINISHED, "another runner");
    accept_ok(&s, UD_CI_DONE);
    accept_ok(&s, HELLO);
    accept_ok(&s, UD_STARTED);

    NubeMsg invalid;
    nube_msg_init(&invalid);
    char err[64];
    g_assert_cmpint(nube_session_accept(&s, &invalid, err, sizeof(err)), ==, -1);
}

static void test_names(void)
{
    g_assert_cmpstr(nube_msg_type_name(NUBE_MSG_PREPARE_IMAGE), ==, "prepare-image");
    g_assert_cmpstr(nube_msg_type_name(NUBE_MSG_BOOT_COMPLETE), ==, "boot-complete");
    g_assert_cmpstr(nube_msg_type_name((NubeMsgType) 99), ==, "invalid");
    g_assert_cmpstr(nube_msg_type_name(NUBE_MSG_INVALID), ==, "invalid");
    g_assert_false(nube_msg_from_guest(NUBE_MSG_INVALID));
    g_assert_true(nube_msg_from_guest(NUBE_MSG_RESULT));
    g_assert_false(nube_msg_from_guest(NUBE_MSG_PING));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/agent-proto/good", test_good);
    g_test_add_func("/agent-proto/round-trip", test_round_trip);
    g_test_add_func("/agent-proto/format", test_format);
    g_test_add_func("/agent-proto/format-invalid", test_format_invalid);
    g_test_add_func("/agent-proto/malformed", test_malformed);
    g_test_add_func("/agent-proto/truncated", test_truncated);
    g_test_add_func("/agent-proto/oversized", test_oversized);
    g_test_add_func("/agent-proto/nul", test_nul);
    g_test_add_func("/agent-proto/utf8", test_utf8);
    g_test_add_func("/agent-proto/nesting", test_nesting);
    g_test_add_func("/agent-proto/numbers", test_numbers);
    g_test_add_func("/agent-proto/session", test_session);
    g_test_add_func("/agent-proto/names", test_names);

    return g_test_run();
}
