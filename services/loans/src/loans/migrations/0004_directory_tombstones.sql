-- The shared directory (sangsaeng_common.directory): an erasure for a business never
-- registered here leaves a tombstone (registered = false) that a late registration fills.
alter table businesses add column registered boolean not null default true;
