/*
 * test-pkgrepo.c: the package repository for guests.
 *
 * /pkgrepo/unit/...: no network but loopback: package names, and serving
 * local files over HTTP (what is served, what is refused).
 * /pkgrepo/integration/...: downloads from the host's Debian mirror through
 * the host's apt configuration, then checks the repository as a guest's apt
 * would use it (only pointed at 127.0.0.1 instead of 169.254.169.2).
 */
#include "pkgrepo.h"

#include "fsutil.h"
#include "spawn.h"

#include <curl/curl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

/* ---- helpers -------------------------------------------------------------- */

static char *scratch_new(void)
{
    g_autoptr(GError) gerr = NULL;
    char *dir = g_dir_make_tmp("nube-pkgrepo-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    /* apt fetches as user _apt when run as root: let it reach its dirs */
    g_assert_cmpint(chmod(dir, 0755), ==, 0);
    return dir;
}

static void scratch_free(char *dir)
{
    g_autoptr(NubeError) err = NULL;
    if (nube_rm_rf(dir, &err) < 0)
        g_printerr("cannot remove '%s': %s\n", dir, err->message);
    g_free(dir);
}

static NubePkgRepo *repo_open(const char *scratch)
{
    g_autoptr(NubeError) err = NULL;
    g_autofree char *dir = g_build_filename(scratch, "pkgrepo", NULL);
    NubePkgRepo *repo = nube_pkgrepo_open(dir, &err);
    if (repo == NULL)
        g_error("open: %s", err->message);
    return repo;
}

static size_t body_append(char *data, size_t size, size_t n, void *opaque)
{
    g_byte_array_append(opaque, (const guint8 *) data, size * n);
    return size * n;
}

typedef struct {
    long status;
    GByteArray *body;
    curl_off_t length; /* Content-Length, -1 if none */
    char *content_type;
} Reply;

static void reply_clear(Reply *r)
{
    g_clear_pointer(&r->body, g_byte_array_unref);
    g_clear_pointer(&r->content_type, g_free);
}

/* METHOD PATH (sent as is, no "../" folding) on 127.0.0.1:PORT. */
static void http(const char *method, guint16 port, const char *path, Reply *r)
{
    g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    char *type = NULL;

    r->body = g_byte_array_new();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r->body);
    if (g_str_equal(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (g_str_equal(method, "POST"))
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    CURLcode cr = curl_easy_perform(c);
    if (cr != CURLE_OK)
        g_error("%s %s: %s", method, url, curl_easy_strerror(cr));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->length);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    r->content_type = g_strdup(type);
    curl_easy_cleanup(c);
}

static long http_status(const char *method, guint16 port, const char *path)
{
    Reply r = { 0 };
    http(method, port, path, &r);
    long status = r.status;
    reply_clear(&r);
    return status;
}

static size_t body_refuse(char *data, size_t size, size_t n, void *opaque)
{
    return 0;
}

/* GET PATH and hang up after the first bytes. */
static void http_abort(guint16 port, const char *path)
{
    g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_refuse);
    g_assert_cmpint(curl_easy_perform(c), ==, CURLE_WRITE_ERROR);
    curl_easy_cleanup(c);
}

static void file_write(const char *dir, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) gerr = NULL;
    g_file_set_contents(path, text, -1, &gerr);
    g_assert_no_error(gerr);
}

/* ---- unit: names ------------------------------------------------------------ */

static void test_names(void)
{
    static const char *const good[] = {
        "hello",   "apache2",    "g++", "libc6", "0ad", "libsigc++-2.0-0v5",
        "bison++", "libstdc++6", "a.b", NULL,
    };
    static const char *const bad[] = {
        "",      "a",    "Hello",   "-x",        "x-",   ".x",    "+x",
        "a b",   "x;rm", "foo/bar", "foo=1.0",   "../x", "foo_1", "hello\n",
        "$(id)", "foo*", "^foo",    "foo:amd64", NULL,
    };
    for (size_t i = 0; good[i] != NULL; i++)
        g_assert_true(nube_pkgrepo_name_valid(good[i]));
    for (size_t i = 0; bad[i] != NULL; i++)
        g_assert_false(nube_pkgrepo_name_valid(bad[i]));
    g_assert_false(nube_pkgrepo_name_valid(NULL));
    g_autofree char *long_name = g_strnfill(129, 'a');
    g_assert_false(nube_pkgrepo_name_valid(long_name));
}

/* Invalid names are refused before anything runs. */
static void test_add_invalid(void)
{
    g_autofree char *scratch = scratch_new();
    g_autoptr(NubePkgRepo) repo = repo_open(scratch);
    static const char *const bad[] = { "hello", "--allow-unauthenticated", NULL };
    static const char *const none[] = { NULL };
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeError) err2 = NULL;

    g_assert_cmpint(nube_pkgrepo_add(repo, bad, NULL, NULL, &err), ==, -EINVAL);
    g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
    g_assert_nonnull(strstr(err->message, "'--allow-unauthenticated'"));
    g_assert_cmpint(nube_pkgrepo_add(repo, none, NULL, NULL, &err2), ==, -EINVAL);
    g_assert_cmpstr(nube_error_code(err2), ==, "InvalidParameterValue");

    /* apt never ran */
    g_autofree char *log = g_build_filename(scratch, "pkgrepo.apt", "apt.log", NULL);
    g_assert_false(g_file_test(log, G_FILE_TEST_EXISTS));
    scratch_free(g_steal_pointer(&scratch));
}

/* ---- unit: serving ------------------------------------------------------------ */

/* A new repository has an empty index and is served. */
static void test_serve_empty(void)
{
    g_autofree char *scratch = scratch_new();
    g_autoptr(NubePkgRepo) repo = repo_open(scratch);
    g_autoptr(NubeError) err = NULL;

    g_assert_cmpuint(nube_pkgrepo_port(repo), ==, 0);
    g_assert_null(nube_pkgrepo_guest_url(repo));
    g_assert_null(nube_pkgrepo_apt_source_line(repo));

    g_assert_cmpint(nube_pkgrepo_serve(repo, "127.0.0.1", 0, &err), ==, 0);
    guint16 port = nube_pkgrepo_port(repo);
    g_assert_cmpuint(port, !=, 0);
    g_autofree char *url = nube_pkgrepo_guest_url(repo);
    g_autofree char *want_url = g_strdup_printf("http://169.254.169.2:%u/", port);
    g_assert_cmpstr(url, ==, want_url);
    g_autofree char *line = nube_pkgrepo_apt_source_line(repo);
    g_autofree char *want_line =
        g_strdup_printf("deb [trusted=yes] http://169.254.169.2:%u/ ./", port);
    g_assert_cmpstr(line, ==, want_line);

    g_autoptr(NubeError) err2 = NULL;
    g_assert_cmpint(nube_pkgrepo_serve(repo, "127.0.0.1", 0, &err2), ==, -EALREADY);

    Reply r = { 0 };
    http("GET", port, "/Packages", &r);
    g_assert_cmpint(r.status, ==, 200);
    g_assert_cmpuint(r.body->len, ==, 0);
    g_assert_true(g_str_has_prefix(r.content_type, "text/plain"));
    reply_clear(&r);
    http("GET", port, "/./Release", &r);
    g_assert_cmpint(r.status, ==, 200);
    g_byte_array_append(r.body, (const guint8 *) "", 1);
    g_assert_nonnull(strstr((const char *) r.body->data, " Packages.gz\n"));
    g_assert_nonnull(strstr((const char *) r.body->data, " Packages\n"));
    g_assert_null(strstr((const char *) r.body->data, " Release\n"));
    reply_clear(&r);
    g_assert_cmpint(http_status("GET", port, "/Packages.gz"), ==, 200);
    scratch_free(g_steal_pointer(&scratch));
}

static void test_serve_refuses(void)
{
    g_autofree char *scratch = scratch_new();
    g_autoptr(NubePkgRepo) repo = repo_open(scratch);
    g_autoptr(NubeError) err = NULL;
    const char *dir = nube_pkgrepo_dir(repo);
    g_autofree char *sub = g_build_filename(dir, "sub", NULL);
    g_autofree char *fifo = g_build_filename(dir, "fifo.deb", NULL);
    g_autofree char *passwd = g_build_filename(dir, "passwd.deb", NULL);
    g_autofree char *inner = g_build_filename(dir, "link.deb", NULL);
    g_autofree char *outside = g_build_filename(scratch, "secret.deb", NULL);

    file_write(dir, "fake_1.0_all.deb", "not really a package\n");
    file_write(dir, ".hidden.deb", "hidden\n");
    file_write(dir, "notes.txt", "not part of a repository\n");
    file_write(scratch, "secret.deb", "outside the repository\n");
    g_assert_cmpint(mkdir(sub, 0755), ==, 0);
    file_write(sub, "x.deb", "in a subdirectory\n");
    g_assert_cmpint(mkfifo(fifo, 0644), ==, 0);
    g_assert_cmpint(symlink("/etc/passwd", passwd), ==, 0);
    g_assert_cmpint(symlink("fake_1.0_all.deb", inner), ==, 0);
    g_assert_cmpint(nube_pkgrepo_serve(repo, "127.0.0.1", 0, &err), ==, 0);
    guint16 port = nube_pkgrepo_port(repo);

    Reply r = { 0 };
    http("GET", port, "/./fake_1.0_all.deb", &r);
    g_assert_cmpint(r.status, ==, 200);
    g_assert_cmpmem(r.body->data, r.body->len, "not really a package\n", 21);
    g_assert_cmpstr(r.content_type, ==, "application/octet-stream");
    reply_clear(&r);
    http("HEAD", port, "/fake_1.0_all.deb", &r);
    g_assert_cmpint(r.status, ==, 200);
    g_assert_cmpint(r.length, ==, 21);
    g_assert_cmpuint(r.body->len, ==, 0);
    reply_clear(&r);

    /* escapes: 403 */
    g_assert_cmpint(http_status("GET", port, "/../secret.deb"), ==, 403);
    g_assert_cmpint(http_status("GET", port, "/%2e%2e/secret.deb"), ==, 403);
    g_assert_cmpint(http_status("GET", port, "/sub/../fake_1.0_all.deb"), ==, 403);
    g_assert_cmpint(http_status("GET", port, "/..%2fsecret.deb"), ==, 403);
    g_assert_cmpint(http_status("GET", port, "/passwd.deb"), ==, 403);
    g_assert_cmpint(http_status("GET", port, "/link.deb"), ==, 403);
    g_assert_cmpint(http_status("GET", port, "/fifo.deb"), ==, 403);
    /* not the repository's files: 404 */
    g_assert_cmpint(http_status("GET", port, "/missing_1_all.deb"), ==, 404);
    g_assert_cmpint(http_status("GET", port, "/sub/x.deb"), ==, 404);
    g_assert_cmpint(http_status("GET", port, "/sub"), ==, 404);
    g_assert_cmpint(http_status("GET", port, "/.hidden.deb"), ==, 404);
    g_assert_cmpint(http_status("GET", port, "/notes.txt"), ==, 404);
    g_assert_cmpint(http_status("GET", port, "/etc/passwd"), ==, 404);
    g_assert_cmpint(http_status("GET", port, "/"), ==, 404);
    g_assert_cmpint(http_status("POST", port, "/fake_1.0_all.deb"), ==, 405);
    /* still serving */
    g_assert_cmpint(http_status("GET", port, "/Packages"), ==, 200);
    scratch_free(g_steal_pointer(&scratch));
}

/* ---- integration: a guest's apt against the served repository ----------------- */

/* The stanza of PACKAGE in a Packages index (caller frees), or NULL. */
static char *stanza_of(const char *index, const char *package)
{
    g_auto(GStrv) stanzas = g_strsplit(index, "\n\n", -1);
    g_autofree char *head = g_strdup_printf("Package: %s\n", package);
    for (size_t i = 0; stanzas[i] != NULL; i++)
        if (g_str_has_prefix(g_strchug(stanzas[i]), head))
            return g_strdup(stanzas[i]);
    return NULL;
}

static char *field_of(const char *stanza, const char *field)
{
    g_auto(GStrv) lines = g_strsplit(stanza, "\n", -1);
    g_autofree char *head = g_strdup_printf("%s: ", field);
    for (size_t i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix(lines[i], head))
            return g_strdup(lines[i] + strlen(head));
    return NULL;
}

/* A private apt configuration that sees only the repository on
 * 127.0.0.1:PORT and an empty system, nothing of the host's apt: like a
 * guest with no other source.  Returns the APT_CONFIG file (caller frees). */
static char *client_config(const char *scratch, guint16 port)
{
    g_autofree char *root = g_build_filename(scratch, "client", NULL);
    g_autofree char *empty = g_build_filename(root, "empty", NULL);
    g_autofree char *conf = g_build_filename(root, "apt.conf", NULL);
    g_autoptr(NubeError) err = NULL;

    g_autofree char *lists = g_build_filename(root, "state", "lists", "partial", NULL);
    g_autofree char *archives = g_build_filename(root, "cache", "archives", "partial", NULL);
    g_assert_cmpint(nube_mkdir_p(empty, 0755, &err), ==, 0);
    g_assert_cmpint(nube_mkdir_p(lists, 0755, &err), ==, 0);
    g_assert_cmpint(nube_mkdir_p(archives, 0755, &err), ==, 0);
    file_write(root, "status", "");
    g_autofree char *line = g_strdup_printf("deb [trusted=yes] http://127.0.0.1:%u/ ./\n", port);
    file_write(root, "sources.list", line);
    g_autofree char *text = g_strdup_printf("Dir::State \"%1$s/state\";\n"
                                            "Dir::State::status \"%1$s/status\";\n"
                                            "Dir::Cache \"%1$s/cache\";\n"
                                            "Dir::Log \"%1$s/log\";\n"
                                            "Dir::Etc::SourceList \"%1$s/sources.list\";\n"
                                            "Dir::Etc::SourceParts \"%1$s/empty\";\n"
                                            "Dir::Etc::Parts \"%1$s/empty\";\n"
                                            "Dir::Etc::PreferencesParts \"%1$s/empty\";\n"
                                            "Dir::Etc::Preferences \"%1$s/empty/none\";\n"
                                            "Acquire::http::Proxy::127.0.0.1 \"DIRECT\";\n",
                                            root);
    file_write(root, "apt.conf", text);
    return g_steal_pointer(&conf);
}

/* Runs apt-get (or apt-cache) ARGS with the client configuration CONF;
 * returns its output (caller frees), failing the test if it fails. */
static char *client_run(const char *conf, const char *const *args)
{
    g_autofree char *env_conf = g_strdup_printf("APT_CONFIG=%s", conf);
    const char *const env[] = { env_conf, "LC_ALL=C", NULL };
    g_autoptr(NubeError) err = NULL;
    char *out = NULL;
    if (nube_spawn(args, env, &out, &err) < 0)
        g_error("%s", err->message);
    return out;
}

static void on_progress(const char *message, void *opaque)
{
    g_ptr_array_add(opaque, g_strdup(message));
    g_test_message("progress: %s", message);
}

/* Adds PACKAGES; returns the number of new .debs and the progress lines in
 * *LINES and the seconds taken in *SECONDS. */
static int add_timed(NubePkgRepo *repo, const char *const *packages, GPtrArray **lines,
                     double *seconds)
{
    g_autoptr(NubeError) err = NULL;
    *lines = g_ptr_array_new_with_free_func(g_free);
    gint64 t0 = g_get_monotonic_time();
    int n = nube_pkgrepo_add(repo, packages, on_progress, *lines, &err);
    *seconds = (g_get_monotonic_time() - t0) / 1e6;
    if (n < 0)
        g_error("add: %s", err->message);
    return n;
}

static gboolean lines_have(GPtrArray *lines, const char *text)
{
    for (guint i = 0; i < lines->len; i++)
        if (strstr(lines->pdata[i], text) != NULL)
            return TRUE;
    return FALSE;
}

/* Sum of the sizes of the .debs in DIR and their count. */
static guint64 debs_size(const char *dir, guint *count)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint64 total = 0;
    *count = 0;
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        struct stat st;
        if (!g_str_has_suffix(name, ".deb") || lstat(path, &st) < 0)
            continue;
        total += st.st_size;
        (*count)++;
    }
    return total;
}

static gint strcmp_indirect(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Fingerprint (name, inode, mtime) of every cached download. */
static char *cache_fingerprint(const char *scratch)
{
    g_autofree char *archives = g_build_filename(scratch, "pkgrepo.apt", "cache", "archives", NULL);
    g_autoptr(GDir) d = g_dir_open(archives, 0, NULL);
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(archives, name, NULL);
        struct stat st;
        g_assert_cmpint(lstat(path, &st), ==, 0);
        if (g_str_has_suffix(name, ".deb"))
            g_ptr_array_add(rows,
                            g_strdup_printf("%s %ju %jd.%09ld", name, (uintmax_t) st.st_ino,
                                            (intmax_t) st.st_mtim.tv_sec, st.st_mtim.tv_nsec));
    }
    g_ptr_array_sort(rows, strcmp_indirect);
    g_ptr_array_add(rows, NULL);
    return g_strjoinv("\n", (char **) rows->pdata);
}

/* Fetches PACKAGE's .deb as apt would (Packages' Filename) and checks it
 * against the index's SHA256 and Size. */
static void check_deb_served(guint16 port, const char *index, const char *package)
{
    g_autofree char *stanza = stanza_of(index, package);
    g_assert_nonnull(stanza);
    g_autofree char *filename = field_of(stanza, "Filename");
    g_autofree char *sha256 = field_of(stanza, "SHA256");
    g_autofree char *size = field_of(stanza, "Size");
    g_assert_nonnull(filename);
    g_assert_nonnull(sha256);
    g_assert_true(g_str_has_prefix(filename, "./"));

    g_autofree char *path = g_strdup_printf("/%s", filename);
    Reply r = { 0 };
    http("GET", port, path, &r);
    g_assert_cmpint(r.status, ==, 200);
    char hex[65];
    nube_sha256_hex(r.body->data, r.body->len, hex);
    g_assert_cmpstr(hex, ==, sha256);
    g_assert_cmpuint(r.body->len, ==, g_ascii_strtoull(size, NULL, 10));
    reply_clear(&r);
}

static char *served_index(guint16 port)
{
    Reply r = { 0 };
    http("GET", port, "/Packages", &r);
    g_assert_cmpint(r.status, ==, 200);
    char *text = g_strndup((const char *) r.body->data, r.body->len);
    reply_clear(&r);
    return text;
}

/* apt update, policy, simulation and download against the repository
 * alone: PACKAGE and its whole closure resolve from it. */
static void check_apt_client(const char *scratch, guint16 port, const char *package)
{
    g_autofree char *conf = client_config(scratch, port);
    g_autofree char *origin = g_strdup_printf("http://127.0.0.1:%u ./ Packages", port);
    const char *const update[] = { "apt-get", "-q", "update", NULL };
    const char *const policy[] = { "apt-cache", "policy", package, NULL };
    const char *const simulate[] = { "apt-get", "-s", "install", package, NULL };
    const char *const fetch[] = {
        "apt-get", "-q", "-y", "--download-only", "install", package, NULL
    };

    g_autofree char *out = client_run(conf, update);
    g_test_message("client update:\n%s", out);
    /* Ign: InRelease and Release.gpg, the repository is not signed */
    g_assert_nonnull(strstr(out, " ./ Release "));
    g_assert_nonnull(strstr(out, " ./ Packages "));
    g_assert_null(strstr(out, "Err:"));
    g_assert_null(strstr(out, "W:"));
    g_autofree char *pol = client_run(conf, policy);
    g_test_message("client policy:\n%s", pol);
    g_assert_nonnull(strstr(pol, origin));
    g_autofree char *sim = client_run(conf, simulate);
    g_autofree char *inst = g_strdup_printf("Inst %s ", package);
    g_assert_nonnull(strstr(sim, inst));
    g_autofree char *dl = client_run(conf, fetch);
    g_test_message("client download:\n%s", dl);
    g_assert_nonnull(strstr(dl, "Download complete"));
    g_autofree char *fetched = g_strdup_printf("127.0.0.1:%u ./ %s ", port, package);
    g_assert_nonnull(strstr(dl, fetched));
}

static void test_hello(void)
{
    g_autofree char *scratch = scratch_new();
    g_autoptr(NubePkgRepo) repo = repo_open(scratch);
    g_autoptr(GPtrArray) lines = NULL;
    g_autoptr(GPtrArray) lines2 = NULL;
    g_autoptr(NubeError) err = NULL;
    static const char *const hello[] = { "hello", NULL };
    double t1 = 0, t2 = 0;
    guint count = 0;

    int n = add_timed(repo, hello, &lines, &t1);
    guint64 size = debs_size(nube_pkgrepo_dir(repo), &count);
    g_test_message("hello: %d packages, %" G_GUINT64_FORMAT " bytes in %.2f s", n, size, t1);
    g_assert_cmpint(n, >=, 2);
    g_assert_cmpuint(count, ==, n);
    g_assert_true(lines_have(lines, "updating the package lists"));

    g_assert_cmpint(nube_pkgrepo_serve(repo, "127.0.0.1", 0, &err), ==, 0);
    guint16 port = nube_pkgrepo_port(repo);
    g_autofree char *index = served_index(port);
    g_autofree char *stanza = stanza_of(index, "hello");
    g_assert_nonnull(stanza);
    g_autofree char *depends = field_of(stanza, "Depends");
    g_assert_nonnull(strstr(depends, "libc6"));
    g_autofree char *libc = stanza_of(index, "libc6");
    g_assert_nonnull(libc);
    check_deb_served(port, index, "hello");
    check_deb_served(port, index, "libc6");
    check_apt_client(scratch, port, "hello");

    /* a client that hangs up mid-transfer does not harm the server */
    g_autofree char *libc_file = field_of(libc, "Filename");
    g_autofree char *libc_path = g_strdup_printf("/%s", libc_file);
    for (int i = 0; i < 3; i++)
        http_abort(port, libc_path);
    check_deb_served(port, index, "libc6");

    /* again: nothing downloaded, no list update, nothing new */
    g_autofree char *before = cache_fingerprint(scratch);
    n = add_timed(repo, hello, &lines2, &t2);
    g_test_message("hello again: %d new packages in %.2f s", n, t2);
    g_assert_cmpint(n, ==, 0);
    g_assert_true(lines_have(lines2, "0 packages downloaded"));
    g_assert_false(lines_have(lines2, "updating the package lists"));
    g_autofree char *after = cache_fingerprint(scratch);
    g_assert_cmpstr(before, ==, after);
    g_autofree char *index2 = served_index(port);
    g_assert_cmpstr(index, ==, index2);

    /* a package the mirror does not have: apt's own words, nothing added */
    static const char *const missing[] = { "nube-no-such-package", NULL };
    g_assert_cmpint(nube_pkgrepo_add(repo, missing, NULL, NULL, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "Unable to locate package nube-no-such-package"));
    g_clear_pointer(&err, nube_error_free);

    /* lists more than a day old are updated */
    g_autofree char *stamp = g_build_filename(scratch, "pkgrepo.apt", "lists.stamp", NULL);
    struct utimbuf old = { .actime = time(NULL) - 25 * 3600, .modtime = time(NULL) - 25 * 3600 };
    g_assert_cmpint(utime(stamp, &old), ==, 0);
    g_autoptr(GPtrArray) lines3 = NULL;
    g_assert_cmpint(add_timed(repo, hello, &lines3, &t2), ==, 0);
    g_assert_true(lines_have(lines3, "updating the package lists"));

    /* rewritten three times now: Release hashes the index, not itself */
    Reply r = { 0 };
    http("GET", port, "/Release", &r);
    g_assert_cmpint(r.status, ==, 200);
    g_byte_array_append(r.body, (const guint8 *) "", 1);
    g_assert_nonnull(strstr((const char *) r.body->data, " Packages.gz\n"));
    g_assert_null(strstr((const char *) r.body->data, " Release\n"));
    reply_clear(&r);
    scratch_free(g_steal_pointer(&scratch));
}

/* The demo's real use: apache2 and its closure. */
static void test_apache2(void)
{
    g_autofree char *scratch = scratch_new();
    g_autoptr(NubePkgRepo) repo = repo_open(scratch);
    g_autoptr(GPtrArray) lines = NULL;
    g_autoptr(GPtrArray) lines2 = NULL;
    g_autoptr(NubeError) err = NULL;
    static const char *const apache2[] = { "apache2", NULL };
    double t1 = 0, t2 = 0;
    guint count = 0;

    int n = add_timed(repo, apache2, &lines, &t1);
    guint64 size = debs_size(nube_pkgrepo_dir(repo), &count);
    g_printerr("# apache2 first add: %d packages, %.1f MB (%" G_GUINT64_FORMAT
               " bytes) in %.2f s\n",
               n, size / 1e6, size, t1);
    g_assert_cmpint(n, >=, 20);

    g_autofree char *before = cache_fingerprint(scratch);
    g_assert_cmpint(add_timed(repo, apache2, &lines2, &t2), ==, 0);
    g_printerr("# apache2 second add: 0 new packages in %.2f s\n", t2);
    g_assert_true(lines_have(lines2, "0 packages downloaded"));
    g_autofree char *after = cache_fingerprint(scratch);
    g_assert_cmpstr(before, ==, after);

    g_assert_cmpint(nube_pkgrepo_serve(repo, "127.0.0.1", 0, &err), ==, 0);
    guint16 port = nube_pkgrepo_port(repo);
    g_autofree char *index = served_index(port);
    check_deb_served(port, index, "apache2");
    check_apt_client(scratch, port, "apache2");
    scratch_free(g_steal_pointer(&scratch));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_test_add_func("/pkgrepo/unit/names", test_names);
    g_test_add_func("/pkgrepo/unit/add-invalid", test_add_invalid);
    g_test_add_func("/pkgrepo/unit/serve-empty", test_serve_empty);
    g_test_add_func("/pkgrepo/unit/serve-refuses", test_serve_refuses);
    g_test_add_func("/pkgrepo/integration/hello", test_hello);
    g_test_add_func("/pkgrepo/integration/apache2", test_apache2);
    int r = g_test_run();
    curl_global_cleanup();
    return r;
}
