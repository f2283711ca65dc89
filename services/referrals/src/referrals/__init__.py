"""Referrals: partner agencies, referral rules, consent gating and the agency API.

The map:
  domain/         pure rules, no I/O: agencies and programs (agencies.py), which events refer
                  where and the 30-day rule (rules.py), a referral's life and the consent gate (referral.py)
  service_layer/  commands.py (plain dataclasses), handlers.py (one unit of work each, raising
                  sangsaeng_common.errors), views.py (the API's reads, scoped to the reader),
                  directory.py (the lock an erasure takes first)
  adapters/       every SQL statement: repository.py (writes, locked rows, the advisory lock),
                  queries.py (reads), directory.py (the `businesses` table as the rules read it)
  entrypoints/    http.py (routes), schemas.py (pydantic bodies), consumers.py (Kafka handlers; the
                  shared business directory's declaration)
  bootstrap.py    the composition root: `build()` reads config.py's policy, builds the SeoulClock, wires it all
  config.py       the REFERRAL_ policy class
  migrations/     the schema
"""
