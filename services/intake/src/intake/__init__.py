"""Intake: the center's front door (businesses, owners and consent, stages, support
requests, erasure) and the business timeline built from every service's events.

The rooms:

    domain/          pure rules, no I/O: registration numbers, dongs and micro-businesses, changes of details,
                     stage moves, consent times, support requests and their lifecycle, cursors, timeline lines
    service_layer/   commands.py  plain frozen dataclasses, one per command
                     handlers.py  one command in one unit of work (a `Tx`): domain rules,
                                  repository writes, events through the outbox; raises
                                  only sangsaeng_common.errors; the resident-number guard
                     reads.py     the read side's checks (search filters, not found)
    adapters/        every SQL statement: repository.py (writes and the locks taken
                     inside a unit of work), queries.py (reads, keyset pages)
    entrypoints/     http.py (thin routes), schemas.py (pydantic request/response
                     models), consumers.py (the timeline's Kafka handlers)
    bootstrap.py     the composition root: `build()` reads config.py's settings, builds
                     the Seoul clock and wires it into the routes and consumers
    migrations/      the schema
"""
