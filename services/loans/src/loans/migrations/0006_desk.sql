-- Drafts from the desk: a support request's loan (or guarantee) need makes a draft as a
-- visit's does; the draft names the request that made it.
alter table applications drop constraint applications_origin_check;
alter table applications add constraint applications_origin_check check (origin in ('staff', 'visit', 'support_request'));
alter table applications add column support_request_id uuid unique;  -- the SupportRequested that made the draft

-- Applications screened again because the business's details changed (BusinessDetailsChanged):
-- one row per (application, change), what the rules said on the new facts.
create table rescreenings (
    application_id  uuid        not null references applications (id),
    cause_event_id  uuid        not null,         -- the BusinessDetailsChanged
    business_id     uuid        not null,
    eligible        boolean     not null,
    failed_rules    jsonb       not null,
    status_before   text        not null,
    status_after    text        not null,
    screened_on     date        not null,
    screened_at     timestamptz not null default clock_timestamp(),
    primary key (application_id, cause_event_id)
);
create index rescreenings_business on rescreenings (business_id);
