"""Sessions and CSRF (sessions.py), and what each page shows, fetched from the services' APIs (pages.py)."""
