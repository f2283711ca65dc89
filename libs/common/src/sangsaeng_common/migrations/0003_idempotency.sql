-- Responses to POSTs that carried an Idempotency-Key, stored with the command's effects.
create table idempotency_keys (
    scope        text        not null,
    key          text        not null,
    request_hash text        not null,
    status_code  integer,
    response     jsonb,
    created_at   timestamptz not null default now(),
    primary key (scope, key)
);
