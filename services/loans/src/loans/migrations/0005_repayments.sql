-- Repayments of disbursed loans (domain/repayments.py applies them to the schedule, oldest
-- instalment first, interest before principal). One row per repayment, in the order paid;
-- the parts are what the repayment paid when it was recorded (LoanRepaymentRecorded says the same).
create table repayments (
    id                        uuid primary key,
    application_id            uuid        not null references applications (id),
    business_id               uuid        not null,
    position                  integer     not null check (position >= 1),
    paid_on                   date        not null,
    amount_krw                bigint      not null check (amount_krw > 0),
    principal_krw             bigint      not null check (principal_krw >= 0),
    interest_krw              bigint      not null check (interest_krw >= 0),
    outstanding_principal_krw bigint      not null check (outstanding_principal_krw >= 0),
    recorded_by               text        not null,   -- the subject id (a pseudonymous staff number)
    recorded_at               timestamptz not null default now(),
    unique (application_id, position),
    check (principal_krw + interest_krw = amount_krw)
);

-- A disbursed loan's position, kept with the application: the principal still owed (what the
-- "already repaying a fund loan" rule reads), when it was repaid, and the last instalment
-- checked for a miss (its due date + grace has passed): each instalment is checked once, by
-- the arrears sweeper or by a later repayment, and a missed one is announced (LoanInArrears).
alter table applications
    add column outstanding_principal_krw bigint check (outstanding_principal_krw >= 0),
    add column repaid_on                 date,
    add column arrears_checked_through   integer not null default 0;

-- Loans disbursed before repayments were recorded owe all their principal.
update applications set outstanding_principal_krw = approved_amount_krw where status = 'disbursed';

create index applications_repaying on applications (business_id, program) where outstanding_principal_krw > 0;
create index applications_arrears_watch on applications (disbursed_on) where outstanding_principal_krw > 0;
