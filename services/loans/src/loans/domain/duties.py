"""Segregation of duties: whoever submitted an application, or drafted it (recorded the visit
or took the desk request that made the draft), may not decide it (approve or reject) nor
disburse it. Pure: the people, by subject id, in; the refusal's reason (or None) out. The
service layer raises it as a 403 naming the rule; audit's verify checks it again over the log."""

from __future__ import annotations

SEGREGATION_OF_DUTIES = "segregation_of_duties"


def refusal(actor: str, doing: str, *, submitted_by: str | None, drafted_by: str | None) -> str | None:
    """Why `actor` may not do `doing` ("decide", "disburse") to an application submitted by
    `submitted_by` and drafted by `drafted_by` (None: unknown, e.g. a draft older than the rule)."""
    if actor == submitted_by:
        return f"{actor} submitted this application and may not {doing} it; another loan officer must"
    if actor == drafted_by:
        return f"{actor} drafted this application and may not {doing} it; another loan officer must"
    return None
