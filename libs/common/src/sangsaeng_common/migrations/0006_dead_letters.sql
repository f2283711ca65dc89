-- What each consumer has dead-lettered, and what it parks behind a dead letter, so that
-- operators can list, show, redrive and discard without scanning Kafka (the DLQ topic
-- stays the outward record: every dead letter is also published there).
--
-- status: 'dead'      the record could not be applied (poison, or a handler failing for good);
--         'parked'    a later event of a key whose dead letter is open (parks_key), held back
--                     so that it never takes effect before the event dead-lettered ahead of it;
--         'redriven'  applied through the consumer's own path (inbox: no second effect);
--         'discarded' given up by an operator, with a reason (event DeadLetterDiscarded).
create table dead_letters (
    id               bigserial   primary key,
    consumer         text        not null,
    status           text        not null default 'dead' check (status in ('dead', 'parked', 'redriven', 'discarded')),
    reason           text        not null,
    error            text        not null default '',
    -- A handler's failure on a well-formed event parks the event's key (its later events wait);
    -- poison (undecodable, forged, schema-invalid) does not: nothing vouches for its key.
    parks_key        boolean     not null default false,
    topic            text        not null,
    kafka_partition  integer     not null,
    kafka_offset     bigint      not null,
    kafka_timestamp  bigint,
    record_key       bytea,
    record_value     bytea,
    header_keys      text[]      not null default '{}',
    header_values    bytea[]     not null default '{}',
    event_id         uuid,
    event_type       text,
    attempts         integer     not null default 1,
    first_seen       timestamptz not null default now(),
    last_seen        timestamptz not null default now(),
    resolved_at      timestamptz,
    resolved_by      text,
    discard_reason   text,
    discard_note     text,
    unique (consumer, topic, kafka_partition, kafka_offset)
);
-- What a consumer asks for every batch: the open rows of the batch's keys.
create index dead_letters_open_keys on dead_letters (consumer, record_key) where status in ('dead', 'parked');
create index dead_letters_by_status on dead_letters (consumer, status, reason);

do $$
declare
    runtime text := current_setting('sangsaeng.runtime_role');
begin
    if runtime <> current_user then
        execute format('grant select, insert, update on dead_letters to %I', runtime);      -- dead_letters, inbox.apply_batch
        execute format('grant usage on sequence dead_letters_id_seq to %I', runtime);
    end if;
end $$;
