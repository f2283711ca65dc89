"""Every SQL statement of referrals (besides migrations/): repository (writes and the rows a
command locks), queries (reads), directory (reads of the `businesses` table, which
sangsaeng_common.directory writes)."""
