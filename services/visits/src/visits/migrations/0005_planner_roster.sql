-- Planners and territories are kept by staff through the API (POST /planners, PATCH
-- /planners/{id}, PUT /planners/{id}/territory), each change an event. A territory holds
-- administrative dongs only: the 15 since 1 July 2025 (the default roster's are).
alter table planners add column updated_at timestamptz not null default now();

alter table planner_territories add constraint planner_territories_administrative_dong check (dong in (
    '용두동', '신설동', '제기동', '전농1동', '전농2동', '답십리1동', '답십리2동', '장안1동',
    '장안2동', '청량리동', '회기동', '휘경1동', '휘경2동', '이문1동', '이문2동'));
