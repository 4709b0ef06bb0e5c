-- 0005: key pairs, security groups, and forwards that come from the groups.

-- Key pairs: only the public key is kept (OpenSSH "TYPE BASE64" without a
-- comment); CreateKeyPair's private key is answered once and never stored.
CREATE TABLE key_pairs (
    id          TEXT PRIMARY KEY,               -- key-…
    owner_id    TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    key_type    TEXT NOT NULL CHECK (key_type IN ('rsa', 'ed25519')),
    fingerprint TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX key_pairs_owner_name ON key_pairs(owner_id, name);

-- The key an instance was launched with, as it was then (deleting the key
-- pair later does not change the instance).
ALTER TABLE instances ADD COLUMN key_name TEXT;
ALTER TABLE instances ADD COLUMN public_key TEXT;

CREATE TABLE security_groups (
    id          TEXT PRIMARY KEY,               -- sg-…
    owner_id    TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    vpc_id      TEXT,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX security_groups_owner_name ON security_groups(owner_id, name);

-- Ingress rules.  User-mode networking forwards TCP only, so that is all a
-- rule can open; the CIDR is recorded and shown, the forwards listen on
-- 127.0.0.1 whatever it says.
CREATE TABLE security_group_rules (
    id          TEXT PRIMARY KEY,               -- sgr-…
    group_id    TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
    protocol    TEXT NOT NULL CHECK (protocol = 'tcp'),
    from_port   INTEGER NOT NULL CHECK (from_port BETWEEN 1 AND 65535),
    to_port     INTEGER NOT NULL CHECK (to_port BETWEEN from_port AND 65535),
    cidr        TEXT NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (group_id, protocol, from_port, to_port, cidr)
);

-- The groups of each instance, in the order given at launch.
CREATE TABLE instance_groups (
    instance_id TEXT NOT NULL REFERENCES instances(id),
    group_id    TEXT NOT NULL REFERENCES security_groups(id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (instance_id, group_id)
);
CREATE INDEX instance_groups_group ON instance_groups(group_id);

-- A forward opened by a rule of the instance's groups ('group': recomputed
-- when rules change and at every start) or asked for with NubeForwardPort
-- ('extra': kept for the instance's life).  SSH is no longer special: it
-- is the default group's rule.
ALTER TABLE forwards ADD COLUMN origin TEXT NOT NULL DEFAULT 'extra'
    CHECK (origin IN ('extra', 'group'));

-- Existing accounts get their default group (TCP 22 from anywhere), and
-- existing instances join it, their SSH port becoming a group forward.
INSERT INTO security_groups (id, owner_id, name, description, created_at)
    SELECT 'sg-' || substr(lower(hex(randomblob(9))), 1, 17), id, 'default',
           'default VPC security group', CAST(strftime('%s', 'now') AS INTEGER)
    FROM accounts;
INSERT INTO security_group_rules (id, group_id, protocol, from_port, to_port, cidr, created_at)
    SELECT 'sgr-' || substr(lower(hex(randomblob(9))), 1, 17), id, 'tcp', 22, 22, '0.0.0.0/0',
           created_at
    FROM security_groups;
INSERT INTO instance_groups (instance_id, group_id, position)
    SELECT i.id, g.id, 0 FROM instances i
    JOIN security_groups g ON g.owner_id = i.owner_id AND g.name = 'default';
INSERT INTO forwards (instance_id, guest_port, host_port, origin)
    SELECT id, 22, ssh_host_port, 'group' FROM instances WHERE ssh_host_port > 0;
ALTER TABLE instances DROP COLUMN ssh_host_port;
