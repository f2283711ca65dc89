-- Loans' own copy of the business facts screening needs, kept from intake's events.
-- No names, no registration numbers: nothing personal to erase here.
create table businesses (
    id                uuid primary key,
    dong              text        not null,
    industry          text        not null,
    employees         integer     not null,
    is_micro_business boolean     not null,
    stage             text        not null,
    registered_on     date,
    erased_at         timestamptz,
    updated_at        timestamptz not null default now()
);

-- One row per application, from draft or submission to its final state. No foreign key
-- to businesses: a draft may come from a visit before intake's event reached loans.
create table applications (
    id                     uuid primary key,
    business_id            uuid        not null,
    status                 text        not null check (status in ('draft', 'submitted', 'awaiting_guarantee',
                               'guarantee_overdue', 'awaiting_decision', 'approved', 'rejected', 'disbursed', 'withdrawn')),
    origin                 text        not null check (origin in ('staff', 'visit')),
    visit_id               uuid unique,                 -- the VisitRecorded that made the draft
    program                text references programs (code),   -- null only in a draft
    amount_krw             bigint check (amount_krw > 0),
    purpose                text,
    term_months            integer,
    documents              text[]      not null default '{}',
    submitted_on           date,
    submitted_by           text,
    -- screening
    screened_on            date,
    eligible               boolean,
    failed_rules           jsonb       not null default '[]',
    round_id               text references fund_rounds (id),
    reserved_krw           bigint      not null default 0 check (reserved_krw >= 0),
    -- guarantee saga
    guarantee_requested_at timestamptz,
    guarantee_requested_on date,
    guarantee_referral_id  uuid,
    guarantee_outcome      text,
    guarantee_amount_krw   bigint,
    guarantee_timed_out_on date,
    -- decision and money
    decided_on             date,
    decided_by             text,
    approved_amount_krw    bigint,
    decision_reasons       text[],
    disbursed_on           date,
    annual_rate_pct        numeric(6, 3),
    schedule               jsonb,
    withdrawn_on           date,
    withdraw_reason        text,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now()
);
create index applications_business on applications (business_id, created_at);
create index applications_status on applications (status);
create index applications_submitted_on on applications (submitted_on) where status <> 'draft';
create index applications_waiting_guarantee on applications (guarantee_requested_at) where status = 'awaiting_guarantee';

-- Exactly one screening per application (the primary key): what was decided, by which
-- worker from which partition, in which order (`seq`).
create table screenings (
    application_id  uuid primary key references applications (id),
    business_id     uuid        not null,
    seq             bigserial   unique,
    eligible        boolean     not null,
    failed_rules    jsonb       not null,
    round_id        text,
    reserved_krw    bigint      not null,
    event_id        uuid        not null,   -- the LoanSubmitted screened
    kafka_partition integer     not null,
    kafka_offset    bigint      not null,
    worker          text        not null,
    screened_at     timestamptz not null default clock_timestamp()
);
create index screenings_business on screenings (business_id, seq);
