"""Audit: the append-only, hash-chained ledger of every event; verify, report, export, replay.

The map, room by room:

- ``domain/``         pure rules, no I/O: the hash chain (chain), the cross-service rules (rules),
                      the report (report), one application folded up to a moment (application),
                      reporting periods (period), the ledger's event (events).
- ``service_layer/``  commands.py: one frozen dataclass per request (Record, Verify, Report,
                      ExportEvents, ApplicationAt); handlers.py: the use cases, raising only
                      sangsaeng_common.errors.
- ``adapters/``       every SQL statement: ledger.py the append under the head lock (the only
                      write), queries.py the reads (chain, events, export, one application's events).
- ``entrypoints/``    http.py the auditors' read-only API (``/events`` is what services replay
                      from); consumers.py the ledger's one consumer; cli.py the auditors' command
                      line; report_tables.py and render.py the report as terminal tables and as
                      JSON, CSV and PNG files.
- ``bootstrap.py``    the composition root: ``build()`` the service, ``command_line()`` its CLI.
- ``config.py``       settings (programs' limits, services' URLs, the clock's test offset).
- ``migrations/``     the ledger's schema, its append-only triggers and the runtime role's grants.
"""
