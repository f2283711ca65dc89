-- Planners and their territories (sets of administrative dongs).
create table planners (
    id             text primary key,            -- "planner-01"
    name           text        not null,
    daily_capacity integer     not null check (daily_capacity > 0),
    active         boolean     not null default true,
    created_at     timestamptz not null default now()
);

create table planner_territories (
    planner_id text not null references planners (id),
    dong       text not null,
    primary key (planner_id, dong)
);
create index planner_territories_dong on planner_territories (dong);

-- The owner asked for erasure: the directory keeps only non-personal facts.
alter table businesses add column erased_at timestamptz;

-- One row per visit: scheduled, then recorded or cancelled.
create table visits (
    id                   uuid primary key,
    business_id          uuid        not null references businesses (id),
    dong                 text        not null,         -- the business's dong when scheduled
    planner_id           text        not null references planners (id),  -- assigned
    status               text        not null check (status in ('scheduled', 'recorded', 'cancelled')),
    scheduled_for        date        not null,
    needs                text[]      not null default '{}',
    origin               text        not null check (origin in ('support_request', 'staff', 'reschedule')),
    request_id           uuid unique,                  -- the SupportRequested that caused it
    over_capacity        boolean     not null default false,  -- nobody covering had room: overbooked
    reassign_reason      text,                         -- staff's override when moved outside a territory
    -- the record
    visited_on           date,
    visited_by           text references planners (id),
    outcome              text,
    stage_observed       text,
    needs_identified     text[],
    services_given       text[],
    notes                text,                         -- free text: stays here, never in events
    override_reason      text,
    recorded_at          timestamptz,
    -- the cancellation
    cancel_reason        text,
    rescheduled_visit_id uuid references visits (id),
    cancelled_at         timestamptz,
    rescheduled_from     uuid references visits (id),
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);
-- At most one open visit per business: a second request for the same shop joins it.
create unique index visits_one_open_per_business on visits (business_id) where status = 'scheduled';
create index visits_planner_day on visits (planner_id, scheduled_for) where status <> 'cancelled';
create index visits_business on visits (business_id);
create index visits_visited_on on visits (visited_on) where status = 'recorded';

create table follow_ups (
    visit_id uuid    not null references visits (id),
    position integer not null,
    action   text    not null,
    due_on   date    not null,
    done_on  date,
    primary key (visit_id, position)
);
create index follow_ups_open on follow_ups (due_on) where done_on is null;
