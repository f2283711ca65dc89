"""Visits: the visiting planners (찾아가는 소상공인 플래너) — planners and territories, visits
scheduled (from staff or from intake's support requests), recorded, cancelled and
reassigned, the visit report, and visits' directory of businesses.

The rooms:

    domain/          pure rules, no I/O: planning.py (dongs, territories, who gets a visit),
                     recording.py (which needs call for a visit, what a record must satisfy)
    service_layer/   commands.py  plain frozen dataclasses, one per command
                     handlers.py  one command in one unit of work (a `Tx`): domain rules,
                                  repository calls, events through the outbox, the planner
                                  locks (LOCKING); raises only sangsaeng_common.errors; the
                                  resident-number guard; the directory's hooks
                     reads.py     the read side's checks (not found, notes hidden from auditors)
    adapters/        every SQL statement: repository.py (what commands read, lock and
                     write), queries.py (the read side's views and the report)
    entrypoints/     http.py (thin routes), schemas.py (pydantic request/response models),
                     consumers.py (the Kafka handlers; the directory's declaration)
    bootstrap.py     the composition root: `build()` reads config.py's settings and policy,
                     builds the Seoul clock and wires them into the routes and consumers
    migrations/      the schema
"""
