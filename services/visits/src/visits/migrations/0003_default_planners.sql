-- The default roster: 8 planners covering the 15 administrative dongs, neighbouring dongs
-- shared so that the lightest-load rule has a choice. Every dong has at least one planner.
-- A real roster replaces these rows (planners are data, not code).
insert into planners (id, name, daily_capacity) values
    ('planner-01', '플래너 01', 6),
    ('planner-02', '플래너 02', 6),
    ('planner-03', '플래너 03', 6),
    ('planner-04', '플래너 04', 6),
    ('planner-05', '플래너 05', 6),
    ('planner-06', '플래너 06', 6),
    ('planner-07', '플래너 07', 6),
    ('planner-08', '플래너 08', 6);

insert into planner_territories (planner_id, dong) values
    ('planner-01', '용두동'), ('planner-01', '신설동'),
    ('planner-02', '용두동'), ('planner-02', '제기동'), ('planner-02', '청량리동'),
    ('planner-03', '전농1동'), ('planner-03', '전농2동'), ('planner-03', '청량리동'),
    ('planner-04', '전농2동'), ('planner-04', '답십리1동'), ('planner-04', '답십리2동'),
    ('planner-05', '답십리2동'), ('planner-05', '장안1동'), ('planner-05', '장안2동'),
    ('planner-06', '제기동'), ('planner-06', '회기동'), ('planner-06', '휘경1동'),
    ('planner-07', '장안2동'), ('planner-07', '휘경2동'), ('planner-07', '이문1동'),
    ('planner-08', '회기동'), ('planner-08', '이문1동'), ('planner-08', '이문2동');
