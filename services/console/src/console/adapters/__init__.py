"""The console's outside world: the services' HTTP APIs (api.py) and the topics, for live updates (live.py)."""
