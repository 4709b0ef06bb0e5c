/*
 * agent.h: the guest agent's state, shared by its main loop (nube-agent.c)
 * and its command handlers (commands.c).
 */
#pragma once

#include "boot.h"
#include "channel.h"
#include "freeze.h"
#include "proto.h"
#include "state.h"
#include "userdata.h"

#include <stdbool.h>

typedef enum {
    AGENT_CLOUD_INIT_AUTO,
    AGENT_CLOUD_INIT_YES,
    AGENT_CLOUD_INIT_NO,
} AgentCloudInitOption;

typedef struct {
    const char *port;
    const char *state_dir;
    const char *seed_dir; /* NULL: find and mount the seed */
    const char *log_file;
    const char *console; /* NULL: none */
    bool use_systemd;
    AgentCloudInitOption cloud_init;
} AgentOptions;

typedef struct {
    AgentOptions opt;
    char boot_id[37];
    char kernel[NUBE_AGENT_MAX_SHORT + 1];
    bool cloud_init;

    AgentChannel chan;
    AgentBoot boot;
    AgentState state;
    AgentUserdata ud;
    AgentFreeze freeze;
    double seed_at; /* when to look for the seed; 0: done */
    int seed_tries;
    double heartbeat_at; /* monotonic; 0 while disconnected */
    bool quit;
} Agent;

/* Formats MSG and sends it to the controller (dropped while disconnected). */
void agent_send(Agent *a, const NubeMsg *msg);

/* Handles one line from the controller: parses it and runs the command;
 * what does not parse is logged and gets no reply. */
void agent_command_line(Agent *a, const char *line, size_t len);

/* Thaws the file systems if frozen (auto-thaw, shutdown, exit); returns
 * how many were thawed or -1 with the reason in ERRBUF. */
int agent_command_thaw(Agent *a, char *errbuf, size_t errlen);
