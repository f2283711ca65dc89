"""Districts: alley-type shopping districts (골목형상점가), designation and public contests (공모사업).

The map:
  domain/         pure rules, no I/O: the boundary's area and point-in-polygon (geometry.py,
                  shapely + pyproj), designation rules as dated data (rules.py), a district's
                  lifecycle and which stores count (district.py), contest entry rules (contest.py)
  service_layer/  commands.py (plain dataclasses), handlers.py (one unit of work each, raising
                  sangsaeng_common.errors), views.py (the API's reads)
  adapters/       every SQL statement: repository.py (writes, locked rows), queries.py (reads),
                  directory.py (reads of the `businesses` table the shared directory writes)
  entrypoints/    http.py (routes), schemas.py (pydantic bodies), consumers.py (Kafka handlers and
                  the shared business directory's declaration, sangsaeng_common.directory)
  bootstrap.py    the composition root: `build()` reads config.py's policy, builds the SeoulClock, wires it all
  config.py       the DISTRICTS_ policy (designation rules as data)
  migrations/     the schema (the representative, personal data, only in `representatives`)
"""
