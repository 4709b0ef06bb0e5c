-- 0001: accounts, images, instances, tags.
-- Applied in one transaction; PRAGMA user_version records the last applied.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,               -- 12-digit owner id
    access_key  TEXT NOT NULL UNIQUE,
    secret_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE images (
    id               TEXT PRIMARY KEY,          -- ami-…
    owner_id         TEXT NOT NULL REFERENCES accounts(id),
    name             TEXT NOT NULL,
    description      TEXT,
    state            TEXT NOT NULL CHECK (state IN
                       ('pending', 'available', 'failed', 'deregistered')),
    state_reason     TEXT,
    architecture     TEXT NOT NULL DEFAULT 'x86_64',
    root_device_type TEXT NOT NULL DEFAULT 'ebs' CHECK (root_device_type IN
                       ('ebs', 'instance-store')),
    base_sha256      TEXT,                       -- NULL while pending
    virtual_size     INTEGER,
    kernel_sha256    TEXT,
    ramdisk_sha256   TEXT,
    kernel_cmdline   TEXT,
    source           TEXT NOT NULL CHECK (source IN ('build', 'import', 'instance')),
    recipe_digest    TEXT,                       -- build recipe, for reuse
    source_instance  TEXT,
    parent_image     TEXT,
    created_at       INTEGER NOT NULL,
    deregistered_at  INTEGER
);
-- Names are unique per owner among images that are not deregistered.
CREATE UNIQUE INDEX images_owner_name ON images(owner_id, name)
    WHERE state != 'deregistered';
CREATE INDEX images_base ON images(base_sha256);

CREATE TABLE instances (
    id               TEXT PRIMARY KEY,          -- i-…
    reservation_id   TEXT NOT NULL,
    owner_id         TEXT NOT NULL REFERENCES accounts(id),
    image_id         TEXT NOT NULL REFERENCES images(id),
    instance_type    TEXT NOT NULL,
    launch_index     INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL CHECK (state IN
                       ('pending', 'running', 'stopping', 'stopped',
                        'shutting-down', 'terminated')),
    state_reason     TEXT,
    state_changed_at INTEGER NOT NULL,
    root_device_type TEXT NOT NULL,
    base_sha256      TEXT NOT NULL,             -- what the root disk backs onto
    user_data        BLOB,
    mac              TEXT NOT NULL,
    private_ip       TEXT NOT NULL,
    hostname         TEXT NOT NULL,
    ssh_host_port    INTEGER,
    vcpus            INTEGER NOT NULL,
    memory_mib       INTEGER NOT NULL,
    accelerator      TEXT,
    launch_time      INTEGER NOT NULL,
    terminated_at    INTEGER
);
CREATE INDEX instances_base ON instances(base_sha256);
CREATE INDEX instances_state ON instances(state);

CREATE TABLE tags (
    resource_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (resource_id, key)
);
