-- The service's own durable event log. Rows are kept after publishing (pruning is an
-- explicit job), so a lost broker can be refilled from here.
create table outbox (
    seq          bigint generated always as identity primary key,
    event_id     uuid        not null unique,
    topic        text        not null,
    key          text        not null,
    event_type   text        not null,
    headers      jsonb       not null,
    payload      bytea       not null,
    created_at   timestamptz not null default now(),
    published_at timestamptz
);

create index outbox_unpublished on outbox (seq) where published_at is null;

-- Wake the relay when a transaction that added events commits (NOTIFY is delivered at
-- commit, and identical notifications in one transaction are folded into one).
create function outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify(tg_table_schema || '_outbox', '');
    return null;
end $$;

create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify();
