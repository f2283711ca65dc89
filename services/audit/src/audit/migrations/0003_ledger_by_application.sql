-- "What did this application look like at time T" reads one application's events.
create index ledger_application on ledger ((data->>'application_id'), position) where data ? 'application_id';
