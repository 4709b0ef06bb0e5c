/*
 * userdata.h: the instance's user data, run once per instance and
 * reported as userdata started / finished.
 *
 * Two runners.  "cloud-init", when the guest has an enabled cloud-init:
 * cloud-init runs the user data itself and the agent only watches
 * /run/cloud-init/{status,result}.json every second.  "agent" otherwise:
 * after boot-complete the agent runs user data that starts with "#!" as a
 * script (stdin /dev/null, stdout and stderr to the console, a log file
 * and the report's log tail); other user data fails at once.
 *
 * Once per instance: the instance id from the seed is compared with the
 * stored one.  A new instance forgets the previous report; the same one
 * replays the stored report, and a report stored as started but never
 * finished (the guest rebooted, or the agent was restarted, during the
 * run) becomes a failed one.
 */
#pragma once

#include "proto.h"
#include "seed.h"
#include "state.h"
#include "util.h"

#include <stdbool.h>

typedef void (*AgentSendFn)(void *ctx, const NubeMsg *msg);

typedef struct {
    /* set up by the caller */
    const char *runner;   /* "cloud-init" or "agent" */
    const char *log_file; /* the script's output is appended here */
    const char *console;  /* and copied here (NULL: nowhere) */
    AgentState *state;
    AgentSendFn send;
    void *send_ctx;

    bool pending; /* to be run (or watched) in this boot */
    bool started;
    bool finished;
    NubeMsg report; /* the finished report */

    char *user_data;
    size_t user_data_len;
    bool user_data_too_big;

    /* runner "agent" */
    AgentChild child;
    double start;
    int console_fd;
    int log_fd;
    char tail[2 * NUBE_AGENT_MAX_LOG];
    size_t tail_len;
    char *held; /* output for the log file while the file systems are frozen */
    size_t held_len;

    /* runner "cloud-init" */
    double poll_at;
    double ci_start; /* modules-final start (wall clock), 0: unknown */
} AgentUserdata;

/* Sets up U, whose caller's fields (runner ... send_ctx) are set. */
void agent_userdata_init(AgentUserdata *u);

/* Decides what to do with the user data of SEED (its user data taken
 * over; NULL: there is no seed): run it in this boot (new instance), or
 * replay the stored report. */
void agent_userdata_load(AgentUserdata *u, AgentSeed *seed);
void agent_userdata_clear(AgentUserdata *u);

/* Starts or watches the runner when due.  BOOTED: the boot is complete;
 * FROZEN: the file systems are frozen (no script is started then). */
void agent_userdata_tick(AgentUserdata *u, double now, bool booted, bool frozen);

/* The next time agent_userdata_tick() has something to do (0: none). */
double agent_userdata_due(const AgentUserdata *u, bool booted, bool frozen);

/* The script's output fd to poll (-1: none). */
int agent_userdata_fd(const AgentUserdata *u);

/* Reads the script's output and reaps it when it exited. */
void agent_userdata_handle(AgentUserdata *u, bool readable, double now, bool frozen);

/* Sends the current state again (after hello). */
void agent_userdata_replay(AgentUserdata *u);

/* The file systems were thawed: append held output to the log file. */
void agent_userdata_thawed(AgentUserdata *u);
