-- Events a consumer has applied. Written in the same transaction as the effects, so an
-- event redelivered by Kafka finds its row and has no second effect.
create table inbox (
    consumer     text        not null,
    event_id     uuid        not null,
    event_type   text        not null,
    topic        text        not null,
    kafka_partition integer  not null,
    kafka_offset bigint      not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, event_id)
);
