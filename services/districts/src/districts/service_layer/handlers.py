"""Districts' handlers: each runs in one unit of work (an HTTP command's, or the consumer's
inbox transaction), calls the domain's rules and the adapters, emits its events through the
outbox (`tx.emit`) and refuses with sangsaeng_common.errors only.

A district's row is locked (FOR UPDATE) by every command that changes it or counts its
stores, so a closure arriving while staff designate is counted before or after, never half."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg
import uuid6

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.districts import (
    ContestEntered, ContestResultAnnounced, DistrictDesignated, DistrictProposed, DistrictReviewOpened, DistrictRevoked,
    ReviewReason, StoreJoinedDistrict, StoreLeftDistrict, leave_code_of_text,
)
from sangsaeng_common.contracts.intake import BusinessStageChanged
from sangsaeng_common.errors import Conflict, NotFound, NotYetKnown, invalid
from sangsaeng_common.logging import get_logger
from sangsaeng_common.pii import refuse_resident_numbers
from sangsaeng_common.tx import Tx
from districts.adapters import directory, queries, repository
from districts.config import DistrictsPolicy
from districts.domain import contest as c
from districts.domain import district as d
from districts.domain import geometry, rules
from districts.service_layer import commands as cmds

log = get_logger(__name__)


@dataclass(frozen=True)
class Deps:
    """What the handlers need besides the transaction, built by bootstrap."""

    policy: DistrictsPolicy
    clock: SeoulClock


@dataclass(frozen=True)
class Standing:
    """A district's count against the rules on a day: the rule it is held to and the others beside it."""

    counted_business_ids: list[UUID]
    checks: list[rules.Check]  # the designation rule first

    @property
    def main(self) -> rules.Check:
        return self.checks[0]


def _state(row: asyncpg.Record) -> d.State:
    return d.State(row["state"])


async def _district_for_update(conn: asyncpg.Connection, district_id: UUID) -> asyncpg.Record:
    row = await repository.district_for_update(conn, district_id)
    if row is None:
        raise NotFound("District not found", f"no district {district_id}")
    return row


def _require(command: str, row: asyncpg.Record) -> None:
    try:
        d.require(command, _state(row))
    except d.NotAllowed as exc:
        raise Conflict("Not allowed in this state", str(exc), state=exc.state.value, allowed=exc.allowed, rule="state") from None


async def standing(conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record, on: date) -> Standing:
    """Which member stores count (inside, operating) and how that compares with each rule in force on `on`."""
    members = [d.Member(m["business_id"], m["inside_boundary"], m["stage"]) for m in await queries.members(conn, row["id"])]
    counted = d.counted(members)
    codes = [deps.policy.designation_rule] + sorted({r.code for r in deps.policy.rules} - {deps.policy.designation_rule})
    checks = []
    for code in codes:
        try:
            checks.append(rules.check(rules.rule_in_force(deps.policy.rules, code, on), row["counted_area_m2"], len(counted)))
        except rules.NoRuleInForce:
            if code == deps.policy.designation_rule:
                raise Conflict("No rule in force", f"no {code} rule is in force on {on}", rule=code) from None
    return Standing(counted, checks)


# ---------------------------------------------------------------- districts


async def propose(tx: Tx, deps: Deps, cmd: cmds.ProposeDistrict) -> asyncpg.Record:
    refuse_resident_numbers({"name": cmd.name, "association": cmd.association, "representative.name": cmd.representative_name,
                             "representative.phone": cmd.representative_phone})
    try:
        boundary = geometry.parse(cmd.boundary)
    except geometry.BadBoundary as exc:
        raise invalid("boundary", str(exc)) from None
    if cmd.excluded_area_m2 >= boundary.area_m2:
        raise invalid("excluded_area_m2", f"roads and common areas ({cmd.excluded_area_m2:,.0f} m²) cover the whole polygon "
                                          f"({boundary.area_m2:,.0f} m²)")
    proposed_on = cmd.proposed_on or deps.clock.today()
    counted_area = d.counted_area(boundary.area_m2, cmd.excluded_area_m2)
    row = await repository.add_district(
        tx.conn, id=uuid6.uuid7(), name=cmd.name, dongs=cmd.dongs, association=cmd.association, boundary=boundary.geojson(),
        polygon_area_m2=round(boundary.area_m2, 2), excluded_area_m2=round(cmd.excluded_area_m2, 2), counted_area_m2=round(counted_area, 2),
        proposed_on=proposed_on, created_by=cmd.by,
    )
    if row is None:
        raise Conflict("District exists", f"a district named {cmd.name!r} exists already", rule="unique_name")
    await repository.set_representative(tx.conn, row["id"], cmd.representative_name, cmd.representative_phone)
    await tx.emit(DistrictProposed(
        district_id=row["id"], name=row["name"], dongs=list(row["dongs"]), association=row["association"], boundary=row["boundary"],
        polygon_area_m2=row["polygon_area_m2"], excluded_area_m2=row["excluded_area_m2"], counted_area_m2=row["counted_area_m2"],
        proposed_on=proposed_on,
    ))
    return row


async def join(tx: Tx, deps: Deps, cmd: cmds.JoinStore) -> asyncpg.Record:
    row = await _district_for_update(tx.conn, cmd.district_id)
    _require("change_members", row)
    business = await directory.business(tx.conn, cmd.business_id)
    if business is not None and business["erased_at"] is not None:
        raise Conflict("Business erased", f"business {cmd.business_id} was erased on the owner's request")
    if business is None or not business["registered"]:
        raise NotYetKnown("Business not known yet", f"districts has not heard of business {cmd.business_id} from intake yet",
                          business_id=str(cmd.business_id))
    existing = await queries.member(tx.conn, cmd.district_id, cmd.business_id)
    if existing is not None and existing["left_on"] is None:
        same = (existing["longitude"], existing["latitude"], existing["onnuri_merchant"]) == (
            geometry.rounded(cmd.longitude), geometry.rounded(cmd.latitude), cmd.onnuri_merchant)
        if same:
            return existing  # joining again with the same facts: nothing changes
        raise Conflict("Member already", f"business {cmd.business_id} is a member of this district already", rule="member")
    longitude, latitude = geometry.rounded(cmd.longitude), geometry.rounded(cmd.latitude)
    inside = geometry.parse(row["boundary"]).contains(longitude, latitude)
    joined_on = cmd.joined_on or deps.clock.today()
    member = await repository.add_member(
        tx.conn, district_id=cmd.district_id, business_id=cmd.business_id, longitude=longitude, latitude=latitude,
        inside_boundary=inside, onnuri_merchant=cmd.onnuri_merchant, joined_on=joined_on,
    )
    await tx.emit(StoreJoinedDistrict(
        district_id=cmd.district_id, business_id=cmd.business_id, longitude=longitude, latitude=latitude,
        inside_boundary=inside, onnuri_merchant=cmd.onnuri_merchant, joined_on=joined_on,
    ))
    return member


async def leave(tx: Tx, deps: Deps, cmd: cmds.LeaveStore) -> asyncpg.Record:
    refuse_resident_numbers({"reason": cmd.reason})
    row = await _district_for_update(tx.conn, cmd.district_id)
    _require("change_members", row)
    existing = await queries.member(tx.conn, cmd.district_id, cmd.business_id)
    if existing is None or existing["left_on"] is not None:
        raise NotFound("Member not found", f"business {cmd.business_id} is not a member of this district")
    left_on = cmd.left_on or deps.clock.today()
    member = await repository.remove_member(tx.conn, cmd.district_id, cmd.business_id, left_on, cmd.reason)
    # The words stay in members.left_reason (blanked on erasure); the event carries the code.
    reason_code = cmd.reason_code or leave_code_of_text(cmd.reason)
    await tx.emit(StoreLeftDistrict(district_id=cmd.district_id, business_id=cmd.business_id, reason_code=reason_code, left_on=left_on))
    await _review_if_below(tx, deps, row, left_on, cmd.business_id)
    return member


async def forget_business(tx: Tx, business_id: UUID) -> None:
    """Districts' part of an erasure (the directory blanked the shop's name): the words given
    when its store left a district go; StoreLeftDistrict.v2 carries only a code."""
    await repository.forget_leave_reasons(tx.conn, business_id)


async def set_onnuri(tx: Tx, deps: Deps, cmd: cmds.SetOnnuri) -> asyncpg.Record:
    """The store's 온누리상품권 merchant status: districts' own record (no event: nobody else acts on it)."""
    member = await repository.set_onnuri(tx.conn, cmd.district_id, cmd.business_id, cmd.onnuri_merchant)
    if member is None:
        raise NotFound("Member not found", f"business {cmd.business_id} is not a member of district {cmd.district_id}")
    return member


async def open_review(tx: Tx, deps: Deps, cmd: cmds.OpenReview) -> asyncpg.Record:
    row = await _district_for_update(tx.conn, cmd.district_id)
    _require("review", row)
    reason = ReviewReason.submitted if _state(row) is d.State.proposed else ReviewReason.staff
    return await _open_review(tx, deps, row, reason, cmd.on or deps.clock.today())


async def _open_review(tx: Tx, deps: Deps, row: asyncpg.Record, reason: ReviewReason, on: date, business_id: UUID | None = None) -> asyncpg.Record:
    now = await standing(tx.conn, deps, row, on)
    updated = await repository.open_review(tx.conn, row["id"], reason.value)
    await tx.emit(DistrictReviewOpened(
        district_id=row["id"], reason=reason, rule=now.main.rule.code, counted_stores=len(now.counted_business_ids),
        required_stores=now.main.required_stores, opened_on=on, business_id=business_id,
    ))
    return updated


async def designate(tx: Tx, deps: Deps, cmd: cmds.Designate) -> tuple[asyncpg.Record, Standing]:
    """Designate under the rule in force, or refuse naming each failed rule."""
    row = await _district_for_update(tx.conn, cmd.district_id)
    on = cmd.on or deps.clock.today()
    failures = []
    if _state(row) is not d.State.under_review:
        failures.append(rules.Failure("state", str(d.NotAllowed("designate", _state(row)))))
    now = await standing(tx.conn, deps, row, on)
    if (failure := now.main.failure()) is not None:
        failures.append(failure)
    if failures:
        raise Conflict("Designation refused", "; ".join(f"{f.rule}: {f.message}" for f in failures),
                       failed_rules=[{"rule": f.rule, "message": f.message} for f in failures],
                       counted_stores=len(now.counted_business_ids), required_stores=now.main.required_stores)
    updated = await repository.designate(tx.conn, row["id"], on, now.main.rule.code)
    await tx.emit(DistrictDesignated(
        district_id=row["id"], rule=now.main.rule.code, stores_required_per_area=now.main.rule.stores,
        per_area_m2=now.main.rule.per_area_m2, counted_area_m2=row["counted_area_m2"], counted_stores=len(now.counted_business_ids),
        required_stores=now.main.required_stores, counted_business_ids=now.counted_business_ids, designated_on=on,
    ))
    return updated, now


async def revoke(tx: Tx, deps: Deps, cmd: cmds.Revoke) -> asyncpg.Record:
    refuse_resident_numbers({f"reasons[{i}]": r for i, r in enumerate(cmd.reasons)})
    row = await _district_for_update(tx.conn, cmd.district_id)
    _require("revoke", row)
    on = cmd.on or deps.clock.today()
    now = await standing(tx.conn, deps, row, on)
    updated = await repository.revoke(tx.conn, row["id"], on, cmd.reasons)
    await tx.emit(DistrictRevoked(district_id=row["id"], reasons=cmd.reasons, counted_stores=len(now.counted_business_ids), revoked_on=on))
    return updated


async def _review_if_below(tx: Tx, deps: Deps, row: asyncpg.Record, on: date, business_id: UUID) -> None:
    """A designated district that no longer meets its rule goes under review, with an event."""
    if _state(row) is not d.State.designated:
        return
    now = await standing(tx.conn, deps, row, on)
    if not now.main.met:
        log.info("designated district below the rule: review", district_id=str(row["id"]), counted=len(now.counted_business_ids),
                 required=now.main.required_stores)
        await _open_review(tx, deps, row, ReviewReason.below_rule, on, business_id)


async def on_stage_changed(tx: Tx, deps: Deps, event: BusinessStageChanged) -> None:
    """A member business's stage changed (e.g. it closed): its districts' counts change; a
    designated one that falls below the rule goes under review."""
    if event.to_stage.value in d.COUNTING_STAGES:
        return  # the count can only grow: nothing to review
    for row in await repository.districts_of_member_for_update(tx.conn, event.business_id):
        await _review_if_below(tx, deps, row, event.changed_on, event.business_id)


# ---------------------------------------------------------------- contests


async def call_contest(tx: Tx, deps: Deps, cmd: cmds.CallContest) -> asyncpg.Record:
    if cmd.deadline < cmd.opens_on:
        raise invalid("deadline", f"the deadline {cmd.deadline} is before the call opens ({cmd.opens_on})")
    return await repository.add_contest(
        tx.conn, id=uuid6.uuid7(), organiser=cmd.organiser, title=cmd.title, eligibility=cmd.eligibility.value,
        budget_krw=cmd.budget_krw, opens_on=cmd.opens_on, deadline=cmd.deadline,
    )


def _refused(refusals: list[c.Refusal], title: str) -> Conflict:
    return Conflict(title, "; ".join(f"{r.rule}: {r.message}" for r in refusals),
                    failed_rules=[{"rule": r.rule, "message": r.message} for r in refusals])


async def enter_contest(tx: Tx, deps: Deps, cmd: cmds.EnterContest) -> asyncpg.Record:
    contest = await repository.contest_for_update(tx.conn, cmd.contest_id)
    if contest is None:
        raise NotFound("Contest not found", f"no contest {cmd.contest_id}")
    district = await repository.district_for_update(tx.conn, cmd.district_id)
    if district is None:
        raise invalid("district_id", f"no district {cmd.district_id}")
    entered_on = cmd.entered_on or deps.clock.today()
    refusals = c.entry_refusals(eligibility=c.Eligibility(contest["eligibility"]), deadline=contest["deadline"],
                                opens_on=contest["opens_on"], district_state=_state(district), entered_on=entered_on)
    if refusals:
        raise _refused(refusals, "Entry refused")
    entry = await repository.add_entry(tx.conn, id=uuid6.uuid7(), contest_id=cmd.contest_id, district_id=cmd.district_id,
                                       requested_krw=cmd.requested_krw, entered_on=entered_on, helped_by=cmd.by)
    if entry is None:
        raise Conflict("Entered already", f"district {cmd.district_id} has entered this contest already", rule="one_entry")
    await tx.emit(ContestEntered(district_id=cmd.district_id, entry_id=entry["id"], contest_id=cmd.contest_id,
                                 organiser=contest["organiser"], title=contest["title"], requested_krw=cmd.requested_krw,
                                 entered_on=entered_on))
    return entry


async def announce_result(tx: Tx, deps: Deps, cmd: cmds.AnnounceResult) -> asyncpg.Record:
    contest = await repository.contest_for_update(tx.conn, cmd.contest_id)  # serialises a call's results (its budget)
    if contest is None:
        raise NotFound("Contest not found", f"no contest {cmd.contest_id}")
    entry = await repository.entry_for_update(tx.conn, cmd.contest_id, cmd.entry_id)
    if entry is None:
        raise NotFound("Entry not found", f"no entry {cmd.entry_id} in contest {cmd.contest_id}")
    if entry["selected"] is not None:
        if (entry["selected"], entry["awarded_krw"]) == (cmd.selected, cmd.awarded_krw):
            return entry
        raise Conflict("Result announced already", "this entry's result was announced otherwise", rule="one_result",
                       selected=entry["selected"], awarded_krw=entry["awarded_krw"])
    so_far = await queries.awarded_so_far(tx.conn, cmd.contest_id, cmd.entry_id)
    refusals = c.result_refusals(selected=cmd.selected, awarded_krw=cmd.awarded_krw, budget_krw=contest["budget_krw"], awarded_so_far_krw=so_far)
    if refusals:
        raise _refused(refusals, "Result refused")
    announced_on = cmd.announced_on or deps.clock.today()
    entry = await repository.announce(tx.conn, cmd.entry_id, cmd.selected, cmd.awarded_krw, announced_on)
    await tx.emit(ContestResultAnnounced(district_id=entry["district_id"], entry_id=entry["id"], contest_id=cmd.contest_id,
                                         selected=cmd.selected, awarded_krw=cmd.awarded_krw, announced_on=announced_on))
    return entry
