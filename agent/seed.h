/*
 * seed.h: the NoCloud seed nubed attaches to every instance: an ISO9660
 * volume labelled "cidata" with meta-data (the instance id) and user-data.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define AGENT_SEED_MOUNT "/run/nube-agent/seed"
/* EC2's limit on user data, which nubed enforces too. */
#define AGENT_USER_DATA_MAX   16384
#define AGENT_INSTANCE_ID_MAX 255

typedef struct {
    char *instance_id;
    char *user_data; /* NUL-terminated, USER_DATA_LEN bytes; NULL when none */
    size_t user_data_len;
    bool user_data_too_big; /* more than AGENT_USER_DATA_MAX bytes */
} AgentSeed;

void agent_seed_clear(AgentSeed *seed);

/*
 * Reads the seed: from directory DIR when not NULL, else from the volume
 * "cidata", mounted read-only on AGENT_SEED_MOUNT for the read and
 * unmounted after.  Returns 0, -ENOENT when there is no seed, or another
 * negative errno with the reason in ERRBUF.
 */
int agent_seed_read(const char *dir, AgentSeed *seed, char *errbuf, size_t errlen);

/*
 * The instance id in meta-data TEXT: the value of the top-level key
 * "instance-id", a double-quoted YAML scalar (\" \\ \/ \t \n \xXX \uXXXX
 * \UXXXXXXXX escapes), a single-quoted one, or a plain one.  Returns it
 * malloc'd, or NULL when missing or not a sane id (empty, longer than
 * AGENT_INSTANCE_ID_MAX, control characters, invalid UTF-8).
 */
char *agent_seed_instance_id(const char *text);
