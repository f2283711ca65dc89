"""The cross-service rules an auditor checks over the log. Pure: events in, findings out.

Events are taken in CloudEvents time order (then ledger position): services publish on
different topics, so the ledger's arrival order between services is not the order in
which things happened, while each producer stamps `ce_time` when the fact is committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from audit.domain import district_rules
from audit.domain.events import LedgerEvent

# The limits of reference/dongdaemun.md; configuration (AUDIT_PROGRAM_LIMITS) overrides.
DEFAULT_LIMITS: dict[str, dict[str, int]] = {"sme_development_fund": {"sme": 100_000_000, "micro": 50_000_000}}


@dataclass(frozen=True)
class Finding:
    rule: str
    event_id: str
    detail: str
    related: tuple[str, ...] = ()


@dataclass
class _Application:
    submitted: str | None = None
    screened_eligible: str | None = None
    guarantee: tuple[str, int | None] | None = None  # (event id, guaranteed amount)


@dataclass
class _State:
    applications: defaultdict = field(default_factory=lambda: defaultdict(_Application))
    micro: dict[str, bool] = field(default_factory=dict)
    consents: defaultdict = field(default_factory=lambda: defaultdict(dict))  # business -> consent id -> agencies
    erased: dict[str, str] = field(default_factory=dict)
    districts: district_rules.DistrictLedger = field(default_factory=district_rules.DistrictLedger)


def check_rules(events: Iterable[LedgerEvent], limits: dict[str, dict[str, int]] | None = None) -> list[Finding]:
    limits = limits or DEFAULT_LIMITS
    state = _State()
    findings: list[Finding] = []
    for event in sorted(events, key=lambda e: (e.time, e.position)):
        handler = _RULES.get(event.name)
        if handler is not None:
            findings.extend(handler(state, event, limits))
        findings.extend(Finding(*found) for found in district_rules.check(state.districts, event))
    return findings


def _registered(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    state.micro[str(event.data["business_id"])] = bool(event.data.get("is_micro_business"))
    return []


def _details_changed(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    # The micro-business flag is carried only when a change of details moved it.
    if event.data.get("is_micro_business") is not None:
        state.micro[str(event.data["business_id"])] = bool(event.data["is_micro_business"])
    return []


def _submitted(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    state.applications[str(event.data["application_id"])].submitted = event.event_id
    return []


def _screened(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    if event.data.get("eligible"):
        state.applications[str(event.data["application_id"])].screened_eligible = event.event_id
    return []


def _referral_completed(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    if event.data.get("outcome") == "guarantee_issued" and event.data.get("application_id"):
        amount = event.data.get("amount_krw")
        state.applications[str(event.data["application_id"])].guarantee = (event.event_id, int(amount) if amount else None)
    return []


def _approved(state: _State, event: LedgerEvent, limits) -> list[Finding]:
    data, found = event.data, []
    application = state.applications[str(data["application_id"])]
    amount, program = int(data["amount_krw"]), data["program"]
    if application.submitted is None:
        found.append(Finding("approval_without_submission", event.event_id, f"application {data['application_id']} approved but never submitted"))
    if application.screened_eligible is None:
        found.append(Finding("approval_without_eligible_screening", event.event_id, f"application {data['application_id']} approved without an eligible screening"))
    if program == "bank_cooperation":
        if application.guarantee is None:
            found.append(Finding("approval_without_guarantee", event.event_id, f"bank cooperation application {data['application_id']} approved without a guarantee issued"))
        elif application.guarantee[1] is not None and amount > application.guarantee[1]:
            found.append(
                Finding("approval_above_guarantee", event.event_id, f"approved ₩{amount:,} above the guaranteed ₩{application.guarantee[1]:,}", (application.guarantee[0],))
            )
    if program in limits:
        size = "micro" if state.micro.get(str(data["business_id"]), True) else "sme"
        limit = limits[program].get(size)
        if limit is not None and amount > limit:
            found.append(Finding("approval_above_limit", event.event_id, f"approved ₩{amount:,} above the {program} limit ₩{limit:,} for a {size} business"))
    return found


def _consent_given(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    state.consents[str(event.data["business_id"])][str(event.data["consent_id"])] = set(event.data["agencies"])
    return []


def _consent_withdrawn(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    state.consents[str(event.data["business_id"])].pop(str(event.data["consent_id"]), None)
    return []


def _erased(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    state.erased[str(event.data["business_id"])] = event.event_id
    return []


def _referral_sent(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    data = event.data
    if not data.get("personal_data_shared"):
        return []
    business, agency, found = str(data["business_id"]), data["agency"], []
    if business in state.erased:
        found.append(Finding("personal_data_after_erasure", event.event_id, f"referral shared personal data of an erased owner with {agency}", (state.erased[business],)))
    covering = [cid for cid, agencies in state.consents[business].items() if agency in agencies]
    if not covering:
        found.append(Finding("personal_data_without_consent", event.event_id, f"referral shared personal data with {agency} without a consent covering it"))
    return found


_RULES = {
    "BusinessRegistered": _registered,
    "BusinessDetailsChanged": _details_changed,
    "LoanSubmitted": _submitted,
    "LoanScreened": _screened,
    "ReferralCompleted": _referral_completed,
    "LoanApproved": _approved,
    "ConsentGiven": _consent_given,
    "ConsentWithdrawn": _consent_withdrawn,
    "BusinessErased": _erased,
    "ReferralSent": _referral_sent,
}
