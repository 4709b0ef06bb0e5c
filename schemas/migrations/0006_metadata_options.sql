-- 0006: the instance metadata service (controller/imds.c) and its options,
-- as ModifyInstanceMetadataOptions sets them; whether the instance boots
-- with a NoCloud seed (without one, cloud-init finds the metadata service).
ALTER TABLE instances ADD COLUMN metadata_http_tokens TEXT NOT NULL DEFAULT 'optional'
    CHECK (metadata_http_tokens IN ('optional', 'required'));
ALTER TABLE instances ADD COLUMN metadata_http_endpoint TEXT NOT NULL DEFAULT 'enabled'
    CHECK (metadata_http_endpoint IN ('enabled', 'disabled'));
ALTER TABLE instances ADD COLUMN metadata_hop_limit INTEGER NOT NULL DEFAULT 1
    CHECK (metadata_hop_limit BETWEEN 1 AND 64);
ALTER TABLE instances ADD COLUMN nocloud_seed INTEGER NOT NULL DEFAULT 1;
