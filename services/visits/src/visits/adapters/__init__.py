"""Every SQL statement of visits: repository.py (what commands read, lock and write inside
a unit of work), queries.py (the read side's views)."""
