-- Visits' own copy of the businesses it plans visits for, kept from intake's events.
create table businesses (
    id                  uuid primary key,
    registration_number text,
    name                text        not null,
    dong                text        not null,
    industry            text        not null,
    employees           integer     not null,
    is_micro_business   boolean     not null,
    stage               text        not null,
    registered_on       date,
    updated_at          timestamptz not null default now()
);

-- Every stage a business went through, in the order intake decided them.
create table business_stage_history (
    business_id uuid        not null references businesses (id),
    position    integer     not null,
    from_stage  text        not null,
    to_stage    text        not null,
    changed_on  date        not null,
    event_id    uuid        not null unique,
    primary key (business_id, position)
);

-- How many businesses each dong has: what a planner's territory load is weighed by.
create table dong_business_counts (
    dong       text primary key,
    businesses integer not null
);
