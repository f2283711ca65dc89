-- The shared directory (sangsaeng_common.directory): an erasure for a business never
-- registered here leaves a tombstone (registered = false) that a late registration fills
-- with its non-personal facts only.
alter table businesses add column registered boolean not null default true;
