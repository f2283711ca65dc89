-- Least privilege: the audit service runs as a role that does not own this schema (the
-- migration owner does), so it can neither drop nor disable the append-only triggers nor
-- alter the ledger. It may add links and read them, and move the chain's head.
do $$
declare
    runtime text := current_setting('sangsaeng.runtime_role');
begin
    if runtime <> current_user then
        execute format('grant select, insert on ledger to %I', runtime);
        execute format('grant select, update on ledger_head to %I', runtime);
    end if;
end $$;
