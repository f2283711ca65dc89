"""Audit: the append-only ledger of every event, a Merkle transparency log with signed
checkpoints (contracts/ledger.md); proofs, verify, report, export, replay.

The map, room by room:

- ``domain/``         pure rules, no I/O: an entry's bytes (entry), the RFC 9162 tree and its
                      proofs (merkle), signed checkpoints (checkpoint), the stored log checked
                      against itself (log_check), an event's business date (business_date), the
                      cross-service rules (rules), the report (report), one application folded
                      up to a moment (application), reporting periods (period), the ledger's
                      event (events).
- ``service_layer/``  commands.py: one frozen dataclass per request (Record, Verify, Report,
                      ExportEvents, ExportLog, ApplicationAt); handlers.py: the use cases; log.py
                      the transparency log's (checkpoints, proofs, entries, the log check, the
                      export's proofs); both raise only sangsaeng_common.errors.
- ``adapters/``       every SQL statement: ledger.py the append of entries and tree nodes under
                      the head lock, the checkpoints' store, the tree's nodes; queries.py the
                      reads (entries, checkpoints, events, export, one application's events).
- ``entrypoints/``    http.py the auditors' read-only API (``/events`` is what services replay
                      from); consumers.py the ledger's one consumer and the checkpoint signer; cli.py the auditors' command
                      line; report_tables.py and render.py the report as terminal tables and as
                      JSON, CSV and PNG files.
- ``bootstrap.py``    the composition root: ``build()`` the service, ``command_line()`` its CLI.
- ``config.py``       settings (programs' limits, services' URLs, the log's origin, signing key
                      file, trusted keys and checkpoint interval, the clock's test offset).
- ``migrations/``     the ledger's schema, its append-only triggers and the runtime role's grants.
"""
