"""Referrals' service layer: commands (plain dataclasses), handlers (one unit of work each),
views (the API's reads, scoped to the reader) and what an erasure locks first (directory)."""
