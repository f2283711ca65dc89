"""The districts' rule an auditor checks over the log: no district was designated while
below its rule. Pure: the ledger's own count of a district's stores — members that joined
inside the boundary and have not left, whose business (by intake's events) is operating at
that moment — against the rule's figures the designation states, recomputed."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from audit.domain.events import LedgerEvent


@dataclass
class DistrictLedger:
    stage: dict[str, str] = field(default_factory=dict)  # business -> stage (intake's events)
    members: defaultdict = field(default_factory=lambda: defaultdict(set))  # district -> businesses joined inside, not left


def _stage(ledger: DistrictLedger, event: LedgerEvent) -> None:
    data = event.data
    to = data.get("to_stage") if event.name == "BusinessStageChanged" else data.get("stage")
    if to:
        ledger.stage[str(data["business_id"])] = str(to)


def _joined(ledger: DistrictLedger, event: LedgerEvent) -> None:
    members = ledger.members[str(event.data["district_id"])]
    business = str(event.data["business_id"])
    (members.add if event.data.get("inside_boundary") else members.discard)(business)


def _left(ledger: DistrictLedger, event: LedgerEvent) -> None:
    ledger.members[str(event.data["district_id"])].discard(str(event.data["business_id"]))


def _designated(ledger: DistrictLedger, event: LedgerEvent) -> list[tuple[str, str, str]]:
    data, found = event.data, []
    district = str(data["district_id"])
    per_area = float(data["per_area_m2"])
    required = math.ceil(int(data["stores_required_per_area"]) * max(float(data["counted_area_m2"]), per_area) / per_area - 1e-9)
    counted = sorted(b for b in ledger.members[district] if ledger.stage.get(b) == "operating")
    if int(data["required_stores"]) != required:
        found.append(("district_rule_misapplied", event.event_id,
                             f"district {district}: {data['rule']} needs {required} stores for {float(data['counted_area_m2']):,.0f} m², "
                             f"the designation says {data['required_stores']}"))
    if int(data["counted_stores"]) < required or len(counted) < required:
        found.append(("district_designated_below_rule", event.event_id,
                             f"district {district} designated under {data['rule']} with {len(counted)} operating member stores "
                             f"inside its boundary by the log ({data['counted_stores']} stated); the rule needs {required}"))
    return found


def check(ledger: DistrictLedger, event: LedgerEvent) -> list[tuple[str, str, str]]:
    """Feed one event (in time order); findings (rule, event id, detail) for a designation."""
    if event.name in ("BusinessRegistered", "BusinessStageChanged"):
        _stage(ledger, event)
    elif event.name == "StoreJoinedDistrict":
        _joined(ledger, event)
    elif event.name == "StoreLeftDistrict":
        _left(ledger, event)
    elif event.name == "DistrictDesignated":
        return _designated(ledger, event)
    return []


# ---------------------------------------------------------------- the report's districts section


@dataclass
class DistrictTally:
    """The report's districts section, fed one event at a time (ledger order), dated by the
    events' own business dates: designated districts at the period's end (and those designated
    in it), their member stores, contest entries and awards in the period."""

    names: dict[str, str] = field(default_factory=dict)
    designated_on: dict[str, Any] = field(default_factory=dict)  # district -> day (designated by the period's end)
    revoked_on: dict[str, Any] = field(default_factory=dict)
    members: defaultdict = field(default_factory=lambda: defaultdict(dict))  # district -> business -> (joined, left, onnuri)
    entries: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)

    def feed(self, event: LedgerEvent, period: Any) -> None:
        data, name = event.data, event.name
        if name == "DistrictProposed":
            self.names[str(data["district_id"])] = data["name"]
        elif name == "DistrictDesignated" and (day := event.day("designated_on")) and day < period.end:
            self.designated_on[str(data["district_id"])] = day
            self.revoked_on.pop(str(data["district_id"]), None)
        elif name == "DistrictRevoked" and (day := event.day("revoked_on")) and day < period.end:
            self.revoked_on[str(data["district_id"])] = day
        elif name == "StoreJoinedDistrict" and (day := event.day("joined_on")) and day < period.end:
            self.members[str(data["district_id"])][str(data["business_id"])] = (day, None, bool(data.get("onnuri_merchant")))
        elif name == "StoreLeftDistrict" and (day := event.day("left_on")) and day < period.end:
            joined = self.members[str(data["district_id"])].get(str(data["business_id"]))
            if joined:
                self.members[str(data["district_id"])][str(data["business_id"])] = (joined[0], day, joined[2])
        elif name == "ContestEntered" and (day := event.day("entered_on")) and day in period:
            self.entries.append({"organiser": data["organiser"], "district_id": str(data["district_id"])})
        elif name == "ContestResultAnnounced" and (day := event.day("announced_on")) and day in period:
            self.results.append({"selected": bool(data["selected"]), "awarded_krw": int(data.get("awarded_krw") or 0)})

    def section(self, period: Any) -> dict[str, Any]:
        designated = sorted(d for d in self.designated_on if d not in self.revoked_on)
        listed = []
        for district in designated:
            current = [m for m in self.members[district].values() if m[1] is None]
            listed.append({"district_id": district, "name": self.names.get(district, district),
                           "designated_on": self.designated_on[district].isoformat(), "member_stores": len(current),
                           "onnuri_merchants": sum(1 for m in current if m[2])})
        by_organiser: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            by_organiser[entry["organiser"]] += 1
        return {
            "designated": len(designated),
            "designated_in_period": sum(1 for d in designated if self.designated_on[d] in period),
            "member_stores": sum(d["member_stores"] for d in listed),
            "districts": sorted(listed, key=lambda d: d["name"]),
            "contest_entries": len(self.entries),
            "contest_entries_by_organiser": dict(sorted(by_organiser.items())),
            "contest_awards": sum(1 for r in self.results if r["selected"]),
            "awarded_krw": sum(r["awarded_krw"] for r in self.results if r["selected"]),
        }
