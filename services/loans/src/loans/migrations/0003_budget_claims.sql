-- A fund-round reservation committed apart from the screening's batch transaction (see
-- loans/budget.py): counted in fund_rounds.reserved_krw, not yet in the application's
-- reserved_krw. The screening's transaction deletes the row as it writes the application,
-- so a row outlives a screening only when that screening rolled back. No foreign key to
-- applications: its check would wait for the screening's lock on the application's row.
create table budget_claims (
    application_id uuid primary key,
    round_id       text        not null references fund_rounds (id),
    amount_krw     bigint      not null check (amount_krw > 0),
    claimed_at     timestamptz not null default now()
);
