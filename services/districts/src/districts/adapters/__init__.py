"""Every SQL statement of districts: repository.py (writes), queries.py (reads), directory.py (the businesses table)."""
