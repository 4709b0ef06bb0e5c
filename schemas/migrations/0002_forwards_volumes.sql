-- 0002: guest ports forwarded from 127.0.0.1 (besides SSH), and volumes
-- (EBS root disks, kept after terminate when DeleteOnTermination=false).

CREATE TABLE forwards (
    instance_id TEXT NOT NULL REFERENCES instances(id),
    guest_port  INTEGER NOT NULL CHECK (guest_port BETWEEN 1 AND 65535),
    host_port   INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
    PRIMARY KEY (instance_id, guest_port)
);

CREATE TABLE volumes (
    id                    TEXT PRIMARY KEY,      -- vol-…
    owner_id              TEXT NOT NULL REFERENCES accounts(id),
    instance_id           TEXT REFERENCES instances(id),  -- NULL when detached
    base_sha256           TEXT NOT NULL,
    size                  INTEGER NOT NULL,      -- bytes
    state                 TEXT NOT NULL CHECK (state IN ('in-use', 'available', 'deleted')),
    delete_on_termination INTEGER NOT NULL DEFAULT 1,
    created_at            INTEGER NOT NULL,
    attached_at           INTEGER,
    deleted_at            INTEGER
);
CREATE INDEX volumes_instance ON volumes(instance_id);
CREATE INDEX volumes_base ON volumes(base_sha256);
