"""Districts' service layer: commands (plain dataclasses), handlers (one unit of work each)
and the business directory's handlers."""
