"""Every SQL statement of referrals (besides migrations/): repository (writes and the rows a
command locks), queries (reads), directory (the `businesses` table fed by intake's events)."""
