"""The cross-service rules an auditor checks over the log. Pure: events in, findings out.

The rules about people read each event's actor (ce_actor, a subject id) and check what the
services enforce, again, over what was recorded:

- `segregation_of_duties`: a LoanApproved, an officer's LoanRejected (`officer_decision`) or
  a LoanDisbursed whose actor submitted (LoanSubmitted's actor) or drafted (LoanDraftCreated's
  actor, the visit's or desk request's) the same application.
- `own_visits_only`: a VisitRecorded naming a planner other than the one the visit was
  assigned to (its latest VisitScheduled before the record). A planner's record names the
  planner themself, and staff recording on another planner's behalf reassign the visit first,
  so any difference is a record by someone other than the assigned planner. What the log
  cannot prove: that the actor (a subject id) *is* the planner named — which person holds which
  planner id lives at the identity provider, not in the log.
- `own_agency_referrals_only`: a ReferralAcknowledged or ReferralCompleted answering, as one
  agency, a referral that was sent (ReferralSent) to another. The answering agency is the
  event's `agency` (the answering user's, stamped by referrals); which agency a subject
  belongs to is, again, the identity provider's.

Events recorded before events carried an actor (no ce_actor) cannot break the first rule.

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
    submitted_by: str | None = None  # LoanSubmitted's actor
    drafted: tuple[str, str] | None = None  # (LoanDraftCreated's event id, its actor)
    screened_eligible: str | None = None
    guarantee: tuple[str, int | None] | None = None  # (event id, guaranteed amount)


@dataclass
class _State:
    applications: defaultdict = field(default_factory=lambda: defaultdict(_Application))
    micro: dict[str, bool] = field(default_factory=dict)
    consents: defaultdict = field(default_factory=lambda: defaultdict(dict))  # business -> consent id -> agencies
    erased: dict[str, str] = field(default_factory=dict)
    districts: district_rules.DistrictLedger = field(default_factory=district_rules.DistrictLedger)
    visit_planners: dict[str, tuple[str, str]] = field(default_factory=dict)  # visit -> (assigned planner, VisitScheduled's id)
    referral_agencies: dict[str, tuple[str, str]] = field(default_factory=dict)  # referral -> (agency, ReferralSent's id)


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
    application = state.applications[str(event.data["application_id"])]
    application.submitted, application.submitted_by = event.event_id, event.actor
    return []


def _drafted(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    if event.actor:
        state.applications[str(event.data["application_id"])].drafted = (event.event_id, event.actor)
    return []


def _own_application(state: _State, event: LedgerEvent, doing: str) -> list[Finding]:
    """segregation_of_duties: the event's actor neither submitted nor drafted the application."""
    application, actor = state.applications[str(event.data["application_id"])], event.actor
    if actor is None:
        return []
    found = []
    if actor == application.submitted_by and application.submitted:
        found.append(Finding("segregation_of_duties", event.event_id,
                             f"{actor} {doing} application {event.data['application_id']}, which {actor} submitted", (application.submitted,)))
    if application.drafted and actor == application.drafted[1]:
        found.append(Finding("segregation_of_duties", event.event_id,
                             f"{actor} {doing} application {event.data['application_id']}, which {actor} drafted", (application.drafted[0],)))
    return found


def _rejected(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    # Only an officer's decision is a person's: a screening's or a declined guarantee's rejection
    # follows its cause and carries the cause's actor (the submitter, the agency's user).
    if "officer_decision" not in (event.data.get("reason_codes") or []):
        return []
    return _own_application(state, event, "rejected")


def _disbursed(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    return _own_application(state, event, "disbursed")


def _visit_scheduled(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    state.visit_planners[str(event.data["visit_id"])] = (str(event.data["planner_id"]), event.event_id)
    return []


def _visit_recorded(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    visit, recorded_by = str(event.data["visit_id"]), str(event.data["planner_id"])
    assigned = state.visit_planners.get(visit)
    if assigned is None or assigned[0] == recorded_by:
        return []
    by = f" (actor {event.actor})" if event.actor else ""
    return [Finding("own_visits_only", event.event_id,
                    f"visit {visit} assigned to {assigned[0]} was recorded as visited by {recorded_by}{by}", (assigned[1],))]


def _referral_answered(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    sent = state.referral_agencies.get(str(event.data["referral_id"]))
    if sent is None or sent[0] == event.data.get("agency"):
        return []
    by = f" (actor {event.actor})" if event.actor else ""
    return [Finding("own_agency_referrals_only", event.event_id,
                    f"{event.data.get('agency')}{by} answered referral {event.data['referral_id']}, which was sent to {sent[0]}", (sent[1],))]


def _screened(state: _State, event: LedgerEvent, _limits) -> list[Finding]:
    if event.data.get("eligible"):
        state.applications[str(event.data["application_id"])].screened_eligible = event.event_id
    return []


def _referral_completed(state: _State, event: LedgerEvent, limits) -> list[Finding]:
    found = _referral_answered(state, event, limits)
    if event.data.get("outcome") == "guarantee_issued" and event.data.get("application_id"):
        amount = event.data.get("amount_krw")
        state.applications[str(event.data["application_id"])].guarantee = (event.event_id, int(amount) if amount else None)
    return found


def _approved(state: _State, event: LedgerEvent, limits) -> list[Finding]:
    data, found = event.data, _own_application(state, event, "approved")
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
    state.referral_agencies[str(data["referral_id"])] = (str(data["agency"]), event.event_id)
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
    "LoanDraftCreated": _drafted,
    "LoanRejected": _rejected,
    "LoanDisbursed": _disbursed,
    "VisitScheduled": _visit_scheduled,
    "VisitRecorded": _visit_recorded,
    "ReferralAcknowledged": _referral_answered,
    "LoanScreened": _screened,
    "ReferralCompleted": _referral_completed,
    "LoanApproved": _approved,
    "ConsentGiven": _consent_given,
    "ConsentWithdrawn": _consent_withdrawn,
    "BusinessErased": _erased,
    "ReferralSent": _referral_sent,
}
