-- Who did what to an application, as subject ids (pseudonymous staff numbers, never names):
-- submitted_by and decided_by were kept already; a draft's drafter (the actor of the visit or
-- desk request that made it) and the disburser join them. The segregation of duties reads them
-- (loans.domain.duties). Drafts made before this migration have no recorded drafter.
alter table applications add column drafted_by text, add column disbursed_by text;
