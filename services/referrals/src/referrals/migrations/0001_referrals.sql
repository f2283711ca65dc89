-- Referrals' directory of businesses (from intake's BusinessRegistered; no personal data).
create table businesses (
    id          uuid primary key,
    dong        text        not null,
    industry    text        not null,
    stage       text        not null,
    erased_at   timestamptz,
    updated_at  timestamptz not null default now()
);

-- Consents to third-party sharing, one row per (consent, agency), from intake's events.
create table consents (
    consent_id   uuid        not null,
    business_id  uuid        not null,
    agency       text        not null,
    given_at     timestamptz not null,
    withdrawn_at timestamptz,
    primary key (consent_id, agency)
);
create index consents_business on consents (business_id, agency);

create table referrals (
    id                    uuid primary key,
    business_id           uuid        not null,
    agency                text        not null,
    program               text        not null,
    reason                text        not null,
    origin                text        not null check (origin in ('visit', 'guarantee', 'staff')),
    cause_event_id        uuid,                       -- the event that caused it (none for staff)
    application_id        uuid,                       -- the loan application a guarantee serves
    amount_krw            bigint,                     -- the amount asked for (guarantees)
    referred_on           date        not null,       -- the causing event's own date (30-day rule)
    state                 text        not null check (state in ('held', 'sent', 'acknowledged', 'completed', 'cancelled')),
    personal_data_shared  boolean     not null default false,
    consent_id            uuid,
    sent_on               date,                       -- in the events' time: referred_on or consent's day
    sent_at               timestamptz,
    sent_event_id         uuid,                       -- ce_id of ReferralSent (same on both topics)
    consent_withdrawn_at  timestamptz,                -- consent withdrawn after sharing: share nothing more
    agency_reference      text,
    acknowledged_at       timestamptz,
    outcome               text,
    outcome_amount_krw    bigint,
    outcome_note          text,
    completed_on          date,
    cancel_reason         text,
    created_by            text        not null,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now()
);
create index referrals_business_program on referrals (business_id, agency, program);
create index referrals_agency_state on referrals (agency, state);
-- A guarantee is referred once per loan application.
create unique index referrals_one_per_application on referrals (application_id) where application_id is not null and state <> 'cancelled';
-- One event refers to one program once (the inbox already drops redelivered events).
create unique index referrals_one_per_cause on referrals (cause_event_id, agency, program) where cause_event_id is not null;
