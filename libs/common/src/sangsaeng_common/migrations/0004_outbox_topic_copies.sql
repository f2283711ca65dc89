-- One event may be published on a second topic too (a referral on its agency's own
-- topic), keeping its ce_id: an event id is unique per topic, not overall.
alter table outbox drop constraint outbox_event_id_key;
alter table outbox add constraint outbox_event_topic_key unique (event_id, topic);
