-- Each stage change with the words staff gave for it. BusinessStageChanged.v2 carries only
-- `reason_code`: free text can name people and the log keeps every event forever, so the
-- text stays here, where an erasure blanks it.
create table stage_changes (
    event_id    uuid primary key,
    business_id uuid        not null references businesses (id),
    from_stage  text        not null,
    to_stage    text        not null,
    reason_code text        not null,
    reason      text,
    changed_on  date        not null,
    recorded_at timestamptz not null default now()
);
create index stage_changes_business on stage_changes (business_id, changed_on);
