-- Owners and contacts: personal data. It lives only in this schema, never in an event,
-- and is deleted when the owner asks for erasure.
create table owners (
    id          uuid primary key,
    business_id uuid        not null references businesses (id),
    relation    text        not null,          -- owner, co_owner, manager, contact
    name        text        not null,
    phone       text,
    email       text,
    created_at  timestamptz not null default now()
);
create index owners_business on owners (business_id);

-- Consent to third-party sharing (개인정보 제3자 제공 동의). The facts an audit needs (id,
-- agencies, times) outlive an erasure; who signed and any notes do not.
create table consents (
    id              uuid primary key,
    business_id     uuid        not null references businesses (id),
    agencies        text[]      not null check (cardinality(agencies) > 0),
    given_at        timestamptz not null,
    owner_id        uuid        references owners (id) on delete set null,  -- personal link
    signed_by       text,                                                   -- personal
    note            text,                                                   -- personal
    withdrawn_at    timestamptz,
    withdrawal_note text,                                                   -- personal
    created_at      timestamptz not null default now(),
    check (withdrawn_at is null or withdrawn_at >= given_at)
);
create index consents_business on consents (business_id, given_at desc);

-- Support requests. The note is free text: it stays here and never enters an event.
create table support_requests (
    id           uuid primary key,
    business_id  uuid        not null references businesses (id),
    needs        text[]      not null check (cardinality(needs) > 0),
    channel      text        not null,
    visit_id     uuid,
    requested_on date        not null,
    note         text,
    created_at   timestamptz not null default now()
);
create index support_requests_business on support_requests (business_id, id desc);

-- When the owner's personal data was last erased (the business itself stays), and a log
-- of the erasures themselves (no personal data), for audit.
alter table businesses add column erased_at timestamptz;
create table erasures (
    id           uuid primary key,
    business_id  uuid        not null references businesses (id),
    erased_at    timestamptz not null,
    requested_on date        not null,
    recorded_by  text        not null           -- a role, not a person
);

-- Search and lists. Lists are newest first by id (UUIDv7, so time-ordered) with a keyset
-- cursor; each filter has an index that also yields that order. Name search is a
-- substring match (LIKE '%…%') on the name without spaces, lower-cased: no B-tree
-- serves it and pg_trgm needs a superuser, so it runs as a filter over the id-ordered
-- scan (alone) or over the rows the other filters' indexes select. A district has some
-- tens of thousands of businesses; a page stops as soon as it is full.
alter table businesses add column name_key text generated always as (lower(regexp_replace(name, '\s+', '', 'g'))) stored;
create index businesses_dong_id on businesses (dong, id);
create index businesses_stage_id on businesses (stage, id);
create index businesses_industry_id on businesses (industry, id);

-- The business timeline: every event about a business from every service's topic,
-- kept by the intake-timeline consumer. Newest first.
create table timeline (
    event_id    uuid primary key,
    business_id uuid        not null,
    event_type  text        not null,
    source      text        not null,
    occurred_at timestamptz not null,
    summary     text        not null,
    data        jsonb       not null,
    recorded_at timestamptz not null default now()
);
create index timeline_business_time on timeline (business_id, occurred_at desc, event_id desc);
