"""Visits' pure rules: no I/O, no clock, no database."""
