"""Visits' service layer: commands (plain data), handlers (one unit of work each) and reads."""
