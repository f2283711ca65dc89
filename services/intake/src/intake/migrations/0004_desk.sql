-- The desk: a support request's life (open → assigned → in_progress → resolved / closed)
-- with who holds it and how it ended, each step with the words staff gave (personal free
-- text: kept here only, blanked on erasure; the steps' events carry ids and codes).
alter table support_requests
    add column status     text        not null default 'open'
        check (status in ('open', 'assigned', 'in_progress', 'resolved', 'closed')),
    add column assignee   text,                  -- a staff subject id, e.g. S-1001
    add column outcome    text,                  -- SupportResolution / SupportClosure code
    add column updated_at timestamptz not null default now(),
    add check ((status in ('resolved', 'closed')) = (outcome is not null)),
    add check (status = 'open' or status = 'closed' or assignee is not null);

-- The queues: per person (assignee, status) and per status, per need; newest first like every list.
create index support_requests_assignee on support_requests (assignee, status, id desc);
create index support_requests_status on support_requests (status, id desc);
create index support_requests_needs on support_requests using gin (needs);

create table support_request_steps (
    event_id    uuid primary key,                -- the step's event (SupportRequestAssigned, …)
    request_id  uuid        not null references support_requests (id),
    business_id uuid        not null references businesses (id),
    step        text        not null check (step in ('assign', 'start', 'resolve', 'close')),
    status      text        not null,           -- the request's status after the step
    assignee    text,
    outcome     text,
    note        text,                            -- personal free text: blanked on erasure
    actor       text,                            -- the subject id of who took the step
    taken_at    timestamptz not null
);
create index support_request_steps_request on support_request_steps (request_id, taken_at);
create index support_request_steps_business on support_request_steps (business_id);

-- A business's details change (PATCH /businesses/{id}); `version` counts the row's changes
-- of details and is the ETag a PATCH's If-Match may name.
alter table businesses add column version integer not null default 1;
