-- 0007: RunInstances' ClientToken (idempotency, controller/state/clienttoken.c).
-- A token is its account's; the row records the digest of the request's
-- parameters (all but ClientToken and DryRun) and the reservation it made,
-- and is written in the transaction that records the reservation's
-- instances.  Rows are kept as long as those instances' records (which
-- nube never removes), so a token always answers its reservation.
CREATE TABLE client_tokens (
    owner_id       TEXT NOT NULL REFERENCES accounts(id),
    token          TEXT NOT NULL,
    request_digest TEXT NOT NULL,               -- SHA-256, hex
    reservation_id TEXT NOT NULL,               -- r-…
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (owner_id, token)
);
CREATE INDEX client_tokens_reservation ON client_tokens(reservation_id);
