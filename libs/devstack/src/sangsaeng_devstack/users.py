"""The development users: people and systems as the center's identity provider would know
them. A subject is a pseudonymous staff number (never a name): it is what events carry as
their `actor`. For development and tests only."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AGENCIES", "DEV_USERS", "DevUser", "user"]

#: Partner agency codes, as used in roles ``agency:<CODE>``.
AGENCIES: tuple[str, ...] = (
    "SEOUL_CREDIT_GUARANTEE",
    "SEMAS",
    "KOSME",
    "KBIZ",
    "EMPLOYMENT_INSURANCE",
    "DDM_CHAMBER",
    "SB_FEDERATION",
)


@dataclass(frozen=True)
class DevUser:
    subject: str
    role: str  # staff, planner, loan_officer, auditor, operator, agency
    planner_id: str | None = None  # a planner's id in visits' roster
    agency: str | None = None  # an agency user's agency code

    def claims(self) -> dict[str, str]:
        """The identity this user's token asserts."""
        found = {"sub": self.subject, "role": self.role}
        if self.planner_id:
            found["planner_id"] = self.planner_id
        if self.agency:
            found["agency"] = self.agency
        return found


DEV_USERS: tuple[DevUser, ...] = (
    DevUser("S-1001", "staff"),
    DevUser("S-1002", "staff"),
    # one person per planner of visits' default roster (migration 0003)
    *(DevUser(f"P-20{n:02d}", "planner", planner_id=f"planner-{n:02d}") for n in range(1, 9)),
    DevUser("L-3001", "loan_officer"),
    DevUser("L-3002", "loan_officer"),
    DevUser("A-4001", "auditor"),
    DevUser("O-5001", "operator"),
    *(DevUser(f"G-{code}", "agency", agency=code) for code in AGENCIES),
)


def user(subject: str) -> DevUser:
    for found in DEV_USERS:
        if found.subject == subject:
            return found
    raise KeyError(f"no development user {subject}")
