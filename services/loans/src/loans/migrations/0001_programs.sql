-- The two district loan programs and their terms, as data (reference/dongdaemun.md).
-- Values marked (inferred) are readings, not published rules: change them with a new
-- migration or, for fund rounds, through PUT /rounds/{id}; never in code.
create table programs (
    code                            text primary key,
    name                            text        not null,
    name_en                         text        not null,
    money_from                      text        not null check (money_from in ('district_fund', 'partner_bank')),
    annual_rate_pct                 numeric(6, 3),        -- fixed rate; null: the bank's own rate, given at disbursement
    grace_months                    integer     not null check (grace_months >= 0),
    instalments                     integer     not null check (instalments > 0),
    max_term_months                 integer,
    limit_micro_krw                 bigint      not null check (limit_micro_krw > 0),
    limit_sme_krw                   bigint      not null check (limit_sme_krw > 0),
    min_months_since_registration   integer,              -- null: not a rule of this program
    requires_district               boolean     not null,
    excludes_current_fund_borrowers boolean     not null,
    uses_rounds                     boolean     not null, -- lends from fund rounds with budgets
    requires_guarantee              boolean     not null, -- screening asks the guarantee agency
    guarantee_agency                text,
    subsidy_rate_pct                numeric(6, 3),        -- 이차보전율: percentage points the district pays
    subsidy_months                  integer,              -- 이차보전기간
    partner_bank                    text,                 -- 협약은행
    district_contribution_krw       bigint,               -- 출연금, when known
    guarantee_limit_krw             bigint,
    allowed_purposes                text[]      not null,
    required_documents              text[]      not null,
    notes                           text
);

-- Excluded industries per program: stems matched against the business's industry
-- (spaces ignored): an industry containing one is excluded.
create table program_excluded_industries (
    program  text not null references programs (code),
    industry text not null,
    primary key (program, industry)
);

-- Where a place of business counts as "in the district": the 15 administrative dongs
-- (since 1 July 2025) and 용신동, which records from before the split still name.
create table district_dongs (
    dong           text primary key,
    administrative boolean not null
);

-- Fund rounds with their budgets. `reserved_krw` is what screening has set aside for
-- eligible applications; it can never exceed the budget (see handlers.reserve_budget).
create table fund_rounds (
    id           text primary key,                 -- '2025-1'
    program      text        not null references programs (code),
    name         text        not null,
    opens_on     date        not null,
    closes_on    date,
    budget_krw   bigint      not null check (budget_krw >= 0),
    reserved_krw bigint      not null default 0,
    updated_at   timestamptz not null default now(),
    check (reserved_krw >= 0 and reserved_krw <= budget_krw),
    check (closes_on is null or closes_on >= opens_on)
);

insert into programs (code, name, name_en, money_from, annual_rate_pct, grace_months, instalments, max_term_months,
                      limit_micro_krw, limit_sme_krw, min_months_since_registration, requires_district,
                      excludes_current_fund_borrowers, uses_rounds, requires_guarantee, guarantee_agency,
                      subsidy_rate_pct, subsidy_months, partner_bank, district_contribution_krw, guarantee_limit_krw,
                      allowed_purposes, required_documents, notes)
values
    ('sme_development_fund', '중소기업육성기금', 'District SME development fund', 'district_fund', 1.500, 12, 48, 60,
     50000000, 100000000, 6, true, true, true, false, null, null, null, '협약은행 지점', null, null,
     '{operating}', '{application_form,fund_use_plan,sme_confirmation}',
     '2025 terms: two rounds, 1.5% fixed, 1 year grace then 4 years of equal instalments; working capital only'),
    ('bank_cooperation', '시중은행 협력자금', 'Commercial-bank cooperation fund', 'partner_bank', null, 12, 48, 60,
     50000000, 100000000, null, true, false, false, true, 'SEOUL_CREDIT_GUARANTEE', 2.000, 24, '협약 시중은행', null,
     100000000, '{operating,facility}', '{application_form,sme_confirmation}',
     'the bank lends its own money at its rate; the district pays part of the interest (이차보전). '
     'Limits, subsidy rate/period, grace and instalments are (inferred) placeholders until the year''s notice');

insert into program_excluded_industries (program, industry)
select p, i from unnest(array['sme_development_fund', 'bank_cooperation']) as p,
       unnest(array['금융', '보험', '부동산', '숙박', '주점', '유흥', '사행', '무도장', '도박']) as i;

insert into district_dongs (dong, administrative) values
    ('용두동', true), ('신설동', true), ('제기동', true), ('전농1동', true), ('전농2동', true),
    ('답십리1동', true), ('답십리2동', true), ('장안1동', true), ('장안2동', true), ('청량리동', true),
    ('회기동', true), ('휘경1동', true), ('휘경2동', true), ('이문1동', true), ('이문2동', true),
    ('용신동', false);

insert into fund_rounds (id, program, name, opens_on, closes_on, budget_krw) values
    ('2025-1', 'sme_development_fund', '2025년 상반기 중소기업육성기금', '2025-04-21', '2025-09-16', 3000000000),
    ('2025-2', 'sme_development_fund', '2025년 하반기 중소기업육성기금', '2025-09-17', '2025-12-31', 3000000000);
