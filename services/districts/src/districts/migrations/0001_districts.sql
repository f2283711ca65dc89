-- Districts' directory of businesses: the shared projection (sangsaeng_common.directory),
-- from intake's events. The name is a shop's, blanked on the owner's erasure.
create table businesses (
    id          uuid primary key,
    name        text        not null,
    dong        text        not null,
    stage       text        not null,
    registered  boolean     not null default true,  -- false: a tombstone (erased before its registration arrived)
    erased_at   timestamptz,
    updated_at  timestamptz not null default now()
);

create table districts (
    id                   uuid primary key,
    name                 text        not null,
    dongs                text[]      not null,
    association          text        not null,  -- the merchants' association (상인회), by name
    boundary             jsonb       not null,  -- GeoJSON Polygon, WGS84
    polygon_area_m2      double precision not null,
    excluded_area_m2     double precision not null,  -- roads and common areas declared by the survey
    counted_area_m2      double precision not null,
    state                text        not null check (state in ('proposed', 'under_review', 'designated', 'revoked')),
    proposed_on          date        not null,
    designated_on        date,
    designated_rule      text,
    revoked_on           date,
    revoke_reasons       text[],
    review_reason        text,
    created_by           text        not null,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);
create unique index districts_name on districts (name) where state <> 'revoked';

-- Personal data: the association's representative. Only here, never in an event.
create table representatives (
    district_id  uuid primary key references districts (id),
    name         text not null,
    phone        text
);

create table members (
    district_id      uuid        not null references districts (id),
    business_id      uuid        not null,
    longitude        double precision not null,
    latitude         double precision not null,
    inside_boundary  boolean     not null,
    onnuri_merchant  boolean     not null default false,  -- 온누리상품권 가맹점
    joined_on        date        not null,
    left_on          date,
    left_reason      text,
    primary key (district_id, business_id)
);
create index members_business on members (business_id) where left_on is null;

create table contests (
    id           uuid primary key,
    organiser    text        not null,  -- e.g. 서울특별시, SEMAS
    title        text        not null,
    eligibility  text        not null check (eligibility in ('designated_only', 'any_district')),
    budget_krw   bigint      not null check (budget_krw >= 0),
    opens_on     date        not null,
    deadline     date        not null,
    created_at   timestamptz not null default now()
);

create table entries (
    id             uuid primary key,
    contest_id     uuid        not null references contests (id),
    district_id    uuid        not null references districts (id),
    requested_krw  bigint,
    entered_on     date        not null,
    helped_by      text        not null,  -- the center's staff who helped (the principal)
    selected       boolean,
    awarded_krw    bigint,
    announced_on   date,
    unique (contest_id, district_id)
);
