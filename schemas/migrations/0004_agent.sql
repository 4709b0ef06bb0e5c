-- 0004: the guest agent (agent/, protocol in schemas/agent-protocol.md).

-- Whether the image's guest runs nube-agent: built images do, imported ones
-- when imported with the agent, captured ones when their parent did.
ALTER TABLE images ADD COLUMN has_agent INTEGER NOT NULL DEFAULT 0;

-- What each instance's agent last reported.  Times are Unix milliseconds of
-- the controller's clock.  The boot fields describe the current boot and
-- are cleared when the instance is started; the user-data fields describe
-- the one run of the user data (first boot of the instance id) and stay.
CREATE TABLE agent_status (
    instance_id        TEXT PRIMARY KEY REFERENCES instances(id),
    agent_version      TEXT,
    boot_id            TEXT,
    kernel             TEXT,
    cloud_init         INTEGER,
    hello_at           INTEGER,        -- first hello of this boot
    boot_complete_at   INTEGER,
    system_state       TEXT,           -- running | degraded
    last_seen_at       INTEGER,        -- any message
    userdata_state     TEXT CHECK (userdata_state IN ('running', 'succeeded', 'failed')),
    userdata_runner    TEXT,           -- cloud-init | agent
    userdata_exit      INTEGER,
    userdata_duration_ms INTEGER,
    userdata_error     TEXT,
    userdata_log       TEXT,
    userdata_started_at  INTEGER,
    userdata_finished_at INTEGER
);
