"""Thin entrypoints: the HTML routes (http.py) and the command line (cli.py)."""
