-- Every event of every service, whole, in the order the ledger received it, each row
-- chained to the one before by SHA-256 (see audit.domain.chain for the exact rule).
create table ledger (
    position        bigint      primary key,
    event_id        uuid        not null unique,
    event_type      text        not null,
    source          text        not null,
    subject         text        not null,
    event_time      timestamptz not null,
    topic           text        not null,
    kafka_partition integer     not null,
    kafka_offset    bigint      not null,
    headers         jsonb       not null,
    data_text       text        not null,   -- the Kafka value exactly as received
    data            jsonb generated always as (data_text::jsonb) stored,
    prev_hash       text        not null,
    hash            text        not null,
    recorded_at     timestamptz not null default now()
);

create index ledger_type_time on ledger (event_type, event_time);
create index ledger_subject on ledger (subject, position);

-- The end of the chain: one row, locked by every append.
create table ledger_head (
    id       boolean primary key default true check (id),
    position bigint  not null,
    hash     text    not null
);
insert into ledger_head values (true, 0, repeat('0', 64));

-- Append-only: the ledger refuses UPDATE, DELETE and TRUNCATE, whoever asks.
create function ledger_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'the audit ledger is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end $$;

create trigger ledger_no_update_delete before update or delete on ledger
    for each row execute function ledger_refuse_change();
create trigger ledger_no_truncate before truncate on ledger
    for each statement execute function ledger_refuse_change();
