/*
 * fixture.h: what the API unit tests share: a NubeCloud on a temporary
 * database holding the test account, the records the tests start from
 * (each program says which), and requests run through nube_api_dispatch()
 * as nubed's HTTP server runs them.  Every function here makes the test
 * fail rather than return an error.
 */
#pragma once

#include "cloud.h"
#include "account.h"
#include "image.h"
#include "instance.h"

#define FIXTURE_OWNER      "123456789012"
#define FIXTURE_AMI        "ami-0123456789abcdef0"
#define FIXTURE_REQUEST_ID "11111111-2222-3333-4444-555555555555"

typedef struct {
    char *dir;           /* the temporary directory, with nube.db */
    char *instances_dir; /* DIR/instances (not made) */
    NubeConfig cfg;
    NubeCloud cloud;  /* the database and a held job pool (jobs are queued,
                       * never run); no store, hypervisor or services */
    NubeAccount acct; /* FIXTURE_OWNER, who sends the requests */
} Fixture;

/* One test program's fixture: the test data that g_test_add() passes to
 * fixture_setup(). */
typedef struct {
    const char *name;           /* the directory is nube-NAME-XXXXXX in $TMPDIR */
    void (*insert)(Fixture *f); /* inserts the program's records, or NULL */
} FixtureSpec;

/* g_test_add()'s setup with a FixtureSpec as SPEC: opens the database,
 * inserts the account FIXTURE_OWNER, then SPEC's records (which may
 * send requests as FIXTURE_OWNER). */
void fixture_setup(Fixture *f, gconstpointer spec);

/* g_test_add()'s teardown: closes the database, frees what fixture_setup()
 * set and removes the directory.  The test frees what it set itself. */
void fixture_teardown(Fixture *f, gconstpointer spec);

/* A new record of the image FIXTURE_AMI, "debian-12-test", pending, made at
 * 1795000000, tagged Name=NAME_TAG unless that is NULL.  The caller sets
 * what else its test needs and frees it with nube_image_free(). */
NubeImage *fixture_image_new(const char *name_tag);

/* Inserts IMG and makes it available: base ab12 of 4 GiB, booted with the
 * given kernel, ramdisk and command line (NULL: none). */
void fixture_insert_image(Fixture *f, const NubeImage *img, const char *kernel_sha256,
                          const char *ramdisk_sha256, const char *cmdline);

/* A new record of instance ID in STATE, of FIXTURE_AMI, with TYPE's vCPUs
 * and memory, launched at 1795000100 in reservation r-0abcdef0123456789,
 * ebs-rooted, MAC 52:54:00:12:34:56, tagged Name=NAME_TAG unless that is
 * NULL.  The caller sets what else its test needs and frees it with
 * nube_instance_free(). */
NubeInstance *fixture_instance_new(const char *id, NubeInstanceState state, const char *type,
                                   const char *name_tag);

/* Inserts INST with its tags, forwards and groups. */
void fixture_insert_instance(Fixture *f, const NubeInstance *inst);

/* Replaces the string *FIELD of a record with a copy of VALUE. */
void fixture_set_str(char **field, const char *value);

/* Inserts the volume ID: INSTANCE_ID's 4 GiB root disk of base ab12, in use
 * since 1795000100 and deleted on termination. */
void fixture_insert_volume(Fixture *f, const char *id, const char *instance_id);

/* Runs the form-encoded request PARAMS, as they are, from the account.
 * Returns the answer XML (free it), or NULL with *CODE (freed first) set to
 * the EC2 error code. */
char *fixture_call(Fixture *f, const char *params, char **code);

/* Runs PARAMS with &Version=2016-11-15, which must succeed; returns the
 * answer XML (free it). */
char *fixture_ok(Fixture *f, const char *params);

/* Runs PARAMS with &Version=2016-11-15, which must fail with the EC2 error
 * code CODE. */
void fixture_refused(Fixture *f, const char *params, const char *code);

/* As fixture_refused(), and returns the error's message (free it). */
char *fixture_refused_message(Fixture *f, const char *params, const char *code);

/* How many rows TABLE holds. */
int fixture_count_rows(Fixture *f, const char *table);

/* Every row of every table as text, tables by name and rows in rowid
 * order (free it): equal before and after a request that changed nothing. */
char *fixture_dump(Fixture *f);

/* The text of the first <NAME> element of XML, which must have one (free
 * it). */
char *fixture_element(const char *xml, const char *name);

/* How many times NEEDLE stands in HAYSTACK, not overlapping. */
guint fixture_count(const char *haystack, const char *needle);
