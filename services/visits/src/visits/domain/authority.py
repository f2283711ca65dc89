"""Who may act on a visit: a planner only on the visits assigned to them; staff on any, on a
planner's behalf. Pure: the caller, the visit's assigned planner and the planner a record
names in, a refusal's reason (or None) out. The service layer raises it as a 403 naming
the rule; audit's verify checks the same rule over the log."""

from __future__ import annotations

from dataclasses import dataclass

OWN_VISITS_ONLY = "own_visits_only"


@dataclass(frozen=True)
class Caller:
    role: str  # "planner" or "staff" (the routes admit no one else)
    planner_id: str | None = None  # a planner's own id in the roster (their token's)


def refusal(caller: Caller, assigned: str, named: str | None = None) -> str | None:
    """Why `caller` may not record (or complete a follow-up of) a visit assigned to
    `assigned`, naming `named` as the planner who visited; None if they may."""
    if caller.role != "planner":
        return None  # staff act on any planner's behalf (and reassign)
    if caller.planner_id is None:
        return "the caller's token names no planner id, so no visit is theirs"
    if named is not None and named != caller.planner_id:
        return f"a planner records only their own visits: planner_id {named} is not the caller ({caller.planner_id}); staff record on a planner's behalf"
    if assigned != caller.planner_id:
        return f"the visit is assigned to {assigned}, not to the caller ({caller.planner_id}); staff reassign visits"
    return None
