-- Needs taken down at the desk (intake's SupportRequested) refer as a visit's do: a referral's
-- origin may be the support request (cause_event_id: its SupportRequested).
alter table referrals drop constraint referrals_origin_check;
alter table referrals add constraint referrals_origin_check check (origin in ('visit', 'support_request', 'guarantee', 'staff'));
