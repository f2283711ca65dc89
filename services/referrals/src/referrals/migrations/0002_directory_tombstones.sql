-- The shared directory (sangsaeng_common.directory): an erasure for a business never
-- registered here leaves a tombstone (registered = false) that a late registration fills.
-- Tombstones made before it (dong and industry blank, erased) are marked as such.
alter table businesses add column registered boolean not null default true;
update businesses set registered = false where erased_at is not null and dong = '' and industry = '';
