"""Referrals' pure rules: agencies and programs as data, which events refer where, the
30-day rule, consent gating and the answers agencies may give. No I/O here."""
