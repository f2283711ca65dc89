"""What one loan application looked like at a given time: a pure fold of the ledger's events
about it (loans' own, and the guarantee outcome referrals reports), in ledger order.

Applications are loans' command-side state, which no consumer replay rebuilds; the ledger
holds every event that changed one, so folding them up to T gives its state at T. The
statuses follow loans' state machine (loans.domain.states); the audit service reads events,
never loans' code. An event the fold does not know is kept in the history and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from audit.domain.events import LedgerEvent

GUARANTEE_OUTCOMES = {"guarantee_issued": "awaiting_decision", "guarantee_declined": "rejected"}
WAITING_FOR_GUARANTEE = {"awaiting_guarantee", "guarantee_overdue"}


def _pick(data: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {f: data.get(f) for f in fields}


def _repayment(position: dict[str, Any], name: str, d: dict[str, Any]) -> dict[str, Any]:
    """A disbursed loan's repayments so far (the status stays disbursed: repaying is not a step of the application)."""
    position = {"repayments": 0, "principal_repaid_krw": 0, "missed_instalments": [], "repaid_on": None, **position}
    if name == "LoanRepaymentRecorded":
        position |= {"repayments": position["repayments"] + 1,
                     "principal_repaid_krw": position["principal_repaid_krw"] + int(d.get("principal_krw") or 0),
                     **_pick(d, "outstanding_principal_krw", "overdue_krw"), "last_paid_on": d.get("paid_on")}
    elif name == "LoanRepaid":
        position |= {"repaid_on": d.get("repaid_on"), "outstanding_principal_krw": 0}
    else:
        position |= {"missed_instalments": [*position["missed_instalments"], _pick(d, "instalment", "due_on", "in_arrears_on", "overdue_krw")]}
    return position


def apply(state: dict[str, Any], event: LedgerEvent) -> dict[str, Any]:
    """The application after `event` (a new dict; `state` is left as it was)."""
    d, name = event.data, event.name
    state = {**state, "business_id": state.get("business_id") or d.get("business_id")}
    if name == "LoanDraftCreated":
        state |= {"status": "draft", "draft": _pick(d, "visit_id", "created_on")}
    elif name == "LoanSubmitted":
        state |= {"status": "submitted", **_pick(d, "program", "amount_krw", "purpose", "term_months", "submitted_on")}
    elif name == "LoanScreened":
        state |= {"status": "awaiting_decision" if d.get("eligible") else "rejected",
                  "screening": _pick(d, "eligible", "failed_rules", "round_id", "reserved_krw", "screened_on")}
    elif name == "GuaranteeRequested":
        guarantee = {**_pick(d, "agency", "amount_krw", "requested_on"), **(state.get("guarantee") or {})}
        state |= {"status": GUARANTEE_OUTCOMES.get(guarantee.get("outcome"), "awaiting_guarantee"), "guarantee": guarantee}
    elif name == "GuaranteeTimedOut":
        state |= {"status": "guarantee_overdue", "guarantee": {**(state.get("guarantee") or {}), **_pick(d, "timed_out_on")}}
    elif name == "ReferralCompleted" and d.get("outcome") in GUARANTEE_OUTCOMES:
        # The outcome comes on referrals' topic, and the ledger keeps each topic's order, not
        # the order across topics: it may record the outcome after loans' reaction to it
        # (LoanApproved), which it must not undo, or before the request it answers.
        if state.get("status") in WAITING_FOR_GUARANTEE:
            state |= {"status": GUARANTEE_OUTCOMES[d["outcome"]]}
        state |= {"guarantee": {**(state.get("guarantee") or {}), "outcome": d["outcome"], **_pick(d, "completed_on")}}
    elif name == "LoanApproved":
        state |= {"status": "approved", "decision": {"outcome": "approved", **_pick(d, "amount_krw", "approved_on")}}
    elif name == "LoanRejected":
        state |= {"status": "rejected", "decision": {"outcome": "rejected", **_pick(d, "reason_codes", "rejected_on")}}
    elif name == "LoanDisbursed":
        state |= {"status": "disbursed", "disbursement": _pick(
            d, "amount_krw", "disbursed_on", "annual_rate_pct", "grace_months", "instalments", "first_instalment_on",
            "subsidy_rate_pct", "subsidy_months")}
    elif name in ("LoanRepaymentRecorded", "LoanRepaid", "LoanInArrears"):
        state |= {"repayment": _repayment(state.get("repayment") or {}, name, d)}
    elif name == "LoanWithdrawn":
        state |= {"status": "withdrawn", "withdrawal": _pick(d, "reason_code", "withdrawn_on")}
    history = [*state.get("history", []), {"position": event.position, "event_id": event.event_id, "type": event.event_type,
                                          "time": event.time.isoformat(), "status": state.get("status"),
                                          "actor": event.actor}]  # who caused it (ce_actor): the submitter, the decider…
    return state | {"history": history}


def application_state(application_id: str, events: Iterable[LedgerEvent], at: datetime) -> dict[str, Any] | None:
    """The application `application_id` as of `at`, from its events in ledger order (those
    after `at` are ignored); None if nothing had happened to it by then."""
    state: dict[str, Any] = {}
    for event in events:
        if str(event.data.get("application_id")) == application_id and event.time <= at:
            state = apply(state, event)
    if not state:
        return None
    return {"application_id": application_id, "as_of": at.isoformat(), **state}


def as_of(at: datetime | None, now: datetime) -> datetime:
    """The moment asked about: `now` if none, UTC if it names no zone."""
    if at is None:
        return now
    return at if at.tzinfo else at.replace(tzinfo=UTC)
