-- When another role owns the schema and the service runs as a role of its own
-- (MIGRATION_DATABASE_URL; sangsaeng_common.db.migrate sets sangsaeng.runtime_role), that
-- runtime role gets what the shared mechanisms do with their tables, and no more: no DDL,
-- no TRUNCATE. When the service's role owns its schema, there is nothing to grant.
do $$
declare
    runtime text := current_setting('sangsaeng.runtime_role');
begin
    if runtime <> current_user then
        execute format('grant select, insert, delete on inbox to %I', runtime);             -- consumer.apply_batch
        execute format('grant select, insert, update on outbox to %I', runtime);            -- outbox.emit, the relay
        execute format('grant select, insert, update on idempotency_keys to %I', runtime);  -- http.idempotent
    end if;
end $$;
