"""Sangsaeng loans: the district's two loan programs, from application to disbursement.

The map, room by room:

- `bootstrap.py`   the composition root: `build()` reads `LoansSettings` (`config.py`), builds the
                   Seoul clock and the budget claims' side pools, wires them into what follows.
- `domain/`        pure rules, no I/O: the application's states, eligibility, repayment schedules,
                   which needs make a draft (`drafts.py`).
- `service_layer/` `commands.py` (plain dataclasses), `handlers.py` (one unit of work each: the
                   submission, screening, the guarantee saga, decisions, disbursement, rounds) and
                   `directory.py` (loans' own part of intake's business events: an erasure, and a
                   change of details screening undecided applications again).
- `adapters/`      every SQL statement: `repository.py` (writes), `queries.py` (reads), `budget.py`
                   (fund-round claims committed apart, and why), `directory.py` (the `businesses`
                   table as loans reads it; the shared sangsaeng_common.directory writes it).
- `entrypoints/`   `http.py` (routes) with `schemas.py` (their bodies), `consumers.py` (the Kafka
                   handlers, the directory's declaration, and the guarantee sweeper).
- `migrations/`    the schema.
"""
