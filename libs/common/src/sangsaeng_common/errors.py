"""Domain errors: what the service layer raises when a command cannot be done.

They know nothing of HTTP. The entrypoints map them to RFC 9457 problem+json in one
place (`sangsaeng_common.http.install_problem_handlers`): `Invalid` → 422 naming each field,
`NotFound` → 404, `Conflict` → 409, `Forbidden` → 403 (`RuleBroken`: a 403 naming the rule), `NotYetKnown` → 503 with Retry-After
(a fact another service has published but this one has not yet heard of: retry, not wrong).
`extensions` become extra members of the problem document (e.g. `status_now`)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command refused for a reason its caller can act on."""

    def __init__(self, title: str, detail: str | None = None, **extensions: Any):
        super().__init__(detail or title)
        self.title, self.detail, self.extensions = title, detail, extensions


class Invalid(DomainError):
    """The input is wrong; `errors` names each offending field with its message."""

    def __init__(self, errors: list[tuple[str, str]], title: str = "Invalid request"):
        super().__init__(title, "; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def invalid(field: str, message: str) -> Invalid:
    """One offending field: `raise invalid("amount_krw", "must be positive")`."""
    return Invalid([(field, message)])


class NotFound(DomainError):
    """No such resource (or not one the caller may see)."""


class Conflict(DomainError):
    """The command conflicts with the resource's current state."""


class Forbidden(DomainError):
    """The caller may not do this to this resource (beyond what its role allows)."""


class RuleBroken(Forbidden):
    """A rule about who may do what refuses the command: 403, the rule named in the problem's
    `rule` member and in its title and detail (e.g. `own_visits_only`), so that a client can
    tell one rule from another and a person reading it knows which one held."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"Refused by rule {rule}", f"{rule}: {detail}", rule=rule)
        self.rule = rule


class NotYetKnown(DomainError):
    """A fact another service published has not reached this one yet: retry shortly."""

    def __init__(self, title: str, detail: str | None = None, retry_after_s: int = 1, **extensions: Any):
        super().__init__(title, detail, **extensions)
        self.retry_after_s = retry_after_s
