create table businesses (
    id                  uuid primary key,
    registration_number text unique,          -- digits only; null for a would-be founder
    business_kind       text,
    name                text        not null,
    dong                text        not null,
    address             text,
    industry            text        not null,
    employees           integer     not null check (employees >= 0),
    is_micro_business   boolean     not null,
    stage               text        not null,
    registered_on       date,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);

create index businesses_dong_stage on businesses (dong, stage);
